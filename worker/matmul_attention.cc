#include "worker/matmul_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "worker/matmul_attention_cpu.h"

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

bool MatmulAttentionIsCheaper(const std::vector<std::vector<int32_t>>& offsets, int64_t seq_len) {
  size_t widest = 0;
  for (const auto& head : offsets) {
    if (std::set<int32_t>(head.begin(), head.end()).size() != head.size()) return false;
    widest = std::max(widest, head.size());
  }
  return seq_len >= kMatmulMinSeqLen &&
         static_cast<int64_t>(widest) * kMatmulWidthDivisor >= seq_len;
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
  // Along the diagonals: entry (h, o + N - 1) picks the bias of offset o of head h.
  std::vector<int64_t> diagonal(static_cast<size_t>(H * (2 * N - 1)), absent);
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t j = 0; j < static_cast<int64_t>(offsets[h].size()); ++j) {
      const int64_t offset = offsets[h][j];
      if (offset > -N && offset < N) diagonal[h * (2 * N - 1) + offset + N - 1] = h * K + j;
    }
  }
  plan.diagonal_index = torch::tensor(diagonal, torch::kInt64).to(device);
  plan.diagonal_blocked = plan.diagonal_index.eq(absent).view({H, 2 * N - 1});
  return plan;
}

namespace {

// The training path on the CPU: the fused loops of matmul_attention_cpu.h, forward and
// backward (the backward recomputes the probs from the saved logsumexp).
class FusedDenseAttention : public torch::autograd::Function<FusedDenseAttention> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                               const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& diagonal_bias, double scale) {
    std::vector<torch::Tensor> result = DenseAttentionCpuForward(q, k, v, diagonal_bias, scale);
    ctx->save_for_backward({q, k, v, diagonal_bias, result[0], result[1]});
    ctx->saved_data["scale"] = scale;
    return result[0];
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    std::vector<torch::Tensor> result =
        DenseAttentionCpuBackward(saved[0], saved[1], saved[2], saved[3], saved[4], saved[5],
                                  grads[0], ctx->saved_data["scale"].toDouble());
    return {result[0], result[1], result[2], result[3], torch::Tensor()};
  }
};

// [H, N, K] int64: the key column t + offsets[h][j] of each offset-layout entry (any in-range
// column where the entry is invalid; such entries are zeroed).
torch::Tensor EntryColumns(const AttentionPattern& pattern) {
  const int64_t H = pattern.num_heads, N = pattern.seq_len, K = pattern.max_k;
  const torch::Tensor first_row = torch::arange(H, pattern.gather.options()).mul(N).view({H, 1, 1});
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
  const torch::Tensor padded_bias = torch::cat({bias.reshape({-1}), bias.new_zeros({1})});
  // Scaling q (N x D) is cheaper than scaling the N x N scores.
  const double scale = 1.0 / std::sqrt(static_cast<double>(scale_dim > 0 ? scale_dim : D));
  SparseAttentionOutput result;
  if (wanted == ProbsWanted::kNone && q.device().is_cpu()) {
    // Training: the fused loops, with the bias along the diagonals ([H, 2N - 1]: a head's
    // bias depends only on the offset), so neither the bias nor its gradient is ever N x N.
    const torch::Tensor diagonal_bias =
        padded_bias.index_select(0, plan.diagonal_index)
            .view({H, 2 * N - 1})
            .masked_fill(plan.diagonal_blocked, -std::numeric_limits<double>::infinity());
    result.output = FusedDenseAttention::apply(q, k, v, diagonal_bias, scale);
    return result;
  }
  // [H, N, N]: the learned bias where the head has the offset, -inf where it does not.
  const torch::Tensor bias_matrix =
      padded_bias.index_select(0, plan.bias_index)
          .view({H, N, N})
          .masked_fill(plan.blocked, -std::numeric_limits<double>::infinity());
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
