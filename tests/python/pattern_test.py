"""headevo.pattern, attention_mask and mask_mod: the mask holds exactly the offsets (near the
sequence's ends too), mask_mod called as a plain function agrees with it, and the PyTorch
model's attention reads exactly the positions the mask allows."""

import unittest

try:
    import pandas
    import torch
    import headevo
    import headevo.model
except ImportError as e:  # python3-torch / python3-pandas missing: deploy/setup.sh installs them
    raise unittest.SkipTest("cannot import torch/pandas/headevo: %s" % e)

SEQ_LEN = 12
# Causal and bidirectional heads, offsets beyond the sequence, a head no query near the
# start can use.
LAYER = [[-3, -1], [0], [-11, -5, 2, 4], [-20, 30], [-6]]


class PatternTest(unittest.TestCase):
    def test_the_mask_holds_exactly_the_offsets(self):
        mask = headevo.attention_mask(LAYER, SEQ_LEN)
        self.assertEqual(mask.shape, (len(LAYER), SEQ_LEN, SEQ_LEN))
        self.assertEqual(mask.dtype, torch.bool)
        for h, offsets in enumerate(LAYER):
            for q in range(SEQ_LEN):
                for k in range(SEQ_LEN):
                    self.assertEqual(bool(mask[h, q, k]), (k - q) in offsets, (h, q, k))
        self.assertFalse(mask[3].any(), "offsets past the sequence allow nothing")
        self.assertFalse(mask[4, :6].any(), "the first 6 queries of an offset -6 head read nothing")

    def test_mask_mod_called_directly_agrees_with_the_mask(self):
        mask = headevo.attention_mask(LAYER, SEQ_LEN)
        predicate = headevo.mask_mod(LAYER, SEQ_LEN)
        for h in range(len(LAYER)):
            for q in range(SEQ_LEN):
                for k in range(SEQ_LEN):
                    self.assertEqual(bool(predicate(0, h, q, k)), bool(mask[h, q, k]), (h, q, k))
        # With tensor indices, as FlexAttention calls it.
        h, q, k = torch.meshgrid(torch.arange(len(LAYER)), torch.arange(SEQ_LEN),
                                 torch.arange(SEQ_LEN), indexing="ij")
        self.assertTrue(torch.equal(predicate(torch.tensor(0), h, q, k), mask))

    def test_the_model_attention_reads_exactly_the_masked_positions(self):
        torch.manual_seed(0)
        attention = headevo.model.SparseOffsetAttention(d_model=8, d_head=4, seq_len=SEQ_LEN,
                                                        offsets=LAYER,
                                                        extra_key_width=[0, 2, 0, 0, 1])
        with torch.no_grad():
            attention.offset_bias.normal_()
            attention.qk_extra.weight.normal_()
        mask = headevo.attention_mask(LAYER, SEQ_LEN)
        for h in range(len(LAYER)):
            with torch.no_grad():  # head h alone: every other head's gate at 0
                attention.gate.zero_()
                attention.gate[h] = 1.0
            for t in range(SEQ_LEN):
                x = torch.randn(1, SEQ_LEN, 8, requires_grad=True)
                (grad,) = torch.autograd.grad(attention(x)[0, t].sum(), x)
                read = grad[0].abs().sum(-1) > 0
                expected = mask[h, t].clone()
                # The query's own position matters only when the softmax has two keys or more.
                expected[t] |= bool(mask[h, t].sum() >= 2)
                self.assertTrue(torch.equal(read, expected), (h, t, read, expected))

    def test_pattern_groups_a_genome_by_layer_in_slot_order(self):
        genome = pandas.DataFrame({"slot": [0, 1, 2, 3], "head_id": [5, 6, 7, 8],
                                   "layer": [1, 0, 1, 0],
                                   "offsets": [[-1], [-4, -2], [-3, -7], [0]],
                                   "extra_key_width": [0, 0, 0, 0]})
        self.assertEqual(headevo.pattern(genome), [[[-4, -2], [0]], [[-1], [-7, -3]]])
        with self.assertRaises(TypeError):
            headevo.pattern(42)


if __name__ == "__main__":
    unittest.main()
