// conv2d_bias_act (see inference.h): the convolution, then one pass over its output for bias,
// residual and ReLU, split into fixed row chunks on the pool (element-wise, so the bits do not
// depend on how the rows are split). Plain adds and a compare: no FMA contraction can change them.
#include <algorithm>
#include <cstdint>

#include "amx.h"
#include "inference.h"
#include "pool.h"

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

void conv_epilogue_rows(float* y, const float* bias, const float* residual, int64_t r0, int64_t r1, int64_t C, bool relu) {
  pick(bias != nullptr, residual != nullptr, relu)(y, bias, residual, r0, r1, C);
}

void conv2d_bias_act(const ConvGeometry& g, const float* x, const float* w, const float* bias, const float* residual, float* y, bool relu) {
  if (amx_conv_applies(g)) return amx_conv(g, x, plain_filter(g, w), y, {bias, residual, relu});
  conv2d_forward(g, x, w, y);
  if (!bias && !residual && !relu) return;
  const int64_t C = g.cout, rows = static_cast<int64_t>(g.n) * g.oh * g.ow;
  const int64_t per = std::max<int64_t>(16, 16384 / std::max<int64_t>(C, 1));
  const int64_t chunks = (rows + per - 1) / per;
  const EpilogueFn fn = pick(bias != nullptr, residual != nullptr, relu);
  pool().parallel_for(chunks, [&](long ch) {
    fn(y, bias, residual, ch * per, std::min<int64_t>(rows, (ch + 1) * per), C);
  });
}

}  // namespace rtkd
