// Pooling, depthwise-conv and block-copy kernels (see zoo.h). Compiled for AVX2/FMA like
// kernels.cc on x86-64; the channel loops are left to the compiler's vectoriser. FMA contraction
// cannot change a result here: every product is of two floats, exact in double.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "pool.h"
#include "zoo.h"

#if defined(__x86_64__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#endif

namespace rtkd {
namespace {

template <typename T>
T* grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int ceil_div(int a, int b) { return -floor_div(-a, b); }

// Outputs o whose window [o·s − pad, o·s − pad + k) covers input i: [first, last] (empty when first > last).
void covering(int i, int pad, int k, int s, int outs, int& first, int& last) {
  first = std::max(0, ceil_div(i + pad - k + 1, s));
  last = std::min(outs - 1, floor_div(i + pad, s));
}

size_t pixel(int b, int y, int x, int h, int w) { return (size_t(b) * h + y) * w + x; }

}  // namespace

void max_pool(const PoolGeometry& g, const float* x, float* y) {
  pool().parallel_for(long(g.n) * g.oh, [&](long r) {
    const int b = int(r / g.oh), oy = int(r % g.oh), c = g.c;
    const int y0 = std::max(0, oy * g.sh - g.pt), y1 = std::min(g.h, oy * g.sh - g.pt + g.fh);
    float* out = y + size_t(r) * g.ow * c;
    for (int ox = 0; ox < g.ow; ++ox, out += c) {
      const int x0 = std::max(0, ox * g.sw - g.pl), x1 = std::min(g.w, ox * g.sw - g.pl + g.fw);
      for (int k = 0; k < c; ++k) out[k] = -std::numeric_limits<float>::infinity();
      for (int iy = y0; iy < y1; ++iy)
        for (int ix = x0; ix < x1; ++ix) {
          const float* p = x + pixel(b, iy, ix, g.h, g.w) * c;
          for (int k = 0; k < c; ++k) out[k] = p[k] > out[k] ? p[k] : out[k];
        }
    }
  });
}

void max_pool_grad(const PoolGeometry& g, const float* x, const float* dy, float* dx) {
  // Overlapping windows can send several dy to one dx: added in double, as tfjs does.
  const bool overlap = g.sh < g.fh || g.sw < g.fw;
  pool().parallel_for(g.n, [&](long b) {
    thread_local std::vector<double> accBuffer;
    thread_local std::vector<float> bestBuffer;
    thread_local std::vector<long> argBuffer;
    const int c = g.c;
    const size_t img = size_t(g.h) * g.w * c;
    const float* xi = x + b * img;
    float* dxi = dx + b * img;
    double* acc = overlap ? grow(accBuffer, img) : nullptr;
    if (overlap) std::fill(acc, acc + img, 0.0);
    else std::fill(dxi, dxi + img, 0.0f);
    float* best = grow(bestBuffer, size_t(c));
    long* arg = grow(argBuffer, size_t(c));
    const float* d = dy + size_t(b) * g.oh * g.ow * c;
    for (int oy = 0; oy < g.oh; ++oy) {
      const int y0 = std::max(0, oy * g.sh - g.pt), y1 = std::min(g.h, oy * g.sh - g.pt + g.fh);
      for (int ox = 0; ox < g.ow; ++ox, d += c) {
        const int x0 = std::max(0, ox * g.sw - g.pl), x1 = std::min(g.w, ox * g.sw - g.pl + g.fw);
        for (int k = 0; k < c; ++k) best[k] = -std::numeric_limits<float>::infinity(), arg[k] = -1;
        for (int iy = y0; iy < y1; ++iy)
          for (int ix = x0; ix < x1; ++ix) {
            const long at = long(iy * g.w + ix) * c;
            const float* p = xi + at;
            for (int k = 0; k < c; ++k)
              if (p[k] > best[k]) best[k] = p[k], arg[k] = at + k;
          }
        if (overlap) {
          for (int k = 0; k < c; ++k)
            if (arg[k] >= 0) acc[arg[k]] += double(d[k]);
        } else {
          for (int k = 0; k < c; ++k)
            if (arg[k] >= 0) dxi[arg[k]] = d[k];
        }
      }
    }
    if (overlap)
      for (size_t i = 0; i < img; ++i) dxi[i] = float(acc[i]);
  });
}

void avg_pool(const PoolGeometry& g, const float* x, float* y) {
  pool().parallel_for(long(g.n) * g.oh, [&](long r) {
    thread_local std::vector<double> sumBuffer;
    const int b = int(r / g.oh), oy = int(r % g.oh), c = g.c;
    double* sum = grow(sumBuffer, size_t(c));
    const int y0 = std::max(0, oy * g.sh - g.pt), y1 = std::min(g.h, oy * g.sh - g.pt + g.fh);
    float* out = y + size_t(r) * g.ow * c;
    for (int ox = 0; ox < g.ow; ++ox, out += c) {
      const int x0 = std::max(0, ox * g.sw - g.pl), x1 = std::min(g.w, ox * g.sw - g.pl + g.fw);
      std::fill(sum, sum + c, 0.0);
      for (int iy = y0; iy < y1; ++iy)
        for (int ix = x0; ix < x1; ++ix) {
          const float* p = x + pixel(b, iy, ix, g.h, g.w) * c;
          for (int k = 0; k < c; ++k) sum[k] += double(p[k]);
        }
      const double count = double(std::max(0, y1 - y0) * std::max(0, x1 - x0));
      for (int k = 0; k < c; ++k) out[k] = float(sum[k] / count);
    }
  });
}

void avg_pool_grad(const PoolGeometry& g, const float* dy, float* dx) {
  const double scale = 1.0 / (g.fh * g.fw);
  pool().parallel_for(long(g.n) * g.h, [&](long r) {
    thread_local std::vector<double> sumBuffer;
    const int b = int(r / g.h), iy = int(r % g.h), c = g.c;
    double* sum = grow(sumBuffer, size_t(c));
    int oy0, oy1;
    covering(iy, g.pt, g.fh, g.sh, g.oh, oy0, oy1);
    float* out = dx + size_t(r) * g.w * c;
    for (int ix = 0; ix < g.w; ++ix, out += c) {
      int ox0, ox1;
      covering(ix, g.pl, g.fw, g.sw, g.ow, ox0, ox1);
      std::fill(sum, sum + c, 0.0);
      for (int oy = oy0; oy <= oy1; ++oy)
        for (int ox = ox0; ox <= ox1; ++ox) {
          const float* p = dy + pixel(b, oy, ox, g.oh, g.ow) * c;
          for (int k = 0; k < c; ++k) sum[k] += double(p[k]);
        }
      for (int k = 0; k < c; ++k) out[k] = float(sum[k] * scale);
    }
  });
}

void depthwise_forward(const ConvGeometry& g, const float* x, const float* w, float* y) {
  // tfjs adds each product to the float32 output: y = f32(y + x·w), in (ky, kx) order.
  pool().parallel_for(long(g.n) * g.oh, [&](long r) {
    const int b = int(r / g.oh), oy = int(r % g.oh), c = g.cin;
    float* out = y + size_t(r) * g.ow * c;
    std::fill(out, out + size_t(g.ow) * c, 0.0f);
    for (int ky = 0; ky < g.kh; ++ky) {
      const int iy = oy * g.sh - g.pt + ky;
      if (iy < 0 || iy >= g.h) continue;
      for (int ox = 0; ox < g.ow; ++ox) {
        float* o = out + size_t(ox) * c;
        for (int kx = 0; kx < g.kw; ++kx) {
          const int ix = ox * g.sw - g.pl + kx;
          if (ix < 0 || ix >= g.w) continue;
          const float* p = x + pixel(b, iy, ix, g.h, g.w) * c;
          const float* f = w + size_t(ky * g.kw + kx) * c;
          for (int k = 0; k < c; ++k) o[k] = float(double(o[k]) + double(p[k]) * double(f[k]));
        }
      }
    }
  });
}

void depthwise_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  pool().parallel_for(long(g.n) * g.h, [&](long r) {
    thread_local std::vector<double> sumBuffer;
    const int b = int(r / g.h), iy = int(r % g.h), c = g.cin;
    double* sum = grow(sumBuffer, size_t(c));
    int oy0, oy1;
    covering(iy, g.pt, g.kh, g.sh, g.oh, oy0, oy1);
    float* out = dx + size_t(r) * g.w * c;
    for (int ix = 0; ix < g.w; ++ix, out += c) {
      int ox0, ox1;
      covering(ix, g.pl, g.kw, g.sw, g.ow, ox0, ox1);
      std::fill(sum, sum + c, 0.0);
      for (int oy = oy0; oy <= oy1; ++oy) {
        const int ky = iy + g.pt - oy * g.sh;
        for (int ox = ox0; ox <= ox1; ++ox) {
          const int kx = ix + g.pl - ox * g.sw;
          const float* p = dy + pixel(b, oy, ox, g.oh, g.ow) * c;
          const float* f = w + size_t(ky * g.kw + kx) * c;
          for (int k = 0; k < c; ++k) sum[k] += double(p[k]) * double(f[k]);
        }
      }
      for (int k = 0; k < c; ++k) out[k] = float(sum[k]);
    }
  });
}

namespace {

constexpr int kFilterBlock = 8;  // channels per piece of the depthwise filter gradient

// dw[ky, kx, c0 .. c0+cb) = Σ over (b, oy, ox) in order of x·dy, in double (tfjs's order).
template <int CB>
void depthwise_filter_block(const ConvGeometry& g, const float* x, const float* dy, float* dw, int c0, int cb) {
  constexpr int kMaxTaps = 64;
  const int taps = g.kh * g.kw, c = g.cin;
  double acc[kMaxTaps * kFilterBlock] = {};
  const int n = CB > 0 ? CB : cb;
  for (int b = 0; b < g.n; ++b)
    for (int oy = 0; oy < g.oh; ++oy)
      for (int ox = 0; ox < g.ow; ++ox) {
        const float* d = dy + pixel(b, oy, ox, g.oh, g.ow) * c + c0;
        for (int ky = 0; ky < g.kh; ++ky) {
          const int iy = oy * g.sh - g.pt + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (int kx = 0; kx < g.kw; ++kx) {
            const int ix = ox * g.sw - g.pl + kx;
            if (ix < 0 || ix >= g.w) continue;
            const float* p = x + pixel(b, iy, ix, g.h, g.w) * c + c0;
            double* a = acc + (ky * g.kw + kx) * kFilterBlock;
            for (int k = 0; k < n; ++k) a[k] += double(p[k]) * double(d[k]);
          }
        }
      }
  for (int t = 0; t < taps; ++t)
    for (int k = 0; k < n; ++k) dw[size_t(t) * c + c0 + k] = float(acc[t * kFilterBlock + k]);
}

}  // namespace

void depthwise_backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  const int c = g.cin;
  pool().parallel_for((c + kFilterBlock - 1) / kFilterBlock, [&](long piece) {
    const int c0 = int(piece) * kFilterBlock, cb = std::min(kFilterBlock, c - c0);
    if (cb == kFilterBlock) depthwise_filter_block<kFilterBlock>(g, x, dy, dw, c0, cb);
    else depthwise_filter_block<0>(g, x, dy, dw, c0, cb);
  });
}

void copy_block(const float* src, float* dst, int rank, const int64_t* dims, const int64_t* src_strides, const int64_t* dst_strides) {
  const int64_t inner = dims[rank - 1], src_step = src_strides[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; ++d) rows *= dims[d];
  const int64_t per_piece = std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1));
  pool().parallel_for((rows + per_piece - 1) / per_piece, [&](long piece) {
    const int64_t end = std::min(rows, (piece + 1) * per_piece);
    for (int64_t row = piece * per_piece; row < end; ++row) {
      int64_t rest = row, s = 0, t = 0;
      for (int d = rank - 2; d >= 0; --d) {
        const int64_t i = rest % dims[d];
        rest /= dims[d];
        s += i * src_strides[d];
        t += i * dst_strides[d];
      }
      if (src_step == 1) {
        std::memcpy(dst + t, src + s, size_t(inner) * sizeof(float));
      } else {
        const float* from = src + s;
        float* to = dst + t;
        for (int64_t i = 0; i < inner; ++i) to[i] = from[i * src_step];
      }
    }
  });
}

}  // namespace rtkd

#if defined(__x86_64__) && defined(__clang__)
#pragma clang attribute pop
#endif
