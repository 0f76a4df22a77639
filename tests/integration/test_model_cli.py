"""`mcval model add | list | show`: the model store from the command line, with the committed
test models (tests/data/models, written by make_test_models.py)."""
import json
import os
import shutil
import tempfile
import unittest

from harness import run_cli

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../data/models")


class ModelCliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mcval-test-")
        self.data = os.path.join(self.dir, "data")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def mcval(self, *args):
        return run_cli("model", *args, "--data", self.data)

    def assert_one_line_error(self, result, text):
        self.assertNotEqual(result.returncode, 0)
        lines = [l for l in result.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("mcval: error: "), lines[0])
        self.assertIn(text, lines[0])

    def test_add_list_show(self):
        with open(os.path.join(MODELS, "tiny-cnn", "card.json")) as f:
            sha256 = json.load(f)["onnx_sha256"]
        added = self.mcval("add", os.path.join(MODELS, "tiny-cnn"))
        self.assertEqual(added.returncode, 0, added.stderr)
        self.assertEqual(added.stdout.strip(), "added model tiny-cnn@1.0.0: sha256 " + sha256)
        self.assertEqual(added.stderr, "")
        again = self.mcval("add", os.path.join(MODELS, "tiny-cnn", "card.json"))
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("already present", again.stdout)

        table = self.mcval("list")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn("tiny-cnn", table.stdout)
        self.assertIn("benign,tumour*", table.stdout)
        self.assertIn("1 models", table.stdout)
        listed = json.loads(self.mcval("list", "--json").stdout)
        self.assertEqual([m["sha256"] for m in listed], [sha256])

        for reference in (sha256[:8], "tiny-cnn@1.0.0", "tiny-cnn"):
            shown = self.mcval("show", reference)
            self.assertEqual(shown.returncode, 0, shown.stderr)
            model = json.loads(shown.stdout)
            self.assertEqual(model["sha256"], sha256)
            self.assertEqual(model["card"]["input_px"], 32)
            self.assertEqual(model["card"]["onnx"], "model.onnx")
            with open(model["onnx_path"], "rb") as f:
                self.assertEqual(len(f.read()), model["onnx_bytes"])

    def test_errors_are_one_line_with_the_reason(self):
        self.assert_one_line_error(self.mcval("add", os.path.join(MODELS, "wrong-input")),
                                   "the model expects 3x48x48 input, the card says 3x32x32")
        self.assertEqual(self.mcval("add", os.path.join(MODELS, "wrong-input")).returncode, 2)
        broken = os.path.join(self.dir, "broken")
        shutil.copytree(os.path.join(MODELS, "tiny-cnn"), broken)
        with open(os.path.join(broken, "tiny-cnn.onnx"), "w") as f:
            f.write("not a model\n")
        self.assert_one_line_error(self.mcval("add", broken), "onnx_sha256")
        self.assert_one_line_error(self.mcval("add", os.path.join(self.dir, "missing")), "no such file or folder")
        missing = self.mcval("show", "nothing")
        self.assert_one_line_error(missing, "no model 'nothing'")
        self.assertEqual(missing.returncode, 3)
        self.assertEqual(json.loads(self.mcval("list", "--json").stdout), [])


if __name__ == "__main__":
    unittest.main()
