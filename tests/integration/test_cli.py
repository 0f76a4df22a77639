"""The command line: help, version, ingest, slides list/show, settings from flag, environment
and config file, exit statuses with one-line reasons, port 0."""
import json
import os
import unittest

from harness import Server, Workspace, run_cli


class CliTest(unittest.TestCase):
    def setUp(self):
        self.ws = Workspace()
        self.ws.add_slide("centre-a", "a1.svs")
        self.ws.add_slide("centre-b", "deep/b1.svs")
        self.ws.add_truncated_slide("centre-b", "broken.svs")

    def tearDown(self):
        self.ws.cleanup()

    def assert_one_line_error(self, result):
        self.assertNotEqual(result.returncode, 0)
        lines = [l for l in result.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("mcval: error: "), lines[0])

    def test_help_and_version(self):
        top = run_cli("--help")
        self.assertEqual(top.returncode, 0)
        for command in ("serve", "ingest", "slides", "synth"):
            self.assertIn(command, top.stdout)
        for command in ("serve", "ingest", "synth", "slides"):
            res = run_cli(command, "--help")
            self.assertEqual(res.returncode, 0, command)
        self.assertIn("--listen", run_cli("serve", "--help").stdout)
        self.assertIn("MCVAL_LISTEN", run_cli("serve", "--help").stdout)
        version = run_cli("--version")
        self.assertEqual(version.returncode, 0)
        self.assertRegex(version.stdout.strip(), r"^mcval \d+\.\d+\.\d+")

    def test_allocator_settings_built_in_and_overridable(self):
        # jemalloc prints its settings at exit with stats_print; the binary's built-in string
        # (MCVAL_MALLOC_CONF) must be in force, and MALLOC_CONF must still override it.
        if os.environ.get("MCVAL_WITH_JEMALLOC") != "1":
            self.skipTest("binary not linked with jemalloc")
        expected = dict(kv.split(":", 1) for kv in os.environ["MCVAL_MALLOC_CONF"].split(","))
        self.assertTrue(expected)

        def settings(conf):
            res = run_cli("--version", env={"MALLOC_CONF": conf})
            self.assertEqual(res.returncode, 0, res.stderr)
            found = {}
            for line in res.stderr.splitlines():
                line = line.strip()
                if line.startswith("opt.") and ": " in line:
                    key, value = line[len("opt."):].split(": ", 1)
                    # e.g. 'opt.dirty_decay_ms: 0 (arenas.dirty_decay_ms: 0)'
                    found[key] = value.split(" (", 1)[0].strip('"')
            self.assertIn("narenas", found, res.stderr[:500])
            return found

        built_in = settings("stats_print:true")
        for key, value in expected.items():
            self.assertEqual(built_in[key], value, key)
        overridden = settings("stats_print:true,narenas:3")
        self.assertEqual(overridden["narenas"], "3")

    def test_ingest_then_list_and_show(self):
        ingest = run_cli("ingest", "--slides", self.ws.slides, "--data", self.ws.data)
        self.assertEqual(ingest.returncode, 0, ingest.stderr)
        self.assertIn("3 slides (3 added", ingest.stdout)
        self.assertIn("1 unreadable", ingest.stdout)
        again = run_cli("ingest", "--slides", self.ws.slides, "--data", self.ws.data)
        self.assertIn("3 unchanged", again.stdout)

        listing = run_cli("slides", "list", "--data", self.ws.data)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertIn("centre-a/a1.svs", listing.stdout)
        self.assertIn("unreadable", listing.stdout)
        only_b = run_cli("slides", "list", "--data", self.ws.data, "--centre", "centre-b", "--json")
        slides = json.loads(only_b.stdout)
        self.assertEqual(sorted(s["name"] for s in slides), ["b1.svs", "broken.svs"])

        slide_id = next(s["id"] for s in slides if s["name"] == "b1.svs")
        show = run_cli("slides", "show", slide_id, "--data", self.ws.data)
        self.assertEqual(show.returncode, 0)
        shown = json.loads(show.stdout)
        self.assertEqual(shown["relative_path"], "centre-b/deep/b1.svs")
        self.assertEqual(shown["levels"][0], {"width": 2220, "height": 2967, "downsample": 1.0})
        self.assertEqual(shown["sha256"], "ed92d5a9f2e86df67640d6f92ce3e231419ce127131697fbbce42ad5e002c8a7")

        # A changed file is noticed and re-hashed; a removed one is marked removed.
        os.remove(os.path.join(self.ws.slides, "centre-a", "a1.svs"))
        with open(os.path.join(self.ws.slides, "centre-b", "deep", "b1.svs"), "ab") as f:
            f.write(b"\0" * 16)
        third = run_cli("ingest", "--slides", self.ws.slides, "--data", self.ws.data)
        self.assertIn("1 changed", third.stdout)
        self.assertIn("1 removed", third.stdout)
        changed = json.loads(run_cli("slides", "show", slide_id, "--data", self.ws.data).stdout)
        self.assertNotEqual(changed["sha256"], shown["sha256"])

    def test_errors_exit_non_zero_with_one_line(self):
        self.assert_one_line_error(run_cli("slides", "show", "0000000000000000", "--data", self.ws.data))
        self.assert_one_line_error(run_cli("serve", "--no-such-flag"))
        self.assert_one_line_error(run_cli("nonsense"))
        self.assert_one_line_error(run_cli("serve", "--slides", os.path.join(self.ws.dir, "missing"),
                                           "--data", self.ws.data))
        self.assert_one_line_error(run_cli("serve", "--slides", self.ws.slides, "--data", self.ws.data,
                                           "--listen", "127.0.0.1:99999"))
        self.assert_one_line_error(run_cli("ingest", "--slides", os.path.join(self.ws.dir, "missing"),
                                           "--data", self.ws.data))
        self.assert_one_line_error(run_cli("serve", "--jpeg-quality", "0"))
        bad_config = os.path.join(self.ws.dir, "bad.conf")
        with open(bad_config, "w") as f:
            f.write("max_open_slides = many\n")
        self.assert_one_line_error(run_cli("serve", "--config", bad_config))

    def test_settings_from_environment_and_config_file(self):
        config = os.path.join(self.ws.dir, "mcval.conf")
        with open(config, "w") as f:
            f.write("# demo\nslides = %s\ndata = %s\n" % (self.ws.slides, os.path.join(self.ws.dir, "from-file")))
        # The config file supplies slides and data; the environment overrides data.
        res = run_cli("ingest", "--config", config, env={"MCVAL_DATA": self.ws.data})
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.ws.data, "catalog.sqlite")))
        self.assertFalse(os.path.exists(os.path.join(self.ws.dir, "from-file")))
        # A flag overrides both.
        flagged = os.path.join(self.ws.dir, "from-flag")
        res = run_cli("ingest", "--config", config, "--data", flagged, env={"MCVAL_DATA": self.ws.data})
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(os.path.exists(os.path.join(flagged, "catalog.sqlite")))

    def test_serve_on_port_zero_logs_the_chosen_address(self):
        server = Server(self.ws)
        try:
            host, port = server.address.rsplit(":", 1)
            self.assertEqual(host, "127.0.0.1")
            self.assertGreater(int(port), 0)
            self.assertEqual(server.get("/readyz").status, 200)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_configuration_docs_match_the_binary(self):
        docs = os.path.join(os.path.dirname(__file__), "../../docs/configuration.md")
        with open(docs) as f:
            text = f.read()
        table = run_cli("config", "docs").stdout
        self.assertIn(table.strip(), text, "docs/configuration.md is out of date: regenerate with `mcval config docs`")


if __name__ == "__main__":
    unittest.main()
