// Kernels the cross-architecture students need beyond dense convs (VGG's max pools, MobileNetV2's
// and the ShuffleNets' depthwise convs, average pools and channel-axis slices/concats): float32,
// NHWC. Each reproduces tfjs-backend-cpu's kernel bit for bit (same window semantics, same
// accumulation order, sums kept in double where it keeps them in double) and splits its work into
// pieces that each write their own outputs: results do not depend on the thread count.
#pragma once
#include <cstdint>

#include "kernels.h"

namespace rtkd {

struct PoolGeometry {
  int n, h, w, c;    // input
  int fh, fw;        // window
  int sh, sw;        // strides
  int pt, pl;        // top/left padding
  int oh, ow;        // output
};

// Max over the in-image part of each window (NaN never wins; an empty window gives -inf).
void max_pool(const PoolGeometry& g, const float* x, float* y);
// dx of max_pool: each dy goes to the first strict maximum of its window (row-major window
// order); contributions to one dx are added in double in output order, then rounded.
void max_pool_grad(const PoolGeometry& g, const float* x, const float* dy, float* dx);
// Mean over the in-image part of each window (sum in double ÷ in-image count).
void avg_pool(const PoolGeometry& g, const float* x, float* y);
// dx of avg_pool as tfjs computes it: Σ dy over the windows covering dx (double) × 1/(fh·fw).
void avg_pool_grad(const PoolGeometry& g, const float* dy, float* dx);

// Depthwise conv with channel multiplier 1: filter [kh, kw, c, 1] (g.cout == g.cin).
void depthwise_forward(const ConvGeometry& g, const float* x, const float* w, float* y);
void depthwise_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx);
void depthwise_backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw);

// dst[i] = src[i] over a block of `rank` (≤ 6) dims, element strides per dim; the last dim is
// contiguous in dst (stride 1), and copied with memcpy where it is in src too (a gather otherwise:
// transposes).
void copy_block(const float* src, float* dst, int rank, const int64_t* dims, const int64_t* src_strides, const int64_t* dst_strides);

}  // namespace rtkd
