"""What the Python bridge tests share: the headevo binary, a tiny search trained by a real
`headevo run`, and a real `headevo serve` on a free loopback port.

Environment (tests/python/CMakeLists.txt sets it): HEADEVO_BIN, the headevo binary;
PYTHONPATH holding python/ (the package under test); HEADEVO_PROTOC and
HEADEVO_GRPC_PYTHON_PLUGIN for the stubs. Every test gets its own stub cache in a temporary
directory, so nothing is written to the user's ~/.cache.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testutil"))
from tiny_config import tiny_search_config  # noqa: E402

# Two generations with inherited weights and the growth sampler, so the lineage has edges,
# pruned heads and GROWN heads with extra query/key columns.
TINY_TOML = tiny_search_config(
    'name = "python-bridge"\nseed = 5\npopulation = 3\ngenerations = 2\n'
    'inherit_weights = true\ncompare_with_dense = false\n',
    training_keys="growth_batches = 1\n",
    extra_sections='[resampling]\nsampler = "growth"\ngrowth_width = 2\n')

SEARCH_TIMEOUT_S = 120


def headevo_bin():
    path = os.environ.get("HEADEVO_BIN")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("HEADEVO_BIN is not set to the headevo binary (ctest sets it)")
    return path


class TinySearch:
    """A temporary directory holding search.db and search.db.checkpoints from `headevo run`
    of TINY_TOML. Close it to remove everything."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="headevo-python-bridge-")
        self.dir = self._dir.name
        os.environ["HEADEVO_STUB_CACHE"] = os.path.join(self.dir, "stubs")
        self.db = os.path.join(self.dir, "search.db")
        self.checkpoints = self.db + ".checkpoints"
        config = os.path.join(self.dir, "tiny.toml")
        with open(config, "w") as f:
            f.write(TINY_TOML)
        self.run_output = run_headevo(["run", config, "--db", self.db, "--threads", "1",
                                       "--checkpoints", self.checkpoints])
        # What `headevo run` says it evaluated, for the readers to agree with.
        self.evaluated = int(re.search(r"(\d+) candidates evaluated \(0 failed\)",
                                       self.run_output).group(1))

    def close(self):
        self._dir.cleanup()


def run_headevo(args, expect_code=0):
    """Runs headevo with `args`; returns stdout+stderr. AssertionError with the output when
    the exit code is not `expect_code`."""
    result = subprocess.run([headevo_bin()] + args, capture_output=True, text=True,
                            timeout=SEARCH_TIMEOUT_S)
    output = result.stdout + result.stderr
    if result.returncode != expect_code:
        raise AssertionError("headevo %s exited %d, expected %d:\n%s" %
                             (" ".join(args), result.returncode, expect_code, output))
    return output


class Serve:
    """`headevo serve --db DB` on 127.0.0.1:0 (extra args appended); .address once listening.
    Close it to stop the process (SIGTERM, then SIGKILL after 15 s)."""

    def __init__(self, db, work_dir, extra_args=()):
        self._log_path = os.path.join(work_dir, "serve.log")
        log = open(self._log_path, "wb")
        self.process = subprocess.Popen(
            [headevo_bin(), "serve", "--db", db, "--listen", "127.0.0.1:0"] + list(extra_args),
            cwd=work_dir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 60
        while True:
            match = re.search(r"listening on ([0-9.]+):(\d+)", self.log())
            if match:
                self.address = "%s:%s" % match.groups()
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise AssertionError("headevo serve did not start listening:\n" + self.log())
            time.sleep(0.1)

    def log(self):
        with open(self._log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
