// N-API bindings of the pooling, depthwise and block-copy kernels (zoo.h); addon.cc's Init calls
// register_zoo_kernels.
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "zoo.h"

namespace rtkd {
namespace {

struct Call {
  napi_env env;
  napi_value v[5];
  bool ok = true;
  Call(napi_env e, napi_callback_info info, size_t n) : env(e) {
    size_t argc = 5;
    napi_get_cb_info(e, info, &argc, v, nullptr, nullptr);
    if (argc < n) error("expected " + std::to_string(n) + " arguments, got " + std::to_string(argc));
  }
  void error(const std::string& message) {
    if (ok) napi_throw_error(env, "RTKD_NATIVE", ("rtkd native: " + message).c_str());
    ok = false;
  }
  float* f32(size_t i, size_t* length) {
    napi_typedarray_type type;
    void* data = nullptr;
    napi_value buf;
    size_t offset;
    if (!ok || napi_get_typedarray_info(env, v[i], &type, length, &data, &buf, &offset) != napi_ok || type != napi_float32_array) {
      error("argument " + std::to_string(i) + " must be a Float32Array");
      return nullptr;
    }
    return static_cast<float*>(data);
  }
  std::vector<int64_t> ints(size_t i) {
    std::vector<int64_t> out;
    uint32_t n = 0;
    if (!ok || napi_get_array_length(env, v[i], &n) != napi_ok) {
      error("argument " + std::to_string(i) + " must be an array of numbers");
      return out;
    }
    for (uint32_t k = 0; k < n; ++k) {
      napi_value e;
      double d = 0;
      if (napi_get_element(env, v[i], k, &e) != napi_ok || napi_get_value_double(env, e, &d) != napi_ok) error("argument " + std::to_string(i) + " must hold numbers only");
      out.push_back(int64_t(d));
    }
    return out;
  }
};

enum Size { kIn, kOut, kFilter };  // which tensor an array argument is sized like

// geometry: [n,h,w,c, fh,fw, sh,sw, pt,pl, oh,ow]
bool pool_geometry(Call& a, size_t i, PoolGeometry& g) {
  const auto d = a.ints(i);
  if (!a.ok) return false;
  if (d.size() != 12) return a.error("pool geometry needs 12 numbers"), false;
  g = {int(d[0]), int(d[1]), int(d[2]), int(d[3]), int(d[4]), int(d[5]), int(d[6]), int(d[7]), int(d[8]), int(d[9]), int(d[10]), int(d[11])};
  if (g.fh < 1 || g.fw < 1 || g.sh < 1 || g.sw < 1) return a.error("pool window and strides must be ≥ 1"), false;
  return true;
}

size_t pool_size(const PoolGeometry& g, Size s) { return size_t(g.n) * g.c * (s == kIn ? size_t(g.h) * g.w : size_t(g.oh) * g.ow); }

using PoolKernel = void (*)(const PoolGeometry&, const float*, const float*, float*);

// (in0, in1, out, geometry), each array sized like S0, S1, S2: max_pool (x, x, y),
// max_pool_grad (x, dy, dx), avg_pool (x, x, y), avg_pool_grad (dy, dy, dx).
template <PoolKernel kernel, Size S0, Size S1, Size S2>
napi_value Pool(napi_env env, napi_callback_info info) {
  Call a(env, info, 4);
  size_t n0 = 0, n1 = 0, n2 = 0;
  const float *in0 = a.f32(0, &n0), *in1 = a.f32(1, &n1);
  float* out = a.f32(2, &n2);
  PoolGeometry g;
  if (!a.ok || !pool_geometry(a, 3, g)) return nullptr;
  if (n0 != pool_size(g, S0) || n1 != pool_size(g, S1) || n2 != pool_size(g, S2)) return a.error("pool arrays do not match the geometry"), nullptr;
  kernel(g, in0, in1, out);
  return nullptr;
}

void max_pool_k(const PoolGeometry& g, const float* x, const float*, float* y) { max_pool(g, x, y); }
void avg_pool_k(const PoolGeometry& g, const float* x, const float*, float* y) { avg_pool(g, x, y); }
void avg_pool_grad_k(const PoolGeometry& g, const float*, const float* dy, float* dx) { avg_pool_grad(g, dy, dx); }

using DepthwiseKernel = void (*)(const ConvGeometry&, const float*, const float*, float*);

size_t conv_size(const ConvGeometry& g, Size s) {
  return s == kIn ? size_t(g.n) * g.h * g.w * g.cin : s == kOut ? size_t(g.n) * g.oh * g.ow * g.cin : size_t(g.kh) * g.kw * g.cin;
}

// (in0, in1, out, geometry [n,h,w,c, kh,kw,c, sh,sw,pt,pl, oh,ow]), arrays sized like S0, S1, S2:
// forward (x, w, y), input gradient (dy, w, dx), filter gradient (x, dy, dw).
template <DepthwiseKernel kernel, Size S0, Size S1, Size S2>
napi_value Depthwise(napi_env env, napi_callback_info info) {
  Call a(env, info, 4);
  size_t n0 = 0, n1 = 0, n2 = 0;
  const float *in0 = a.f32(0, &n0), *in1 = a.f32(1, &n1);
  float* out = a.f32(2, &n2);
  const auto d = a.ints(3);
  if (!a.ok) return nullptr;
  if (d.size() != 13 || d[3] != d[6] || d[4] * d[5] > 64 || d[4] < 1 || d[5] < 1 || d[7] < 1 || d[8] < 1) {
    a.error("depthwise geometry needs 13 numbers, cin == cout, a window of at most 64 taps and strides ≥ 1");
    return nullptr;
  }
  const ConvGeometry g = {int(d[0]), int(d[1]), int(d[2]), int(d[3]), int(d[4]), int(d[5]), int(d[6]), int(d[7]), int(d[8]), int(d[9]), int(d[10]), int(d[11]), int(d[12])};
  if (n0 != conv_size(g, S0) || n1 != conv_size(g, S1) || n2 != conv_size(g, S2)) return a.error("depthwise arrays do not match the geometry"), nullptr;
  kernel(g, in0, in1, out);
  return nullptr;
}

// (src, dst, dims[], srcStrides[], dstStrides[]); src and dst may be subarrays (their first element is the block's).
napi_value CopyBlock(napi_env env, napi_callback_info info) {
  Call a(env, info, 5);
  size_t ns = 0, nd = 0;
  const float* src = a.f32(0, &ns);
  float* dst = a.f32(1, &nd);
  const auto dims = a.ints(2), ss = a.ints(3), ds = a.ints(4);
  if (!a.ok) return nullptr;
  const size_t rank = dims.size();
  if (rank < 1 || rank > 6 || ss.size() != rank || ds.size() != rank || ds[rank - 1] != 1) {
    a.error("copyBlock needs 1–6 dims, strides per dim and a last dim contiguous in dst");
    return nullptr;
  }
  int64_t last_s = 0, last_d = 0;
  for (size_t d = 0; d < rank; ++d) {
    if (dims[d] < 1 || ss[d] < 0 || ds[d] < 0) return a.error("copyBlock: dims must be ≥ 1 and strides ≥ 0"), nullptr;
    last_s += (dims[d] - 1) * ss[d];
    last_d += (dims[d] - 1) * ds[d];
  }
  if (size_t(last_s) >= ns || size_t(last_d) >= nd) return a.error("copyBlock: the block reaches past an array's end"), nullptr;
  copy_block(src, dst, int(rank), dims.data(), ss.data(), ds.data());
  return nullptr;
}

}  // namespace

void register_zoo_kernels(napi_env env, napi_value exports) {
  struct { const char* name; napi_callback fn; } fns[] = {
      {"maxPool", Pool<max_pool_k, kIn, kIn, kOut>}, {"maxPoolGrad", Pool<max_pool_grad, kIn, kOut, kIn>},
      {"avgPool", Pool<avg_pool_k, kIn, kIn, kOut>}, {"avgPoolGrad", Pool<avg_pool_grad_k, kOut, kOut, kIn>},
      {"depthwiseConv2d", Depthwise<depthwise_forward, kIn, kFilter, kOut>},
      {"depthwiseConv2dBackpropInput", Depthwise<depthwise_backprop_input, kOut, kFilter, kIn>},
      {"depthwiseConv2dBackpropFilter", Depthwise<depthwise_backprop_filter, kIn, kOut, kFilter>}, {"copyBlock", CopyBlock},
  };
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
}

}  // namespace rtkd
