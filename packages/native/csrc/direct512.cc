// AVX-512 instantiation of the direct convolution kernels (direct.h): 8 pixels × 32 channels
// (16 × 16 when cout ≤ 16) in registers.
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#include <immintrin.h>

#include "direct.h"

namespace rtkd {
namespace {

struct Avx512 {
  using vec = __m512;
  static constexpr int W = 16;
  static vec zero() { return _mm512_setzero_ps(); }
  static vec load(const float* p) { return _mm512_loadu_ps(p); }
  static vec broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
  static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
  static void store(float* p, vec v) { _mm512_storeu_ps(p, v); }
};

int panel_width(int cout) { return cout > 16 ? 32 : 16; }

void forward(const ConvGeometry& g, const float* padded, int paddedWidth, const float* panels, float* y) {
  if (panel_width(g.cout) == 32) forward_image<Avx512, 8, 2>(g, padded, paddedWidth, panels, y);
  else forward_image<Avx512, 16, 1>(g, padded, paddedWidth, panels, y);
}

void filter(const ConvGeometry& g, const float* padded, int paddedWidth, const float* dy, float* dw) {
  if (g.cout % 32 == 0) filter_image<Avx512, 8, 2>(g, padded, paddedWidth, dy, dw);
  else filter_image<Avx512, 8, 1>(g, padded, paddedWidth, dy, dw);
}

}  // namespace

const DirectConvKernels& direct_kernels_avx512() {
  static const DirectConvKernels kernels{Avx512::W, panel_width, forward, filter};
  return kernels;
}

}  // namespace rtkd
