// Portable kernels of @rtkd/native (any CPU; NEON on ARM64): the GEMM (gemm.h) and the direct
// convolutions (direct.h) on GCC/Clang vector extensions of 4 floats (one NEON or SSE register),
// with tiles sized for ARM64's 32 vector registers. Compiled without target-specific flags. On x86-64 they run only
// when RTKD_NATIVE_ISA=generic asks for them (tests).
#include "direct.h"
#include "gemm.h"
#include "winograd.h"
#include "winograd_filter.h"

namespace rtkd {
namespace {

struct Generic {
  typedef float vec __attribute__((vector_size(16)));
  static constexpr int W = 4;
  static vec zero() { return vec{}; }
  static vec load(const float* p) {
    vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static vec broadcast(const float* p) { return vec{} + *p; }
  static vec fma(vec a, vec b, vec c) { return a * b + c; }
  static vec add(vec a, vec b) { return a + b; }
  static void store(float* p, vec v) { std::memcpy(p, &v, sizeof v); }
};

using Forward = DirectForward<Generic, 6, 4, 12, 2>;

}  // namespace

void sgemm_generic(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate) {
  sgemm_with<Generic, 6, 4>(M, N, K, A, B, C, ldc, accumulate);
}

const WinogradKernels& winograd_kernels_generic() { return WinoFlavour<Generic, 6, 4, 12, 2>::kernels(); }

const WinogradFilterKernels& winograd_filter_kernels_generic() { return WinoFilterFlavour<Generic, 6, 4, 12, 2>::kernels(); }

const DirectConvKernels& direct_kernels_generic() {
  static const DirectConvKernels kernels{Generic::W, Forward::panel_width, Forward::forward, nullptr};
  return kernels;
}

}  // namespace rtkd
