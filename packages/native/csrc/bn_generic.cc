// Portable bodies of the fused BatchNorm / channel-affine kernels (bn.h, bn_impl.h) on GCC/clang
// vector extensions of 4 floats (NEON or SSE), groups of up to 4 × 4 channels. No target flags.
#include <cstring>

#include "bn_impl.h"

namespace rtkd {
namespace {

struct GenericBn {
  typedef float vec __attribute__((vector_size(16)));
  typedef int32_t ivec __attribute__((vector_size(16)));
  static constexpr int W = 4, MaxNV = 4;
  static vec zero() { return vec{}; }
  static vec set1(float v) { return vec{} + v; }
  static vec load(const float* p) {
    vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(float* p, vec v) { std::memcpy(p, &v, sizeof v); }
  static vec add(vec a, vec b) { return a + b; }
  static vec sub(vec a, vec b) { return a - b; }
  static vec mul(vec a, vec b) { return a * b; }
  static vec div(vec a, vec b) { return a / b; }
  static vec fma(vec a, vec b, vec c) { return a * b + c; }
  static vec fnma(vec a, vec b, vec c) { return c - a * b; }
  static vec relu(vec v) { return (vec)((ivec)v & ~(v < 0.f)); }  // NaN < 0 and −0 < 0 are false: kept
  static vec relu_grad(vec g, vec y) {
    const ivec step = ((ivec)set1(1.f) & (y > 0.f)) | ((ivec)set1(__builtin_nanf("")) & (y != y));
    return g * (vec)step;
  }
};

}  // namespace

const BnKernels& bn_kernels_generic() { return BnFlavour<GenericBn>::kernels(); }

}  // namespace rtkd
