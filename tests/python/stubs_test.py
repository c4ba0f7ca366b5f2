"""headevo/stubs.py: the gRPC stubs are generated from proto/ into the cache once, reused
while the protos are unchanged, generated afresh when a proto changes, and a missing tool is
named with its Debian package."""

import os
import shutil
import tempfile
import unittest
from unittest import mock

from headevo import stubs

SOURCE_PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")


class StubsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="headevo-stubs-test-")
        self.protos = os.path.join(self.dir, "proto")
        shutil.copytree(SOURCE_PROTO, self.protos)
        self.env = {"HEADEVO_STUB_CACHE": os.path.join(self.dir, "cache"),
                    "HEADEVO_PROTO_DIR": self.protos}

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_stubs_are_generated_once_and_again_when_a_proto_changes(self):
        with mock.patch.dict(os.environ, self.env):
            first = stubs.stub_dir()
            generated = os.path.join(first, "headevo", "v1", "search_service_pb2_grpc.py")
            self.assertTrue(os.path.exists(generated))
            with open(generated) as f:
                self.assertIn("class SearchServiceStub", f.read())
            stamp = os.stat(generated).st_mtime_ns
            self.assertEqual(stubs.stub_dir(), first)
            self.assertEqual(os.stat(generated).st_mtime_ns, stamp, "reused, not rewritten")
            with open(os.path.join(self.protos, "headevo", "v1", "genome.proto"), "a") as f:
                f.write("\n// an edit\n")
            second = stubs.stub_dir()
            self.assertNotEqual(second, first)
            self.assertEqual(sorted(os.listdir(self.env["HEADEVO_STUB_CACHE"])),
                             sorted([os.path.basename(first), os.path.basename(second)]),
                             "no temporary directories left behind")

    def test_a_missing_tool_or_proto_dir_says_what_to_install(self):
        with mock.patch.dict(os.environ, dict(self.env, HEADEVO_GRPC_PYTHON_PLUGIN="",
                                              PATH=self.dir)):
            with self.assertRaisesRegex(stubs.StubError, "protobuf-compiler"):
                stubs.stub_dir()
        with mock.patch.dict(os.environ, dict(self.env, HEADEVO_PROTO_DIR=self.dir)):
            with self.assertRaisesRegex(stubs.StubError, "HEADEVO_PROTO_DIR"):
                stubs.stub_dir()


if __name__ == "__main__":
    unittest.main()
