"""Our Deep Zoom tiles of the real CMU slide equal OpenSlide Python's within JPEG tolerance."""
import unittest

import dzi_oracle
from harness import CMU_SLIDE, Server, Workspace, slide_ids


class DeepZoomOracleTest(unittest.TestCase):
    def test_cmu_slide_matches_openslide_python(self):
        ws = Workspace()
        try:
            path = ws.add_slide("centre-a", "cmu.svs")
            server = Server(ws)
            try:
                slide_id = slide_ids(server)["cmu.svs"]["id"]
                dzi_oracle.check(self, dzi_oracle.compare(server, slide_id, path))
            finally:
                server.stop()
        finally:
            ws.cleanup()


if __name__ == "__main__":
    unittest.main()
