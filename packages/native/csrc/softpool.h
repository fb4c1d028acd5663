// SoftPool over unpadded NHWC windows (softpool.cc); addon.cc binds it.
#pragma once
#include <cstdint>

namespace rtkd {

struct SoftPoolGeometry {
  int64_t n, h, w, c, kh, kw, sh, sw, oh, ow;
};

// y[n, oh, ow, c] = m + Σ w·s over each window, m its maximum, s = max(x − m, −128), w = softmax(s).
void soft_pool_forward(const SoftPoolGeometry& g, const float* x, float* y);
// dx = Σ over the windows of x: dy·w·(s − Σ w·s + 1) (overlapping windows add).
void soft_pool_backward(const SoftPoolGeometry& g, const float* x, const float* dy, float* dx);

}  // namespace rtkd
