// Fused fp32 kernels of @rtkd/native: training-mode BatchNorm (forward and backward), a per-channel
// affine map (eval-mode BatchNorm) and the ReLU gradient. Tensors are [rows, channels] row-major
// (NHWC flattened). Reductions split the rows into fixed chunks (independent of the thread count)
// and add the chunk partials in order, in double: results are bit-identical for any thread count.
#pragma once
#include <cstdint>

namespace rtkd {

// y = (x - mean) * (invstd * gamma) + beta, with the batch mean and biased variance per channel;
// invstd = 1 / sqrt(var + eps).
void batch_norm_train(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* var, float* invstd,
                      int64_t rows, int64_t channels, float eps);

// Gradients of batch_norm_train's y w.r.t. x, gamma and beta.
void batch_norm_train_grad(const float* dy, const float* x, const float* gamma, const float* mean, const float* invstd,
                           float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t channels);

// y = x * scale + shift per channel.
void channel_affine(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t channels);

// dy·step(x): dy where x > 0, 0 where x ≤ 0, NaN where x is NaN (tfjs's Relu gradient).
void relu_grad(const float* dy, const float* x, float* out, int64_t size);

}  // namespace rtkd
