// N-API bindings of @rtkd/native. Tensors arrive as Float32Arrays (the tfjs cpu backend's own
// storage); outputs are Float32Arrays allocated by the caller. No AVX2 code runs before
// `supported()` says the CPU has AVX2 and FMA.
#include <node_api.h>

#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fused.h"
#include "inference.h"
#include "amx.h"
#include "isa.h"
#include "kernels.h"
#include "pool.h"
#include "softpool.h"

namespace rtkd {
void register_zoo_kernels(napi_env env, napi_value exports);  // zoo_addon.cc
}

namespace {

// x86-64 needs AVX2 and FMA (kernels.cc and fused.cc are compiled for them); elsewhere the
// kernels are portable C++.
bool cpu_ok() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return true;
#endif
}

void fail(napi_env env, const std::string& message) { napi_throw_error(env, "RTKD_NATIVE", message.c_str()); }

struct Args {
  napi_env env;
  std::vector<napi_value> v;
  bool ok = true;
  // n arguments, the last n − required of them optional (undefined when not passed).
  Args(napi_env e, napi_callback_info info, size_t n, size_t required) : env(e), v(n) {
    size_t argc = n;
    napi_get_cb_info(e, info, &argc, v.data(), nullptr, nullptr);
    if (argc < required) {
      ok = false;
      fail(e, "rtkd native: expected " + std::to_string(required) + " arguments, got " + std::to_string(argc));
    }
  }
  Args(napi_env e, napi_callback_info info, size_t n) : Args(e, info, n, n) {}
  // A Float32Array, or null when argument i is null or undefined.
  float* optional_f32(size_t i, size_t* length) {
    if (!ok) return nullptr;
    napi_valuetype type;
    napi_typeof(env, v[i], &type);
    return type == napi_null || type == napi_undefined ? nullptr : f32(i, length);
  }
  float* f32(size_t i, size_t* length = nullptr) {
    if (!ok) return nullptr;
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_value buf;
    size_t offset;
    if (napi_get_typedarray_info(env, v[i], &type, &len, &data, &buf, &offset) != napi_ok || type != napi_float32_array) {
      ok = false;
      fail(env, "rtkd native: argument " + std::to_string(i) + " must be a Float32Array");
      return nullptr;
    }
    if (length) *length = len;
    return static_cast<float*>(data);
  }
  int64_t num(size_t i) {
    if (!ok) return 0;
    double d;
    if (napi_get_value_double(env, v[i], &d) != napi_ok) {
      ok = false;
      fail(env, "rtkd native: argument " + std::to_string(i) + " must be a number");
    }
    return static_cast<int64_t>(d);
  }
  std::vector<int64_t> ints(size_t i) {
    std::vector<int64_t> out;
    if (!ok) return out;
    uint32_t n;
    if (napi_get_array_length(env, v[i], &n) != napi_ok) {
      ok = false;
      fail(env, "rtkd native: argument " + std::to_string(i) + " must be an array of numbers");
      return out;
    }
    for (uint32_t k = 0; k < n; ++k) {
      napi_value e;
      double d;
      napi_get_element(env, v[i], k, &e);
      napi_get_value_double(env, e, &d);
      out.push_back(static_cast<int64_t>(d));
    }
    return out;
  }
};

// geometry: [n,h,w,cin, kh,kw,cout, sh,sw,pt,pl, oh,ow]
bool geometry(Args& a, size_t i, rtkd::ConvGeometry& g) {
  auto d = a.ints(i);
  if (!a.ok) return false;
  if (d.size() != 13) {
    fail(a.env, "rtkd native: conv geometry needs 13 numbers");
    return false;
  }
  g = {int(d[0]), int(d[1]), int(d[2]), int(d[3]), int(d[4]), int(d[5]), int(d[6]), int(d[7]), int(d[8]), int(d[9]), int(d[10]), int(d[11]), int(d[12])};
  return true;
}

using ConvKernel = void (*)(const rtkd::ConvGeometry&, const float*, const float*, float*);

// (in0, in1, out, geometry): conv2d (x, w, y), its input gradient (dy, w, dx) or its filter
// gradient (x, dy, dw).
template <ConvKernel kernel>
napi_value Conv(napi_env env, napi_callback_info info) {
  Args a(env, info, 4);
  rtkd::ConvGeometry g;
  const float *in0 = a.f32(0), *in1 = a.f32(1);
  float* out = a.f32(2);
  if (a.ok && geometry(a, 3, g)) kernel(g, in0, in1, out);
  return nullptr;
}

// (a, b, c, [batch, aBatch, bBatch, m, n, k, transA, transB])
napi_value BatchMatMul(napi_env env, napi_callback_info info) {
  Args a(env, info, 4);
  float *pa = a.f32(0), *pb = a.f32(1), *pc = a.f32(2);
  auto d = a.ints(3);
  if (!a.ok) return nullptr;
  if (d.size() != 8) { fail(env, "rtkd native: matmul dims need 8 numbers"); return nullptr; }
  rtkd::batch_matmul(pa, pb, pc, int(d[0]), int(d[1]), int(d[2]), int(d[3]), int(d[4]), int(d[5]), d[6] != 0, d[7] != 0);
  return nullptr;
}

// (op, a, b, out, dims, aStrides, bStrides)
napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info, 7);
  int op = int(a.num(0));
  float *pa = a.f32(1), *pb = a.f32(2), *out = a.f32(3);
  auto dims = a.ints(4), as = a.ints(5), bs = a.ints(6);
  if (!a.ok) return nullptr;
  if (dims.empty() || dims.size() != as.size() || dims.size() != bs.size()) { fail(env, "rtkd native: binary dims/strides mismatch"); return nullptr; }
  rtkd::binary(op, int(dims.size()), dims.data(), pa, as.data(), pb, bs.data(), out);
  return nullptr;
}

// (op, x, out, alpha)
napi_value Unary(napi_env env, napi_callback_info info) {
  Args a(env, info, 4);
  int op = int(a.num(0));
  size_t n = 0, m = 0;
  float *x = a.f32(1, &n), *out = a.f32(2, &m);
  double alpha = 0;
  if (a.ok) napi_get_value_double(env, a.v[3], &alpha);
  if (a.ok) rtkd::unary(op, x, out, int64_t(std::min(n, m)), float(alpha));
  return nullptr;
}

// (x, out, outer, red, inner, mean)
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  float *x = a.f32(0), *out = a.f32(1);
  int64_t outer = a.num(2), red = a.num(3), inner = a.num(4), mean = a.num(5);
  if (a.ok) rtkd::reduce_sum(x, out, outer, red, inner, mean != 0);
  return nullptr;
}

// (op, x, out, dims[], reduced[])
napi_value ReduceStrided(napi_env env, napi_callback_info info) {
  Args a(env, info, 5);
  int op = int(a.num(0));
  float *x = a.f32(1), *out = a.f32(2);
  auto dims = a.ints(3), reduced = a.ints(4);
  if (!a.ok) return nullptr;
  if (dims.empty() || dims.size() != reduced.size() || op < 0 || op > 3) { fail(env, "rtkd native: reduceStrided: bad dims/op"); return nullptr; }
  rtkd::reduce_strided(op, int(dims.size()), dims.data(), reduced.data(), x, out);
  return nullptr;
}

// (inputs[], out)
napi_value AddN(napi_env env, napi_callback_info info) {
  Args a(env, info, 2);
  if (!a.ok) return nullptr;
  uint32_t count;
  napi_get_array_length(env, a.v[0], &count);
  std::vector<const float*> inputs;
  size_t size = 0;
  for (uint32_t i = 0; i < count; ++i) {
    napi_value e;
    napi_get_element(env, a.v[0], i, &e);
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_value buf;
    size_t offset;
    if (napi_get_typedarray_info(env, e, &type, &len, &data, &buf, &offset) != napi_ok || type != napi_float32_array) {
      fail(env, "rtkd native: addN inputs must be Float32Arrays");
      return nullptr;
    }
    inputs.push_back(static_cast<const float*>(data));
    size = len;
  }
  float* out = a.f32(1);
  if (a.ok && count > 0) rtkd::add_n(inputs.data(), int(count), out, int64_t(size));
  return nullptr;
}

// (x, gamma, beta, y, mean, var, invstd, channels, eps, relu, residual?: Float32Array | null)
napi_value BatchNormTrain(napi_env env, napi_callback_info info) {
  Args a(env, info, 11, 10);
  size_t n = 0, yLen = 0, resLen = 0;
  float *x = a.f32(0, &n), *gamma = a.f32(1), *beta = a.f32(2), *y = a.f32(3, &yLen), *mean = a.f32(4), *var = a.f32(5), *invstd = a.f32(6);
  int64_t c = a.num(7);
  double eps = 0;
  if (a.ok) napi_get_value_double(env, a.v[8], &eps);
  const int64_t relu = a.num(9);
  const float* residual = a.optional_f32(10, &resLen);
  if (a.ok && (c < 1 || n % size_t(c) != 0 || yLen != n || (residual && resLen != n))) {
    fail(env, "rtkd native: batchNormTrain: bad channel count or sizes");
    return nullptr;
  }
  if (a.ok) rtkd::batch_norm_train(x, gamma, beta, residual, y, mean, var, invstd, int64_t(n) / c, c, float(eps), relu != 0);
  return nullptr;
}

// (dy, x, gamma, mean, invstd, dx, dgamma, dbeta, channels, reluY: Float32Array | null, gOut?: Float32Array | null, reluBeta?: Float32Array | null)
napi_value BatchNormTrainGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 12, 10);
  size_t n = 0, dyLen = 0, dxLen = 0, yLen = 0, gLen = 0, betaLen = 0;
  float *dy = a.f32(0, &dyLen), *x = a.f32(1, &n), *gamma = a.f32(2), *mean = a.f32(3), *invstd = a.f32(4), *dx = a.f32(5, &dxLen), *dgamma = a.f32(6), *dbeta = a.f32(7);
  int64_t c = a.num(8);
  float* reluY = a.optional_f32(9, &yLen);
  float* gOut = a.optional_f32(10, &gLen);
  float* reluBeta = a.optional_f32(11, &betaLen);
  if (a.ok && (c < 1 || n % size_t(c) != 0 || dyLen != n || dxLen != n || (reluY && yLen != n) || (gOut && gLen != n) || (reluBeta && betaLen != size_t(c)))) {
    fail(env, "rtkd native: batchNormTrainGrad: bad channel count or sizes");
    return nullptr;
  }
  if (a.ok) rtkd::batch_norm_train_grad(dy, x, gamma, mean, invstd, reluY, reluBeta, dx, dgamma, dbeta, gOut, int64_t(n) / c, c);
  return nullptr;
}

// (x, scale, shift, y, channels, relu)
napi_value ChannelAffine(napi_env env, napi_callback_info info) {
  Args a(env, info, 6);
  size_t n = 0;
  float *x = a.f32(0, &n), *scale = a.f32(1), *shift = a.f32(2), *y = a.f32(3);
  int64_t c = a.num(4), relu = a.num(5);
  if (a.ok && (c < 1 || n % size_t(c) != 0)) { fail(env, "rtkd native: channelAffine: bad channel count"); return nullptr; }
  if (a.ok) rtkd::channel_affine(x, scale, shift, y, int64_t(n) / c, c, relu != 0);
  return nullptr;
}

// (w, g, b, wOut, bOut, lr, momentum, weightDecay, first)
napi_value SgdMomentum(napi_env env, napi_callback_info info) {
  Args a(env, info, 9);
  size_t nw = 0, ng = 0, nb = 0, nwo = 0, nbo = 0;
  float *w = a.f32(0, &nw), *g = a.f32(1, &ng), *b = a.f32(2, &nb), *wOut = a.f32(3, &nwo), *bOut = a.f32(4, &nbo);
  double lr = 0, momentum = 0, wd = 0;
  if (a.ok) {
    napi_get_value_double(env, a.v[5], &lr);
    napi_get_value_double(env, a.v[6], &momentum);
    napi_get_value_double(env, a.v[7], &wd);
  }
  const int64_t first = a.num(8);
  if (a.ok && (ng != nw || nb != nw || nwo != nw || nbo != nw)) { fail(env, "rtkd native: sgdMomentum: arrays differ in size"); return nullptr; }
  if (a.ok) rtkd::sgd_momentum(w, g, b, wOut, bOut, int64_t(nw), float(lr), float(momentum), float(wd), first != 0);
  return nullptr;
}

// (dy, x, out)
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, 3);
  size_t n = 0;
  float *dy = a.f32(0), *x = a.f32(1, &n), *out = a.f32(2);
  if (a.ok) rtkd::relu_grad(dy, x, out, int64_t(n));
  return nullptr;
}

// (x, out, channels)
napi_value ChannelMeanSquare(napi_env env, napi_callback_info info) {
  Args a(env, info, 3);
  size_t n = 0, no = 0;
  float *x = a.f32(0, &n), *out = a.f32(1, &no);
  int64_t c = a.num(2);
  if (a.ok && (c < 1 || n % size_t(c) != 0 || no != n / size_t(c))) { fail(env, "rtkd native: channelMeanSquare: bad channel count or output size"); return nullptr; }
  if (a.ok) rtkd::channel_mean_square(x, out, int64_t(n) / c, c);
  return nullptr;
}

// (dy, w, addend, dx, geometry): conv2d's input gradient plus addend (dx's size).
napi_value Conv2DBackpropInputAdd(napi_env env, napi_callback_info info) {
  Args a(env, info, 5);
  rtkd::ConvGeometry g;
  size_t addLen = 0, dxLen = 0;
  const float *dy = a.f32(0), *w = a.f32(1), *addend = a.f32(2, &addLen);
  float* dx = a.f32(3, &dxLen);
  if (!a.ok || !geometry(a, 4, g)) return nullptr;
  const size_t inSize = size_t(g.n) * g.h * g.w * g.cin;
  if (addLen != inSize || dxLen != inSize) {
    fail(env, "rtkd native: conv2dBackpropInputAdd: addend and dx must have the conv input's size");
    return nullptr;
  }
  rtkd::conv2d_backprop_input_add(g, dy, w, addend, dx);
  return nullptr;
}

// (x, w, bias | null, residual | null, y, geometry, relu)
napi_value Conv2DBiasAct(napi_env env, napi_callback_info info) {
  Args a(env, info, 7);
  rtkd::ConvGeometry g;
  size_t yLen = 0, biasLen = 0, resLen = 0;
  const float *x = a.f32(0), *w = a.f32(1);
  float* y = a.f32(4, &yLen);
  const float* bias = a.optional_f32(2, &biasLen);
  const float* residual = a.optional_f32(3, &resLen);
  const int64_t relu = a.num(6);
  if (!a.ok || !geometry(a, 5, g)) return nullptr;
  const size_t outSize = size_t(g.n) * g.oh * g.ow * g.cout;
  if (yLen != outSize || (bias && biasLen != size_t(g.cout)) || (residual && resLen != outSize)) {
    fail(env, "rtkd native: conv2dBiasAct: bias must have cout elements and residual/y the output's size");
    return nullptr;
  }
  rtkd::conv2d_bias_act(g, x, w, bias, residual, y, relu != 0);
  return nullptr;
}

// geometry: [n,h,w,c, kh,kw, sh,sw, oh,ow] (unpadded windows)
bool soft_pool_geometry(Args& a, size_t i, rtkd::SoftPoolGeometry& g) {
  const auto d = a.ints(i);
  if (!a.ok) return false;
  g = d.size() == 10 ? rtkd::SoftPoolGeometry{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9]} : rtkd::SoftPoolGeometry{};
  const bool valid = d.size() == 10 && g.n >= 0 && g.c >= 0 && g.kh > 0 && g.kw > 0 && g.sh > 0 && g.sw > 0 && g.kh <= g.h && g.kw <= g.w &&
                     g.oh == (g.h - g.kh) / g.sh + 1 && g.ow == (g.w - g.kw) / g.sw + 1;
  if (!valid) fail(a.env, "rtkd native: softPool geometry needs [n,h,w,c, kh,kw, sh,sw, oh,ow] of unpadded windows that fit");
  return valid;
}

// softPool(x, y, geometry) / softPoolGrad(x, dy, dx, geometry)
template <bool Grad>
napi_value SoftPool(napi_env env, napi_callback_info info) {
  Args a(env, info, Grad ? 4 : 3);
  size_t nx = 0, na = 0, nb = 0;
  const float* x = a.f32(0, &nx);
  float* first = a.f32(1, &na);
  float* dx = Grad ? a.f32(2, &nb) : nullptr;
  rtkd::SoftPoolGeometry g;
  if (!a.ok || !soft_pool_geometry(a, Grad ? 3 : 2, g)) return nullptr;
  const size_t in = size_t(g.n * g.h * g.w * g.c), out = size_t(g.n * g.oh * g.ow * g.c);
  if (nx != in || na != out || (Grad && nb != in)) {
    fail(env, Grad ? "rtkd native: softPoolGrad: x and dx must have the input's size, dy the pooled size" : "rtkd native: softPool: x must have the input's size, y the pooled size");
    return nullptr;
  }
  if (Grad) rtkd::soft_pool_backward(g, x, first, dx);
  else rtkd::soft_pool_forward(g, x, first);
  return nullptr;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, 1);
  int64_t n = a.num(0);
  if (a.ok) {
    if (n < 1 || n > 256) fail(env, "rtkd native: threads must be in 1..256");
    else if (n != rtkd::pool().size()) rtkd::pool().resize(int(n));
  }
  return nullptr;
}

napi_value GetThreads(napi_env env, napi_callback_info) {
  napi_value v;
  napi_create_int32(env, rtkd::pool().size(), &v);
  return v;
}

napi_value Isa(napi_env env, napi_callback_info) {
  const rtkd::Isa isa = rtkd::isa();
  const char* name = isa == rtkd::Isa::kAvx512 ? "avx512" : isa == rtkd::Isa::kAvx2 ? "avx2" : "generic";
  napi_value v;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value Amx(napi_env env, napi_callback_info) {
  napi_value v;
  napi_get_boolean(env, rtkd::amx_enabled(), &v);
  return v;
}

napi_value Supported(napi_env env, napi_callback_info) {
  napi_value v;
  napi_get_boolean(env, cpu_ok(), &v);
  return v;
}

// Tensors are freed and reallocated hundreds of times per training step. glibc serves large
// blocks with fresh mmap()s, whose first touch page-faults every 4 KiB (measured here: writing a
// fresh 8 MiB buffer costs ~28 ms vs 0.5 ms for a reused one). Keeping large blocks on the heap
// (and not trimming it) lets them be reused. Process-wide; the heap then stays at its peak size.
void keep_large_blocks() {
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
  if (std::getenv("RTKD_NATIVE_KEEP_MALLOC") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
#endif
}

constexpr size_t kHugePage = size_t(1) << 21;

// Whether the kernel hands out transparent huge pages on request: THP configured and its mode not
// [never] (madvise(MADV_HUGEPAGE) succeeds under [never] too, to no effect).
bool huge_pages_offered() {
#if defined(__linux__)
  static const bool offered = [] {
    FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return false;
    char line[128] = {0};
    const bool read = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    return read && std::strstr(line, "[never]") == nullptr;
  }();
  return offered;
#else
  return false;
#endif
}

void free_huge_page_array(napi_env env, void* data, void* hint) {
  int64_t unused;
  napi_adjust_external_memory(env, -static_cast<int64_t>(reinterpret_cast<uintptr_t>(hint)), &unused);
  std::free(data);
}

// (n) → a Float32Array of n elements (not zeroed) on whole 2 MiB blocks that the kernel was asked
// to back with transparent huge pages, or undefined where it cannot be (not Linux, THP off, or a
// runtime without external ArrayBuffers). Large activations then take one TLB entry per 2 MiB
// instead of 512: a training step streams far more memory than the TLB covers.
napi_value HugePageArray(napi_env env, napi_callback_info info) {
  Args a(env, info, 1);
  const int64_t n = a.num(0);
  napi_value result = nullptr;
  napi_get_undefined(env, &result);
  if (!a.ok || n <= 0 || !huge_pages_offered()) return result;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const size_t bytes = static_cast<size_t>(n) * sizeof(float), rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* data = nullptr;
  if (posix_memalign(&data, kHugePage, rounded) != 0) return result;
  napi_value buffer, array;
  if (madvise(data, rounded, MADV_HUGEPAGE) != 0 ||
      napi_create_external_arraybuffer(env, data, bytes, free_huge_page_array, reinterpret_cast<void*>(rounded), &buffer) != napi_ok) {
    std::free(data);
    return result;
  }
  int64_t unused;
  napi_adjust_external_memory(env, static_cast<int64_t>(rounded), &unused);
  if (napi_create_typedarray(env, napi_float32_array, static_cast<size_t>(n), buffer, 0, &array) == napi_ok) result = array;
#endif
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  keep_large_blocks();
  struct { const char* name; napi_callback fn; } fns[] = {
      {"supported", Supported}, {"isa", Isa}, {"amx", Amx}, {"setThreads", SetThreads}, {"getThreads", GetThreads}, {"hugePageArray", HugePageArray},
      {"conv2d", Conv<rtkd::conv2d_forward>}, {"conv2dBackpropInput", Conv<rtkd::conv2d_backprop_input>},
      {"conv2dBackpropFilter", Conv<rtkd::conv2d_backprop_filter>}, {"conv2dBackpropInputAdd", Conv2DBackpropInputAdd},
      {"batchMatMul", BatchMatMul}, {"binary", Binary}, {"unary", Unary}, {"reduceSum", ReduceSum}, {"addN", AddN}, {"reduceStrided", ReduceStrided},
      {"batchNormTrain", BatchNormTrain}, {"batchNormTrainGrad", BatchNormTrainGrad}, {"channelAffine", ChannelAffine}, {"reluGrad", ReluGrad},
      {"channelMeanSquare", ChannelMeanSquare},
      {"sgdMomentum", SgdMomentum},
      {"conv2dBiasAct", Conv2DBiasAct},
      {"softPool", SoftPool<false>}, {"softPoolGrad", SoftPool<true>},
  };
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  rtkd::register_zoo_kernels(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
