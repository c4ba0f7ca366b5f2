"""Requests the coordinator must refuse: each one's status code is checked and the stored
search compared with how it stood before. Also the bearer-token scheme, on a second coordinator
that needs a token."""

import os
import re
import sqlite3
import urllib.request

from client import CALL_TIMEOUT_S, TINY_TOML, Client

SERVER_LIMIT_BYTES = 16 << 20  # ServerOptions::max_message_bytes (server/rpc/grpc_server.h)
TOKEN = "python-client-token"
MALFORMED_TOML = '[search]\nname = "broken"\npopulation = = 3\n'  # line 3 is wrong


class BadInputs:
    """Sends requests that must be refused; each one's code is checked and the stored search
    compared with how it stood before."""

    def __init__(self, ck, client, search_id):
        self.ck, self.client, self.search_id = ck, client, search_id
        self.before = self.snapshot()

    def snapshot(self):
        pb = self.client.pb
        return (
            self.client.s("GetSearch", pb.GetSearchRequest(search_id=self.search_id))
            .SerializeToString(deterministic=True),
            self.client.s("ListCandidates", pb.ListCandidatesRequest(
                search_id=self.search_id, page_size=1000)).SerializeToString(deterministic=True),
            self.client.s("ListSearches", pb.ListSearchesRequest())
            .SerializeToString(deterministic=True),
        )

    def expect(self, what, call, codes, details_pattern=None):
        grpc = self.client.grpc
        codes = codes if isinstance(codes, tuple) else (codes,)
        names = "/".join(c.name for c in codes)
        try:
            answer = call()
            self.ck.check(False, "%s -> %s" % (what, names),
                          "answered OK: %s" % str(answer).replace("\n", " ")[:300])
        except grpc.RpcError as e:
            details = e.details() or ""
            good = e.code() in codes and (details_pattern is None or
                                          re.search(details_pattern, details))
            seen = ""  # what the reader cannot infer from the expectation alone
            if len(codes) > 1:
                seen += " (got %s)" % e.code().name
            if details_pattern is not None:
                seen += " (message: %s)" % details[:200]
            self.ck.check(good, "%s -> %s%s" % (what, names, seen),
                          "got %s: %s" % (e.code().name, details[:300]))
        self.ck.check(self.snapshot() == self.before,
                      "  ... and GetSearch, ListCandidates, ListSearches are unchanged")

    def search_reads(self):
        pb, s, NF, IA = (self.client.pb, self.client.s,
                         self.client.grpc.StatusCode.NOT_FOUND,
                         self.client.grpc.StatusCode.INVALID_ARGUMENT)
        unknown = 987654
        self.expect("GetSearch of unknown search %d" % unknown,
                    lambda: s("GetSearch", pb.GetSearchRequest(search_id=unknown)), NF)
        self.expect("ListCandidates of unknown search",
                    lambda: s("ListCandidates", pb.ListCandidatesRequest(search_id=unknown)), NF)
        self.expect("GetLineage of unknown candidate",
                    lambda: s("GetLineage", pb.GetLineageRequest(candidate_id=unknown)), NF)
        self.expect("GetHeadHistory of unknown head",
                    lambda: s("GetHeadHistory", pb.GetHeadHistoryRequest(head_id=unknown)), NF)
        self.expect("PauseSearch of unknown search",
                    lambda: s("PauseSearch", pb.SearchControlRequest(search_id=unknown)), NF)
        for bad in (0, -1):
            self.expect("GetSearch search_id %d" % bad,
                        lambda: s("GetSearch", pb.GetSearchRequest(search_id=bad)), IA)
            self.expect("ListCandidates search_id %d" % bad,
                        lambda: s("ListCandidates", pb.ListCandidatesRequest(search_id=bad)), IA)
            self.expect("GetLineage candidate_id %d" % bad,
                        lambda: s("GetLineage", pb.GetLineageRequest(candidate_id=bad)), IA)
            self.expect("GetHeadHistory head_id %d" % bad,
                        lambda: s("GetHeadHistory", pb.GetHeadHistoryRequest(head_id=bad)), IA)
            self.expect("GetParetoFront search_id %d" % bad,
                        lambda: s("GetParetoFront", pb.GetParetoFrontRequest(search_id=bad)), IA)
            self.expect("ExportBest search_id %d" % bad,
                        lambda: s("ExportBest", pb.ExportBestRequest(search_id=bad)), IA)
            self.expect("WatchSearch search_id %d" % bad,
                        lambda: list(s("WatchSearch", pb.WatchSearchRequest(search_id=bad))), IA)

    def search_writes(self):
        pb, s, code = self.client.pb, self.client.s, self.client.grpc.StatusCode
        self.expect("CreateSearch with a malformed TOML (line 3), naming the line",
                    lambda: s("CreateSearch", pb.CreateSearchRequest(
                        config_toml=MALFORMED_TOML, source_name="broken.toml")),
                    code.INVALID_ARGUMENT, r"(broken\.toml:3\b|line 3\b)")
        self.expect("PauseSearch of the DONE search",
                    lambda: s("PauseSearch", pb.SearchControlRequest(search_id=self.search_id)),
                    code.FAILED_PRECONDITION)
        self.expect("ResumeSearch of the DONE search",
                    lambda: s("ResumeSearch", pb.SearchControlRequest(search_id=self.search_id)),
                    code.FAILED_PRECONDITION)
        too_big = "#" * (SERVER_LIMIT_BYTES + 4096) + "\n" + TINY_TOML
        self.expect("CreateSearch of %d bytes, over the server's %d-byte limit" %
                    (len(too_big), SERVER_LIMIT_BYTES),
                    lambda: s("CreateSearch", pb.CreateSearchRequest(config_toml=too_big)),
                    code.RESOURCE_EXHAUSTED)

    def garbage(self, serve_alive):
        """Bytes that are no protobuf message, as the body of a unary call."""
        code = self.client.grpc.StatusCode
        garbage = b"\xff" * 11 + b"\x0a\x7fnot a protobuf"
        for method, parse in (("/headevo.v1.SearchService/GetSearch",
                               self.client.pb.SearchSummary.FromString),
                              ("/headevo.v1.WorkerService/ReportResult",
                               self.client.wpb.ReportResultResponse.FromString)):
            raw = self.client.channel.unary_unary(method, request_serializer=lambda _: garbage,
                                                  response_deserializer=parse)
            self.expect("garbage bytes as the body of %s" % method,
                        lambda: raw(None, timeout=CALL_TIMEOUT_S),
                        (code.INVALID_ARGUMENT, code.INTERNAL))
        self.ck.check(serve_alive(), "serve is still running after the garbage")

    def reports(self, dense, db_path, metrics_url):
        """WorkerService calls about the dense model's DONE job."""
        w, wpb, cpb = self.client.w, self.client.wpb, self.client.cpb
        code = self.client.grpc.StatusCode
        job = read_job(db_path, dense.job_id)
        if not self.ck.check(job is not None and job[2] == "DONE",
                             "the dense model's job %d is DONE in the database" % dense.job_id,
                             job):
            return
        attempt, worker_id = job[0], job[1]
        unknown_worker = worker_id + 1000
        live_before = workers_live(metrics_url)
        same = cpb.EvaluationResult(metrics=dense.metrics)
        self.expect("ReportResult for DONE job %d attempt %d from unknown worker %d" %
                    (dense.job_id, attempt, unknown_worker),
                    lambda: w("ReportResult", wpb.ReportResultRequest(
                        worker_id=unknown_worker, job_id=dense.job_id, attempt=attempt,
                        result=same)), code.NOT_FOUND)
        other = cpb.EvaluationResult()
        other.metrics.CopyFrom(dense.metrics)
        other.metrics.val_loss = dense.metrics.val_loss + 1.0
        self.expect("ReportResult for DONE job %d attempt %d from its worker %d with other "
                    "metrics" % (dense.job_id, attempt, worker_id),
                    lambda: w("ReportResult", wpb.ReportResultRequest(
                        worker_id=worker_id, job_id=dense.job_id, attempt=attempt,
                        result=other)), code.FAILED_PRECONDITION)
        self.expect("ReportResult for unknown job 987654 from worker %d" % worker_id,
                    lambda: w("ReportResult", wpb.ReportResultRequest(
                        worker_id=worker_id, job_id=987654, attempt=1, result=same)),
                    code.NOT_FOUND)
        self.expect("ReleaseJob of job %d from unknown worker %d" %
                    (dense.job_id, unknown_worker),
                    lambda: w("ReleaseJob", wpb.ReleaseJobRequest(
                        worker_id=unknown_worker, job_id=dense.job_id, attempt=attempt,
                        reason="python client")), code.NOT_FOUND)
        self.expect("ReportResult worker_id 0",
                    lambda: w("ReportResult", wpb.ReportResultRequest(
                        worker_id=0, job_id=dense.job_id, attempt=attempt, result=same)),
                    code.INVALID_ARGUMENT)
        live_after = workers_live(metrics_url)
        self.ck.check(live_before == 1 and live_after == live_before,
                      "headevo_workers_live stays at the one real worker through the refused "
                      "calls (before %s, after %s)" % (live_before, live_after))


def read_job(db_path, job_id):
    """(attempt, worker_id, state) of a job, read-only: the API names no job's worker."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10)
    try:
        return db.execute("SELECT attempt, worker_id, state FROM jobs WHERE id = ?",
                          (job_id,)).fetchone()
    finally:
        db.close()


def workers_live(metrics_url):
    with urllib.request.urlopen(metrics_url, timeout=CALL_TIMEOUT_S) as response:
        text = response.read().decode()
    match = re.search(r"^headevo_workers_live(?:\{[^}]*\})? ([0-9.eE+-]+)$", text, re.M)
    return float(match.group(1)) if match else None


# ---- bearer tokens ----------------------------------------------------------------------------

def check_bearer(ck, grpc, procs, work_dir):
    """A second coordinator that needs a token: the scheme is case-insensitive (RFC 6750)."""
    token_file = os.path.join(work_dir, "token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    _, address, _ = procs.serve("serve-token", "token.db", ["--token-file", token_file])
    client = Client(grpc, address)
    pb, code = client.pb, grpc.StatusCode
    cases = [
        ("no authorization", None, code.UNAUTHENTICATED),
        ("a wrong token", [("authorization", "Bearer not-" + TOKEN)], code.UNAUTHENTICATED),
        ("'Bearer TOKEN'", [("authorization", "Bearer " + TOKEN)], None),
        ("'bearer TOKEN' (lower-case scheme)", [("authorization", "bearer " + TOKEN)], None),
    ]
    for what, metadata, expected in cases:
        try:
            kwargs = {"timeout": CALL_TIMEOUT_S}
            if metadata:
                kwargs["metadata"] = metadata
            client.search.ListSearches(pb.ListSearchesRequest(), **kwargs)
            got, details = None, ""
        except grpc.RpcError as e:
            got, details = e.code(), e.details()
        ck.check(got == expected, "token coordinator, %s -> %s" %
                 (what, expected.name if expected else "OK"),
                 "got %s: %s" % (got.name if got else "OK", details))
