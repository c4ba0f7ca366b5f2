"""A candidate's attention pattern for other code: each layer's heads' offsets, the boolean
attention mask they induce, and a FlexAttention mask_mod.

The rule (worker/sparse_attention.h): query position t of a head with offsets O attends to
key position t + o for each o in O with 0 <= t + o < seq_len; nothing else. Offsets are
relative, so position enters only through them (there is no position embedding), and near
the start of the sequence a causal head simply has fewer keys. A query with no key at all
(t + o outside the sequence for every o, e.g. t = 0 for a head with offsets {-3, -1}) gets a
zero output in headevo's model: attention code that softmaxes over a fully masked row gives
NaN there instead, so handle such rows (headevo.model does) or keep offset 0 in every head.
"""


def pattern(candidate):
    """Each layer's heads' offsets, [layer][head] -> sorted list of ints, heads in the model's
    order (genome order within a layer). `candidate`: a Reader.genome() DataFrame, a model
    from headevo.model.load, the dict torch.load gives for an exported file, or that file's
    path. (Reader.pattern(candidate_id) reads the genome for you.)"""
    heads, num_layers = _heads_of(candidate)
    layers = [[] for _ in range(num_layers)]
    for layer, offsets in heads:
        layers[layer].append(sorted(int(o) for o in offsets))
    return layers


def _heads_of(candidate):
    """[(layer, offsets)] in genome order, and the number of layers."""
    if isinstance(candidate, str):
        import torch
        candidate = torch.load(candidate)
    if hasattr(candidate, "exported_heads"):  # headevo.model.SparseTransformer
        candidate = {"heads": candidate.exported_heads,
                     "config": {"num_layers": candidate.num_layers}}
    if isinstance(candidate, dict):
        heads = [(h["layer"], h["offsets"]) for h in candidate["heads"]]
        return heads, int(candidate["config"]["num_layers"])
    if hasattr(candidate, "iterrows"):  # a genome DataFrame
        ordered = candidate.sort_values("slot", kind="stable")
        heads = [(int(r["layer"]), r["offsets"]) for _, r in ordered.iterrows()]
        return heads, (max(layer for layer, _ in heads) + 1) if heads else 0
    raise TypeError("pattern() takes a genome DataFrame, a headevo model, an exported dict or "
                    "a model file path; got %s" % type(candidate).__name__)


def attention_mask(layer_offsets, seq_len):
    """Bool tensor [H, seq_len, seq_len]: mask[h, q, k] is True when query q of head h
    attends to key k, i.e. k - q is one of the head's offsets. `layer_offsets`: one layer of
    pattern(), a list of offset lists. Pass it as attn_mask (True = attend) to
    torch.nn.functional.scaled_dot_product_attention (PyTorch 2.0+), minding the rows with
    no True (see the module's docstring)."""
    import torch
    positions = torch.arange(seq_len)
    distance = positions.view(1, -1) - positions.view(-1, 1)  # [q, k] -> k - q
    return torch.stack([_allowed(offsets, seq_len)[distance + seq_len - 1]
                        for offsets in layer_offsets])


def _allowed(offsets, seq_len):
    """Bool [2 * seq_len - 1]: entry d + seq_len - 1 says whether offset d is in the set."""
    import torch
    table = torch.zeros(2 * seq_len - 1, dtype=torch.bool)
    for offset in offsets:
        if -seq_len < offset < seq_len:
            table[offset + seq_len - 1] = True
    return table


def mask_mod(layer_offsets, seq_len):
    """A FlexAttention mask_mod for one layer (PyTorch 2.5+):

        from torch.nn.attention.flex_attention import flex_attention, create_block_mask
        mods = headevo.mask_mod(headevo.pattern(model)[layer], seq_len)
        block_mask = create_block_mask(mods, B=None, H=num_heads, Q_LEN=seq_len,
                                       KV_LEN=seq_len)
        out = flex_attention(q, k, v, block_mask=block_mask)

    The returned function f(b, h, q_idx, kv_idx) is True where head h's query q_idx attends
    to key kv_idx: a table lookup with tensor indices only, which FlexAttention can trace and
    compile. Called directly with ints it gives the same answers as attention_mask()."""
    import torch
    table = torch.stack([_allowed(offsets, seq_len) for offsets in layer_offsets])

    def predicate(b, h, q_idx, kv_idx):
        return table[h, kv_idx - q_idx + (seq_len - 1)]

    return predicate
