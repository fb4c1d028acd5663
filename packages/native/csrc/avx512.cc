// AVX-512 kernels of @rtkd/native: the GEMM (gemm.h) with 12 × 32 register tiles (12 × 16 when
// N ≤ 16) and the direct convolutions (direct.h) with 8 pixels × 32 channels (16 × 16 when cout ≤ 16).
// Used instead of the AVX2 ones when the CPU has AVX-512F (twice the FLOPs per instruction; Zen 5
// and recent Xeons also have twice the FMA width).
//
// This file is compiled for AVX-512. It must not instantiate templates or inline functions that
// other files also use (std::vector<float>, std::min<long>, …): the linker keeps one copy of each,
// and an AVX-512 copy would then run on AVX2-only CPUs. gemm.h and direct.h keep to that.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdlib>
#include <cstring>
#include <vector>  // before the target pragma: winograd.h names std::vector

#include "isa.h"
#include "kernels.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#endif

#include "direct.h"
#include "gemm.h"
#include "winograd.h"
#include "winograd_filter.h"

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

using Forward = DirectForward<Avx512, 8, 2, 16, 1>;

// One vector of output channels: 16 input channels a tile (16 accumulators hide the FMA latency)
// unless there are no more than 8; a 3×3 conv of 3 channels (an RGB stem): all its 27 sums at once.
void filter(const ConvGeometry& g, const float* padded, int paddedWidth, const float* dy, float* dw) {
  if (g.kh == 3 && g.kw == 3 && g.cin == 3) filter_image_rgb<Avx512>(g, padded, paddedWidth, dy, dw);
  else if (g.cout % 32 == 0) filter_image<Avx512, 8, 2>(g, padded, paddedWidth, dy, dw);
  else if (g.cin <= 8) filter_image<Avx512, 8, 1>(g, padded, paddedWidth, dy, dw);
  else filter_image<Avx512, 16, 1>(g, padded, paddedWidth, dy, dw);
}

}  // namespace

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

void sgemm_avx512(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate) {
  if (N > 16) sgemm_with<Avx512, 12, 2>(M, N, K, A, B, C, ldc, accumulate);
  else sgemm_with<Avx512, 12, 1>(M, N, K, A, B, C, ldc, accumulate);
}

const WinogradKernels& winograd_kernels_avx512() { return WinoFlavour<Avx512, 8, 2, 16, 1>::kernels(); }

const WinogradFilterKernels& winograd_filter_kernels_avx512() { return WinoFilterFlavour<Avx512, 8, 2, 16, 1>::kernels(); }

const DirectConvKernels& direct_kernels_avx512() {
  static const DirectConvKernels kernels{Avx512::W, Forward::panel_width, Forward::forward, filter};
  return kernels;
}

}  // namespace rtkd

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif  // __x86_64__
