// fp32 kernels of @rtkd/native (NHWC convolutions, GEMM, broadcasting element-wise ops,
// reductions). Every kernel gives the same bits for any thread count: work is split into a fixed
// number of pieces that do not depend on the pool size, and partial sums are added in order.
#pragma once
#include <cstdint>

namespace rtkd {

struct ConvGeometry {
  int n, h, w, cin;      // input
  int kh, kw, cout;      // filter [kh, kw, cin, cout]
  int sh, sw, pt, pl;    // strides, top/left padding
  int oh, ow;            // output
};

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, float* y);

// Where the conv's filter entry (tap, ci, co) is: w[tap'·tapStride + ci·ciStride + co·coStride],
// tap' = tap, or kh·kw − 1 − tap when turned.
struct FilterView {
  const float* w;
  long taps, tapStride, ciStride, coStride;
  bool turned;

  // The entries of tap t.
  const float* tap(long t) const { return w + (turned ? taps - 1 - t : t) * tapStride; }
  float at(long t, long ci, long co) const { return tap(t)[ci * ciStride + co * coStride]; }
};

// w as the [kh, kw, cin, cout] filter of g.
inline FilterView plain_filter(const ConvGeometry& g, const float* w) {
  return {w, static_cast<long>(g.kh) * g.kw, static_cast<long>(g.cin) * g.cout, g.cout, 1, false};
}

// The filter of the forward conv that gives the input gradient of `forward` (whose filter is w,
// [kh, kw, cin, cout]): w turned by 180° with its channel axes swapped, read in place.
inline FilterView turned_filter(const ConvGeometry& forward, const float* w) {
  return {w, static_cast<long>(forward.kh) * forward.kw, static_cast<long>(forward.cin) * forward.cout, 1, forward.cout, true};
}

// What a convolution applies to each output on its way out (conv2d_bias_act, inference.h):
// + bias[c], + residual, then max(0, ·), each step rounded as the separate kernels round it.
struct ConvEpilogue {
  const float* bias = nullptr;      // [cout]
  const float* residual = nullptr;  // shaped like y
  bool relu = false;

  bool empty() const { return !bias && !residual && !relu; }
};

// `e` in place on rows [r0, r1) of y ([rows, C]; residual indexed alike). Element-wise: the bits
// do not depend on how the rows are split.
void apply_epilogue(const ConvEpilogue& e, float* y, int64_t r0, int64_t r1, int64_t C);

// conv2d_forward with `epilogue` applied to each piece of the output as soon as it is written
// (while it is in cache), instead of in a pass of its own: the same bits.
void conv2d_forward_with(const ConvGeometry& g, const float* x, const float* w, float* y, const ConvEpilogue& epilogue);

// dx = conv2d_backprop_input(g, dy, w) + addend (x's shape), each sum rounded once: the bits of the
// input gradient then an Add. The direct kernels add each image's addend as soon as they have
// written it (the im2col and strided paths too; Winograd in a pass after).
void conv2d_backprop_input_add(const ConvGeometry& g, const float* dy, const float* w, const float* addend, float* dx);
void conv2d_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx);
void conv2d_backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw);

// C[b] = op(A[b]) · op(B[b]); A is [M,K] (or [K,M] when transA), B [K,N] (or [N,K] when transB).
// aBatch/bBatch: batch count of each side (1 = broadcast).
void batch_matmul(const float* a, const float* b, float* c, int batch, int aBatch, int bBatch, int m, int n, int k, bool transA, bool transB);

enum BinaryOp { kAdd = 0, kSub, kMul, kDiv, kSquaredDifference, kMaximum, kMinimum };
// out[o, i] = a[o*aOuter + i*aInner] op b[o*bOuter + i*bInner] over outer × inner (strides 0 broadcast).
// Ranks are coalesced by the caller to at most 4 dims: dims[0..rank), strides per dim.
void binary(int op, int rank, const int64_t* dims, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides, float* out);

enum UnaryOp { kRelu = 0, kStep, kSquare, kNeg, kRsqrt, kExp, kSqrt };
void unary(int op, const float* x, float* out, int64_t size, float alpha);

// out[o, i] = reduce_r x[o, r, i] (sum, or mean when mean).
void reduce_sum(const float* x, float* out, int64_t outer, int64_t red, int64_t inner, bool mean);

enum ReduceOp { kReduceSum = 0, kReduceMean, kReduceMax, kReduceMin };
// Reduction over any set of dims (reduced[d] != 0) of a row-major tensor with dims[0..rank);
// out has the kept dims in order. Max/Min propagate NaN.
void reduce_strided(int op, int rank, const int64_t* dims, const int64_t* reduced, const float* x, float* out);

// out = Σ inputs (same size), in input order.
void add_n(const float* const* inputs, int count, float* out, int64_t size);

}  // namespace rtkd
