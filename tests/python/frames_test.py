"""headevo.open_db and headevo.connect on one real search: every frame has its documented
columns and the lineage's rows, a coordinator serving the file gives the same frames, and a
missing or too old file is refused with what to do."""

import os
import shutil
import sqlite3
import subprocess
import unittest

import fixtures

try:
    import pandas
    import pandas.testing
    import headevo
    from headevo import columns
except ImportError as e:  # python3-pandas missing: deploy/setup.sh installs it
    raise unittest.SkipTest("cannot import pandas/headevo: %s" % e)

TOKEN = "python-bridge-token"

# A CA and a server certificate for 127.0.0.1 signed by it (P-256: fast), as
# tests/server/grpc_security_test.cc makes them.
MAKE_CERTIFICATES = r"""set -e
printf '[req]\ndistinguished_name = dn\n[dn]\n' > req.cnf
printf 'basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n' > ca.ext
printf 'basicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1\n' > server.ext
for name in ca server; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $name.key; done
openssl req -new -config req.cnf -key ca.key -subj "/CN=headevo test ca" -out ca.csr
openssl x509 -req -in ca.csr -signkey ca.key -days 2 -set_serial 1 -extfile ca.ext -out ca.pem
openssl req -new -config req.cnf -key server.key -subj "/CN=127.0.0.1" -out server.csr
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -days 2 -set_serial 2 -extfile server.ext -out server.pem
"""


class FramesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.search = fixtures.TinySearch()
        cls.db = headevo.open_db(cls.search.db)
        cls.search_id = int(cls.db.searches()["search_id"].iloc[0])

    @classmethod
    def tearDownClass(cls):
        cls.db.close()
        cls.search.close()

    def frames(self, reader):
        return {name: (reader.searches() if name == "searches"
                       else getattr(reader, name)(self.search_id))
                for name in columns.FRAMES}

    def test_every_frame_has_its_documented_columns(self):
        for name, frame in self.frames(self.db).items():
            with self.subTest(frame=name):
                self.assertEqual(list(frame.columns), columns.FRAMES[name][1])
                self.assertGreater(len(frame), 0, "a two-generation search has %s" % name)

    def test_the_frames_hold_the_lineage(self):
        searches = self.db.searches()
        self.assertEqual(searches["state"].tolist(), ["DONE"])
        self.assertEqual(searches["name"].tolist(), ["python-bridge"])
        self.assertIn("growth_width = 2", searches["config_toml"].iloc[0])
        candidates = self.db.candidates(self.search_id)
        self.assertEqual(len(candidates), self.search.evaluated)
        self.assertEqual(candidates["state"].tolist(), ["DONE"] * self.search.evaluated)
        self.assertTrue(candidates["val_loss"].notna().all())
        roots = candidates[candidates["generation"] == 0]
        self.assertTrue(roots["parent_id"].isna().all(), "a root's parent is None, not 0")
        edges = self.db.lineage_edges(self.search_id)
        children = candidates[candidates["generation"] > 0]
        self.assertGreater(len(children), 0)
        self.assertEqual(sorted(edges["child_id"]), sorted(children["candidate_id"]))
        parents = dict(zip(candidates["candidate_id"], candidates["parent_id"]))
        self.assertEqual([parents[c] for c in edges["child_id"]], edges["parent_id"].tolist())
        heads = self.db.heads(self.search_id)
        genomes = self.db.candidate_heads(self.search_id)
        self.assertTrue(set(genomes["head_id"]) <= set(heads["head_id"]))
        self.assertEqual(len(genomes[genomes["candidate_id"] == roots["candidate_id"].iloc[0]]),
                         6, "2 layers x 3 heads")
        grown = heads[heads["origin"] == "GROWN"]
        self.assertGreater(len(grown), 0, "the growth sampler widens heads")
        self.assertTrue(grown["source_head_id"].notna().all())
        width = dict(zip(heads["head_id"], heads["extra_key_width"]))
        for _, head in grown.iterrows():  # each growth step adds growth_width = 2 columns
            self.assertEqual(head["extra_key_width"], width[int(head["source_head_id"])] + 2)
        stats = self.db.head_stats(self.search_id)
        self.assertEqual(len(stats), len(genomes), "statistics for every head of every genome")
        rungs = self.db.rung_results(self.search_id)
        self.assertEqual(sorted(rungs["candidate_id"]), sorted(candidates["candidate_id"]))
        self.assertIn("search_done", self.db.events(self.search_id)["kind"].tolist())
        root = int(roots["candidate_id"].iloc[0])
        genome = self.db.genome(root)
        self.assertEqual(list(genome.columns), columns.GENOME)
        self.assertEqual(headevo.pattern(genome), self.db.pattern(root))
        front = self.db.pareto_front(self.search_id)
        self.assertGreater(len(front), 0)
        self.assertTrue(front["connections"].is_monotonic_increasing)
        self.assertTrue(front["val_loss"].is_monotonic_decreasing)

    def test_connect_reads_the_same_frames_as_open_db(self):
        token_file = os.path.join(self.search.dir, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        serve = fixtures.Serve(self.search.db, self.search.dir, [
            "--token-file", token_file,
            "--checkpoints", os.path.join(self.search.dir, "serve.checkpoints")])
        try:
            try:
                remote = headevo.connect(serve.address, token=TOKEN)
            except headevo.StubError as e:
                self.skipTest(str(e))
            with remote:
                remote_frames = self.frames(remote)
                for name, frame in self.frames(self.db).items():
                    with self.subTest(frame=name):
                        pandas.testing.assert_frame_equal(remote_frames[name], frame)
                root = int(self.db.candidates(self.search_id)["candidate_id"].iloc[0])
                self.assertEqual(remote.pattern(root), self.db.pattern(root))
                with self.assertRaises(LookupError):
                    remote.genome(10 ** 9)
            import grpc
            with headevo.connect(serve.address, token="not-" + TOKEN) as wrong:
                with self.assertRaises(grpc.RpcError) as raised:
                    wrong.searches()
                self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        finally:
            serve.close()

    def test_connect_over_tls_checks_the_coordinator_certificate(self):
        if not shutil.which("openssl"):
            self.skipTest("the openssl command line is not installed (Debian package openssl)")
        certs = os.path.join(self.search.dir, "certs")
        os.makedirs(certs)
        subprocess.run(["sh", "-c", MAKE_CERTIFICATES], cwd=certs, check=True,
                       capture_output=True, timeout=60)
        token_file = os.path.join(certs, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        serve = fixtures.Serve(self.search.db, self.search.dir, [
            "--tls-cert", os.path.join(certs, "server.pem"),
            "--tls-key", os.path.join(certs, "server.key"), "--token-file", token_file,
            "--checkpoints", os.path.join(self.search.dir, "serve.checkpoints")])
        try:
            with headevo.connect(serve.address, token=TOKEN,
                                 tls_ca=os.path.join(certs, "ca.pem")) as remote:
                pandas.testing.assert_frame_equal(remote.searches(), self.db.searches())
            import grpc
            with headevo.connect(serve.address, token=TOKEN) as plaintext:
                with self.assertRaises(grpc.RpcError) as raised:
                    plaintext.searches()
                self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAVAILABLE)
        finally:
            serve.close()

    def test_a_missing_or_old_file_is_refused_with_what_to_do(self):
        missing = os.path.join(self.search.dir, "missing.db")
        with self.assertRaisesRegex(headevo.DatabaseError, "no database at .*missing.db"):
            headevo.open_db(missing)
        self.assertFalse(os.path.exists(missing), "opening never creates a file")
        old = os.path.join(self.search.dir, "old.db")
        connection = sqlite3.connect(old)
        connection.execute("PRAGMA user_version = 7")
        connection.close()
        with self.assertRaisesRegex(headevo.DatabaseError,
                                    "schema version 7.*open it once with a newer headevo"):
            headevo.open_db(old)
        with self.assertRaises(LookupError):
            self.db.genome(10 ** 9)


if __name__ == "__main__":
    unittest.main()
