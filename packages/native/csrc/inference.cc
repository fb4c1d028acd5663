// conv2d_bias_act (see inference.h): the convolution with its epilogue (bias, residual, ReLU)
// applied to each piece of the output as the convolution writes it (apply_epilogue). Plain adds and
// a compare: no FMA contraction can change them.
#include <cstdint>

#include "amx.h"
#include "inference.h"

namespace rtkd {
namespace {

template <bool Bias, bool Residual, bool Relu>
void epilogue_rows(float* y, const float* bias, const float* residual, int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; ++r) {
    float* q = y + r * C;
    const float* res = Residual ? residual + r * C : nullptr;
    for (int64_t c = 0; c < C; ++c) {
      float v = q[c];
      if constexpr (Bias) v = v + bias[c];
      if constexpr (Residual) v = v + res[c];
      if constexpr (Relu) v = v < 0.f ? 0.f : v;
      q[c] = v;
    }
  }
}

using EpilogueFn = void (*)(float*, const float*, const float*, int64_t, int64_t, int64_t);

template <bool Bias, bool Residual>
EpilogueFn pick_relu(bool relu) {
  return relu ? epilogue_rows<Bias, Residual, true> : epilogue_rows<Bias, Residual, false>;
}

EpilogueFn pick(bool bias, bool residual, bool relu) {
  if (bias) return residual ? pick_relu<true, true>(relu) : pick_relu<true, false>(relu);
  return residual ? pick_relu<false, true>(relu) : pick_relu<false, false>(relu);
}

}  // namespace

void apply_epilogue(const ConvEpilogue& e, float* y, int64_t r0, int64_t r1, int64_t C) {
  pick(e.bias != nullptr, e.residual != nullptr, e.relu)(y, e.bias, e.residual, r0, r1, C);
}

void conv2d_bias_act(const ConvGeometry& g, const float* x, const float* w, const float* bias, const float* residual, float* y, bool relu) {
  const ConvEpilogue epilogue{bias, residual, relu};
  if (amx_conv_applies(g)) return amx_conv(g, x, plain_filter(g, w), y, epilogue);
  conv2d_forward_with(g, x, w, y, epilogue);
}

}  // namespace rtkd
