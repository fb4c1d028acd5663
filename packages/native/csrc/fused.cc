// Fused BatchNorm / affine / ReLU-gradient kernels (see fused.h). Compiled for AVX2/FMA like
// kernels.cc on x86-64. BatchNorm and the channel affine map cut the rows into pieces fixed by the
// shape and run the per-ISA bodies of bn.h on them; the rest (and namespace legacy, the previous
// BatchNorm kernels kept for A/B runs) leave the inner loops to the compiler's vectoriser.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bn.h"
#include "fused.h"
#include "isa.h"
#include "pool.h"

#if defined(__x86_64__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#endif

// FMA contraction off where each product must be rounded before the sum: GCC's pragma around the
// function (GCC contracts across statements), clang's at the top of its body.
#if defined(__clang__)
#define RTKD_NO_FP_CONTRACT _Pragma("clang fp contract(off)")
#else
#define RTKD_NO_FP_CONTRACT
#endif

namespace rtkd {
namespace {

// Rows per reduction chunk: ~32 KiB of input per chunk, at least 16 rows.
int64_t chunk_rows(int64_t channels) { return std::max<int64_t>(16, 8192 / std::max<int64_t>(channels, 1)); }

// Per-channel sums over rows of f(row pointer, channel accumulator), chunked; returns double totals.
template <typename RowFn>
void reduce_rows(int64_t rows, int64_t channels, int lanes, std::vector<double>& totals, RowFn row_fn) {
  const int64_t per = chunk_rows(channels);
  const int64_t chunks = (rows + per - 1) / per;
  std::vector<float> partial(static_cast<size_t>(chunks * lanes * channels), 0.f);
  pool().parallel_for(chunks, [&](long ch) {
    float* acc = partial.data() + ch * lanes * channels;
    const int64_t r1 = std::min<int64_t>(rows, (ch + 1) * per);
    for (int64_t r = ch * per; r < r1; ++r) row_fn(r, acc);
  });
  totals.assign(static_cast<size_t>(lanes * channels), 0.0);
  for (int64_t ch = 0; ch < chunks; ++ch) {
    const float* p = partial.data() + ch * lanes * channels;
    for (int64_t i = 0; i < lanes * channels; ++i) totals[i] += p[i];
  }
}

template <typename RowFn>
void map_rows(int64_t rows, int64_t channels, RowFn row_fn) {
  const int64_t per = std::max<int64_t>(16, 16384 / std::max<int64_t>(channels, 1));
  const int64_t chunks = (rows + per - 1) / per;
  pool().parallel_for(chunks, [&](long ch) {
    const int64_t r1 = std::min<int64_t>(rows, (ch + 1) * per);
    for (int64_t r = ch * per; r < r1; ++r) row_fn(r);
  });
}

}  // namespace

namespace legacy {

// The previous kernels' normalised value (before the ReLU) of element c of row p.
inline float centred_affine(const float* p, const float* mean, const float* s, const float* beta, int64_t c) { return (p[c] - mean[c]) * s[c] + beta[c]; }

void batch_norm_train(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* var, float* invstd,
                      int64_t rows, int64_t channels, float eps, bool relu) {
  const int64_t C = channels;
  std::vector<double> totals;
  reduce_rows(rows, C, 1, totals, [&](int64_t r, float* acc) {
    const float* p = x + r * C;
    for (int64_t c = 0; c < C; ++c) acc[c] += p[c];
  });
  for (int64_t c = 0; c < C; ++c) mean[c] = static_cast<float>(totals[c] / static_cast<double>(rows));
  reduce_rows(rows, C, 1, totals, [&](int64_t r, float* acc) {
    const float* p = x + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float d = p[c] - mean[c];
      acc[c] += d * d;
    }
  });
  std::vector<float> scale(C);
  for (int64_t c = 0; c < C; ++c) {
    var[c] = static_cast<float>(totals[c] / static_cast<double>(rows));
    invstd[c] = 1.f / std::sqrt(var[c] + eps);
    scale[c] = invstd[c] * gamma[c];
  }
  const float* s = scale.data();
  map_rows(rows, C, [&](int64_t r) {
    const float* p = x + r * C;
    float* q = y + r * C;
    if (relu) {
      for (int64_t c = 0; c < C; ++c) {
        const float v = centred_affine(p, mean, s, beta, c);
        q[c] = v < 0.f ? 0.f : v;
      }
    } else {
      for (int64_t c = 0; c < C; ++c) q[c] = centred_affine(p, mean, s, beta, c);
    }
  });
}

namespace {

// dy·step(y) as tfjs's Relu gradient computes it (NaN where y is NaN); the identity when !Relu.
template <bool Relu>
inline float masked(float g, float y) {
  if constexpr (Relu) return g * (y > 0.f ? 1.f : (y != y ? NAN : 0.f));
  return g;
}

template <bool Relu>
void batch_norm_train_grad_impl(const float* dy, const float* x, const float* gamma, const float* mean, const float* invstd,
                                const float* relu_y, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t channels) {
  const int64_t C = channels;
  std::vector<double> totals;
  // lanes: [0, C) Σ dy, [C, 2C) Σ dy·(x − mean)
  reduce_rows(rows, C, 2, totals, [&](int64_t r, float* acc) {
    const float* g = dy + r * C;
    const float* p = x + r * C;
    const float* yr = Relu ? relu_y + r * C : nullptr;
    float* accDy = acc;
    float* accDyX = acc + C;
    for (int64_t c = 0; c < C; ++c) {
      const float gc = masked<Relu>(g[c], Relu ? yr[c] : 0.f);
      accDy[c] += gc;
      accDyX[c] += gc * (p[c] - mean[c]);
    }
  });
  std::vector<float> k(C), a(C), b(C);
  const double n = static_cast<double>(rows);
  for (int64_t c = 0; c < C; ++c) {
    const double is = invstd[c];
    dbeta[c] = static_cast<float>(totals[c]);
    dgamma[c] = static_cast<float>(totals[C + c] * is);
    // dx = γ·is·(dy − Σdy/n − (x − mean)·is²·Σdy(x − mean)/n)
    k[c] = static_cast<float>(gamma[c] * is);
    a[c] = static_cast<float>(totals[c] / n);
    b[c] = static_cast<float>(is * is * totals[C + c] / n);
  }
  const float *pk = k.data(), *pa = a.data(), *pb = b.data();
  map_rows(rows, C, [&](int64_t r) {
    const float* g = dy + r * C;
    const float* p = x + r * C;
    const float* yr = Relu ? relu_y + r * C : nullptr;
    float* q = dx + r * C;
    for (int64_t c = 0; c < C; ++c) q[c] = pk[c] * (masked<Relu>(g[c], Relu ? yr[c] : 0.f) - pa[c] - (p[c] - mean[c]) * pb[c]);
  });
}

}  // namespace

void batch_norm_train_grad(const float* dy, const float* x, const float* gamma, const float* mean, const float* invstd,
                           const float* relu_y, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t channels) {
  if (relu_y != nullptr) batch_norm_train_grad_impl<true>(dy, x, gamma, mean, invstd, relu_y, dx, dgamma, dbeta, rows, channels);
  else batch_norm_train_grad_impl<false>(dy, x, gamma, mean, invstd, nullptr, dx, dgamma, dbeta, rows, channels);
}

// The fused-ReLU output y of batch_norm_train above, recomputed from x (for a gradient given beta instead of y).
std::vector<float> relu_output(const float* x, const float* gamma, const float* beta, const float* mean, const float* invstd, int64_t rows, int64_t C) {
  std::vector<float> scale(C), y(static_cast<size_t>(rows * C));
  for (int64_t c = 0; c < C; ++c) scale[c] = invstd[c] * gamma[c];
  map_rows(rows, C, [&](int64_t r) {
    for (int64_t c = 0; c < C; ++c) {
      const float v = centred_affine(x + r * C, mean, scale.data(), beta, c);
      y[r * C + c] = v < 0.f ? 0.f : v;
    }
  });
  return y;
}

void channel_affine(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t channels, bool relu) {
  const int64_t C = channels;
  map_rows(rows, C, [&](int64_t r) {
    const float* p = x + r * C;
    float* q = y + r * C;
    if (relu) {
      for (int64_t c = 0; c < C; ++c) {
        const float v = p[c] * scale[c] + shift[c];
        q[c] = v < 0.f ? 0.f : v;
      }
    } else {
      for (int64_t c = 0; c < C; ++c) q[c] = p[c] * scale[c] + shift[c];
    }
  });
}

}  // namespace legacy

namespace {

// The bodies of this process's instruction set (bn_*.cc).
const BnKernels& bn() {
  switch (isa()) {
#if defined(__x86_64__)
    case Isa::kAvx512: return bn_kernels_avx512();
    case Isa::kAvx2: return bn_kernels_avx2();
#endif
    default: return bn_kernels_generic();
  }
}

// RTKD_NATIVE_BN=legacy runs the previous kernels (one runtime-length channel loop per row, two
// passes over x for the statistics), read at every call: for A/B runs (bench/batchnorm.mjs).
bool use_legacy() {
  const char* v = std::getenv("RTKD_NATIVE_BN");
  return v != nullptr && std::strcmp(v, "legacy") == 0;
}

// Rows per piece, fixed by the shape (never by the thread count): statistics chunks of 32 KiB (the
// chunk's second read then hits L1), gradient-sum chunks of 64 KiB per input, map pieces of 128 KiB.
// The reductions (the first pass of each kernel) hand their pieces out last to first
// (reverse = true) and the maps that follow first to last: each pass then starts on the rows the
// previous pass, or the op that wrote the input (first to last), left in cache. Measured at batch 64
// (bench/batchnorm.mjs, and with the input rewritten before each call): 5–10% less CPU time than
// both passes in order.
int64_t rows_per(int64_t floats, int64_t channels) { return std::max<int64_t>(1, floats / std::max<int64_t>(channels, 1)); }

template <typename Fn>
void for_pieces(int64_t rows, int64_t per, Fn fn, bool reverse = false) {
  const int64_t n = (rows + per - 1) / per;
  pool().parallel_for(n, [&](long j) {
    const int64_t i = reverse ? n - 1 - j : j;
    const int64_t r0 = i * per;
    fn(i, r0, std::min<int64_t>(per, rows - r0));
  });
}

// The batch mean and Σ(x − mean)² per channel, in double, from the chunks' (m, D, Q) of
// BnKernels::stats (chunk i at part[3·C·i], per rows each), added in chunk order.
void combine_statistics(const std::vector<float>& part, int64_t per, int64_t rows, int64_t C, std::vector<double>& mean, std::vector<double>& m2) {
  const int64_t chunks = (rows + per - 1) / per;
  mean.assign(C, 0.0);
  m2.assign(C, 0.0);
  for (int64_t i = 0; i < chunks; ++i) {
    const double n = static_cast<double>(std::min<int64_t>(per, rows - i * per));
    const float* p = part.data() + i * 3 * C;
    for (int64_t c = 0; c < C; ++c) mean[c] += n * p[c] + p[C + c];
  }
  for (int64_t c = 0; c < C; ++c) mean[c] /= static_cast<double>(rows);
  for (int64_t i = 0; i < chunks; ++i) {
    const double n = static_cast<double>(std::min<int64_t>(per, rows - i * per));
    const float* p = part.data() + i * 3 * C;
    for (int64_t c = 0; c < C; ++c) {
      const double dm = p[c] - mean[c];
      m2[c] += p[2 * C + c] + 2.0 * dm * p[C + c] + n * dm * dm;
    }
  }
}

}  // namespace

void batch_norm_train(const float* x, const float* gamma, const float* beta, const float* residual, float* y, float* mean, float* var,
                      float* invstd, int64_t rows, int64_t channels, float eps, bool relu) {
  if (use_legacy() && residual == nullptr) return legacy::batch_norm_train(x, gamma, beta, y, mean, var, invstd, rows, channels, eps, relu);
  const int64_t C = channels;
  const BnKernels& k = bn();
  // Per chunk i of n_i rows: its float mean m_i and, about m_i, D_i = Σ(x − m_i), Q_i = Σ(x − m_i)².
  // In double, in chunk order: mean = Σ(n_i·m_i + D_i) / N and
  // Σ(x − mean)² = Σ_i Q_i + 2(m_i − mean)·D_i + n_i·(m_i − mean)² (exact algebra, no cancellation
  // of large sums: the corrected two-pass sum of Chan, Golub and LeVeque, one pass over memory).
  const int64_t per = rows_per(8192, C);
  const int64_t chunks = (rows + per - 1) / per;
  std::vector<float> part(static_cast<size_t>(chunks * 3 * C));
  for_pieces(rows, per, [&](int64_t i, int64_t r0, int64_t n) {
    float* p = part.data() + i * 3 * C;
    k.stats(x + r0 * C, n, C, p, p + C, p + 2 * C);
  }, true);
  std::vector<double> total, m2;
  combine_statistics(part, per, rows, C, total, m2);
  std::vector<float> scale(C);
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = static_cast<float>(total[c]);
    var[c] = static_cast<float>(std::max(0.0, m2[c] / static_cast<double>(rows)));
    invstd[c] = 1.f / std::sqrt(var[c] + eps);
    scale[c] = invstd[c] * gamma[c];
  }
  for_pieces(rows, rows_per(32768, C), [&](int64_t, int64_t r0, int64_t n) {
    k.normalize(x + r0 * C, mean, scale.data(), beta, residual ? residual + r0 * C : nullptr, y + r0 * C, n, C, relu);
  });
}

void batch_norm_train_grad(const float* dy, const float* x, const float* gamma, const float* mean, const float* invstd,
                           const float* relu_y, const float* relu_beta, float* dx, float* dgamma, float* dbeta, float* g_out, int64_t rows,
                           int64_t channels) {
  if (relu_y != nullptr) relu_beta = nullptr;
  if (use_legacy() && g_out == nullptr) {
    if (relu_beta == nullptr) return legacy::batch_norm_train_grad(dy, x, gamma, mean, invstd, relu_y, dx, dgamma, dbeta, rows, channels);
    const std::vector<float> y = legacy::relu_output(x, gamma, relu_beta, mean, invstd, rows, channels);
    return legacy::batch_norm_train_grad(dy, x, gamma, mean, invstd, y.data(), dx, dgamma, dbeta, rows, channels);
  }
  const int64_t C = channels;
  // The forward's scale, for the ReLU mask recomputed from x.
  std::vector<float> scale(relu_beta != nullptr ? C : 0);
  for (int64_t c = 0; c < static_cast<int64_t>(scale.size()); ++c) scale[c] = invstd[c] * gamma[c];
  const BnKernels& kern = bn();
  const int64_t per = rows_per(16384, C);
  const int64_t chunks = (rows + per - 1) / per;
  std::vector<float> part(static_cast<size_t>(chunks * 2 * C));
  // When the masked dy is an output (a fused residual's gradient), the first pass stores it and the
  // second reads it instead of dy and the mask's source: one array less to read, the same values.
  const bool store_g = g_out != nullptr && (relu_y != nullptr || relu_beta != nullptr);
  for_pieces(rows, per, [&](int64_t i, int64_t r0, int64_t n) {
    float* p = part.data() + i * 2 * C;
    kern.grad_sums(dy + r0 * C, x + r0 * C, relu_y ? relu_y + r0 * C : nullptr, mean, scale.data(), relu_beta, n, C, p, p + C,
                   store_g ? g_out + r0 * C : nullptr);
  }, true);
  std::vector<double> sdy(C, 0.0), sdyx(C, 0.0);
  for (int64_t i = 0; i < chunks; ++i) {
    const float* p = part.data() + i * 2 * C;
    for (int64_t c = 0; c < C; ++c) {
      sdy[c] += p[c];
      sdyx[c] += p[C + c];
    }
  }
  std::vector<float> k(C), a(C), b(C);
  const double n = static_cast<double>(rows);
  for (int64_t c = 0; c < C; ++c) {
    const double is = invstd[c];
    dbeta[c] = static_cast<float>(sdy[c]);
    dgamma[c] = static_cast<float>(sdyx[c] * is);
    // dx = γ·is·(dy − Σdy/n − (x − mean)·is²·Σdy(x − mean)/n)
    k[c] = static_cast<float>(gamma[c] * is);
    a[c] = static_cast<float>(sdy[c] / n);
    b[c] = static_cast<float>(is * is * sdyx[c] / n);
  }
  if (store_g) {  // the second pass's dy is the stored, already masked one
    dy = g_out;
    relu_y = relu_beta = nullptr;
    g_out = nullptr;
  }
  for_pieces(rows, rows_per(32768, C), [&](int64_t, int64_t r0, int64_t n) {
    kern.grad_dx(dy + r0 * C, x + r0 * C, relu_y ? relu_y + r0 * C : nullptr, mean, scale.data(), relu_beta, k.data(), a.data(), b.data(), dx + r0 * C,
                  g_out ? g_out + r0 * C : nullptr, n, C);
  });
}

void channel_affine(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t channels, bool relu) {
  if (use_legacy()) return legacy::channel_affine(x, scale, shift, y, rows, channels, relu);
  const BnKernels& k = bn();
  for_pieces(rows, rows_per(32768, channels), [&](int64_t, int64_t r0, int64_t n) {
    k.affine(x + r0 * channels, scale, shift, y + r0 * channels, n, channels, relu);
  });
}

// No FMA contraction here: each product must be rounded before the sum, as tfjs's separate kernels round it.
#if !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
void sgd_momentum(const float* w, const float* g, const float* b, float* w_out, float* b_out, int64_t size,
                  float lr, float momentum, float weight_decay, bool first) {
  RTKD_NO_FP_CONTRACT;
  const bool decay = weight_decay != 0.f;
  const bool mix = !first && momentum != 0.f;
  const int64_t chunk = 1 << 13;
  pool().parallel_for((size + chunk - 1) / chunk, [&](long t) {
    const int64_t i0 = t * chunk, i1 = std::min<int64_t>(size, i0 + chunk);
    for (int64_t i = i0; i < i1; ++i) {
      const float wd_term = w[i] * weight_decay;
      const float d = decay ? g[i] + wd_term : g[i];
      const float kept = b[i] * momentum;
      const float next = mix ? kept + d : d;
      const float step = next * lr;
      b_out[i] = next;
      w_out[i] = w[i] - step;
    }
  });
}
#if !defined(__clang__)
#pragma GCC pop_options
#endif

void relu_grad(const float* dy, const float* x, float* out, int64_t size) {
  const int64_t chunk = 1 << 16;
  pool().parallel_for((size + chunk - 1) / chunk, [&](long t) {
    const int64_t i0 = t * chunk, i1 = std::min<int64_t>(size, i0 + chunk);
    for (int64_t i = i0; i < i1; ++i) {
      const float v = x[i];
      const float step = v > 0.f ? 1.f : (v != v ? NAN : 0.f);
      out[i] = dy[i] * step;
    }
  });
}

// Square, then add: no FMA contraction (GCC contracts across statements unless told not to), so
// the bits equal Square followed by our Mean (8 interleaved lane sums, added in a fixed order).
#if !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
void channel_mean_square(const float* x, float* out, int64_t rows, int64_t channels) {
  RTKD_NO_FP_CONTRACT;
  const int64_t chunk = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(channels, 1));
#if defined(__x86_64__)
  if (isa() != Isa::kGeneric && !use_legacy()) {
    for_pieces(rows, chunk, [&](int64_t, int64_t r0, int64_t n) { channel_mean_square_avx2(x + r0 * channels, out + r0, n, channels); });
    return;
  }
#endif
  pool().parallel_for((rows + chunk - 1) / chunk, [&](long t) {
    const int64_t r1 = std::min<int64_t>(rows, (t + 1) * chunk);
    for (int64_t r = t * chunk; r < r1; ++r) {
      const float* p = x + r * channels;
      float lanes[8] = {};
      int64_t c = 0;
      for (; c + 8 <= channels; c += 8)
        for (int l = 0; l < 8; ++l) {
          const float sq = p[c + l] * p[c + l];
          lanes[l] += sq;
        }
      float s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
      for (; c < channels; ++c) {
        const float sq = p[c] * p[c];
        s += sq;
      }
      out[r] = s / static_cast<float>(channels);
    }
  });
}
#if !defined(__clang__)
#pragma GCC pop_options
#endif

}  // namespace rtkd

#if defined(__x86_64__) && defined(__clang__)
#pragma clang attribute pop
#endif
