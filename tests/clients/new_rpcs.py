"""The RPCs issue 20 adds (GetCandidate, ListWorkers, GetSearchConfig, DeleteSearch), checked
where the generated stubs have them, so the test passes before and after they land."""

from client import TINY_TOML, expect_code


def check_new_rpcs(ck, client, summary, search_id):
    """GetCandidate, ListWorkers, GetSearchConfig, DeleteSearch, where the stubs have them
    (issue 20 adds them); each one missing prints that it was skipped. Requests are built from
    the service descriptor's input types. DeleteSearch runs last: it removes the search."""
    pb, code = client.pb, client.grpc.StatusCode
    methods = pb.DESCRIPTOR.services_by_name["SearchService"].methods_by_name

    def request(rpc, **fields):
        name = methods[rpc].input_type.name
        module = pb if hasattr(pb, name) else client.cpb
        return getattr(module, name)(**fields)

    def available(rpc):
        if rpc in methods and hasattr(client.search, rpc):
            return True
        print("skipped: %s is not in proto/ yet" % rpc)
        return False

    if available("GetCandidate"):
        best = summary.best_candidate_id
        got = client.s("GetCandidate", request("GetCandidate", candidate_id=best))
        lineage = client.s("GetLineage", pb.GetLineageRequest(candidate_id=best)).ancestors[0]
        ck.check(got.id == best and got.search_id == search_id and
                 got.genome == lineage.genome and got.metrics == lineage.metrics,
                 "GetCandidate of the best candidate: its search, genome and metrics as "
                 "GetLineage gives them", got)
        expect_code(ck, client, "GetCandidate of unknown candidate", lambda: client.s(
            "GetCandidate", request("GetCandidate", candidate_id=987654)), code.NOT_FOUND)
        expect_code(ck, client, "GetCandidate candidate_id 0", lambda: client.s(
            "GetCandidate", request("GetCandidate", candidate_id=0)), code.INVALID_ARGUMENT)
    if available("ListWorkers"):
        got = client.s("ListWorkers", request("ListWorkers"))
        ck.check(any(w.name == "python-client-worker" and w.device == "cpu"
                     for w in got.workers),
                 "ListWorkers lists the worker by the name and device it was started with", got)
    if available("GetSearchConfig"):
        got = client.s("GetSearchConfig", request("GetSearchConfig", search_id=search_id))
        ck.check(got.config_toml == TINY_TOML,
                 "GetSearchConfig gives back the TOML the search was created with", got)
        expect_code(ck, client, "GetSearchConfig of unknown search", lambda: client.s(
            "GetSearchConfig", request("GetSearchConfig", search_id=987654)), code.NOT_FOUND)
    if available("DeleteSearch"):
        expect_code(ck, client, "DeleteSearch search_id 0", lambda: client.s(
            "DeleteSearch", request("DeleteSearch", search_id=0)), code.INVALID_ARGUMENT)
        expect_code(ck, client, "DeleteSearch of unknown search", lambda: client.s(
            "DeleteSearch", request("DeleteSearch", search_id=987654)), code.NOT_FOUND)
        got = client.s("DeleteSearch", request("DeleteSearch", search_id=search_id))
        print("ok: DeleteSearch of the DONE search answers OK: %s" %
              str(got).replace("\n", " "))
        expect_code(ck, client, "GetSearch after DeleteSearch", lambda: client.s(
            "GetSearch", pb.GetSearchRequest(search_id=search_id)), code.NOT_FOUND)
        expect_code(ck, client, "GetLineage of a deleted candidate", lambda: client.s(
            "GetLineage", pb.GetLineageRequest(candidate_id=summary.best_candidate_id)),
            code.NOT_FOUND)
