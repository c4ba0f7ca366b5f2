#include "worker/matmul_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace headevo::worker {

const char* AttentionPathName(AttentionPath path) {
  switch (path) {
    case AttentionPath::kAuto:
      return "auto";
    case AttentionPath::kOffsets:
      return "offsets";
    case AttentionPath::kMatmul:
      return "matmul";
  }
  return "?";
}

bool MatmulAttentionIsCheaper(const std::vector<std::vector<int32_t>>& offsets,
                              int64_t seq_len) {
  size_t widest = 0;
  for (const auto& head : offsets) {
    if (std::set<int32_t>(head.begin(), head.end()).size() != head.size()) return false;
    widest = std::max(widest, head.size());
  }
  return static_cast<int64_t>(widest) * kMatmulWidthDivisor >= seq_len;
}

MatmulAttentionPlan MatmulAttentionPlan::Build(const std::vector<std::vector<int32_t>>& offsets,
                                               const AttentionPattern& pattern,
                                               const torch::Device& device) {
  const int64_t H = pattern.num_heads, N = pattern.seq_len, K = pattern.max_k;
  const int32_t absent = static_cast<int32_t>(H * K);  // the appended 0
  std::vector<int32_t> index(static_cast<size_t>(H * N * N), absent);
  std::vector<uint8_t> has_key(static_cast<size_t>(H * N), 0);
  for (int64_t h = 0; h < H; ++h) {
    const auto& head = offsets[h];
    TORCH_CHECK(std::set<int32_t>(head.begin(), head.end()).size() == head.size(),
                "MatmulAttentionPlan: head ", h, " repeats an offset");
    for (int64_t j = 0; j < static_cast<int64_t>(head.size()); ++j) {
      for (int64_t t = std::max<int64_t>(0, -head[j]); t < std::min(N, N - head[j]); ++t) {
        index[(h * N + t) * N + t + head[j]] = static_cast<int32_t>(h * K + j);
        has_key[h * N + t] = 1;
      }
    }
  }
  MatmulAttentionPlan plan;
  plan.bias_index = torch::tensor(index, torch::kInt32).to(device);
  const torch::Tensor rows =
      torch::tensor(has_key, torch::kUInt8).to(torch::kBool).view({H, N, 1}).to(device);
  plan.blocked = plan.bias_index.eq(absent).view({H, N, N}).logical_and(rows);
  if (!rows.all().item<bool>()) plan.empty_rows = rows.logical_not();
  return plan;
}

namespace {

// Rows of queries per tile: a tile's scores (kRowTile x N floats) stay in L2 from the product
// that makes them, through the softmax, to the product that reads them, instead of streaming
// the whole [N, N] matrix through memory once per pass.
constexpr int64_t kRowTile = 128;

// softmax(q k^T * scale + bias_matrix) v, one (batch, head) slice and one row tile at a time,
// with the backward written out (the probs are saved; dS = P * (dP - rowsum(dO * O))).
// Per-slice matrix products beat LibTorch's bmm here: bmm of [N, 8] x [8, N] runs several times
// slower than the same products one slice at a time (measured with bench_attention). The loops
// are serial and BLAS is deterministic, so results are reproducible on the CPU.
class TiledAttention : public torch::autograd::Function<TiledAttention> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                               const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& bias_matrix, const torch::Tensor& empty_rows,
                               double scale) {
    const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3);
    const torch::Tensor qs = (q * scale).contiguous(), kc = k.contiguous(), vc = v.contiguous();
    const torch::Tensor bias_c = bias_matrix.contiguous();
    torch::Tensor probs = torch::empty({B, H, N, N}, q.options());
    torch::Tensor out = torch::empty({B, H, N, D}, q.options());
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < H; ++h) {
        const torch::Tensor keys_t = kc[b][h].t(), values = vc[b][h];
        for (int64_t t0 = 0; t0 < N; t0 += kRowTile) {
          const int64_t rows = std::min(kRowTile, N - t0);
          torch::Tensor p = probs[b][h].narrow(0, t0, rows);
          // mm then add: addmm_out with this bias ran several times slower (it copies the
          // bias into the tile and takes BLAS's beta = 1 path).
          at::mm_out(p, qs[b][h].narrow(0, t0, rows), keys_t);
          p.add_(bias_c[h].narrow(0, t0, rows));
          at::_softmax_out(p, p, 1, false);
          if (empty_rows.numel() > 0) p.masked_fill_(empty_rows[h].narrow(0, t0, rows), 0.0);
          torch::Tensor o = out[b][h].narrow(0, t0, rows);
          at::mm_out(o, p, values);
        }
      }
    }
    ctx->save_for_backward({qs, kc, vc, probs, out});
    ctx->saved_data["scale"] = scale;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &qs = saved[0], &kc = saved[1], &vc = saved[2], &probs = saved[3];
    const double scale = ctx->saved_data["scale"].toDouble();
    const int64_t B = qs.size(0), H = qs.size(1), N = qs.size(2);
    const torch::Tensor grad_out = grads[0].contiguous();
    const torch::Tensor delta = (grad_out * saved[4]).sum(-1, true);  // [B, H, N, 1]
    torch::Tensor dq = torch::empty_like(qs), dk = torch::zeros_like(kc),
                  dv = torch::zeros_like(vc);
    torch::Tensor dbias = torch::zeros({H, N, N}, qs.options());
    torch::Tensor scratch = torch::empty({std::min(kRowTile, N), N}, qs.options());
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < H; ++h) {
        torch::Tensor dk_bh = dk[b][h], dv_bh = dv[b][h];
        const torch::Tensor keys = kc[b][h], values_t = vc[b][h].t();
        for (int64_t t0 = 0; t0 < N; t0 += kRowTile) {
          const int64_t rows = std::min(kRowTile, N - t0);
          const torch::Tensor p = probs[b][h].narrow(0, t0, rows);
          const torch::Tensor d_out = grad_out[b][h].narrow(0, t0, rows);
          torch::Tensor ds = scratch.narrow(0, 0, rows);
          at::mm_out(ds, d_out, values_t);                                   // dP
          ds.sub_(delta[b][h].narrow(0, t0, rows)).mul_(p);                  // dS
          dbias[h].narrow(0, t0, rows).add_(ds);
          torch::Tensor dq_tile = dq[b][h].narrow(0, t0, rows);
          at::mm_out(dq_tile, ds, keys);
          dk_bh.addmm_(ds.t(), qs[b][h].narrow(0, t0, rows));
          dv_bh.addmm_(p.t(), d_out);
        }
      }
    }
    dq.mul_(scale);
    return {dq, dk, dv, dbias, torch::Tensor(), torch::Tensor()};
  }
};

// [H, N, K] int64: the key column t + offsets[h][j] of each offset-layout entry (any in-range
// column where the entry is invalid; such entries are zeroed).
torch::Tensor EntryColumns(const AttentionPattern& pattern) {
  const int64_t H = pattern.num_heads, N = pattern.seq_len, K = pattern.max_k;
  const torch::Tensor first_row =
      torch::arange(H, pattern.gather.options()).mul(N).view({H, 1, 1});
  return pattern.gather.view({H, N, K}) - first_row;
}

}  // namespace

SparseAttentionOutput MatmulAttention(const torch::Tensor& q, const torch::Tensor& k,
                                      const torch::Tensor& v, const torch::Tensor& bias,
                                      const MatmulAttentionPlan& plan,
                                      const AttentionPattern& pattern, int64_t scale_dim,
                                      ProbsWanted wanted) {
  TORCH_CHECK(q.dim() == 4 && q.sizes() == k.sizes() && q.sizes() == v.sizes(),
              "MatmulAttention: q, k, v must share a [B, H, N, D] shape");
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3);
  const int64_t K = pattern.max_k;
  TORCH_CHECK(H == pattern.num_heads && N == pattern.seq_len, "MatmulAttention: q has ", H,
              " heads x ", N, " positions, the pattern ", pattern.num_heads, " x ",
              pattern.seq_len);
  TORCH_CHECK(bias.dim() == 2 && bias.size(0) == H && bias.size(1) == K,
              "MatmulAttention: bias must be [", H, ", ", K, "]");
  // [H, N, N]: the learned bias where the head has the offset, -inf where it does not.
  const torch::Tensor padded_bias = torch::cat({bias.reshape({-1}), bias.new_zeros({1})});
  const torch::Tensor bias_matrix = padded_bias.index_select(0, plan.bias_index)
                                        .view({H, N, N})
                                        .masked_fill(plan.blocked,
                                                     -std::numeric_limits<double>::infinity());
  // Scaling q (N x D) is cheaper than scaling the N x N scores.
  const double scale = 1.0 / std::sqrt(static_cast<double>(scale_dim > 0 ? scale_dim : D));
  SparseAttentionOutput result;
  if (wanted == ProbsWanted::kNone && q.device().is_cpu()) {
    // Training: the tiled products (no probs to hand out, so none kept beyond the backward).
    // apply() takes no undefined tensor: "no query without keys" is an empty one.
    const torch::Tensor empty_rows = plan.empty_rows.defined()
                                         ? plan.empty_rows
                                         : torch::empty({0}, q.options().dtype(torch::kBool));
    result.output = TiledAttention::apply(q, k, v, bias_matrix, empty_rows, scale);
    return result;
  }
  // With probs, or off the CPU: the same function from LibTorch ops, autograd's backward.
  torch::Tensor scores = torch::matmul(q * scale, k.transpose(-1, -2));
  scores.add_(bias_matrix);  // the product's backward needs neither its output nor this sum
  torch::Tensor probs = torch::softmax(scores, -1);
  if (plan.empty_rows.defined()) probs = probs.masked_fill(plan.empty_rows, 0.0);

  if (wanted == ProbsWanted::kNone) {
    result.output = torch::matmul(probs, v);
    return result;
  }
  const torch::Tensor columns = EntryColumns(pattern).unsqueeze(0).expand({B, H, N, K});
  const torch::Tensor invalid = pattern.valid.logical_not();
  if (wanted == ProbsWanted::kDetached) {
    result.output = torch::matmul(probs, v);
    torch::NoGradGuard no_grad;
    result.probs = probs.detach().gather(3, columns).masked_fill(invalid, 0.0);
    return result;
  }
  // In the graph: route the output through the offset-layout probs. scatter_add (not scatter)
  // because invalid entries share a column with a real one; they add their 0.
  result.probs = probs.gather(3, columns).masked_fill(invalid, 0.0);
  const torch::Tensor routed = torch::zeros_like(probs).scatter_add(3, columns, result.probs);
  result.output = torch::matmul(routed, v);
  return result;
}

}  // namespace headevo::worker
