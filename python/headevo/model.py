"""headevo's sparse-offset transformer in plain PyTorch (torch 1.13 or newer), and load(),
which reads a file written by `headevo export-model` into it.

It computes the function worker/model.cc computes (the export test checks the logits agree
to 1e-5 on the same tokens):
  logits = unembedding(final_norm(blocks(embedding(tokens))))     no position embedding;
  block:   h = x + attention(norm1(x));  out = h + fc2(gelu(fc1(norm2(h))))     pre-LN;
  attention, per head with offsets O (pattern.py says which keys a query reads):
    q, k, v from one fused projection `qkv` (rows: all heads' queries, then keys, then values);
    a grown head's queries and keys have extra columns from `qk_extra` (its own first
    extra_key_width of them, the rest masked to 0); scores q.k / sqrt(d_head) (d_head however
    wide the head grew) plus a learned bias per (head, entry of O) `offset_bias`; softmax over
    the keys inside the sequence; a query with none outputs 0; each head's output times its
    `gate` (1.0 as trained) goes through `out`.
Parameter names are those of the C++ model, so the exported state_dict loads strictly.
"""

import math

import torch
from torch import nn
import torch.nn.functional as F

FORMAT = "headevo.model/1"


class SparseOffsetAttention(nn.Module):
    """One layer's heads. offsets[h]: head h's offsets (its bias entries in this order);
    extra_key_width[h]: its query/key columns beyond d_head."""

    def __init__(self, d_model, d_head, seq_len, offsets, extra_key_width=None):
        super().__init__()
        heads = len(offsets)
        self.num_heads, self.d_head, self.seq_len = heads, d_head, seq_len
        self.offsets = [list(o) for o in offsets]
        extra = list(extra_key_width or [0] * heads)
        self.max_extra = max(extra) if extra else 0
        # Registration order as in C++ (qkv, out, gate, qk_extra, extra_mask, offset_bias).
        self.qkv = nn.Linear(d_model, 3 * heads * d_head)
        self.out = nn.Linear(heads * d_head, d_model)
        self.gate = nn.Parameter(torch.ones(heads))
        if self.max_extra > 0:
            self.qk_extra = nn.Linear(d_model, 2 * heads * self.max_extra)
            mask = torch.zeros(heads, self.max_extra)
            for h, width in enumerate(extra):
                mask[h, :width] = 1.0
            self.register_buffer("extra_mask", mask)
        k = max([1] + [len(o) for o in self.offsets])
        self.offset_bias = nn.Parameter(torch.zeros(heads, k))
        # The gather plan: key position of entry j of query t of head h, and whether it is real.
        position = torch.zeros(heads, seq_len, k, dtype=torch.long)
        valid = torch.zeros(heads, seq_len, k, dtype=torch.bool)
        for h, head_offsets in enumerate(self.offsets):
            for j, o in enumerate(head_offsets):
                for t in range(seq_len):
                    if 0 <= t + o < seq_len:
                        position[h, t, j] = t + o
                        valid[h, t, j] = True
                    else:
                        position[h, t, j] = t
        for h, head_offsets in enumerate(self.offsets):
            position[h, :, len(head_offsets):] = torch.arange(seq_len).view(-1, 1)
        self.register_buffer("key_position", position, persistent=False)
        self.register_buffer("valid", valid, persistent=False)
        # Invalid entries of queries that have a valid one: -inf before the softmax. Queries
        # with none are zeroed after it instead (no NaN), as the C++ kernels do.
        self.register_buffer("masked", ~valid & valid.any(-1, keepdim=True), persistent=False)

    def forward(self, x):
        B, N, _ = x.shape
        H, D = self.num_heads, self.d_head
        q, k, v = self.qkv(x).view(B, N, 3, H, D).permute(2, 0, 3, 1, 4).unbind(0)
        if self.max_extra > 0:
            E = self.max_extra
            eq, ek = self.qk_extra(x).view(B, N, 2, H, E).permute(2, 0, 3, 1, 4).unbind(0)
            q = torch.cat([q, eq * self.extra_mask.view(1, H, 1, E)], -1)
            k = torch.cat([k, ek], -1)
        heads = torch.arange(H).view(H, 1, 1)
        keys = k[:, heads, self.key_position]      # [B, H, N, K, Dk]
        values = v[:, heads, self.key_position]    # [B, H, N, K, D]
        scores = (q.unsqueeze(3) * keys).sum(-1) / math.sqrt(D)
        scores = scores + self.offset_bias.view(1, H, 1, -1)
        scores = scores.masked_fill(self.masked, float("-inf"))
        probs = torch.softmax(scores, -1).masked_fill(~self.valid, 0.0)
        attended = (probs.unsqueeze(-1) * values).sum(3)  # [B, H, N, D]
        attended = attended * self.gate.view(1, H, 1, 1)
        return self.out(attended.permute(0, 2, 1, 3).reshape(B, N, H * D))


class TransformerBlock(nn.Module):
    def __init__(self, d_model, d_head, mlp_ratio, seq_len, offsets, extra_key_width=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attention = SparseOffsetAttention(d_model, d_head, seq_len, offsets,
                                               extra_key_width)
        self.norm2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, mlp_ratio * d_model)
        self.fc2 = nn.Linear(mlp_ratio * d_model, d_model)

    def forward(self, x):
        h = x + self.attention(self.norm1(x))
        return h + self.fc2(F.gelu(self.fc1(self.norm2(h))))


class SparseTransformer(nn.Module):
    """tokens [B, seq_len] int64 in [0, vocab_size) -> logits [B, seq_len, vocab_size].
    offsets[layer][head]: each head's offsets (headevo.pattern's shape); extra_key_width the
    same shape of ints, or None."""

    def __init__(self, vocab_size, d_model, d_head, mlp_ratio, seq_len, offsets,
                 extra_key_width=None):
        super().__init__()
        self.seq_len, self.num_layers = seq_len, len(offsets)
        self.embedding = nn.Embedding(vocab_size, d_model)
        for layer, layer_offsets in enumerate(offsets):
            extra = extra_key_width[layer] if extra_key_width else None
            self.add_module("block%d" % layer, TransformerBlock(
                d_model, d_head, mlp_ratio, seq_len, layer_offsets, extra))
        self.final_norm = nn.LayerNorm(d_model)
        self.unembedding = nn.Linear(d_model, vocab_size)
        self.exported_heads = []  # the file's "heads" when made by load()

    def forward(self, tokens):
        if tokens.dim() != 2 or tokens.size(1) != self.seq_len:
            raise ValueError("tokens must be [batch, %d], got %s" % (self.seq_len,
                                                                     list(tokens.shape)))
        x = self.embedding(tokens)
        for layer in range(self.num_layers):
            x = getattr(self, "block%d" % layer)(x)
        return self.unembedding(self.final_norm(x))


def from_export(exported):
    """The model an exported dict (torch.load of `headevo export-model`'s file) describes,
    with its weights, in eval mode. ValueError when the dict is not such a file."""
    if not isinstance(exported, dict) or exported.get("format") != FORMAT:
        found = exported.get("format") if isinstance(exported, dict) else type(exported).__name__
        raise ValueError("not a headevo model file (format %r, expected %r): write one with "
                         "`headevo export-model CANDIDATE -o FILE`" % (found, FORMAT))
    config = exported["config"]
    layers = int(config["num_layers"])
    offsets = [[] for _ in range(layers)]
    extra = [[] for _ in range(layers)]
    for head in exported["heads"]:
        offsets[head["layer"]].append(list(head["offsets"]))
        extra[head["layer"]].append(int(head["extra_key_width"]))
    model = SparseTransformer(int(config["vocab_size"]), int(config["d_model"]),
                              int(config["d_head"]), int(config["mlp_ratio"]),
                              int(config["seq_len"]), offsets, extra)
    model.load_state_dict(exported["state_dict"], strict=True)
    model.exported_heads = list(exported["heads"])
    model.candidate_id = int(exported.get("candidate_id", 0))
    return model.eval()


def load(path):
    """The model in a file written by `headevo export-model CANDIDATE -o path`."""
    return from_export(torch.load(path, map_location="cpu"))
