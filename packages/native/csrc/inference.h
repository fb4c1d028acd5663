// Inference kernels of @rtkd/native: the convolution of a frozen network (BatchNorm already folded
// into its filter and bias) with its bias, residual add and ReLU applied in the same call.
#pragma once
#include <cstdint>

#include "kernels.h"

namespace rtkd {

// y = conv2d(x, w) (as conv2d_forward), then per element y = y + bias[c] (bias may be null), then
// y = y + residual (may be null; same size as y), then max(y, 0) when relu (NaN stays NaN). Each
// step is rounded to float32 in that order, so y has the bits of the separate Conv2D, Add, Add and
// Relu kernels, for any thread count.
void conv2d_bias_act(const ConvGeometry& g, const float* x, const float* w, const float* bias, const float* residual, float* y, bool relu);

}  // namespace rtkd
