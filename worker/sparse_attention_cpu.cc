#include "worker/sparse_attention_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

namespace headevo::worker {
namespace {

// The kernel reads q, k, v in their own [B, H, N, D] layout: no transposed copies. Queries are
// taken in tiles of kTile, and inside a tile offset by offset (in increasing offset order), so
// that entry j reads one contiguous run of key rows t + o_j, and consecutive offsets read
// overlapping runs that are still in L1/L2. Per (query, key) pair the work is a D-long dot
// product and D-long multiply-adds, which the compiler vectorises (see Dot, below).
constexpr int64_t kTile = 256;

struct Dims {
  int64_t B, H, N, D, K;
  // Scores are q.k / sqrt(scale_dim); scale_dim is D unless a caller pads q and k with
  // columns that must not change the temperature (see SparseAttentionCpu).
  int64_t scale_dim;
};

// One (batch, head) slice. q, k, v, out and their gradients are [N, D] rows; probs are [K, N].
template <typename T>
struct Slice {
  const T* q;
  const T* k;
  const T* v;
  const T* bias;           // [K]
  const int32_t* offsets;  // [K]
  int64_t count;           // real offsets of this head
};

// Per-thread scratch for one tile: scores (then probabilities) of each offset, the offset
// order, each offset's valid query range, and per-query softmax state.
template <typename T>
struct Scratch {
  explicit Scratch(int64_t K)
      : scores(static_cast<size_t>(std::max<int64_t>(K, 1) * kTile)),
        order(static_cast<size_t>(K)),
        lo(static_cast<size_t>(K)),
        hi(static_cast<size_t>(K)),
        row(kTile),
        row2(kTile) {}
  std::vector<T> scores;  // [K, kTile]
  std::vector<int64_t> order, lo, hi;
  std::vector<T> row, row2;  // [kTile]
};

// The dot product of two D-vectors, summed in kLanes independent partial sums: the compiler
// vectorises that without reassociating floating-point additions (which it may not do at
// -O3), and the fixed summation order keeps results reproducible. kD > 0 fixes D at compile
// time so that the loops unroll fully; kD == 0 takes it from `dim`.
constexpr int kLanes = 8;

template <typename T, int kD>
inline T Dot(const T* __restrict__ a, const T* __restrict__ b, int64_t dim) {
  const int64_t D = kD > 0 ? kD : dim;
  T acc[kLanes] = {};
  int64_t f = 0;
  for (; f + kLanes <= D; f += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += a[f + l] * b[f + l];
  }
  for (int l = 0; l < kLanes && f + l < D; ++l) acc[l] += a[f + l] * b[f + l];
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  }
  return acc[0];
}

// y += a x over D elements. A separate function, so that __restrict__ on its parameters tells
// the compiler that y is no input: a loop that updates several rows in place stays scalar.
template <typename T, int kD>
inline void Axpy(T a, const T* __restrict__ x, T* __restrict__ y, int64_t dim) {
  const int64_t D = kD > 0 ? kD : dim;
  for (int64_t f = 0; f < D; ++f) y[f] += a * x[f];
}

template <typename To, typename From>
inline To BitCast(From x) {
  static_assert(sizeof(To) == sizeof(From));
  To y;
  std::memcpy(&y, &x, sizeof y);
  return y;
}

// exp(x) for the softmax exponents x = score - max <= 0, in a form the compiler vectorises
// (std::exp stays a scalar libm call): Cody-Waite reduction x = n ln2 + r, |r| <= ln2 / 2,
// Cephes' degree-6 polynomial (within 1.5 ulp), and 2^n built in the exponent bits. Below -87
// the result is 0 (e^-87 is within a factor of 2 of the smallest normal float); NaN stays NaN.
// Both selects work on integer bits: GCC (with its default -ftrapping-math) keeps a float select
// as a branch, and a branch stops the vectoriser. For x <= 0 (sign bit set) the unsigned bit
// patterns grow as x falls, so x < -87 is `bits > bits(-87)`.
inline float ExpNonPositive(float x) {
  constexpr uint32_t kLowestBits = 0xC2AE0000u;  // -87.0f
  const uint32_t x_bits = BitCast<uint32_t>(x);
  const bool underflow = x_bits > kLowestBits;
  const float clamped = BitCast<float>(underflow ? kLowestBits : x_bits);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (clamped * 1.44269504088896341f + kRound) - kRound;
  const float r = (clamped - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t two_to_n = (static_cast<int32_t>(n) + 127) << 23;
  return p * BitCast<float>(underflow ? 0 : two_to_n);
}

inline double ExpNonPositive(double x) { return std::exp(x); }

// The queries t in [t0, t1) whose key t + o lies inside [0, N); an empty range lies inside
// [t0, t1] too.
inline void ValidRange(int64_t t0, int64_t t1, int64_t o, int64_t n, int64_t* lo, int64_t* hi) {
  *lo = std::clamp(-o, t0, t1);
  *hi = std::clamp(n - o, *lo, t1);
}

// The head's real offsets in increasing order: neighbouring offsets read overlapping key rows.
template <typename T>
void SortOffsets(const Slice<T>& in, Scratch<T>* s) {
  std::iota(s->order.begin(), s->order.begin() + in.count, int64_t{0});
  std::sort(s->order.begin(), s->order.begin() + in.count,
            [&](int64_t a, int64_t b) { return in.offsets[a] < in.offsets[b]; });
}

// Fills s->lo, s->hi with each sorted offset's valid queries in [t0, t1).
template <typename T>
void TileRanges(const Slice<T>& in, int64_t t0, int64_t t1, int64_t N, Scratch<T>* s) {
  for (int64_t i = 0; i < in.count; ++i) {
    ValidRange(t0, t1, in.offsets[s->order[i]], N, &s->lo[i], &s->hi[i]);
  }
}

// The softmax loops below, each over n queries of one offset row. Separate functions, so that
// __restrict__ on the parameters lets the compiler vectorise them without alias checks.
template <typename T>
inline void MaxInto(const T* __restrict__ score, T* __restrict__ max_score, int64_t n) {
  for (int64_t i = 0; i < n; ++i) max_score[i] = std::max(max_score[i], score[i]);
}

template <typename T>
inline void ExpAndSum(const T* __restrict__ score, const T* __restrict__ max_score,
                      T* __restrict__ p, T* __restrict__ sum, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    p[i] = ExpNonPositive(score[i] - max_score[i]);
    sum[i] += p[i];
  }
}

template <typename T>
inline void Scale(const T* __restrict__ factor, T* __restrict__ p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] *= factor[i];
}

// Softmax over the offsets of the queries in [t0, t1), from the scores in s->scores (row i:
// sorted offset i, indexed t - t0) into probs ([K, N], the tile's columns), zeros outside each
// offset's valid range included.
template <typename T>
void SoftmaxTile(const Slice<T>& in, int64_t t0, int64_t t1, int64_t N, Scratch<T>* s, T* probs) {
  constexpr T kMinusInf = -std::numeric_limits<T>::infinity();
  const int64_t len = t1 - t0;
  T* max_score = s->row.data();
  T* sum = s->row2.data();
  std::fill(max_score, max_score + len, kMinusInf);
  for (int64_t i = 0; i < in.count; ++i) {
    const int64_t lo = s->lo[i] - t0, hi = s->hi[i] - t0;
    MaxInto(s->scores.data() + i * kTile + lo, max_score + lo, hi - lo);
  }
  // A query with no key in range keeps max -inf; it gets no exps, so its sum stays 0.
  for (int64_t t = 0; t < len; ++t) {
    if (max_score[t] == kMinusInf) max_score[t] = 0;
  }
  std::fill(sum, sum + len, T(0));
  for (int64_t i = 0; i < in.count; ++i) {
    T* p = probs + s->order[i] * N + t0;
    const int64_t lo = s->lo[i] - t0, hi = s->hi[i] - t0;
    std::fill(p, p + lo, T(0));
    std::fill(p + hi, p + len, T(0));
    ExpAndSum(s->scores.data() + i * kTile + lo, max_score + lo, p + lo, sum + lo, hi - lo);
  }
  for (int64_t t = 0; t < len; ++t) sum[t] = sum[t] > 0 ? T(1) / sum[t] : T(0);
  for (int64_t i = 0; i < in.count; ++i) {
    const int64_t lo = s->lo[i] - t0, hi = s->hi[i] - t0;
    Scale(sum + lo, probs + s->order[i] * N + t0 + lo, hi - lo);
  }
}

// Writes out [N, D] and probs [K, N] of one slice.
template <typename T, int kD>
void ForwardSlice(const Slice<T>& in, const Dims& d, T* out, T* probs, Scratch<T>* s) {
  const int64_t N = d.N, D = kD > 0 ? kD : d.D;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.scale_dim));
  SortOffsets(in, s);
  // Padding entries never get a probability; every other probs element is written per tile.
  std::fill(probs + in.count * N, probs + d.K * N, T(0));
  for (int64_t t0 = 0; t0 < N; t0 += kTile) {
    const int64_t t1 = std::min(N, t0 + kTile);
    TileRanges(in, t0, t1, N, s);
    for (int64_t i = 0; i < in.count; ++i) {
      const int64_t o = in.offsets[s->order[i]];
      const T b = in.bias[s->order[i]];
      T* __restrict__ sc = s->scores.data() + i * kTile - t0;
      for (int64_t t = s->lo[i]; t < s->hi[i]; ++t) {
        sc[t] = Dot<T, kD>(in.q + t * D, in.k + (t + o) * D, D) * scale + b;
      }
    }
    SoftmaxTile(in, t0, t1, N, s, probs);
    std::fill(out + t0 * D, out + t1 * D, T(0));
    for (int64_t i = 0; i < in.count; ++i) {
      const int64_t o = in.offsets[s->order[i]];
      const T* __restrict__ p = probs + s->order[i] * N;
      for (int64_t t = s->lo[i]; t < s->hi[i]; ++t) {
        Axpy<T, kD>(p[t], in.v + (t + o) * D, out + t * D, D);
      }
    }
  }
}

// Writes dq, dk, dv [N, D] and dbias [K] of one slice, in one sweep over the (query, key)
// pairs. With dP = dO.v and c = sum_j p_j dP_j = dO.out, the score gradient is p (dP - c).
template <typename T, int kD>
void BackwardSlice(const Slice<T>& in, const Dims& d, const T* out, const T* probs,
                   const T* grad_out, T* dq, T* dk, T* dv, T* dbias, Scratch<T>* s) {
  const int64_t N = d.N, D = kD > 0 ? kD : d.D;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.scale_dim));
  SortOffsets(in, s);
  std::fill(dk, dk + N * D, T(0));
  std::fill(dv, dv + N * D, T(0));
  T* __restrict__ c = s->row.data();
  for (int64_t t0 = 0; t0 < N; t0 += kTile) {
    const int64_t t1 = std::min(N, t0 + kTile);
    TileRanges(in, t0, t1, N, s);
    for (int64_t t = t0; t < t1; ++t) {
      c[t - t0] = Dot<T, kD>(grad_out + t * D, out + t * D, D);
    }
    std::fill(dq + t0 * D, dq + t1 * D, T(0));
    for (int64_t i = 0; i < in.count; ++i) {
      const int64_t j = s->order[i], o = in.offsets[j];
      const T* __restrict__ p = probs + j * N;
      T bias_grad = 0;
      for (int64_t t = s->lo[i]; t < s->hi[i]; ++t) {
        const int64_t r = t + o;
        const T* __restrict__ go = grad_out + t * D;
        const T ds = p[t] * (Dot<T, kD>(go, in.v + r * D, D) - c[t - t0]);
        bias_grad += ds;
        Axpy<T, kD>(ds * scale, in.k + r * D, dq + t * D, D);
        Axpy<T, kD>(ds * scale, in.q + t * D, dk + r * D, D);
        Axpy<T, kD>(p[t], go, dv + r * D, D);
      }
      dbias[j] += bias_grad;
    }
  }
}

Dims CheckInputs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                 const torch::Tensor& bias, const torch::Tensor& offsets,
                 const torch::Tensor& counts, int64_t scale_dim) {
  TORCH_CHECK(q.dim() == 4 && q.sizes() == k.sizes() && q.sizes() == v.sizes(),
              "SparseAttentionCpu: q, k, v must share a [B, H, N, D] shape");
  TORCH_CHECK(
      q.device().is_cpu() && k.device().is_cpu() && v.device().is_cpu() && bias.device().is_cpu(),
      "SparseAttentionCpu: tensors must be on the CPU");
  TORCH_CHECK(k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type() &&
                  bias.scalar_type() == q.scalar_type(),
              "SparseAttentionCpu: q, k, v and bias must share a dtype");
  const int64_t temperature_dim = scale_dim > 0 ? scale_dim : q.size(3);
  const Dims d{q.size(0), q.size(1), q.size(2), q.size(3), offsets.size(-1), temperature_dim};
  TORCH_CHECK(offsets.dim() == 2 && offsets.size(0) == d.H &&
                  offsets.scalar_type() == torch::kInt32 && offsets.device().is_cpu(),
              "SparseAttentionCpu: offsets must be a CPU int32 [H, K] tensor");
  TORCH_CHECK(bias.dim() == 2 && bias.size(0) == d.H && bias.size(1) == d.K,
              "SparseAttentionCpu: bias must be [", d.H, ", ", d.K, "]");
  TORCH_CHECK(counts.dim() == 1 && counts.size(0) == d.H && counts.scalar_type() == torch::kInt32 &&
                  counts.device().is_cpu(),
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
  return Slice<T>{q.data_ptr<T>() + row,
                  k.data_ptr<T>() + row,
                  v.data_ptr<T>() + row,
                  bias.data_ptr<T>() + h * d.K,
                  offsets.data_ptr<int32_t>() + h * d.K,
                  counts.data_ptr<int32_t>()[h]};
}

// Calls run(std::integral_constant<int, kD>{}) with kD = D for the head sizes worth a fully
// unrolled kernel, and kD = 0 (D read at run time) for the others.
template <typename Run>
void DispatchHeadDim(int64_t D, const Run& run) {
  switch (D) {
    case 8:
      return run(std::integral_constant<int, 8>{});
    case 16:
      return run(std::integral_constant<int, 16>{});
    case 32:
      return run(std::integral_constant<int, 32>{});
    case 64:
      return run(std::integral_constant<int, 64>{});
    default:
      return run(std::integral_constant<int, 0>{});
  }
}

class SparseAttentionFunction : public torch::autograd::Function<SparseAttentionFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                torch::Tensor q, torch::Tensor k, torch::Tensor v,
                                                torch::Tensor bias, torch::Tensor offsets,
                                                torch::Tensor counts, int64_t scale_dim) {
    const Dims d = CheckInputs(q, k, v, bias, offsets, counts, scale_dim);
    ctx->saved_data["scale_dim"] = d.scale_dim;
    q = q.contiguous(), k = k.contiguous(), v = v.contiguous();
    bias = bias.contiguous(), offsets = offsets.contiguous();
    // Every element of out and probs is written by the kernel: no zero fill.
    torch::Tensor out = torch::empty_like(q);
    torch::Tensor probs_t = torch::empty({d.B, d.H, d.K, d.N}, q.options());
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "SparseAttentionCpu.forward", [&] {
      DispatchHeadDim(d.D, [&](auto head_dim) {
        constexpr int kD = decltype(head_dim)::value;
        at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
          Scratch<scalar_t> scratch(d.K);
          for (int64_t bh = begin; bh < end; ++bh) {
            ForwardSlice<scalar_t, kD>(SliceOf<scalar_t>(q, k, v, bias, offsets, counts, d, bh), d,
                                       out.data_ptr<scalar_t>() + bh * d.N * d.D,
                                       probs_t.data_ptr<scalar_t>() + bh * d.K * d.N, &scratch);
          }
        });
      });
    });
    ctx->save_for_backward({q, k, v, bias, offsets, counts, out, probs_t});
    torch::Tensor probs = probs_t.transpose(2, 3);
    ctx->mark_non_differentiable({probs});
    return {out, probs};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &bias = saved[3],
                        &offsets = saved[4], &counts = saved[5], &out = saved[6],
                        &probs_t = saved[7];
    const int64_t scale_dim = ctx->saved_data["scale_dim"].toInt();
    const Dims d{q.size(0), q.size(1), q.size(2), q.size(3), offsets.size(1), scale_dim};
    torch::Tensor dbias_per_batch = torch::zeros({d.B, d.H, d.K}, q.options());
    if (!grads[0].defined()) {
      return {torch::zeros_like(q),   torch::zeros_like(k), torch::zeros_like(v),
              dbias_per_batch.sum(0), torch::Tensor(),      torch::Tensor(),
              torch::Tensor()};
    }
    const torch::Tensor grad_out = grads[0].contiguous();
    // Every element of dq, dk and dv is written by the slice that owns it: no zero fill here.
    torch::Tensor dq = torch::empty_like(q), dk = torch::empty_like(k), dv = torch::empty_like(v);
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "SparseAttentionCpu.backward", [&] {
      DispatchHeadDim(d.D, [&](auto head_dim) {
        constexpr int kD = decltype(head_dim)::value;
        at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
          Scratch<scalar_t> scratch(d.K);
          for (int64_t bh = begin; bh < end; ++bh) {
            const int64_t rows = bh * d.N * d.D;
            BackwardSlice<scalar_t, kD>(
                SliceOf<scalar_t>(q, k, v, bias, offsets, counts, d, bh), d,
                out.data_ptr<scalar_t>() + rows, probs_t.data_ptr<scalar_t>() + bh * d.K * d.N,
                grad_out.data_ptr<scalar_t>() + rows, dq.data_ptr<scalar_t>() + rows,
                dk.data_ptr<scalar_t>() + rows, dv.data_ptr<scalar_t>() + rows,
                dbias_per_batch.data_ptr<scalar_t>() + bh * d.K, &scratch);
          }
        });
      });
    });
    return {dq, dk, dv, dbias_per_batch.sum(0), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

std::vector<torch::Tensor> SparseAttentionCpu(const torch::Tensor& q, const torch::Tensor& k,
                                              const torch::Tensor& v, const torch::Tensor& bias,
                                              const torch::Tensor& offsets,
                                              const torch::Tensor& counts, int64_t scale_dim) {
  return SparseAttentionFunction::apply(q, k, v, bias, offsets, counts, scale_dim);
}

}  // namespace headevo::worker
