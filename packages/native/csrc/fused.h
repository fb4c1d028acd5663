// Fused fp32 kernels of @rtkd/native: training-mode BatchNorm (forward and backward), a per-channel
// affine map (eval-mode BatchNorm) and the ReLU gradient. Tensors are [rows, channels] row-major
// (NHWC flattened). Reductions split the rows into fixed chunks (independent of the thread count)
// and add the chunk partials in order, in double: results are bit-identical for any thread count.
#pragma once
#include <cstdint>

namespace rtkd {

// y = (x - mean) * (invstd * gamma) + beta, with the batch mean and biased variance per channel
// (corrected two-pass sums per chunk, one read of x from memory; see fused.cc);
// invstd = 1 / sqrt(var + eps). RTKD_NATIVE_BN=legacy runs the previous kernels (A/B runs).
// residual (or null): y += residual, as a separate Add would (a residual block's shortcut; the
// previous kernels apply it with the current ones). relu: y = max(y, 0) in the same pass (NaN
// stays NaN, as tfjs's Relu).
void batch_norm_train(const float* x, const float* gamma, const float* beta, const float* residual, float* y, float* mean, float* var,
                      float* invstd, int64_t rows, int64_t channels, float eps, bool relu);

// Gradients of batch_norm_train's y w.r.t. x, gamma and beta. relu_y: the fused-ReLU output y, or
// null; when given, dy is first multiplied by step(y) (tfjs's Relu gradient). relu_beta (read when
// relu_y is null): the forward's beta, for a fused ReLU without a residual — the mask is then
// recomputed from x with the forward's rounding (the same bits as with relu_y, one tensor less
// read twice). g_out (or null) receives the masked dy: the gradient of a fused residual.
void batch_norm_train_grad(const float* dy, const float* x, const float* gamma, const float* mean, const float* invstd,
                           const float* relu_y, const float* relu_beta, float* dx, float* dgamma, float* dbeta, float* g_out, int64_t rows,
                           int64_t channels);

// y = x * scale + shift per channel (then max(·, 0) when relu).
void channel_affine(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t channels, bool relu);

// One SGD-momentum step (PyTorch semantics, dampening 0), each operation rounded to float32 as the
// separate tfjs ops would: d = g + w·wd (g when wd = 0); b' = d when first or m = 0, else b·m + d;
// w' = w − b'·lr. Writes w' and b' to new arrays.
void sgd_momentum(const float* w, const float* g, const float* b, float* w_out, float* b_out, int64_t size,
                  float lr, float momentum, float weight_decay, bool first);

// dy·step(x): dy where x > 0, 0 where x ≤ 0, NaN where x is NaN (tfjs's Relu gradient).
void relu_grad(const float* dy, const float* x, float* out, int64_t size);

// out[r] = mean_c x[r, c]² over the last axis (AT-style spatial attention). Rounds like the
// native Square then Mean (each x² rounded to float32, 8 interleaved float partial sums added in
// a fixed order, then ÷ channels): bit-identical to them and to any thread count.
void channel_mean_square(const float* x, float* out, int64_t rows, int64_t channels);

}  // namespace rtkd
