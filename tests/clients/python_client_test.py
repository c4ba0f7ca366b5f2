"""A second-language client of headevo: Python stubs generated from proto/ at test time drive a
real `headevo serve` + `headevo worker` through a small search, read every SearchService RPC,
then send bad inputs and check each status code and that nothing stored changed.

Run with Debian's /usr/bin/python3 (python3-grpcio); exits 77 (ctest: skipped) with the reason
when grpc cannot be imported. Every check prints one line ("ok: ..." or "FAIL: ..."); the test
goes on after a failed check so one run lists them all, and exits 1 if any failed.

Usage: python_client_test.py --headevo BIN --source-dir DIR --protoc PROTOC
                             --grpc-python-plugin PLUGIN
"""

import argparse
import os
import sys
import tempfile
import time

from bad_inputs import BadInputs, check_bearer
from client import TINY_TOML, Checks, Client
from headevo_processes import Fatal, Processes, generate_stubs
from new_rpcs import check_new_rpcs
import read_checks

SKIP = 77
SEARCH_TIMEOUT_S = 120  # the whole tiny search


def wait_until_done(client, procs, serve, worker, search_id):
    """Polls GetSearch until DONE; Fatal naming the last state seen otherwise."""
    pb = client.pb
    deadline = time.monotonic() + SEARCH_TIMEOUT_S
    summary = None
    while time.monotonic() < deadline:
        summary = client.s("GetSearch", pb.GetSearchRequest(search_id=search_id))
        if summary.state == pb.SEARCH_STATE_DONE:
            print("ok: search %d is DONE after %d candidates (%d done, %d failed)" %
                  (search_id, summary.candidates, summary.done, summary.failed))
            return summary
        if summary.state in (pb.SEARCH_STATE_FAILED, pb.SEARCH_STATE_STOPPED):
            break
        if not procs.alive(serve) or not procs.alive(worker):
            raise Fatal("a process exited while the search ran:\n" + procs.logs())
        time.sleep(0.2)
    state = pb.SearchState.Name(summary.state) if summary else "none (GetSearch never answered)"
    raise Fatal("search %d did not reach DONE within %d s; last state %s, summary:\n%s\n%s" %
                (search_id, SEARCH_TIMEOUT_S, state, summary, procs.logs()))


def run(ck, grpc, procs, work_dir):
    serve, address, serve_log = procs.serve(
        "serve", "search.db", ["--checkpoints", "search.checkpoints",
                               "--metrics-listen", "127.0.0.1:0"])
    metrics_port = procs.wait_for_line(serve, serve_log, r"metrics on http://[^:]+:(\d+)/").group(1)
    metrics_url = "http://127.0.0.1:%s/metrics" % metrics_port
    worker, _ = procs.start("worker", ["worker", "--coordinator", address, "--threads", "1",
                                       "--name", "python-client-worker",
                                       "--checkpoints", "worker.checkpoints"])
    client = Client(grpc, address)
    pb = client.pb
    search_id = client.s("CreateSearch", pb.CreateSearchRequest(
        config_toml=TINY_TOML, source_name="python-client.toml")).search_id
    ck.check(search_id > 0, "CreateSearch answers a search id (%d)" % search_id)
    summary = wait_until_done(client, procs, serve, worker, search_id)

    dense = read_checks.check_summary(ck, client, summary, search_id)
    cands = read_checks.check_candidates(ck, client, summary, search_id)
    read_checks.check_lineage(ck, client, cands)
    read_checks.check_heads(ck, client, summary, search_id)
    read_checks.check_front_and_export(ck, client, summary, cands, search_id)
    read_checks.check_watch(ck, client, summary, search_id)

    bad = BadInputs(ck, client, search_id)
    bad.search_reads()
    bad.search_writes()
    if dense is not None:
        bad.reports(dense, os.path.join(work_dir, "search.db"), metrics_url)
    bad.garbage(lambda: procs.alive(serve))

    check_bearer(ck, grpc, procs, work_dir)
    check_new_rpcs(ck, client, summary, search_id)
    ck.check(procs.alive(serve) and procs.alive(worker),
             "serve and worker are still running at the end")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headevo", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--protoc", default="protoc")
    parser.add_argument("--grpc-python-plugin", default="grpc_python_plugin")
    args = parser.parse_args()
    try:
        import grpc
    except ImportError as e:
        print("skipped: %s cannot import grpc (%s); install Debian's python3-grpcio "
              "(deploy/setup.sh does)" % (sys.executable, e))
        return SKIP
    ck = Checks()
    with tempfile.TemporaryDirectory(prefix="headevo-python-client-") as work_dir:
        procs = Processes(os.path.abspath(args.headevo), work_dir)
        try:
            generate_stubs(args.source_dir, args.protoc, args.grpc_python_plugin,
                           os.path.join(work_dir, "stubs"))
            run(ck, grpc, procs, work_dir)
        except Fatal as e:
            ck.check(False, "the test could not go on", e)
        except grpc.RpcError as e:
            ck.check(False, "a call that must succeed failed: %s %s" % (e.code(), e.details()),
                     procs.logs())
        finally:
            procs.close()
    if ck.failures:
        print("\n%d check(s) failed:\n  %s" % (len(ck.failures), "\n  ".join(ck.failures)))
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
