#include "worker/matmul_attention_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace headevo::worker {
namespace {

// One register's worth of lanes: 64-byte vectors with AVX-512, 32 bytes otherwise (GCC splits
// wider vector types into narrower registers, but the 64-byte loops measured 10x slower on
// AVX2), and their unaligned twins for loads and stores. Accessed through these types (not
// memcpy, which may alias anything and makes GCC reload every pointer after each store); a
// vector type has its element type's alias set.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#else
constexpr int kVectorBytes = 32;
#endif
template <typename T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(kVectorBytes)));
  typedef float unaligned __attribute__((vector_size(kVectorBytes), aligned(4)));
  typedef int32_t lane;
  typedef int32_t mask __attribute__((vector_size(kVectorBytes)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(kVectorBytes)));
  typedef double unaligned __attribute__((vector_size(kVectorBytes), aligned(8)));
  typedef int64_t lane;
  typedef int64_t mask __attribute__((vector_size(kVectorBytes)));
};

template <typename T, typename V = typename VecOf<T>::type>
inline V Load(const T* p) {
  return *reinterpret_cast<const typename VecOf<T>::unaligned*>(p);
}

template <typename T, typename V>
inline void Store(T* p, V v) {
  *reinterpret_cast<typename VecOf<T>::unaligned*>(p) = v;
}

// Every lane x: a broadcast, which FMAs take from memory for free (V{} + x would add 0 first,
// and setting the lanes one by one compiles to as many inserts).
template <typename T, typename V = typename VecOf<T>::type>
inline V Splat(T x) {
  return __builtin_shuffle(V{x}, typename VecOf<T>::mask{});
}

// 0, 1, 2, ... (a constant).
template <typename T, typename M = typename VecOf<T>::mask>
inline M Iota() {
  M lanes{};
  for (int l = 0; l < static_cast<int>(sizeof(M) / sizeof(T)); ++l) lanes[l] = l;
  return lanes;
}

// Lane sums and maxima in a fixed order (results must not depend on anything but the inputs).
template <typename T, typename V>
inline T HSum(V v) {
  constexpr int kLanes = sizeof(V) / sizeof(T);
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) v[l] += v[l + width];
  }
  return v[0];
}

template <typename T, typename V>
inline T HMax(V v) {
  T m = v[0];
  for (int l = 1; l < static_cast<int>(sizeof(V) / sizeof(T)); ++l) m = v[l] > m ? v[l] : m;
  return m;
}

// 2^x for x <= 0 (the only arguments here: base-2 scores minus their row's max or
// logsumexp); below -126, including the -inf of unattended pairs, 0. x = n + f with n an
// integer and |f| <= 1/2; 2^f from its degree-6 Taylor polynomial (relative error below
// 1.3e-7), times 2^n. With AVX-512, rounding and scaling are one instruction each (vrndscaleps,
// vscalefps); otherwise n is rounded by adding 1.5 * 2^23 (whose low mantissa bits then hold
// n) and 2^n written into the exponent field.
inline VecOf<float>::type Exp2(VecOf<float>::type x) {
  using V = VecOf<float>::type;
#if defined(__AVX512F__)
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-126.0f), _CMP_GT_OQ);
  // The masked form with every lane set: the plain one's undefined source trips GCC 12's
  // -Wmaybe-uninitialized.
  const V n =
      _mm512_mask_roundscale_ps(x, 0xffff, x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const V f = x - n;  // NaN for x = -inf, in a lane that keep zeroes
#else
  using M = VecOf<float>::mask;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  const M keep = x > Splat(-126.0f);
  const V xc = keep ? x : Splat(-126.0f);
  const V t = xc + kRound;
  const V f = xc - (t - kRound);
#endif
  V y = Splat(1.5403530393381608e-4f);
  y = y * f + 1.3333558146428443e-3f;
  y = y * f + 9.6181291076284772e-3f;
  y = y * f + 5.5504108664821580e-2f;
  y = y * f + 2.4022650695910071e-1f;
  y = y * f + 6.9314718055994531e-1f;
  y = y * f + 1.0f;
#if defined(__AVX512F__)
  return _mm512_maskz_scalef_ps(keep, y, n);
#else
  // The bits of t are those of kRound plus n; n + 127 in the exponent field is 2^n.
  const M pow2 = (reinterpret_cast<M>(t) - (__builtin_bit_cast(int32_t, kRound) - 127)) << 23;
  return keep ? y * reinterpret_cast<V>(pow2) : V{};
#endif
}

inline VecOf<double>::type Exp2(VecOf<double>::type x) {
  for (int l = 0; l < kVectorBytes / 8; ++l) x[l] = std::exp2(x[l]);
  return x;
}

// Per-row values of the head width for kR query rows (x[r][d]): registers when kD is fixed,
// heap otherwise.
template <typename X, int kD, int kR>
struct PerRow {
  explicit PerRow(int64_t) {}
  X* operator[](int r) { return v[r]; }
  X v[kR][kD];
};
template <typename X, int kR>
struct PerRow<X, 0, kR> {
  explicit PerRow(int64_t n) : v(static_cast<size_t>(kR * n)), n(n) {}
  X* operator[](int r) { return v.data() + r * n; }
  std::vector<X> v;
  int64_t n;
};

// A [B, H, N, D] tensor's data, any strides.
template <typename T>
struct Strided {
  explicit Strided(const torch::Tensor& t)
      : data(t.data_ptr<T>()), sb(t.stride(0)), sh(t.stride(1)), sn(t.stride(2)), sd(t.stride(3)) {}
  const T* Row(int64_t b, int64_t h, int64_t i) const { return data + b * sb + h * sh + i * sn; }
  const T* data;
  int64_t sb, sh, sn, sd;
};

// What both passes share: shapes, the padded diagonal biases and each head's key window.
template <typename T>
struct Problem {
  static constexpr int64_t kLanes = kVectorBytes / sizeof(T);
  Problem(const torch::Tensor& q, const torch::Tensor& diagonal_bias, double scale_in)
      : B(q.size(0)),
        H(q.size(1)),
        N(q.size(2)),
        D(q.size(3)),
        Np(RowStride(N)),
        W(2 * N - 1 + kLanes),
        scale(static_cast<T>(scale_in)),
        score_scale(static_cast<T>(scale_in * kLog2e)),
        diag(static_cast<size_t>(H * W), -std::numeric_limits<T>::infinity()),
        lo(static_cast<size_t>(H), 0),
        hi(static_cast<size_t>(H), -1) {
    const torch::Tensor bias = diagonal_bias.contiguous();
    const T* b = bias.data_ptr<T>();
    for (int64_t h = 0; h < H; ++h) {
      bool any = false;
      for (int64_t x = 0; x < 2 * N - 1; ++x) {
        const T value = b[h * (2 * N - 1) + x];
        diag[h * W + x] = value * static_cast<T>(kLog2e);
        if (value == -std::numeric_limits<T>::infinity()) continue;
        if (!any) lo[h] = x - (N - 1);
        hi[h] = x - (N - 1);
        any = true;
      }
    }
  }
  // N rounded up to whole vectors, and to an odd number of them: the D rows of the
  // transposed keys (and values, and their gradients) are read together at the same column,
  // and rows a multiple of 4 KiB apart would all fall in one L1 set (N = 2048 ran 2x slower).
  static int64_t RowStride(int64_t N) {
    const int64_t vectors = (N + kLanes - 1) / kLanes;
    return (vectors % 2 == 0 ? vectors + 1 : vectors) * kLanes;
  }
  // Keys [first, last) of query i of head h (empty when the head attends nothing there).
  int64_t First(int64_t h, int64_t i) const { return std::max<int64_t>(0, i + lo[h]); }
  int64_t Last(int64_t h, int64_t i) const { return std::min<int64_t>(N, i + hi[h] + 1); }

  int64_t B, H, N, D;
  int64_t Np;  // the row stride of transposed keys and values (RowStride)
  int64_t W;   // a head's diagonal-bias length, padded with -inf for the last vector's loads
  T scale;
  // The scores are kept in base 2 (times log2 e), so that their exponentials are powers of 2:
  // q is scaled by score_scale, the biases in diag by log2 e.
  static constexpr double kLog2e = 1.44269504088896340736;
  T score_scale;
  std::vector<T> diag;          // [H, W]
  std::vector<int64_t> lo, hi;  // per head: lowest and highest attended offset
};

// [N, D] rows (strided) -> [D, Np] columns, zero beyond N.
template <typename T>
void Transpose(const Strided<T>& in, int64_t b, int64_t h, const Problem<T>& p, T* out) {
  std::fill(out, out + p.D * p.Np, T(0));
  for (int64_t j = 0; j < p.N; ++j) {
    const T* row = in.Row(b, h, j);
    for (int64_t d = 0; d < p.D; ++d) out[d * p.Np + j] = row[d * in.sd];
  }
}

// Scores of rows i0 .. i0 + kR - 1 against one vector of keys starting at c (a multiple of the
// lane count): bias + q.k, -inf past the last key. bias_row is row i0's; row i0 + r's starts r
// earlier (the bias depends on the offset only).
template <typename T, int kD, int kR, typename V = typename VecOf<T>::type>
inline void Scores(const Problem<T>& p, const T* bias_row, const T* qs, const T* kt, int64_t c,
                   V* s) {
  using M = typename VecOf<T>::mask;
  const int64_t D = kD > 0 ? kD : p.D;
#pragma GCC unroll 16
  for (int r = 0; r < kR; ++r) s[r] = Load(bias_row - r + c);
#pragma GCC unroll 16
  for (int64_t d = 0; d < D; ++d) {
    const V key = Load(kt + d * p.Np + c);
#pragma GCC unroll 16
    for (int r = 0; r < kR; ++r) s[r] += Splat(qs[r * D + d]) * key;
  }
  if (c + Problem<T>::kLanes > p.N) {
    const M beyond = Iota<T>() >= M{} + static_cast<typename VecOf<T>::lane>(p.N - c);
#pragma GCC unroll 16
    for (int r = 0; r < kR; ++r) s[r] = beyond ? Splat(-std::numeric_limits<T>::infinity()) : s[r];
  }
}

// The workspace of one slice: keys and values as [D, Np] columns (zero past N), and either the
// forward's score rows or the backward's key and value gradients and per-row bias sums.
template <typename T>
struct SliceScratch {
  T *kt, *vt, *rows, *dkt, *dvt, *d_bias;
  // The backward's per-row values, [N, D] or [N]: q scaled for the scores (base 2) and for dk,
  // the output gradient, dq before its scale, and delta = the output gradient . the output.
  T *qs, *qk, *g, *dq, *delta;
};

// Query rows per pass over the keys: each vector of keys and values (and their gradients) is
// loaded once for all of them, and their exponentials overlap. At d_head 8, 4 rows measured
// 1.2x faster than 2 in the backward (8 no better); wider heads keep 2 (their per-row
// accumulators fill the registers).
constexpr int RowsPerPass(int kD) { return kD > 0 && kD <= 8 ? 4 : 2; }

// The forward of kR query rows from i0 (RowsPerPass). The window is the union of the rows' windows;
// a row's scores outside its own are -inf.
template <typename T, int kD, int kR>
void ForwardRows(const Problem<T>& p, const Strided<T>& q, int64_t b, int64_t h, int64_t i0,
                 const SliceScratch<T>& w, T* out, T* lse) {
  using V = typename VecOf<T>::type;
  constexpr int64_t L = Problem<T>::kLanes;
  constexpr T kInf = std::numeric_limits<T>::infinity();
  const int64_t N = p.N, D = kD > 0 ? kD : p.D, Np = p.Np;
  const int64_t first = p.First(h, i0), last = p.Last(h, i0 + kR - 1);
  PerRow<T, kD, kR> qs(D);
  PerRow<V, kD, kR> acc(D);
  V m[kR], s[kR], sum[kR];
#pragma GCC unroll 16
  for (int r = 0; r < kR; ++r) {
    const T* qi = q.Row(b, h, i0 + r);
    for (int64_t d = 0; d < D; ++d) qs[r][d] = qi[d * q.sd] * p.score_scale;
    m[r] = Splat(-kInf);
  }
  const T* bias_row = p.diag.data() + h * p.W + (N - 1 - i0);
  for (int64_t c = first / L * L; c < last; c += L) {
    Scores<T, kD, kR>(p, bias_row, qs[0], w.kt, c, s);
#pragma GCC unroll 16
    for (int r = 0; r < kR; ++r) {
      Store(w.rows + r * Np + c, s[r]);
      m[r] = s[r] > m[r] ? s[r] : m[r];
    }
  }
  T mx[kR];
#pragma GCC unroll 16
  for (int r = 0; r < kR; ++r) {
    mx[r] = HMax<T>(m[r]);
    if (mx[r] == -kInf) mx[r] = 0;  // no key: every exp is 0
    sum[r] = V{};
#pragma GCC unroll 16
    for (int64_t d = 0; d < D; ++d) acc[r][d] = V{};
  }
  for (int64_t c = first / L * L; c < last; c += L) {
    V e[kR];
#pragma GCC unroll 16
    for (int r = 0; r < kR; ++r) {
      e[r] = Exp2(Load(w.rows + r * Np + c) - mx[r]);
      sum[r] += e[r];
    }
#pragma GCC unroll 16
    for (int64_t d = 0; d < D; ++d) {
      const V value = Load(w.vt + d * Np + c);
#pragma GCC unroll 16
      for (int r = 0; r < kR; ++r) acc[r][d] += e[r] * value;
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kR; ++r) {
    T* o = out + (i0 + r) * D;
    const T total = HSum<T>(sum[r]);
    if (total == 0) {  // no key
      std::fill(o, o + D, T(0));
      lse[i0 + r] = kInf;
      continue;
    }
    for (int64_t d = 0; d < D; ++d) o[d] = HSum<T>(acc[r][d]) / total;
    lse[i0 + r] = mx[r] + std::log2(total);
  }
}

template <typename T, int kD>
void ForwardSlice(const Problem<T>& p, const Strided<T>& q, const Strided<T>& k,
                  const Strided<T>& v, int64_t b, int64_t h, T* out, T* lse,
                  std::vector<T>* scratch) {
  constexpr int kR = RowsPerPass(kD);
  const int64_t D = p.D, Np = p.Np;
  scratch->resize(static_cast<size_t>((2 * D + kR) * Np));
  SliceScratch<T> w{};
  w.kt = scratch->data();
  w.vt = w.kt + D * Np;
  w.rows = w.vt + D * Np;
  Transpose(k, b, h, p, w.kt);
  Transpose(v, b, h, p, w.vt);
  int64_t i = 0;
  for (; i + kR <= p.N; i += kR) ForwardRows<T, kD, kR>(p, q, b, h, i, w, out, lse);
  for (; i < p.N; ++i) ForwardRows<T, kD, 1>(p, q, b, h, i, w, out, lse);
}

// The backward of kR query rows from i0 against keys [c_begin, c_end) (whole vectors; the
// union of the rows' windows).
// Row r's bias-gradient sums go to their own buffer (w.d_bias + r W): the rows' diagonals are
// one element apart, and vectors stored through one and loaded through the other would defeat
// store forwarding. A row without keys has logsumexp +inf: its probs are 2^-inf = 0, so it adds
// nothing.
template <typename T, int kD, int kR>
void BackwardRows(const Problem<T>& p, const T* lse, int64_t h, int64_t i0, int64_t c_begin,
                  int64_t c_end, const SliceScratch<T>& w) {
  using V = typename VecOf<T>::type;
  constexpr int64_t L = Problem<T>::kLanes;
  const int64_t N = p.N, D = kD > 0 ? kD : p.D, Np = p.Np;
  const T *qs = w.qs + i0 * D, *qk = w.qk + i0 * D, *g = w.g + i0 * D;
  T delta[kR], row_lse[kR];
  PerRow<V, kD, kR> dqa(D);
#pragma GCC unroll 16
  for (int r = 0; r < kR; ++r) {
    row_lse[r] = lse[i0 + r];
    delta[r] = w.delta[i0 + r];
#pragma GCC unroll 16
    for (int64_t d = 0; d < D; ++d) dqa[r][d] = V{};
  }
  const T* bias_row = p.diag.data() + h * p.W + (N - 1 - i0);
  T* d_bias_row = w.d_bias + (N - 1 - i0);
  for (int64_t c = c_begin; c < c_end; c += L) {
    V s[kR], prob[kR], dp[kR], ds[kR];
    Scores<T, kD, kR>(p, bias_row, qs, w.kt, c, s);
#pragma GCC unroll 16
    for (int r = 0; r < kR; ++r) {
      prob[r] = Exp2(s[r] - row_lse[r]);
      dp[r] = V{};
    }
#pragma GCC unroll 16
    for (int64_t d = 0; d < D; ++d) {
      const V value = Load(w.vt + d * Np + c);
#pragma GCC unroll 16
      for (int r = 0; r < kR; ++r) dp[r] += Splat(g[r * D + d]) * value;
    }
#pragma GCC unroll 16
    for (int r = 0; r < kR; ++r) {
      ds[r] = prob[r] * (dp[r] - delta[r]);
      T* db = d_bias_row + r * (p.W - 1) + c;  // buffer r, row i0 + r
      Store(db, Load(db) + ds[r]);
    }
#pragma GCC unroll 16
    for (int64_t d = 0; d < D; ++d) {
      const V key = Load(w.kt + d * Np + c);
      V dk = Load(w.dkt + d * Np + c), dv = Load(w.dvt + d * Np + c);
#pragma GCC unroll 16
      for (int r = 0; r < kR; ++r) {
        dqa[r][d] += ds[r] * key;
        dk += Splat(qk[r * D + d]) * ds[r];
        dv += Splat(g[r * D + d]) * prob[r];
      }
      Store(w.dkt + d * Np + c, dk);
      Store(w.dvt + d * Np + c, dv);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kR; ++r) {
    for (int64_t d = 0; d < D; ++d) w.dq[(i0 + r) * D + d] = HSum<T>(dqa[r][d]);
  }
}

// One slice's backward; d_bias (length W) receives the slice's diagonal sums.
template <typename T, int kD>
void BackwardSlice(const Problem<T>& p, const Strided<T>& q, const Strided<T>& k,
                   const Strided<T>& v, const Strided<T>& out, const T* lse,
                   const Strided<T>& grad_out, int64_t b, int64_t h, T* dq, T* dk, T* dv, T* d_bias,
                   std::vector<T>* scratch) {
  constexpr int kR = RowsPerPass(kD);
  constexpr int64_t L = Problem<T>::kLanes;
  const int64_t N = p.N, D = p.D, Np = p.Np, W = p.W;
  scratch->resize(static_cast<size_t>(4 * D * Np + kR * W + 4 * N * D + N));
  SliceScratch<T> w{};
  w.kt = scratch->data();
  w.vt = w.kt + D * Np;
  w.dkt = w.vt + D * Np;
  w.dvt = w.dkt + D * Np;
  w.d_bias = w.dvt + D * Np;
  w.qs = w.d_bias + kR * W;
  w.qk = w.qs + N * D;
  w.g = w.qk + N * D;
  w.dq = w.g + N * D;
  w.delta = w.dq + N * D;
  Transpose(k, b, h, p, w.kt);
  Transpose(v, b, h, p, w.vt);
  std::fill(w.dkt, w.dkt + 2 * D * Np + kR * W, T(0));
  for (int64_t i = 0; i < N; ++i) {
    const T *qi = q.Row(b, h, i), *gi = grad_out.Row(b, h, i), *oi = out.Row(b, h, i);
    T delta = 0;
    for (int64_t d = 0; d < D; ++d) {
      w.qs[i * D + d] = qi[d * q.sd] * p.score_scale;
      w.qk[i * D + d] = qi[d * q.sd] * p.scale;
      w.g[i * D + d] = gi[d * grad_out.sd];
      delta += w.g[i * D + d] * oi[d * out.sd];
    }
    w.delta[i] = delta;
  }
  // Tiling the keys (so that a tile's keys, values and gradients stay in L1 while the rows
  // pass over it) measured no faster, at N = 784 or 2048: the loop is bound by its arithmetic.
  int64_t i = 0;
  for (; i + kR <= N; i += kR) {
    BackwardRows<T, kD, kR>(p, lse, h, i, p.First(h, i) / L * L, p.Last(h, i + kR - 1), w);
  }
  for (; i < N; ++i) BackwardRows<T, kD, 1>(p, lse, h, i, p.First(h, i) / L * L, p.Last(h, i), w);
  for (int64_t x = 0; x < W; ++x) {
    T sum = 0;
    for (int r = 0; r < kR; ++r) sum += w.d_bias[r * W + x];
    d_bias[x] = sum;
  }
  for (int64_t j = 0; j < N; ++j) {
    for (int64_t d = 0; d < D; ++d) {
      dq[j * D + d] = p.scale * w.dq[j * D + d];
      dk[j * D + d] = w.dkt[d * Np + j];
      dv[j * D + d] = w.dvt[d * Np + j];
    }
  }
}

// fn(slice, scratch) for every (batch, head) slice, on at::get_num_threads() OpenMP threads.
template <typename T, typename Fn>
void ForEachSlice(int64_t slices, const Fn& fn) {
  if (slices == 0) return;
  const int threads = static_cast<int>(std::min<int64_t>(at::get_num_threads(), slices));
#pragma omp parallel num_threads(threads)
  {
    std::vector<T> scratch;
#pragma omp for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < slices; ++bh) fn(bh, &scratch);
  }
}

void CheckShapes(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                 const torch::Tensor& diagonal_bias) {
  TORCH_CHECK(q.dim() == 4 && q.sizes() == k.sizes() && q.sizes() == v.sizes(),
              "DenseAttentionCpu: q, k, v must share a [B, H, N, D] shape");
  TORCH_CHECK(diagonal_bias.dim() == 2 && diagonal_bias.size(0) == q.size(1) &&
                  diagonal_bias.size(1) == 2 * q.size(2) - 1,
              "DenseAttentionCpu: diagonal_bias must be [H, 2N - 1]");
}

}  // namespace

std::vector<torch::Tensor> DenseAttentionCpuForward(const torch::Tensor& q, const torch::Tensor& k,
                                                    const torch::Tensor& v,
                                                    const torch::Tensor& diagonal_bias,
                                                    double scale) {
  CheckShapes(q, k, v, diagonal_bias);
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3);
  torch::Tensor out = torch::empty({B, H, N, D}, q.options());
  torch::Tensor lse = torch::empty({B, H, N}, q.options());
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "DenseAttentionCpuForward", [&] {
    using T = scalar_t;
    const Problem<T> p(q, diagonal_bias, scale);
    const Strided<T> qs(q), ks(k), vs(v);
    T *op = out.data_ptr<T>(), *lp = lse.data_ptr<T>();
    const auto slice = D == 8    ? ForwardSlice<T, 8>
                       : D == 16 ? ForwardSlice<T, 16>
                       : D == 32 ? ForwardSlice<T, 32>
                                 : ForwardSlice<T, 0>;
    ForEachSlice<T>(B * H, [&](int64_t bh, std::vector<T>* scratch) {
      slice(p, qs, ks, vs, bh / H, bh % H, op + bh * N * D, lp + bh * N, scratch);
    });
  });
  return {out, lse};
}

std::vector<torch::Tensor> DenseAttentionCpuBackward(
    const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
    const torch::Tensor& diagonal_bias, const torch::Tensor& output, const torch::Tensor& logsumexp,
    const torch::Tensor& grad_output, double scale) {
  CheckShapes(q, k, v, diagonal_bias);
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3);
  torch::Tensor dq = torch::empty({B, H, N, D}, q.options());
  torch::Tensor dk = torch::empty_like(dq), dv = torch::empty_like(dq);
  torch::Tensor d_bias = torch::empty({H, 2 * N - 1}, q.options());
  const torch::Tensor lse = logsumexp.contiguous();
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "DenseAttentionCpuBackward", [&] {
    using T = scalar_t;
    const Problem<T> p(q, diagonal_bias, scale);
    const Strided<T> qs(q), ks(k), vs(v), os(output), gs(grad_output);
    // Per slice diagonal sums, then summed over the batch in order.
    std::vector<T> slice_bias(static_cast<size_t>(B * H * p.W), T(0));
    T *dqp = dq.data_ptr<T>(), *dkp = dk.data_ptr<T>(), *dvp = dv.data_ptr<T>();
    const T* lp = lse.data_ptr<T>();
    const auto slice = D == 8    ? BackwardSlice<T, 8>
                       : D == 16 ? BackwardSlice<T, 16>
                       : D == 32 ? BackwardSlice<T, 32>
                                 : BackwardSlice<T, 0>;
    ForEachSlice<T>(B * H, [&](int64_t bh, std::vector<T>* scratch) {
      const int64_t at = bh * N * D;
      slice(p, qs, ks, vs, os, lp + bh * N, gs, bh / H, bh % H, dqp + at, dkp + at, dvp + at,
            slice_bias.data() + bh * p.W, scratch);
    });
    T* db = d_bias.data_ptr<T>();
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t x = 0; x < 2 * N - 1; ++x) {
        T sum = 0;
        for (int64_t b = 0; b < B; ++b) sum += slice_bias[(b * H + h) * p.W + x];
        db[h * (2 * N - 1) + x] = sum;
      }
    }
  });
  return {dq, dk, dv, d_bias};
}

}  // namespace headevo::worker
