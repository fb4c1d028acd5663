// SoftPool (Stergiou et al. 2021) over unpadded NHWC windows, forward and gradient (softpool.h).
// Per window, with m its maximum: s = max(x − m, −128), e = exp(s), w = e / Σe, y = m + Σ w·s,
// ∂y/∂x = w·(s − Σ w·s + 1); float32 values, window sums in double. Images run in parallel; within an image the windows run
// in order, so overlapping windows add into dx in a fixed order for any thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "pool.h"
#include "softpool.h"

namespace rtkd {
namespace {

constexpr float kMinShifted = -128.f;

// Shifted values and exps of one window (row-major over the window), its max, Σe and Σ w·s.
struct Window {
  std::vector<float> shifted, exps;
  float max = 0.f, total = 0.f, offset = 0.f;

  explicit Window(const SoftPoolGeometry& g) : shifted(size_t(g.kh * g.kw)), exps(size_t(g.kh * g.kw)) {}

  void load(const SoftPoolGeometry& g, const float* x) {
    const int64_t row = g.w * g.c;
    float m = x[0];
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q) {
        const float v = x[p * row + q * g.c];
        if (std::isnan(v) || v > m) m = v;
      }
    double sum = 0, weighted = 0;
    size_t i = 0;
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q, ++i) {
        const float d = x[p * row + q * g.c] - m;
        const float s = std::isnan(d) ? d : std::max(d, kMinShifted);
        const float e = std::exp(s);
        shifted[i] = s;
        exps[i] = e;
        sum += e;
        weighted += double(s * e);
      }
    max = m;
    total = float(sum);
    offset = float(weighted) / total;
  }
};

template <typename Visit>
void for_each_window(const SoftPoolGeometry& g, Visit visit) {
  pool().parallel_for(long(g.n), [&](long b) {
    Window win(g);
    for (int64_t i = 0; i < g.oh; ++i)
      for (int64_t j = 0; j < g.ow; ++j)
        for (int64_t ch = 0; ch < g.c; ++ch) {
          const int64_t base = ((b * g.h + i * g.sh) * g.w + j * g.sw) * g.c + ch;
          const int64_t out = ((b * g.oh + i) * g.ow + j) * g.c + ch;
          visit(win, base, out);
        }
  });
}

}  // namespace

void soft_pool_forward(const SoftPoolGeometry& g, const float* x, float* y) {
  for_each_window(g, [&](Window& win, int64_t base, int64_t out) {
    win.load(g, x + base);
    y[out] = win.max + win.offset;
  });
}

void soft_pool_backward(const SoftPoolGeometry& g, const float* x, const float* dy, float* dx) {
  std::fill(dx, dx + g.n * g.h * g.w * g.c, 0.f);
  const int64_t row = g.w * g.c;
  for_each_window(g, [&](Window& win, int64_t base, int64_t out) {
    win.load(g, x + base);
    const float up = dy[out];
    size_t i = 0;
    for (int64_t p = 0; p < g.kh; ++p)
      for (int64_t q = 0; q < g.kw; ++q, ++i) {
        const float weight = win.exps[i] / win.total;
        const float slope = (win.shifted[i] - win.offset) + 1.f;
        dx[base + p * row + q * g.c] += (up * weight) * slope;
      }
  });
}

}  // namespace rtkd
