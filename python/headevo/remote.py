"""headevo.connect: the same frames as headevo.open_db, read from a running coordinator
(`headevo serve`) through SearchService's RPCs, with its bearer token and TLS.

Cost: a frame about candidates lists them (ListCandidates, 1000 a page) and then reads each
whole (GetCandidate): one call per candidate, fine for thousands. events() replays the
search's stored events (WatchSearch from the start) and returns when the stream ends, which
it does for a finished search; for a running one it returns what arrived within `wait_s`.
"""

import math

from headevo.reader import Reader

CALL_TIMEOUT_S = 30
PAGE_SIZE = 1000


def _enum(enum_type, value, prefix):
    name = enum_type.Name(value)
    return name[len(prefix):] if name.startswith(prefix) else name


def _signed(value):
    """A uint64 as the views store it: its bits read as a signed 64-bit integer."""
    return value - (1 << 64) if value >= (1 << 63) else value


def _or_none(value):
    """0 / '' -> None: the RPCs' "no value" for an id or string is the views' NULL."""
    return value if value else None


def _nan_none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class RemoteReader(Reader):
    """Reads a coordinator at `address` ("HOST:PORT"). `token`: the bearer token (serve
    --token-file); `tls_ca`: the CA certificate file (PEM) for a TLS coordinator, None for
    plaintext. Raises the grpc.RpcError of the first call that fails (a wrong token is
    UNAUTHENTICATED, an unknown search NOT_FOUND)."""

    def __init__(self, address, token=None, tls_ca=None, tls_server_name=None,
                 timeout_s=CALL_TIMEOUT_S, wait_s=5.0):
        import grpc
        from headevo import stubs
        self._grpc = grpc
        self.pb, pb_grpc = stubs.load()
        if tls_ca:
            with open(tls_ca, "rb") as f:
                credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
            options = ([("grpc.ssl_target_name_override", tls_server_name)]
                       if tls_server_name else [])
            self._channel = grpc.secure_channel(address, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(address)
        self._stub = pb_grpc.SearchServiceStub(self._channel)
        self._metadata = [("authorization", "Bearer " + token)] if token else None
        self._timeout_s = timeout_s
        self._wait_s = wait_s
        self.address = address

    def close(self):
        self._channel.close()

    def _call(self, method, request, timeout=None):
        return getattr(self._stub, method)(request, timeout=timeout or self._timeout_s,
                                           metadata=self._metadata)

    def _search_ids(self, search_id):
        if search_id is not None:
            return [int(search_id)]
        return [s.id for s in self._call("ListSearches", self.pb.ListSearchesRequest()).searches]

    def _candidates(self, search_id):
        """Every candidate (the whole proto), by id, of the search(es)."""
        result = []
        for sid in self._search_ids(search_id):
            token = ""
            while True:
                page = self._call("ListCandidates", self.pb.ListCandidatesRequest(
                    search_id=sid, page_size=PAGE_SIZE, page_token=token))
                for summary in page.candidates:
                    result.append(self._call("GetCandidate",
                                             self.pb.GetCandidateRequest(candidate_id=summary.id)))
                token = page.next_page_token
                if not token:
                    break
        return sorted(result, key=lambda c: c.id)

    def _rows(self, name, search_id):
        if name == "searches":
            return self._search_rows(search_id)
        if name == "events":
            return self._event_rows(search_id)
        return getattr(self, "_%s_rows" % name)(self._candidates(search_id))

    def _search_rows(self, search_id):
        rows = []
        for sid in self._search_ids(search_id):
            s = self._call("GetSearch", self.pb.GetSearchRequest(search_id=sid))
            config = self._call("GetSearchConfig", self.pb.GetSearchRequest(search_id=sid))
            rows.append((s.id, s.name, _enum(self.pb.SearchState, s.state, "SEARCH_STATE_"),
                         _signed(s.seed), s.created_ms, config.config_toml))
        return rows

    def _event_rows(self, search_id):
        rows = []
        for sid in self._search_ids(search_id):
            stream = self._call("WatchSearch", self.pb.WatchSearchRequest(search_id=sid),
                                timeout=self._wait_s)
            try:
                for e in stream:
                    if e.id > 0:  # candidate_started is progress only, never stored
                        rows.append((e.id, e.search_id, e.time_ms, e.kind, e.message))
            except self._grpc.RpcError as error:
                if error.code() != self._grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise
        return rows

    def _candidates_rows(self, candidates):
        from headevo.v1 import candidate_pb2
        rows = []
        for c in candidates:
            recorded = c.HasField("metrics") and c.state == candidate_pb2.CANDIDATE_STATE_DONE
            m = c.metrics
            rows.append((c.id, c.search_id, c.generation, _or_none(c.parent_id),
                         _enum(candidate_pb2.CandidateState, c.state, "CANDIDATE_STATE_"),
                         c.rung, c.mutation.description,
                         _nan_none(m.train_loss) if recorded else None,
                         _nan_none(m.val_loss) if recorded else None,
                         m.connections if recorded else None,
                         m.steps if recorded else None,
                         _nan_none(m.train_seconds) if recorded else None,
                         _or_none(c.checkpoint_sha256), _or_none(c.error)))
        return rows

    def _heads_rows(self, candidates):
        from headevo.v1 import genome_pb2
        rows, seen = [], set()
        for c in candidates:
            for h in c.genome.heads:
                if h.origin == genome_pb2.HEAD_ORIGIN_INHERITED or h.id in seen:
                    continue
                seen.add(h.id)
                offsets = list(h.offsets.offsets)
                rows.append((h.id, c.search_id, h.layer, ",".join(str(o) for o in offsets),
                             len(offsets), _enum(genome_pb2.HeadOrigin, h.origin, "HEAD_ORIGIN_"),
                             _enum(genome_pb2.SamplerKind, h.sampler, "SAMPLER_"),
                             h.sampler_params, _or_none(h.source_head_id), c.id,
                             h.extra_key_width))
        return rows

    def _candidate_heads_rows(self, candidates):
        from headevo.v1 import genome_pb2
        return [(c.id, slot, h.id, h.layer, _enum(genome_pb2.HeadOrigin, h.origin, "HEAD_ORIGIN_"))
                for c in candidates for slot, h in enumerate(c.genome.heads)]

    def _head_stats_rows(self, candidates):
        return [(c.id, s.head_id, s.layer, _nan_none(s.entropy), _nan_none(s.independence),
                 _nan_none(s.weight_norm), _nan_none(s.importance),
                 _or_none(s.most_similar_head_id))
                for c in candidates for s in c.head_stats]

    def _lineage_edges_rows(self, candidates):
        return [(c.parent_id, c.id, c.search_id, c.generation, c.mutation.description)
                for c in candidates if c.parent_id]

    def _pruned_heads_rows(self, candidates):
        return [(c.id, position, head_id) for c in candidates
                for position, head_id in enumerate(c.mutation.pruned_head_ids)]

    def _rung_results_rows(self, candidates):
        return [(c.id, r.rung, r.steps, r.tokens, _nan_none(r.train_loss), _nan_none(r.val_loss),
                 _nan_none(r.train_seconds), _or_none(r.checkpoint_sha256))
                for c in candidates for r in c.rungs]

    def _genome_rows(self, candidate_id):
        try:
            c = self._call("GetCandidate", self.pb.GetCandidateRequest(candidate_id=candidate_id))
        except self._grpc.RpcError as e:
            if e.code() == self._grpc.StatusCode.NOT_FOUND:
                raise LookupError("no candidate %d at %s" % (candidate_id, self.address))
            raise
        return [(slot, h.id, h.layer, list(h.offsets.offsets), h.extra_key_width)
                for slot, h in enumerate(c.genome.heads)]


def connect(address, token=None, tls_ca=None, tls_server_name=None, timeout_s=CALL_TIMEOUT_S,
            wait_s=5.0):
    """A Reader of the coordinator at "HOST:PORT". token: its bearer token; tls_ca: the CA
    file (PEM) of a TLS coordinator; tls_server_name: the name its certificate carries, when
    it differs from HOST. Calls are made when a frame is asked for."""
    return RemoteReader(address, token=token, tls_ca=tls_ca, tls_server_name=tls_server_name,
                        timeout_s=timeout_s, wait_s=wait_s)
