// AVX2/FMA bodies of the fused BatchNorm / channel-affine kernels (bn.h, bn_impl.h): groups of up
// to 4 × 8 channels in registers (16 ymm registers).
#if defined(__x86_64__)
#include <immintrin.h>

#include "bn.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif

#include "bn_impl.h"

namespace rtkd {
namespace {

struct Avx2Bn {
  using vec = __m256;
  static constexpr int W = 8, MaxNV = 4;
  static vec zero() { return _mm256_setzero_ps(); }
  static vec set1(float v) { return _mm256_set1_ps(v); }
  static vec load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, vec v) { _mm256_storeu_ps(p, v); }
  static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
  static vec sub(vec a, vec b) { return _mm256_sub_ps(a, b); }
  static vec mul(vec a, vec b) { return _mm256_mul_ps(a, b); }
  static vec div(vec a, vec b) { return _mm256_div_ps(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
  static vec fnma(vec a, vec b, vec c) { return _mm256_fnmadd_ps(a, b, c); }
  // VMAXPS returns its second operand when either is NaN or both are zeros: NaN and −0 pass.
  static vec relu(vec v) { return _mm256_max_ps(_mm256_setzero_ps(), v); }
  static vec relu_grad(vec g, vec y) {
    const vec pos = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ);
    const vec nan = _mm256_cmp_ps(y, y, _CMP_UNORD_Q);
    const vec step = _mm256_or_ps(_mm256_and_ps(pos, _mm256_set1_ps(1.f)), _mm256_and_ps(nan, _mm256_set1_ps(__builtin_nanf(""))));
    return _mm256_mul_ps(g, step);
  }
};

}  // namespace

const BnKernels& bn_kernels_avx2() { return BnFlavour<Avx2Bn>::kernels(); }

// Each x² rounded before it is added (no FMA contraction: GCC contracts intrinsics too).
#if !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
void channel_mean_square_avx2(const float* x, float* out, int64_t rows, int64_t C) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  const int64_t vc = C / 8 * 8;
  const float count = static_cast<float>(C);
  // lane l of row r's accumulator: x[r, l]² + x[r, 8 + l]² + … in channel order, as the scalar lanes.
  auto lanes = [&](int64_t r) {
    const float* p = x + r * C;
    __m256 a = _mm256_mul_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p));
    for (int64_t c = 8; c < vc; c += 8) a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_loadu_ps(p + c), _mm256_loadu_ps(p + c)));
    return a;
  };
  auto tail = [&](int64_t r, float s) {
    const float* p = x + r * C;
    for (int64_t c = vc; c < C; ++c) {
      const float sq = p[c] * p[c];
      s += sq;
    }
    return s;
  };
  int64_t r = 0;
  if (vc > 0) {
    alignas(32) float s[8];
    for (; r + 8 <= rows; r += 8) {
      // hadd twice, then the two 128-bit halves: ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)) for 8 rows at once.
      const __m256 h01 = _mm256_hadd_ps(lanes(r), lanes(r + 1)), h23 = _mm256_hadd_ps(lanes(r + 2), lanes(r + 3));
      const __m256 h45 = _mm256_hadd_ps(lanes(r + 4), lanes(r + 5)), h67 = _mm256_hadd_ps(lanes(r + 6), lanes(r + 7));
      const __m256 g0 = _mm256_hadd_ps(h01, h23), g1 = _mm256_hadd_ps(h45, h67);
      __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(g0, g1, 0x20), _mm256_permute2f128_ps(g0, g1, 0x31));
      if (vc == C) {
        _mm256_storeu_ps(out + r, _mm256_div_ps(sum, _mm256_set1_ps(count)));
        continue;
      }
      _mm256_store_ps(s, sum);
      for (int i = 0; i < 8; ++i) out[r + i] = tail(r + i, s[i]) / count;
    }
  }
  for (; r < rows; ++r) {
    float s = 0.f;
    if (vc > 0) {
      alignas(32) float l[8];
      _mm256_store_ps(l, lanes(r));
      s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
    }
    out[r] = tail(r, s) / count;
  }
}
#if !defined(__clang__)
#pragma GCC pop_options
#endif

}  // namespace rtkd

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif  // __x86_64__
