#include "worker/sparse_attention_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace headevo::worker {
namespace {

// Every loop below runs over query positions t with unit stride: the kernel works on [D, N]
// (transposed) copies of q, k, v, so entry j of a tile of queries reads the contiguous key rows
// t + o_j of each feature d. No horizontal reductions, no gathers: the compiler vectorises
// the plain multiply-adds.
constexpr int64_t kTile = 256;  // queries per tile: a [D, kTile] block of each input stays in L2

struct Dims {
  int64_t B, H, N, D, K;
};

// One (batch, head) slice. q, k, v, out and their gradients are [D, N]; probs are [K, N].
template <typename T>
struct Slice {
  const T* q;
  const T* k;
  const T* v;
  const T* bias;           // [K]
  const int32_t* offsets;  // [K]
  int64_t count;           // real offsets of this head
};

// The queries t in [t0, t1) whose key t + o lies inside [0, N).
inline void ValidRange(int64_t t0, int64_t t1, int64_t o, int64_t n, int64_t* lo, int64_t* hi) {
  *lo = std::max(t0, -o);
  *hi = std::min(t1, n - o);
}

template <typename T>
void ForwardSlice(const Slice<T>& in, const Dims& d, T* out, T* probs, T* scores) {
  const T scale = T(1) / std::sqrt(static_cast<T>(d.D));
  constexpr T kMinusInf = -std::numeric_limits<T>::infinity();
  const int64_t N = d.N;
  std::fill(out, out + d.D * N, T(0));
  std::fill(probs, probs + d.K * N, T(0));
  T max_score[kTile], sum[kTile];
  for (int64_t t0 = 0; t0 < N; t0 += kTile) {
    const int64_t t1 = std::min(N, t0 + kTile), len = t1 - t0;
    std::fill(max_score, max_score + len, kMinusInf);
    for (int64_t j = 0; j < in.count; ++j) {
      const int64_t o = in.offsets[j];
      T* __restrict__ s = scores + j * kTile - t0;  // s[t] for t in [t0, t1)
      std::fill(s + t0, s + t1, kMinusInf);
      int64_t lo, hi;
      ValidRange(t0, t1, o, N, &lo, &hi);
      if (lo >= hi) continue;
      std::fill(s + lo, s + hi, T(0));
      for (int64_t f = 0; f < d.D; ++f) {
        const T* __restrict__ qf = in.q + f * N;
        const T* __restrict__ kf = in.k + f * N + o;
        for (int64_t t = lo; t < hi; ++t) s[t] += qf[t] * kf[t];
      }
      for (int64_t t = lo; t < hi; ++t) {
        s[t] = s[t] * scale + in.bias[j];
        max_score[t - t0] = std::max(max_score[t - t0], s[t]);
      }
    }
    // A query with no key in range keeps max -inf; shifting by 0 instead makes its exps 0.
    for (int64_t i = 0; i < len; ++i) {
      if (max_score[i] == kMinusInf) max_score[i] = 0;
      sum[i] = 0;
    }
    for (int64_t j = 0; j < in.count; ++j) {
      const T* s = scores + j * kTile;
      T* p = probs + j * N + t0;
      for (int64_t i = 0; i < len; ++i) {
        p[i] = std::exp(s[i] - max_score[i]);
        sum[i] += p[i];
      }
    }
    for (int64_t i = 0; i < len; ++i) sum[i] = sum[i] > 0 ? T(1) / sum[i] : T(0);
    for (int64_t j = 0; j < in.count; ++j) {
      const int64_t o = in.offsets[j];
      T* p = probs + j * N;
      for (int64_t t = t0; t < t1; ++t) p[t] *= sum[t - t0];
      int64_t lo, hi;
      ValidRange(t0, t1, o, N, &lo, &hi);
      for (int64_t f = 0; f < d.D; ++f) {
        T* __restrict__ of = out + f * N;
        const T* __restrict__ vf = in.v + f * N + o;
        for (int64_t t = lo; t < hi; ++t) of[t] += p[t] * vf[t];
      }
    }
  }
}

// Writes dq and accumulates dk, dv (zeroed by the caller) and dbias [K] for one slice.
// With dP_j = dO.v_j and c = sum_j p_j dP_j = dO.out, the score gradient is p_j (dP_j - c).
template <typename T>
void BackwardSlice(const Slice<T>& in, const Dims& d, const T* out, const T* probs,
                   const T* grad_out, T* dq, T* dk, T* dv, T* dbias) {
  const T scale = T(1) / std::sqrt(static_cast<T>(d.D));
  const int64_t N = d.N;
  T c[kTile], ds[kTile];
  for (int64_t t0 = 0; t0 < N; t0 += kTile) {
    const int64_t t1 = std::min(N, t0 + kTile), len = t1 - t0;
    std::fill(c, c + len, T(0));
    for (int64_t f = 0; f < d.D; ++f) {
      const T* gf = grad_out + f * N + t0;
      const T* of = out + f * N + t0;
      for (int64_t i = 0; i < len; ++i) c[i] += gf[i] * of[i];
    }
    for (int64_t j = 0; j < in.count; ++j) {
      const int64_t o = in.offsets[j];
      int64_t lo, hi;
      ValidRange(t0, t1, o, N, &lo, &hi);
      if (lo >= hi) continue;
      T* __restrict__ dst = ds - t0;  // dst[t] for t in [lo, hi)
      std::fill(dst + lo, dst + hi, T(0));
      for (int64_t f = 0; f < d.D; ++f) {
        const T* __restrict__ gf = grad_out + f * N;
        const T* __restrict__ vf = in.v + f * N + o;
        for (int64_t t = lo; t < hi; ++t) dst[t] += gf[t] * vf[t];
      }
      const T* p = probs + j * N;
      T bias_grad = 0;
      for (int64_t t = lo; t < hi; ++t) {
        dst[t] = p[t] * (dst[t] - c[t - t0]);
        bias_grad += dst[t];
      }
      dbias[j] += bias_grad;
      for (int64_t t = lo; t < hi; ++t) dst[t] *= scale;
      // Three separate streams: a loop that updates dq, dk and dv together does not vectorise.
      for (int64_t f = 0; f < d.D; ++f) {
        const T* __restrict__ kf = in.k + f * N + o;
        T* __restrict__ dqf = dq + f * N;
        for (int64_t t = lo; t < hi; ++t) dqf[t] += dst[t] * kf[t];
      }
      for (int64_t f = 0; f < d.D; ++f) {
        const T* __restrict__ qf = in.q + f * N;
        T* __restrict__ dkf = dk + f * N + o;
        for (int64_t t = lo; t < hi; ++t) dkf[t] += dst[t] * qf[t];
      }
      for (int64_t f = 0; f < d.D; ++f) {
        const T* __restrict__ gf = grad_out + f * N;
        T* __restrict__ dvf = dv + f * N + o;
        for (int64_t t = lo; t < hi; ++t) dvf[t] += p[t] * gf[t];
      }
    }
  }
}

Dims CheckInputs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                 const torch::Tensor& bias, const torch::Tensor& offsets,
                 const torch::Tensor& counts) {
  TORCH_CHECK(q.dim() == 4 && q.sizes() == k.sizes() && q.sizes() == v.sizes(),
              "SparseAttentionCpu: q, k, v must share a [B, H, N, D] shape");
  TORCH_CHECK(q.device().is_cpu() && k.device().is_cpu() && v.device().is_cpu() &&
                  bias.device().is_cpu(),
              "SparseAttentionCpu: tensors must be on the CPU");
  TORCH_CHECK(k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type() &&
                  bias.scalar_type() == q.scalar_type(),
              "SparseAttentionCpu: q, k, v and bias must share a dtype");
  const Dims d{q.size(0), q.size(1), q.size(2), q.size(3), offsets.size(-1)};
  TORCH_CHECK(offsets.dim() == 2 && offsets.size(0) == d.H &&
                  offsets.scalar_type() == torch::kInt32 && offsets.device().is_cpu(),
              "SparseAttentionCpu: offsets must be a CPU int32 [H, K] tensor");
  TORCH_CHECK(bias.dim() == 2 && bias.size(0) == d.H && bias.size(1) == d.K,
              "SparseAttentionCpu: bias must be [", d.H, ", ", d.K, "]");
  TORCH_CHECK(counts.dim() == 1 && counts.size(0) == d.H &&
                  counts.scalar_type() == torch::kInt32 && counts.device().is_cpu(),
              "SparseAttentionCpu: counts must be a CPU int32 [H] tensor");
  const int32_t* c = counts.data_ptr<int32_t>();
  for (int64_t h = 0; h < d.H; ++h) {
    TORCH_CHECK(c[h] >= 0 && c[h] <= d.K, "SparseAttentionCpu: counts[", h, "] = ", c[h],
                " outside [0, ", d.K, "]");
  }
  return d;
}

template <typename T>
Slice<T> SliceOf(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                 const torch::Tensor& bias, const torch::Tensor& offsets,
                 const torch::Tensor& counts, const Dims& d, int64_t bh) {
  const int64_t h = bh % d.H;
  const int64_t row = bh * d.N * d.D;
  return Slice<T>{q.data_ptr<T>() + row,          k.data_ptr<T>() + row,
                  v.data_ptr<T>() + row,          bias.data_ptr<T>() + h * d.K,
                  offsets.data_ptr<int32_t>() + h * d.K, counts.data_ptr<int32_t>()[h]};
}

class SparseAttentionFunction : public torch::autograd::Function<SparseAttentionFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                torch::Tensor q, torch::Tensor k,
                                                torch::Tensor v, torch::Tensor bias,
                                                torch::Tensor offsets, torch::Tensor counts) {
    const Dims d = CheckInputs(q, k, v, bias, offsets, counts);
    // The kernel's layout: [B, H, D, N], so that loops over queries have unit stride.
    const torch::Tensor qt = q.transpose(2, 3).contiguous(), kt = k.transpose(2, 3).contiguous(),
                        vt = v.transpose(2, 3).contiguous();
    bias = bias.contiguous();
    offsets = offsets.contiguous();
    torch::Tensor out_t = torch::empty_like(qt);
    torch::Tensor probs_t = torch::empty({d.B, d.H, d.K, d.N}, q.options());
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "SparseAttentionCpu.forward", [&] {
      at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> scores(static_cast<size_t>(std::max<int64_t>(d.K, 1) * kTile));
        for (int64_t bh = begin; bh < end; ++bh) {
          ForwardSlice(SliceOf<scalar_t>(qt, kt, vt, bias, offsets, counts, d, bh), d,
                       out_t.data_ptr<scalar_t>() + bh * d.D * d.N,
                       probs_t.data_ptr<scalar_t>() + bh * d.K * d.N, scores.data());
        }
      });
    });
    ctx->save_for_backward({qt, kt, vt, bias, offsets, counts, out_t, probs_t});
    torch::Tensor probs = probs_t.transpose(2, 3);
    ctx->mark_non_differentiable({probs});
    return {out_t.transpose(2, 3), probs};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &qt = saved[0], &kt = saved[1], &vt = saved[2], &bias = saved[3],
                        &offsets = saved[4], &counts = saved[5], &out_t = saved[6],
                        &probs_t = saved[7];
    const Dims d{qt.size(0), qt.size(1), qt.size(3), qt.size(2), offsets.size(1)};
    torch::Tensor dq = torch::zeros_like(qt), dk = torch::zeros_like(kt),
                  dv = torch::zeros_like(vt);
    torch::Tensor dbias_per_batch = torch::zeros({d.B, d.H, d.K}, qt.options());
    if (grads[0].defined()) {
      const torch::Tensor grad_t = grads[0].transpose(2, 3).contiguous();
      AT_DISPATCH_FLOATING_TYPES(qt.scalar_type(), "SparseAttentionCpu.backward", [&] {
        at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
          for (int64_t bh = begin; bh < end; ++bh) {
            const int64_t rows = bh * d.D * d.N;
            BackwardSlice(SliceOf<scalar_t>(qt, kt, vt, bias, offsets, counts, d, bh), d,
                          out_t.data_ptr<scalar_t>() + rows,
                          probs_t.data_ptr<scalar_t>() + bh * d.K * d.N,
                          grad_t.data_ptr<scalar_t>() + rows, dq.data_ptr<scalar_t>() + rows,
                          dk.data_ptr<scalar_t>() + rows, dv.data_ptr<scalar_t>() + rows,
                          dbias_per_batch.data_ptr<scalar_t>() + bh * d.K);
          }
        });
      });
    }
    dq = dq.transpose(2, 3), dk = dk.transpose(2, 3), dv = dv.transpose(2, 3);
    return {dq, dk, dv, dbias_per_batch.sum(0), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

std::vector<torch::Tensor> SparseAttentionCpu(const torch::Tensor& q, const torch::Tensor& k,
                                              const torch::Tensor& v, const torch::Tensor& bias,
                                              const torch::Tensor& offsets,
                                              const torch::Tensor& counts) {
  return SparseAttentionFunction::apply(q, k, v, bias, offsets, counts);
}

}  // namespace headevo::worker
