// SoftPool (Stergiou et al. 2021) over unpadded NHWC windows, forward and gradient, with their
// N-API bindings (registered by addon.cc's Init). Per window, with m its maximum:
// s = max(x − m, −128), e = exp(s), w = e / Σe, y = m + Σ w·s, ∂y/∂x = w·(s − Σ w·s + 1);
// float32 values, window sums in double. Images run in parallel; within an image the windows run
// in order, so overlapping windows add into dx in a fixed order for any thread count.
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pool.h"

namespace rtkd {
namespace {

struct SoftPoolGeometry {
  int64_t n, h, w, c, kh, kw, sh, sw, oh, ow;
};

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

void fail(napi_env env, const std::string& message) { napi_throw_error(env, "RTKD_NATIVE", ("rtkd native: " + message).c_str()); }

bool f32(napi_env env, napi_value v, float** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buf;
  size_t offset;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, v, &type, length, &raw, &buf, &offset) != napi_ok || type != napi_float32_array) return false;
  *data = static_cast<float*>(raw);
  return true;
}

// geometry: [n,h,w,c, kh,kw, sh,sw, oh,ow]
bool read_geometry(napi_env env, napi_value v, SoftPoolGeometry& g) {
  int64_t d[10];
  uint32_t len = 0;
  if (napi_get_array_length(env, v, &len) != napi_ok || len != 10) return false;
  for (uint32_t k = 0; k < 10; ++k) {
    napi_value e;
    double x = 0;
    if (napi_get_element(env, v, k, &e) != napi_ok || napi_get_value_double(env, e, &x) != napi_ok) return false;
    d[k] = int64_t(x);
  }
  g = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9]};
  return g.n >= 0 && g.c >= 0 && g.kh > 0 && g.kw > 0 && g.sh > 0 && g.sw > 0 && g.kh <= g.h && g.kw <= g.w &&
         g.oh == (g.h - g.kh) / g.sh + 1 && g.ow == (g.w - g.kw) / g.sw + 1;
}

// softPool(x, y, geometry) / softPoolGrad(x, dy, dx, geometry)
template <bool Grad>
napi_value SoftPool(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value v[4];
  napi_get_cb_info(env, info, &argc, v, nullptr, nullptr);
  const size_t want = Grad ? 4 : 3;
  SoftPoolGeometry g{};
  float *x = nullptr, *a = nullptr, *b = nullptr;
  size_t nx = 0, na = 0, nb = 0;
  if (argc < want || !f32(env, v[0], &x, &nx) || !f32(env, v[1], &a, &na) || (Grad && !f32(env, v[2], &b, &nb)) || !read_geometry(env, v[want - 1], g)) {
    fail(env, std::string(Grad ? "softPoolGrad(x, dy, dx, geometry)" : "softPool(x, y, geometry)") + ": bad arguments");
    return nullptr;
  }
  const size_t in = size_t(g.n * g.h * g.w * g.c), out = size_t(g.n * g.oh * g.ow * g.c);
  if (nx != in || na != (Grad ? out : out) || (Grad && nb != in)) {
    fail(env, Grad ? "softPoolGrad: x and dx must have the input's size, dy the pooled size" : "softPool: x must have the input's size, y the pooled size");
    return nullptr;
  }
  if (Grad) soft_pool_backward(g, x, a, b);
  else soft_pool_forward(g, x, a);
  return nullptr;
}

}  // namespace

void register_softpool_kernels(napi_env env, napi_value exports) {
  struct { const char* name; napi_callback fn; } fns[] = {{"softPool", SoftPool<false>}, {"softPoolGrad", SoftPool<true>}};
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
}

}  // namespace rtkd
