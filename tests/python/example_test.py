"""examples/analyze.py runs headless on a real search: it writes both PNG files and prints
the Pareto front, the best candidate's lineage and the longest-lived heads."""

import os
import subprocess
import sys
import unittest

import fixtures

try:
    import matplotlib  # noqa: F401 (python3-matplotlib: deploy/setup.sh installs it)
    import headevo
except ImportError as e:
    raise unittest.SkipTest("cannot import matplotlib/headevo: %s" % e)

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                      "analyze.py")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class AnalyzeExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.search = fixtures.TinySearch()

    @classmethod
    def tearDownClass(cls):
        cls.search.close()

    def test_it_writes_the_plots_and_prints_the_longest_lived_heads(self):
        out = os.path.join(self.search.dir, "figures")
        env = dict(os.environ, MPLBACKEND="Agg", DISPLAY="")
        result = subprocess.run([sys.executable, SCRIPT, self.search.db, "--out", out,
                                 "--top", "3"], capture_output=True, text=True, timeout=120,
                                env=env)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for name in ("pareto.png", "lineage.png"):
            with open(os.path.join(out, name), "rb") as f:
                self.assertEqual(f.read(8), PNG_MAGIC, name)
        with headevo.open_db(self.search.db) as db:
            candidates = db.candidates()
            front = db.pareto_front()
            lifetimes = headevo.analysis.head_lifetimes(db.candidate_heads(), candidates,
                                                        db.heads())
        self.assertIn("%d candidates, %d on the Pareto front" % (len(candidates), len(front)),
                      result.stdout)
        self.assertIn("the 3 heads that lived longest", result.stdout)
        best = front.sort_values(["val_loss", "candidate_id"]).iloc[0]
        self.assertIn("lineage of candidate %d" % best["candidate_id"], result.stdout)
        # The longest-lived head outlived its first generation and is printed first.
        self.assertGreater(lifetimes["generations"].iloc[0], 1)
        self.assertEqual(lifetimes["generations"].iloc[0], lifetimes["generations"].max())
        table = result.stdout.split("lived longest")[1].splitlines()
        self.assertEqual(int(table[2].split()[0]), lifetimes["head_id"].iloc[0])

    def test_it_refuses_to_guess_where_to_read(self):
        result = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 2)
        self.assertIn("give a database file or --coordinator", result.stderr)


if __name__ == "__main__":
    unittest.main()
