// AVX-512 bodies of the fused BatchNorm / channel-affine kernels (bn.h, bn_impl.h): groups of up
// to 8 × 16 channels in registers. Compiled for AVX-512; like avx512.cc it instantiates nothing
// that other files share.
#if defined(__x86_64__)
#include <immintrin.h>

#include "bn.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#endif

// GCC 12 warns that _mm512_max_ps's unused pass-through operand (_mm512_undefined_ps) "may be used
// uninitialized": a false positive of its header.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "bn_impl.h"

namespace rtkd {
namespace {

struct Avx512Bn {
  using vec = __m512;
  static constexpr int W = 16, MaxNV = 8;
  static vec zero() { return _mm512_setzero_ps(); }
  static vec set1(float v) { return _mm512_set1_ps(v); }
  static vec load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, vec v) { _mm512_storeu_ps(p, v); }
  static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
  static vec sub(vec a, vec b) { return _mm512_sub_ps(a, b); }
  static vec mul(vec a, vec b) { return _mm512_mul_ps(a, b); }
  static vec div(vec a, vec b) { return _mm512_div_ps(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
  static vec fnma(vec a, vec b, vec c) { return _mm512_fnmadd_ps(a, b, c); }
  // VMAXPS returns its second operand when either is NaN or both are zeros: NaN and −0 pass.
  static vec relu(vec v) { return _mm512_max_ps(_mm512_setzero_ps(), v); }
  static vec relu_grad(vec g, vec y) {
    const __mmask16 pos = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ);
    const __mmask16 nan = _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q);
    const vec step = _mm512_mask_mov_ps(_mm512_maskz_mov_ps(pos, _mm512_set1_ps(1.f)), nan, _mm512_set1_ps(__builtin_nanf("")));
    return _mm512_mul_ps(g, step);
  }
};

}  // namespace

const BnKernels& bn_kernels_avx512() { return BnFlavour<Avx512Bn>::kernels(); }

}  // namespace rtkd

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif  // __x86_64__
