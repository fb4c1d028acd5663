// Portable kernels of @rtkd/native (any CPU; NEON on ARM64): the GEMM (gemm.h) and the direct
// convolutions (direct.h) on GCC/Clang vector extensions of 4 floats (one NEON or SSE register),
// with tiles sized for ARM64's 32 vector registers. Compiled without target-specific flags. On x86-64 they run only
// when RTKD_NATIVE_ISA=generic asks for them (tests).
#include "direct.h"
#include "gemm.h"

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

int panel_width(int cout) { return cout > 8 ? 16 : 8; }

void forward(const ConvGeometry& g, const float* padded, int paddedWidth, const float* panels, float* y) {
  if (panel_width(g.cout) == 16) forward_image<Generic, 6, 4>(g, padded, paddedWidth, panels, y);
  else forward_image<Generic, 12, 2>(g, padded, paddedWidth, panels, y);
}

}  // namespace

void sgemm_generic(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate) {
  sgemm_with<Generic, 6, 4>(M, N, K, A, B, C, ldc, accumulate);
}

const DirectConvKernels& direct_kernels_generic() {
  static const DirectConvKernels kernels{Generic::W, panel_width, forward, nullptr};
  return kernels;
}

}  // namespace rtkd
