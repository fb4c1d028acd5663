// Per-chunk bodies of the fused BatchNorm-training / channel-affine kernels (fused.cc), one set per
// instruction set (bn_avx512.cc, bn_avx2.cc, bn_generic.cc, all from the template in bn_impl.h).
// Tensors are [rows, C] row-major (NHWC flattened); each body handles the rows it is given, and
// fused.cc cuts the rows into chunks fixed by the shape and adds the chunk results in order.
#pragma once
#include <cstdint>

namespace rtkd {

struct BnKernels {
  // Statistics of one chunk, per channel: m = the chunk's mean (float sum ÷ rows), and about that
  // mean d = Σ(x − m) and q = Σ(x − m)², the second read served from cache.
  void (*stats)(const float* x, int64_t rows, int64_t C, float* m, float* d, float* q);
  // y = (x − mean)·scale + beta [+ residual when not null] (then max(0, y), NaN kept, when relu),
  // each step rounded as the separate kernels round it.
  void (*normalize)(const float* x, const float* mean, const float* scale, const float* beta, const float* residual, float* y, int64_t rows, int64_t C,
                    bool relu);
  // Per channel over the chunk: sdy = Σ g and sdyx = Σ g·(x − mean), g = dy·step(y) when y is
  // given (tfjs's Relu gradient: NaN where y is NaN); else, when beta is given, dy·step of
  // normalize's (x − mean)·scale + beta recomputed with its rounding (a fused ReLU without a
  // residual: the same g without reading y); else dy. scale is read only with beta. g itself is
  // stored at g_out when not null.
  void (*grad_sums)(const float* dy, const float* x, const float* y, const float* mean, const float* scale, const float* beta, int64_t rows, int64_t C,
                    float* sdy, float* sdyx, float* g_out);
  // dx = k·((g − a) − (x − mean)·b), g as in grad_sums; g itself is stored at g_out when not null.
  void (*grad_dx)(const float* dy, const float* x, const float* y, const float* mean, const float* scale, const float* beta, const float* k, const float* a,
                  const float* b, float* dx, float* g_out, int64_t rows, int64_t C);
  // y = x·scale + shift (then max(0, y) when relu).
  void (*affine)(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t C, bool relu);
};

const BnKernels& bn_kernels_avx512();
const BnKernels& bn_kernels_avx2();
const BnKernels& bn_kernels_generic();

// out[r] = mean_c x[r, c]² for rows [0, rows) with the rounding of channel_mean_square (fused.h),
// 8 rows at a time in AVX2 registers (used on AVX-512 CPUs too: the bits must not depend on the ISA).
void channel_mean_square_avx2(const float* x, float* out, int64_t rows, int64_t C);

}  // namespace rtkd
