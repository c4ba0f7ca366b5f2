"""What every part of the Python client test shares: the search config, the outcome of each
check, and the generated stubs on one channel."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testutil"))
from tiny_config import tiny_search_config  # noqa: E402

CALL_TIMEOUT_S = 30  # one unary call

TINY_TOML = tiny_search_config(
    'name = "python-client"\nseed = 11\npopulation = 3\ngenerations = 1\ncompare_with_dense = true\n')

class Checks:
    """Counts and prints the outcome of each check; a failed one does not stop the test."""

    def __init__(self):
        self.failures = []

    def check(self, condition, what, detail=""):
        if condition:
            print("ok: " + what)
        else:
            self.failures.append(what)
            print("FAIL: " + what + ("\n      " + str(detail) if detail else ""))
        return condition


class Client:
    """The generated modules and stubs on one channel."""

    def __init__(self, grpc, address, metadata=None):
        from headevo.v1 import (candidate_pb2, search_service_pb2, search_service_pb2_grpc,
                                worker_service_pb2, worker_service_pb2_grpc)
        self.grpc = grpc
        self.pb = search_service_pb2
        self.cpb = candidate_pb2
        self.wpb = worker_service_pb2
        self.channel = grpc.insecure_channel(address)
        grpc.channel_ready_future(self.channel).result(timeout=CALL_TIMEOUT_S)
        self.search = search_service_pb2_grpc.SearchServiceStub(self.channel)
        self.worker = worker_service_pb2_grpc.WorkerServiceStub(self.channel)
        self.metadata = metadata

    def call(self, stub, method, request, **kwargs):
        kwargs.setdefault("timeout", CALL_TIMEOUT_S)
        if self.metadata is not None:
            kwargs.setdefault("metadata", self.metadata)
        return getattr(stub, method)(request, **kwargs)

    def s(self, method, request, **kwargs):
        return self.call(self.search, method, request, **kwargs)

    def w(self, method, request, **kwargs):
        return self.call(self.worker, method, request, **kwargs)


def expect_code(ck, client, what, call, expected):
    try:
        call()
        ck.check(False, "%s -> %s" % (what, expected.name), "answered OK")
    except client.grpc.RpcError as e:
        ck.check(e.code() == expected, "%s -> %s" % (what, expected.name),
                 "got %s: %s" % (e.code().name, e.details()))
