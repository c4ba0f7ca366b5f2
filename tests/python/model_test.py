"""`headevo export-model` and headevo.model: a candidate trained by a real `headevo run`
(a root, and a child with a grown head) is exported, loaded with Debian's python3-torch, and
gives the C++ model's logits on the same tokens to 1e-5; bad exports fail naming why and
write nothing."""

import os
import unittest

import fixtures

try:
    import torch
    import headevo
    import headevo.model
except ImportError as e:  # python3-torch missing: deploy/setup.sh installs it
    raise unittest.SkipTest("cannot import torch/headevo: %s" % e)

TOLERANCE = 1e-5


class ExportModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.search = fixtures.TinySearch()
        cls.db = headevo.open_db(cls.search.db)
        heads = cls.db.heads()
        genomes = cls.db.candidate_heads()
        grown_heads = set(heads[heads["origin"] == "GROWN"]["head_id"])
        holders = genomes[genomes["head_id"].isin(grown_heads)]["candidate_id"]
        cls.grown = int(holders.iloc[0]) if len(holders) else None
        cls.root = int(cls.db.candidates()["candidate_id"].iloc[0])

    @classmethod
    def tearDownClass(cls):
        cls.db.close()
        cls.search.close()

    def export(self, candidate_id, *extra):
        path = os.path.join(self.search.dir, "model-%d.pt" % candidate_id)
        output = fixtures.run_headevo(["export-model", str(candidate_id), "--db", self.search.db,
                                       "-o", path] + list(extra))
        self.assertIn("wrote candidate %d" % candidate_id, output)
        return path

    def check_logits(self, candidate_id):
        path = self.export(candidate_id, "--reference-logits", "3")
        exported = torch.load(path)
        self.assertEqual(exported["format"], "headevo.model/1")
        self.assertEqual(exported["candidate_id"], candidate_id)
        reference = exported["reference"]
        self.assertEqual(list(reference["tokens"].shape), [3, 16])
        model = headevo.model.load(path)
        with torch.no_grad():
            logits = model(reference["tokens"])
        self.assertEqual(logits.shape, reference["logits"].shape)
        difference = (logits - reference["logits"]).abs().max().item()
        self.assertLessEqual(difference, TOLERANCE,
                             "candidate %d: Python logits differ from C++ by %g" %
                             (candidate_id, difference))
        # Not a vacuous match: the logits depend on the tokens.
        self.assertGreater(logits.std().item(), 1e-3)
        return model

    def test_a_root_candidate_gives_the_cpp_logits(self):
        model = self.check_logits(self.root)
        self.assertEqual(headevo.pattern(model), self.db.pattern(self.root))

    def test_a_child_with_a_grown_head_gives_the_cpp_logits(self):
        self.assertIsNotNone(self.grown, "the growth sampler widens a head in generation 1")
        model = self.check_logits(self.grown)
        widths = [head["extra_key_width"] for head in model.exported_heads]
        self.assertIn(2, widths, "the grown head's extra query/key columns are in the file")
        self.assertEqual(headevo.pattern(model), self.db.pattern(self.grown))

    def test_the_file_is_a_plain_dict_with_the_genome_and_a_state_dict(self):
        path = self.export(self.root)
        exported = torch.load(path)
        self.assertNotIn("reference", exported, "reference logits only when asked for")
        self.assertEqual(exported["config"]["seq_len"], 16)
        self.assertEqual(headevo.pattern(path), self.db.pattern(self.root))
        genome = self.db.genome(self.root)
        self.assertEqual([h["head_id"] for h in exported["heads"]], genome["head_id"].tolist())
        self.assertEqual(exported["state_dict"]["embedding.weight"].shape, (8, 16))

    def test_bad_exports_fail_naming_why_and_write_nothing(self):
        out = os.path.join(self.search.dir, "never.pt")
        empty = os.path.join(self.search.dir, "empty-checkpoints")
        os.makedirs(empty, exist_ok=True)
        output = fixtures.run_headevo(["export-model", str(self.root), "--db", self.search.db,
                                       "--checkpoints", empty, "-o", out], expect_code=1)
        self.assertIn("checkpoint", output)
        self.assertIn("--checkpoints", output)
        output = fixtures.run_headevo(["export-model", "999999", "--db", self.search.db,
                                       "-o", out], expect_code=1)
        self.assertIn("999999", output)
        self.assertFalse(os.path.exists(out))
        with self.assertRaisesRegex(ValueError, "not a headevo model file"):
            headevo.model.from_export({"format": "something else"})


if __name__ == "__main__":
    unittest.main()
