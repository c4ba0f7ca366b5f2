#include "worker/sparse_attention_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

namespace headevo::worker {
namespace {

// The kernel works on each (batch, head) slice in a transposed copy: q, k, v (and, backward,
// grad_out, out and the three gradients) as [D, N], one row per feature. For one offset o the
// scores of the queries t in a tile are then sum_f q[f][t] k[f][t + o]: D multiply-adds over
// contiguous runs of t, which the compiler vectorises across queries with no horizontal sum per
// (query, key) pair (the [N, D] layout needed one per pair: a D-long dot product reduced across
// vector lanes, which dominated the profile). The same holds for every other per-pair product:
// out[f][t] += p[t] v[f][t + o], dq[f][t] += ds[t] k[f][t + o], dk[f][t + o] += ds[t] q[f][t],
// dv[f][t + o] += p[t] go[f][t]. Queries are taken in tiles of kTile and, inside a tile, offset
// by offset in increasing offset order, so that consecutive offsets read overlapping key runs.
// Every sum runs in a fixed order (features, then offsets in sorted order, then tiles in
// order) that depends on nothing but the shapes and offsets: results do not depend on the
// thread count.
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

// The distance between the rows of a transposed [D, N] copy: N rounded up to a whole number of
// cache lines, plus one line. At N = 4096 rows exactly 16 KiB apart fell into one L1 set, and
// the transposes, which write a column at a time, missed L1 on every store (40% of the
// backward's time in the profile).
inline int64_t RowStride(int64_t N) { return (N + 15) / 16 * 16 + 16; }

// Per-thread scratch: the transposed [D, N] copies (`rows` of them), the scores (forward) or
// score gradients (backward) of one tile, the offset order, each offset's valid query range,
// and per-query softmax state.
template <typename T>
struct Scratch {
  Scratch(const Dims& d, int rows)
      : transposed(static_cast<size_t>(rows * RowStride(d.N) * d.D)),
        scores(static_cast<size_t>(std::max<int64_t>(d.K, 1) * kTile)),
        order(static_cast<size_t>(d.K)),
        lo(static_cast<size_t>(d.K)),
        hi(static_cast<size_t>(d.K)),
        row(kTile),
        row2(kTile) {}
  // Transposed copy number i.
  T* Rows(int i, const Dims& d) { return transposed.data() + i * RowStride(d.N) * d.D; }
  std::vector<T> transposed;
  std::vector<T> scores;  // [K, kTile]
  std::vector<int64_t> order, lo, hi;
  std::vector<T> row, row2;  // [kTile]
};

// [N, D] -> [D, N] (rows `ld` apart) and back.
template <typename T>
void Transpose(const T* __restrict__ rows, int64_t N, int64_t D, int64_t ld,
               T* __restrict__ columns) {
  for (int64_t t = 0; t < N; ++t) {
    for (int64_t f = 0; f < D; ++f) columns[f * ld + t] = rows[t * D + f];
  }
}

template <typename T>
void TransposeBack(const T* __restrict__ columns, int64_t N, int64_t D, int64_t ld,
                   T* __restrict__ rows) {
  for (int64_t t = 0; t < N; ++t) {
    for (int64_t f = 0; f < D; ++f) rows[t * D + f] = columns[f * ld + t];
  }
}

// The per-pair loops, each over n consecutive queries. Separate functions, so that __restrict__
// on the parameters lets the compiler vectorise them without alias checks.

// y[t] += a[t] b[t]
template <typename T>
inline void MulAdd(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y,
                   int64_t n) {
  for (int64_t t = 0; t < n; ++t) y[t] += a[t] * b[t];
}

// The sum of x[0, n) in kLanes partial sums: vectorised without reassociating additions (which
// the compiler may not do at -O3), in an order fixed by n alone.
constexpr int kLanes = 16;

template <typename T>
inline T Sum(const T* __restrict__ x, int64_t n) {
  T acc[kLanes] = {};
  int64_t t = 0;
  for (; t + kLanes <= n; t += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += x[t + l];
  }
  for (int l = 0; t + l < n; ++l) acc[l] += x[t + l];
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  }
  return acc[0];
}

// The sum over features of a[f][t] b[f][t + o] for the n queries from t: rows of a and b are
// `stride` apart. Writes y[0, n).
template <typename T>
inline void FeatureDot(const T* a, const T* b, int64_t stride, int64_t D, T* __restrict__ y,
                       int64_t n) {
  std::fill(y, y + n, T(0));
  for (int64_t f = 0; f < D; ++f) MulAdd(a + f * stride, b + f * stride, y, n);
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


// score[t] = score[t] scale + bias
template <typename T>
inline void ScaleAndShift(T scale, T bias, T* __restrict__ score, int64_t n) {
  for (int64_t t = 0; t < n; ++t) score[t] = score[t] * scale + bias;
}

// dp[t] <- p[t] (dp[t] - c[t]), the score gradient; scaled[t] <- dp[t] scale.
template <typename T>
inline void ScoreGradient(const T* __restrict__ p, const T* __restrict__ c, T scale,
                          T* __restrict__ dp, T* __restrict__ scaled, int64_t n) {
  for (int64_t t = 0; t < n; ++t) {
    dp[t] = p[t] * (dp[t] - c[t]);
    scaled[t] = dp[t] * scale;
  }
}

// Writes out [N, D] and probs [K, N] of one slice.
template <typename T>
void ForwardSlice(const Slice<T>& in, const Dims& d, T* out, T* probs, Scratch<T>* s) {
  const int64_t N = d.N, D = d.D;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.scale_dim));
  const int64_t ld = RowStride(N);
  T *qt = s->Rows(0, d), *kt = s->Rows(1, d), *vt = s->Rows(2, d), *ot = s->Rows(3, d);
  Transpose(in.q, N, D, ld, qt);
  Transpose(in.k, N, D, ld, kt);
  Transpose(in.v, N, D, ld, vt);
  std::fill(ot, ot + D * ld, T(0));
  SortOffsets(in, s);
  // Padding entries never get a probability; every other probs element is written per tile.
  std::fill(probs + in.count * N, probs + d.K * N, T(0));
  for (int64_t t0 = 0; t0 < N; t0 += kTile) {
    const int64_t t1 = std::min(N, t0 + kTile);
    TileRanges(in, t0, t1, N, s);
    for (int64_t i = 0; i < in.count; ++i) {
      const int64_t o = in.offsets[s->order[i]], lo = s->lo[i], n = s->hi[i] - lo;
      T* score = s->scores.data() + i * kTile + (lo - t0);
      FeatureDot(qt + lo, kt + (lo + o), ld, D, score, n);
      ScaleAndShift(scale, in.bias[s->order[i]], score, n);
    }
    SoftmaxTile(in, t0, t1, N, s, probs);
    for (int64_t i = 0; i < in.count; ++i) {
      const int64_t o = in.offsets[s->order[i]], lo = s->lo[i], n = s->hi[i] - lo;
      const T* p = probs + s->order[i] * N + lo;
      for (int64_t f = 0; f < D; ++f) MulAdd(p, vt + f * ld + (lo + o), ot + f * ld + lo, n);
    }
  }
  TransposeBack(ot, N, D, ld, out);
}

// Writes dq, dk, dv [N, D] and dbias [K] of one slice, in one sweep over the (query, key)
// pairs. With dP = dO.v and c = sum_j p_j dP_j = dO.out (once per query, shared by its
// offsets), the score gradient is p (dP - c).
template <typename T>
void BackwardSlice(const Slice<T>& in, const Dims& d, const T* out, const T* probs,
                   const T* grad_out, T* dq, T* dk, T* dv, T* dbias, Scratch<T>* s) {
  const int64_t N = d.N, D = d.D;
  const T scale = T(1) / std::sqrt(static_cast<T>(d.scale_dim));
  const int64_t ld = RowStride(N);
  T *qt = s->Rows(0, d), *kt = s->Rows(1, d), *vt = s->Rows(2, d);
  T *got = s->Rows(3, d), *ot = s->Rows(4, d);
  T *dqt = s->Rows(5, d), *dkt = s->Rows(6, d), *dvt = s->Rows(7, d);
  Transpose(in.q, N, D, ld, qt);
  Transpose(in.k, N, D, ld, kt);
  Transpose(in.v, N, D, ld, vt);
  Transpose(grad_out, N, D, ld, got);
  Transpose(out, N, D, ld, ot);
  std::fill(dqt, dqt + 3 * D * ld, T(0));  // dqt, dkt, dvt
  SortOffsets(in, s);
  T* c = s->row.data();
  T* scaled = s->row2.data();
  T* ds = s->scores.data();
  for (int64_t t0 = 0; t0 < N; t0 += kTile) {
    const int64_t t1 = std::min(N, t0 + kTile);
    TileRanges(in, t0, t1, N, s);
    FeatureDot(got + t0, ot + t0, ld, D, c, t1 - t0);
    for (int64_t i = 0; i < in.count; ++i) {
      const int64_t j = s->order[i], o = in.offsets[j], lo = s->lo[i], n = s->hi[i] - lo;
      const T* p = probs + j * N + lo;
      FeatureDot(got + lo, vt + (lo + o), ld, D, ds, n);
      ScoreGradient(p, c + (lo - t0), scale, ds, scaled, n);
      dbias[j] += Sum(ds, n);
      for (int64_t f = 0; f < D; ++f) {
        const int64_t query = f * ld + lo, key = f * ld + (lo + o);
        MulAdd(scaled, kt + key, dqt + query, n);
        MulAdd(scaled, qt + query, dkt + key, n);
        MulAdd(p, got + query, dvt + key, n);
      }
    }
  }
  TransposeBack(dqt, N, D, ld, dq);
  TransposeBack(dkt, N, D, ld, dk);
  TransposeBack(dvt, N, D, ld, dv);
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
      at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
        Scratch<scalar_t> scratch(d, 4);
        for (int64_t bh = begin; bh < end; ++bh) {
          ForwardSlice<scalar_t>(SliceOf<scalar_t>(q, k, v, bias, offsets, counts, d, bh), d,
                                 out.data_ptr<scalar_t>() + bh * d.N * d.D,
                                 probs_t.data_ptr<scalar_t>() + bh * d.K * d.N, &scratch);
        }
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
      at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
        Scratch<scalar_t> scratch(d, 8);
        for (int64_t bh = begin; bh < end; ++bh) {
          const int64_t rows = bh * d.N * d.D;
          BackwardSlice<scalar_t>(
              SliceOf<scalar_t>(q, k, v, bias, offsets, counts, d, bh), d,
              out.data_ptr<scalar_t>() + rows, probs_t.data_ptr<scalar_t>() + bh * d.K * d.N,
              grad_out.data_ptr<scalar_t>() + rows, dq.data_ptr<scalar_t>() + rows,
              dk.data_ptr<scalar_t>() + rows, dv.data_ptr<scalar_t>() + rows,
              dbias_per_batch.data_ptr<scalar_t>() + bh * d.K, &scratch);
        }
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
