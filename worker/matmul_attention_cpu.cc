#include "worker/matmul_attention_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace headevo::worker {
namespace {

// 64-byte vectors (one AVX-512 register; GCC splits them where the target is narrower).
template <typename T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(64)));
  typedef int32_t mask __attribute__((vector_size(64)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(64)));
  typedef int64_t mask __attribute__((vector_size(64)));
};

template <typename V>
inline V Load(const void* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename V>
inline void Store(void* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

template <typename T, typename V = typename VecOf<T>::type>
inline V Splat(T x) {
  return V{} + x;
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

// exp(x) for x <= 0 (the only arguments here: scores minus their row's max or logsumexp).
// Cephes' expf polynomial; arguments below -87, including the -inf of unattended pairs, give 0.
inline VecOf<float>::type Exp(VecOf<float>::type x) {
  using V = VecOf<float>::type;
  using M = VecOf<float>::mask;
  const M keep = x > Splat(-87.0f);
  const V xc = keep ? x : Splat(-87.0f);
  const M i = __builtin_convertvector(xc * 1.44269504088896341f - 0.5f, M);
  const V fi = __builtin_convertvector(i, V);
  const V r = xc - fi * 0.693359375f - fi * -2.12194440e-4f;
  V y = Splat(1.9875691500E-4f);
  y = y * r + 1.3981999507E-3f;
  y = y * r + 8.3334519073E-3f;
  y = y * r + 4.1665795894E-2f;
  y = y * r + 1.6666665459E-1f;
  y = y * r + 5.0000001201E-1f;
  y = y * r * r + r + 1.0f;
  const V pow2 = reinterpret_cast<V>((i + 127) << 23);
  return keep ? y * pow2 : V{};
}

inline VecOf<double>::type Exp(VecOf<double>::type x) {
  for (int l = 0; l < 8; ++l) x[l] = std::exp(x[l]);
  return x;
}

// Per-row values of the head width: registers when kD is fixed, heap otherwise.
template <typename X, int kD>
struct PerDim {
  explicit PerDim(int64_t) {}
  X& operator[](int64_t d) { return v[d]; }
  X v[kD];
};
template <typename X>
struct PerDim<X, 0> {
  explicit PerDim(int64_t n) : v(static_cast<size_t>(n)) {}
  X& operator[](int64_t d) { return v[d]; }
  std::vector<X> v;
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
  static constexpr int64_t kLanes = 64 / sizeof(T);
  Problem(const torch::Tensor& q, const torch::Tensor& diagonal_bias, double scale_in)
      : B(q.size(0)), H(q.size(1)), N(q.size(2)), D(q.size(3)),
        Np((N + kLanes - 1) / kLanes * kLanes), W(2 * N - 1 + kLanes),
        scale(static_cast<T>(scale_in)),
        diag(static_cast<size_t>(H * W), -std::numeric_limits<T>::infinity()),
        lo(static_cast<size_t>(H), 0), hi(static_cast<size_t>(H), -1) {
    const torch::Tensor bias = diagonal_bias.contiguous();
    const T* b = bias.data_ptr<T>();
    for (int64_t h = 0; h < H; ++h) {
      bool any = false;
      for (int64_t x = 0; x < 2 * N - 1; ++x) {
        const T value = b[h * (2 * N - 1) + x];
        diag[h * W + x] = value;
        if (value == -std::numeric_limits<T>::infinity()) continue;
        if (!any) lo[h] = x - (N - 1);
        hi[h] = x - (N - 1);
        any = true;
      }
    }
  }
  // Keys [first, last) of query i of head h (empty when the head attends nothing there).
  int64_t First(int64_t h, int64_t i) const { return std::max<int64_t>(0, i + lo[h]); }
  int64_t Last(int64_t h, int64_t i) const { return std::min<int64_t>(N, i + hi[h] + 1); }

  int64_t B, H, N, D;
  int64_t Np;  // N rounded up to whole vectors: the row length of transposed keys and values
  int64_t W;   // a head's diagonal-bias length, padded with -inf for the last vector's loads
  T scale;
  std::vector<T> diag;        // [H, W]
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

// Scores of one vector of keys starting at c (a multiple of the lane count): bias + q.k, -inf
// past the last key.
template <typename T, int kD, typename V = typename VecOf<T>::type>
inline V Scores(const Problem<T>& p, const T* bias_row, PerDim<T, kD>& qs, const T* kt,
                int64_t c) {
  using M = typename VecOf<T>::mask;
  V s = Load<V>(bias_row + c);
  for (int64_t d = 0; d < (kD > 0 ? kD : p.D); ++d) s += Splat(qs[d]) * Load<V>(kt + d * p.Np + c);
  if (c + Problem<T>::kLanes > p.N) {
    M beyond;  // lanes past the last key
    for (int l = 0; l < Problem<T>::kLanes; ++l) beyond[l] = c + l >= p.N ? -1 : 0;
    s = beyond ? Splat(-std::numeric_limits<T>::infinity()) : s;
  }
  return s;
}

template <typename T, int kD>
void ForwardSlice(const Problem<T>& p, const Strided<T>& q, const Strided<T>& k,
                  const Strided<T>& v, int64_t b, int64_t h, T* out, T* lse,
                  std::vector<T>* scratch) {
  using V = typename VecOf<T>::type;
  constexpr int64_t L = Problem<T>::kLanes;
  const int64_t N = p.N, D = kD > 0 ? kD : p.D, Np = p.Np;
  scratch->resize(static_cast<size_t>((2 * D + 1) * Np));
  T* kt = scratch->data();
  T* vt = kt + D * Np;
  T* row = vt + D * Np;
  Transpose(k, b, h, p, kt);
  Transpose(v, b, h, p, vt);
  PerDim<T, kD> qs(D);
  PerDim<V, kD> acc(D);
  for (int64_t i = 0; i < N; ++i) {
    T* o = out + i * D;
    const int64_t first = p.First(h, i), last = p.Last(h, i);
    T mx = -std::numeric_limits<T>::infinity();
    if (first < last) {
      const T* qi = q.Row(b, h, i);
      for (int64_t d = 0; d < D; ++d) qs[d] = qi[d * q.sd] * p.scale;
      const T* bias_row = p.diag.data() + h * p.W + (N - 1 - i);
      V m = Splat(mx);
      for (int64_t c = first / L * L; c < last; c += L) {
        const V s = Scores<T, kD>(p, bias_row, qs, kt, c);
        Store(row + c, s);
        m = s > m ? s : m;
      }
      mx = HMax<T>(m);
    }
    if (mx == -std::numeric_limits<T>::infinity()) {  // no key
      std::fill(o, o + D, T(0));
      lse[i] = std::numeric_limits<T>::infinity();
      continue;
    }
    V sum{};
    for (int64_t d = 0; d < D; ++d) acc[d] = V{};
    for (int64_t c = first / L * L; c < last; c += L) {
      const V e = Exp(Load<V>(row + c) - mx);
      sum += e;
      for (int64_t d = 0; d < D; ++d) acc[d] += e * Load<V>(vt + d * Np + c);
    }
    const T total = HSum<T>(sum);
    for (int64_t d = 0; d < D; ++d) o[d] = HSum<T>(acc[d]) / total;
    lse[i] = mx + std::log(total);
  }
}

// One slice's backward; d_bias (length W) receives the slice's diagonal sums.
template <typename T, int kD>
void BackwardSlice(const Problem<T>& p, const Strided<T>& q, const Strided<T>& k,
                   const Strided<T>& v, const Strided<T>& out, const T* lse,
                   const Strided<T>& grad_out, int64_t b, int64_t h, T* dq, T* dk, T* dv,
                   T* d_bias, std::vector<T>* scratch) {
  using V = typename VecOf<T>::type;
  constexpr int64_t L = Problem<T>::kLanes;
  const int64_t N = p.N, D = kD > 0 ? kD : p.D, Np = p.Np;
  scratch->resize(static_cast<size_t>(4 * D * Np));
  T* kt = scratch->data();
  T* vt = kt + D * Np;
  T* dkt = vt + D * Np;
  T* dvt = dkt + D * Np;
  Transpose(k, b, h, p, kt);
  Transpose(v, b, h, p, vt);
  std::fill(dkt, dkt + 2 * D * Np, T(0));
  PerDim<T, kD> qs(D), g(D);
  PerDim<V, kD> dqa(D);
  for (int64_t i = 0; i < N; ++i) {
    if (lse[i] == std::numeric_limits<T>::infinity()) {  // no key: no gradient
      std::fill(dq + i * D, dq + (i + 1) * D, T(0));
      continue;
    }
    const T *qi = q.Row(b, h, i), *gi = grad_out.Row(b, h, i), *oi = out.Row(b, h, i);
    T delta = 0;
    for (int64_t d = 0; d < D; ++d) {
      qs[d] = qi[d * q.sd] * p.scale;
      g[d] = gi[d * grad_out.sd];
      delta += g[d] * oi[d * out.sd];
      dqa[d] = V{};
    }
    const T* bias_row = p.diag.data() + h * p.W + (N - 1 - i);
    T* d_bias_row = d_bias + (N - 1 - i);
    const T row_lse = lse[i];
    for (int64_t c = p.First(h, i) / L * L, last = p.Last(h, i); c < last; c += L) {
      const V prob = Exp(Scores<T, kD>(p, bias_row, qs, kt, c) - row_lse);
      V dp{};
      for (int64_t d = 0; d < D; ++d) dp += Splat(g[d]) * Load<V>(vt + d * Np + c);
      const V ds = prob * (dp - delta);
      Store(d_bias_row + c, Load<V>(d_bias_row + c) + ds);
      for (int64_t d = 0; d < D; ++d) {
        dqa[d] += ds * Load<V>(kt + d * Np + c);
        Store(dkt + d * Np + c, Load<V>(dkt + d * Np + c) + Splat(qs[d]) * ds);
        Store(dvt + d * Np + c, Load<V>(dvt + d * Np + c) + Splat(g[d]) * prob);
      }
    }
    for (int64_t d = 0; d < D; ++d) dq[i * D + d] = p.scale * HSum<T>(dqa[d]);
  }
  for (int64_t j = 0; j < N; ++j) {
    for (int64_t d = 0; d < D; ++d) {
      dk[j * D + d] = dkt[d * Np + j];
      dv[j * D + d] = dvt[d * Np + j];
    }
  }
}

// fn(slice, scratch) for every (batch, head) slice, on at::get_num_threads() OpenMP threads.
template <typename T, typename Fn>
void ForEachSlice(int64_t slices, const Fn& fn) {
#pragma omp parallel num_threads(static_cast<int>(std::min<int64_t>(at::get_num_threads(), slices)))
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
    const auto slice = D == 8 ? ForwardSlice<T, 8> : D == 16 ? ForwardSlice<T, 16> : ForwardSlice<T, 0>;
    ForEachSlice<T>(B * H, [&](int64_t bh, std::vector<T>* scratch) {
      slice(p, qs, ks, vs, bh / H, bh % H, op + bh * N * D, lp + bh * N, scratch);
    });
  });
  return {out, lse};
}

std::vector<torch::Tensor> DenseAttentionCpuBackward(
    const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
    const torch::Tensor& diagonal_bias, const torch::Tensor& output,
    const torch::Tensor& logsumexp, const torch::Tensor& grad_output, double scale) {
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
    const auto slice =
        D == 8 ? BackwardSlice<T, 8> : D == 16 ? BackwardSlice<T, 16> : BackwardSlice<T, 0>;
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
