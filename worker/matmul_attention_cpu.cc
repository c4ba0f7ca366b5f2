#include "worker/matmul_attention_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

namespace headevo::worker {
namespace {

// fn(begin, end) over [0, n) split into at::get_num_threads() contiguous chunks, on threads of
// its own. Not at::parallel_for: its OpenMP version is a header template that runs serially in
// a translation unit compiled without -fopenmp (like this one), which measured 1x on 2 cores.
template <typename Fn>
void ParallelFor(int64_t n, const Fn& fn) {
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n));
  if (workers == 1) return fn(int64_t{0}, n);
  std::vector<std::thread> threads;
  for (int64_t w = 1; w < workers; ++w) {
    threads.emplace_back([&fn, n, w, workers] { fn(n * w / workers, n * (w + 1) / workers); });
  }
  fn(int64_t{0}, n / workers);
  for (std::thread& thread : threads) thread.join();
}

// Reductions in kLanes independent partial results: the compiler vectorises them without
// reassociating floating-point operations (which it may not do at -O3), and the fixed order
// keeps results reproducible.
constexpr int kLanes = 8;

template <typename T>
inline T Dot(const T* __restrict__ a, const T* __restrict__ b, int64_t n) {
  T acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += a[j + l] * b[j + l];
  }
  for (int l = 0; j + l < n; ++l) acc[l] += a[j + l] * b[j + l];
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  }
  return acc[0];
}

template <typename T>
inline T Sum(const T* __restrict__ a, int64_t n) {
  T acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += a[j + l];
  }
  for (int l = 0; j + l < n; ++l) acc[l] += a[j + l];
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  }
  return acc[0];
}

template <typename T>
inline T Max(const T* __restrict__ a, int64_t n) {
  T acc[kLanes];
  for (int l = 0; l < kLanes; ++l) acc[l] = -std::numeric_limits<T>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] = acc[l] > a[j + l] ? acc[l] : a[j + l];
  }
  for (int l = 0; j + l < n; ++l) acc[l] = acc[l] > a[j + l] ? acc[l] : a[j + l];
  for (int l = 1; l < kLanes; ++l) acc[0] = acc[0] > acc[l] ? acc[0] : acc[l];
  return acc[0];
}

// y += a x.
template <typename T>
inline void Axpy(T* __restrict__ y, T a, const T* __restrict__ x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] += a * x[j];
}

// s[j] = (base ? base[j] : 0) + sum_d a[d] x[d * N + j]: one pass over the row when kD (the
// head width) is fixed at compile time, else D passes; the additions are in the same order.
template <typename T, int kD>
inline void ScoreRow(T* __restrict__ s, const T* base, const T* a, const T* __restrict__ x,
                     int64_t N, int64_t D) {
  if constexpr (kD > 0) {
    T c[kD];
    for (int d = 0; d < kD; ++d) c[d] = a[d];
    for (int64_t j = 0; j < N; ++j) {
      T acc = base != nullptr ? base[j] : T(0);
      for (int d = 0; d < kD; ++d) acc += c[d] * x[d * N + j];
      s[j] = acc;
    }
  } else {
    if (base != nullptr) {
      std::copy(base, base + N, s);
    } else {
      std::fill(s, s + N, T(0));
    }
    for (int64_t d = 0; d < D; ++d) Axpy(s, a[d], x + d * N, N);
  }
}

// out[d] = scale * Dot(s, x + d * N) for every d, in one pass when kD is fixed (same order).
template <typename T, int kD>
inline void DotRows(const T* __restrict__ s, const T* __restrict__ x, int64_t N, int64_t D, T scale,
                    T* out) {
  if constexpr (kD > 0) {
    T acc[kD][kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= N; j += kLanes) {
      for (int d = 0; d < kD; ++d) {
        for (int l = 0; l < kLanes; ++l) acc[d][l] += s[j + l] * x[d * N + j + l];
      }
    }
    for (int d = 0; d < kD; ++d) {
      for (int l = 0; j + l < N; ++l) acc[d][l] += s[j + l] * x[d * N + j + l];
      for (int width = kLanes / 2; width > 0; width /= 2) {
        for (int l = 0; l < width; ++l) acc[d][l] += acc[d][l + width];
      }
      out[d] = scale * acc[d][0];
    }
  } else {
    for (int64_t d = 0; d < D; ++d) out[d] = scale * Dot(s, x + d * N, N);
  }
}

// s[j] = exp(s[j] - max) for a row whose max is finite. The float version is Cephes' expf
// polynomial written so that the loop vectorises (glibc's expf does not); arguments below -87
// (including the -inf of masked pairs) give 0.
inline void ExpRow(float* __restrict__ s, int64_t n, float max) {
  for (int64_t j = 0; j < n; ++j) {
    const float x = s[j] - max;
    // Branch-free (a branch or memcpy keeps the loop scalar): clamp, then zero by a factor.
    const float xc = std::max(x, -87.0f);
    const int32_t i = static_cast<int32_t>(xc * 1.44269504088896341f - 0.5f);
    const float fi = static_cast<float>(i);
    const float r = xc - fi * 0.693359375f - fi * -2.12194440e-4f;
    float y = 1.9875691500E-4f;
    y = y * r + 1.3981999507E-3f;
    y = y * r + 8.3334519073E-3f;
    y = y * r + 4.1665795894E-2f;
    y = y * r + 1.6666665459E-1f;
    y = y * r + 5.0000001201E-1f;
    y = y * r * r + r + 1.0f;
    const float pow2 = __builtin_bit_cast(float, (i + 127) << 23);
    s[j] = y * pow2 * (x > -87.0f ? 1.0f : 0.0f);
  }
}

inline void ExpRow(double* __restrict__ s, int64_t n, double max) {
  for (int64_t j = 0; j < n; ++j) s[j] = std::exp(s[j] - max);
}

// [N, D] rows -> [D, N] columns.
template <typename T>
void Transpose(const T* in, int64_t N, int64_t D, T* out) {
  for (int64_t j = 0; j < N; ++j) {
    for (int64_t d = 0; d < D; ++d) out[d * N + j] = in[j * D + d];
  }
}

template <typename T, int kD>
void ForwardSlice(const T* q, const T* k, const T* v, const T* bias, const bool* empty, int64_t N,
                  int64_t D, T scale, T* probs, T* out, std::vector<T>* scratch) {
  scratch->resize(static_cast<size_t>(2 * D * N));
  T* keys_t = scratch->data();
  T* values_t = keys_t + D * N;
  Transpose(k, N, D, keys_t);
  Transpose(v, N, D, values_t);
  std::vector<T> scaled(static_cast<size_t>(D));
  for (int64_t i = 0; i < N; ++i) {
    T* s = probs + i * N;
    if (empty != nullptr && empty[i]) {
      std::fill(s, s + N, T(0));
      std::fill(out + i * D, out + (i + 1) * D, T(0));
      continue;
    }
    for (int64_t d = 0; d < D; ++d) scaled[d] = q[i * D + d] * scale;
    ScoreRow<T, kD>(s, bias + i * N, scaled.data(), keys_t, N, D);
    ExpRow(s, N, Max(s, N));
    const T inverse = T(1) / Sum(s, N);
    for (int64_t j = 0; j < N; ++j) s[j] *= inverse;
    DotRows<T, kD>(s, values_t, N, D, T(1), out + i * D);
  }
}

// One head over every batch element (the bias gradient of a head sums over the batch).
template <typename T, int kD>
void BackwardHead(int64_t h, int64_t B, int64_t H, int64_t N, int64_t D, T scale, const T* q,
                  const T* k, const T* v, const T* probs, const T* out, const T* grad_out, T* dq,
                  T* dk, T* dv, T* dbias) {
  std::vector<T> scratch(static_cast<size_t>(4 * D * N + N));
  T* keys_t = scratch.data();
  T* values_t = keys_t + D * N;
  T* dkeys_t = values_t + D * N;
  T* dvalues_t = dkeys_t + D * N;
  T* ds = dvalues_t + D * N;
  T* dbias_h = dbias + h * N * N;
  std::vector<T> scaled(static_cast<size_t>(D));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t slice = (b * H + h) * N * D;
    const T *q_s = q + slice, *o_s = out + slice, *g_s = grad_out + slice;
    const T* p_s = probs + (b * H + h) * N * N;
    Transpose(k + slice, N, D, keys_t);
    Transpose(v + slice, N, D, values_t);
    std::fill(dkeys_t, dkeys_t + 2 * D * N, T(0));
    for (int64_t i = 0; i < N; ++i) {
      const T* p = p_s + i * N;
      const T* g = g_s + i * D;
      T delta = 0;
      for (int64_t d = 0; d < D; ++d) delta += g[d] * o_s[i * D + d];
      ScoreRow<T, kD>(ds, nullptr, g, values_t, N, D);  // dP
      T* db = dbias_h + i * N;
      for (int64_t j = 0; j < N; ++j) {
        ds[j] = p[j] * (ds[j] - delta);
        db[j] += ds[j];
      }
      DotRows<T, kD>(ds, keys_t, N, D, scale, dq + slice + i * D);
      for (int64_t d = 0; d < D; ++d) scaled[d] = q_s[i * D + d] * scale;
      // Row by row: one pass writing all 2 D rows at once measured slower.
      for (int64_t d = 0; d < D; ++d) {
        Axpy(dkeys_t + d * N, scaled[d], ds, N);
        Axpy(dvalues_t + d * N, g[d], p, N);
      }
    }
    Transpose(dkeys_t, D, N, dk + slice);
    Transpose(dvalues_t, D, N, dv + slice);
  }
}

}  // namespace

std::vector<torch::Tensor> DenseAttentionCpuForward(const torch::Tensor& q, const torch::Tensor& k,
                                                    const torch::Tensor& v,
                                                    const torch::Tensor& bias_matrix,
                                                    const torch::Tensor& empty_rows, double scale) {
  TORCH_CHECK(q.dim() == 4 && q.sizes() == k.sizes() && q.sizes() == v.sizes(),
              "DenseAttentionCpu: q, k, v must share a [B, H, N, D] shape");
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3);
  TORCH_CHECK(bias_matrix.sizes() == torch::IntArrayRef({H, N, N}),
              "DenseAttentionCpu: bias_matrix must be [H, N, N]");
  const torch::Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  const torch::Tensor bc = bias_matrix.contiguous();
  const torch::Tensor ec = empty_rows.numel() > 0 ? empty_rows.contiguous() : empty_rows;
  torch::Tensor out = torch::empty({B, H, N, D}, q.options());
  torch::Tensor probs = torch::empty({B, H, N, N}, q.options());
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "DenseAttentionCpuForward", [&] {
    const scalar_t *qp = qc.data_ptr<scalar_t>(), *kp = kc.data_ptr<scalar_t>(),
                   *vp = vc.data_ptr<scalar_t>(), *bp = bc.data_ptr<scalar_t>();
    const bool* ep = ec.numel() > 0 ? ec.data_ptr<bool>() : nullptr;
    scalar_t *op = out.data_ptr<scalar_t>(), *pp = probs.data_ptr<scalar_t>();
    ParallelFor(B * H, [&](int64_t begin, int64_t end) {
      std::vector<scalar_t> scratch;
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t h = bh % H;
        const auto slice = D == 8 ? ForwardSlice<scalar_t, 8> : ForwardSlice<scalar_t, 0>;
        slice(qp + bh * N * D, kp + bh * N * D, vp + bh * N * D, bp + h * N * N,
              ep != nullptr ? ep + h * N : nullptr, N, D, static_cast<scalar_t>(scale),
              pp + bh * N * N, op + bh * N * D, &scratch);
      }
    });
  });
  return {out, probs};
}

std::vector<torch::Tensor> DenseAttentionCpuBackward(const torch::Tensor& q, const torch::Tensor& k,
                                                     const torch::Tensor& v,
                                                     const torch::Tensor& probs,
                                                     const torch::Tensor& output,
                                                     const torch::Tensor& grad_output,
                                                     double scale) {
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3);
  const torch::Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  const torch::Tensor pc = probs.contiguous(), oc = output.contiguous(),
                      gc = grad_output.contiguous();
  torch::Tensor dq = torch::empty_like(qc), dk = torch::empty_like(kc), dv = torch::empty_like(vc);
  torch::Tensor dbias = torch::zeros({H, N, N}, q.options());
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "DenseAttentionCpuBackward", [&] {
    ParallelFor(H, [&](int64_t begin, int64_t end) {
      for (int64_t h = begin; h < end; ++h) {
        const auto head = D == 8 ? BackwardHead<scalar_t, 8> : BackwardHead<scalar_t, 0>;
        head(h, B, H, N, D, static_cast<scalar_t>(scale), qc.data_ptr<scalar_t>(),
             kc.data_ptr<scalar_t>(), vc.data_ptr<scalar_t>(), pc.data_ptr<scalar_t>(),
             oc.data_ptr<scalar_t>(), gc.data_ptr<scalar_t>(), dq.data_ptr<scalar_t>(),
             dk.data_ptr<scalar_t>(), dv.data_ptr<scalar_t>(), dbias.data_ptr<scalar_t>());
      }
    });
  });
  return {dq, dk, dv, dbias};
}

}  // namespace headevo::worker
