"""Real `headevo serve` and `headevo worker` processes for the Python client test, and the
Python stubs generated from proto/ at test time.

Every wait here is bounded and fails with what it last saw (the process's log); `Processes`
kills whatever it started when closed, so a failing test leaves nothing behind.
"""

import os
import re
import signal
import subprocess
import sys
import time


class Fatal(Exception):
    """A step the rest of the test cannot do without failed (the message says what and why)."""


def generate_stubs(source_dir, protoc, grpc_python_plugin, out_dir):
    """Writes headevo/v1/*_pb2.py and *_pb2_grpc.py under out_dir and puts it on sys.path.

    Debian's protoc (3.21) writes the messages: python3-grpc-tools bundles protoc 3.5.1,
    which refuses proto3 `optional` fields (search_service.proto has one). The gRPC half
    comes from Debian's grpc_python_plugin (protobuf-compiler-grpc), the same generator
    grpc_tools wraps.
    """
    proto_dir = os.path.join(source_dir, "proto")
    v1_dir = os.path.join(proto_dir, "headevo", "v1")
    os.makedirs(out_dir, exist_ok=True)
    protos = sorted(os.path.join(v1_dir, f) for f in os.listdir(v1_dir) if f.endswith(".proto"))
    command = [protoc, "-I", proto_dir,
               "--plugin=protoc-gen-grpc_python=" + grpc_python_plugin,
               "--python_out=" + out_dir, "--grpc_python_out=" + out_dir] + protos
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise Fatal("generating the Python stubs failed: %s\n%s" % (" ".join(command),
                                                                    result.stderr))
    sys.path.insert(0, out_dir)
    print("ok: generated Python stubs for %d protos into %s" % (len(protos), out_dir))


class Processes:
    """The headevo processes one test runs, each logging to its own file in `work_dir`."""

    def __init__(self, headevo, work_dir):
        self.headevo = headevo
        self.work_dir = work_dir
        self.children = []  # (name, Popen, log path)

    def start(self, name, args):
        log_path = os.path.join(self.work_dir, name + ".log")
        log = open(log_path, "wb")
        child = subprocess.Popen([self.headevo] + args, cwd=self.work_dir, stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.children.append((name, child, log_path))
        return child, log_path

    def wait_for_line(self, child, log_path, pattern, timeout_s=60.0):
        """The first match of `pattern` in the log; Fatal once the child exits or time is up."""
        deadline = time.monotonic() + timeout_s
        while True:
            text = read_log(log_path)
            match = re.search(pattern, text)
            if match:
                return match
            if child.poll() is not None:
                raise Fatal("%s exited with %s before printing /%s/; its log:\n%s" %
                            (log_path, child.returncode, pattern, text))
            if time.monotonic() > deadline:
                raise Fatal("no /%s/ in %s after %.0f s; its log:\n%s" %
                            (pattern, log_path, timeout_s, text))
            time.sleep(0.1)

    def serve(self, name, db, extra_args=()):
        """Starts a coordinator on a free loopback port; returns (child, address, log)."""
        child, log_path = self.start(name, ["serve", "--db", db, "--listen", "127.0.0.1:0"] +
                                     list(extra_args))
        match = self.wait_for_line(child, log_path, r"listening on ([0-9.]+):(\d+)")
        address = "%s:%s" % (match.group(1), match.group(2))
        print("ok: %s listens on %s" % (name, address))
        return child, address, log_path

    def alive(self, child):
        return child.poll() is None

    def close(self):
        for name, child, _ in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for name, child, log_path in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=15)

    def logs(self):
        return "\n".join("---- %s (%s)\n%s" % (name, log_path, read_log(log_path)[-4000:])
                         for name, _, log_path in self.children)


def read_log(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
