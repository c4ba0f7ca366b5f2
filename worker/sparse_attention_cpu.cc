#include "worker/sparse_attention_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace headevo::worker {
namespace {

// The inner loops run over D with unit stride; `omp simd` (enabled by -fopenmp-simd, no
// OpenMP runtime) lets the compiler vectorise the reductions too.
template <typename T>
inline T Dot(const T* a, const T* b, int64_t n) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

template <typename T>
inline void Axpy(T alpha, const T* x, T* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

struct Dims {
  int64_t B, H, N, D, K;
};

// The pointers of one (batch, head) slice. Rows of q/k/v/out/grads are D long, rows of probs K.
template <typename T>
struct Slice {
  const T* q;
  const T* k;
  const T* v;
  const T* bias;            // [K]
  const int32_t* offsets;   // [K]
  int64_t count;            // real offsets of this head
};

template <typename T>
void ForwardSlice(const Slice<T>& in, const Dims& d, T* out, T* probs, T* scores) {
  const T scale = T(1) / std::sqrt(static_cast<T>(d.D));
  constexpr T kMinusInf = -std::numeric_limits<T>::infinity();
  std::fill(out, out + d.N * d.D, T(0));
  std::fill(probs, probs + d.N * d.K, T(0));
  for (int64_t t = 0; t < d.N; ++t) {
    const T* qt = in.q + t * d.D;
    T max_score = kMinusInf;
    for (int64_t j = 0; j < in.count; ++j) {
      const int64_t src = t + in.offsets[j];
      if (src < 0 || src >= d.N) {
        scores[j] = kMinusInf;
        continue;
      }
      scores[j] = Dot(qt, in.k + src * d.D, d.D) * scale + in.bias[j];
      max_score = std::max(max_score, scores[j]);
    }
    if (max_score == kMinusInf) continue;  // no key in range: zero output, zero probs
    T* pt = probs + t * d.K;
    T sum = 0;
    for (int64_t j = 0; j < in.count; ++j) {
      pt[j] = std::exp(scores[j] - max_score);  // exp(-inf) = 0 for masked entries
      sum += pt[j];
    }
    const T inv = T(1) / sum;
    T* ot = out + t * d.D;
    for (int64_t j = 0; j < in.count; ++j) {
      if (pt[j] == T(0)) continue;
      pt[j] *= inv;
      Axpy(pt[j], in.v + (t + in.offsets[j]) * d.D, ot, d.D);
    }
  }
}

// Writes dq and accumulates dk, dv (zeroed by the caller) and dbias [K] for one slice.
// With dP_j = dO.v_j and c = sum_j p_j dP_j = dO.out, the score gradient is p_j (dP_j - c).
template <typename T>
void BackwardSlice(const Slice<T>& in, const Dims& d, const T* out, const T* probs,
                   const T* grad_out, T* dq, T* dk, T* dv, T* dbias) {
  const T scale = T(1) / std::sqrt(static_cast<T>(d.D));
  for (int64_t t = 0; t < d.N; ++t) {
    const T* dot = grad_out + t * d.D;
    const T* qt = in.q + t * d.D;
    const T* pt = probs + t * d.K;
    const T c = Dot(dot, out + t * d.D, d.D);
    T* dqt = dq + t * d.D;
    for (int64_t j = 0; j < in.count; ++j) {
      const T p = pt[j];
      if (p == T(0)) continue;  // masked (or underflowed): every term below is 0
      const int64_t src = t + in.offsets[j];
      const T ds = p * (Dot(dot, in.v + src * d.D, d.D) - c);
      Axpy(ds * scale, in.k + src * d.D, dqt, d.D);
      Axpy(ds * scale, qt, dk + src * d.D, d.D);
      Axpy(p, dot, dv + src * d.D, d.D);
      dbias[j] += ds;
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
    q = q.contiguous(), k = k.contiguous(), v = v.contiguous(), bias = bias.contiguous();
    offsets = offsets.contiguous();
    torch::Tensor out = torch::empty_like(q);
    torch::Tensor probs = torch::empty({d.B, d.H, d.N, d.K}, q.options());
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "SparseAttentionCpu.forward", [&] {
      at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> scores(static_cast<size_t>(std::max<int64_t>(d.K, 1)));
        for (int64_t bh = begin; bh < end; ++bh) {
          ForwardSlice(SliceOf<scalar_t>(q, k, v, bias, offsets, counts, d, bh), d,
                       out.data_ptr<scalar_t>() + bh * d.N * d.D,
                       probs.data_ptr<scalar_t>() + bh * d.N * d.K, scores.data());
        }
      });
    });
    ctx->save_for_backward({q, k, v, bias, offsets, counts, out, probs});
    ctx->mark_non_differentiable({probs});
    return {out, probs};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &bias = saved[3],
                        &offsets = saved[4], &counts = saved[5], &out = saved[6],
                        &probs = saved[7];
    const Dims d{q.size(0), q.size(1), q.size(2), q.size(3), offsets.size(1)};
    torch::Tensor dq = torch::zeros_like(q), dk = torch::zeros_like(k),
                  dv = torch::zeros_like(v);
    torch::Tensor dbias_per_batch = torch::zeros({d.B, d.H, d.K}, q.options());
    if (grads[0].defined()) {
      const torch::Tensor grad_out = grads[0].contiguous();
      AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "SparseAttentionCpu.backward", [&] {
        at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
          for (int64_t bh = begin; bh < end; ++bh) {
            const int64_t rows = bh * d.N * d.D;
            BackwardSlice(SliceOf<scalar_t>(q, k, v, bias, offsets, counts, d, bh), d,
                          out.data_ptr<scalar_t>() + rows,
                          probs.data_ptr<scalar_t>() + bh * d.N * d.K,
                          grad_out.data_ptr<scalar_t>() + rows, dq.data_ptr<scalar_t>() + rows,
                          dk.data_ptr<scalar_t>() + rows, dv.data_ptr<scalar_t>() + rows,
                          dbias_per_batch.data_ptr<scalar_t>() + bh * d.K);
          }
        });
      });
    }
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
