// The kernels' entry points (convolutions, batched matmul, element-wise ops, reductions) and the
// AVX2 flavour of the GEMM and direct convolutions. On x86-64 this file is compiled for AVX2/FMA
// (the addon checks the CPU before any of it runs); elsewhere it is plain C++ and the portable
// kernels of generic.cc do the heavy work.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "amx.h"
#include "isa.h"
#include "kernels.h"
#include "pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
// Everything below is compiled for AVX2/FMA (after the system headers, so their inline functions
// stay baseline); clang ignores `#pragma GCC target`, hence its own form (popped at the end).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif
#endif

#include "direct.h"  // templates: compiled for the target above
#include "gemm.h"
#include "winograd.h"
#include "winograd_filter.h"

namespace rtkd {
namespace {

thread_local std::vector<float> colBuffer, padBuffer;

float* grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

#if defined(__x86_64__)
// The AVX2 flavour of the GEMM (6 × 16 register tiles) and of the direct kernels (direct.h):
// 6 pixels × 16 channels; the filter gradient 4 input × 16 output channels (8 × 8 when the output
// channels are no multiple of 16).
struct Avx2 {
  using vec = __m256;
  static constexpr int W = 8;
  static vec zero() { return _mm256_setzero_ps(); }
  static vec load(const float* p) { return _mm256_loadu_ps(p); }
  static vec broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
  static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
  static void store(float* p, vec v) { _mm256_storeu_ps(p, v); }
};

using Avx2Forward = DirectForward<Avx2, 6, 2, 12, 1>;
#endif

Isa pick_isa() {
#if defined(__x86_64__)
  const char* wanted = std::getenv("RTKD_NATIVE_ISA");
  if (wanted && std::strcmp(wanted, "generic") == 0) return Isa::kGeneric;
  if ((wanted && std::strcmp(wanted, "avx2") == 0) || std::getenv("RTKD_NATIVE_NO_AVX512")) return Isa::kAvx2;
  return cpu_has_avx512() ? Isa::kAvx512 : Isa::kAvx2;
#else
  return Isa::kGeneric;
#endif
}

// Single-threaded C[M,N] (+)= A[M,K] · B[K,N] on this process's instruction set.
void sgemm(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate) {
  switch (isa()) {
#if defined(__x86_64__)
    case Isa::kAvx512: return sgemm_avx512(M, N, K, A, B, C, ldc, accumulate);
    case Isa::kAvx2: return sgemm_avx2(M, N, K, A, B, C, ldc, accumulate);
#endif
    default: return sgemm_generic(M, N, K, A, B, C, ldc, accumulate);
  }
}

// Rows of the im2col matrix of image `img`: row (oy, ox) = x[iy, ix, :] for every (ky, kx), zeros outside.
void im2col(const ConvGeometry& g, const float* img, float* col) {
  const long K = static_cast<long>(g.kh) * g.kw * g.cin;
  for (int oy = 0; oy < g.oh; ++oy)
    for (int ox = 0; ox < g.ow; ++ox) {
      float* row = col + (static_cast<long>(oy) * g.ow + ox) * K;
      for (int ky = 0; ky < g.kh; ++ky) {
        int iy = oy * g.sh - g.pt + ky;
        for (int kx = 0; kx < g.kw; ++kx) {
          int ix = ox * g.sw - g.pl + kx;
          float* dst = row + (static_cast<long>(ky) * g.kw + kx) * g.cin;
          if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) std::memset(dst, 0, g.cin * sizeof(float));
          else std::memcpy(dst, img + (static_cast<long>(iy) * g.w + ix) * g.cin, g.cin * sizeof(float));
        }
      }
    }
}

// dx[iy, ix, :] += col row segments (the adjoint of im2col).
void col2im(const ConvGeometry& g, const float* col, float* img) {
  const long K = static_cast<long>(g.kh) * g.kw * g.cin;
  std::memset(img, 0, sizeof(float) * g.h * g.w * g.cin);
  for (int oy = 0; oy < g.oh; ++oy)
    for (int ox = 0; ox < g.ow; ++ox) {
      const float* row = col + (static_cast<long>(oy) * g.ow + ox) * K;
      for (int ky = 0; ky < g.kh; ++ky) {
        int iy = oy * g.sh - g.pt + ky;
        if (iy < 0 || iy >= g.h) continue;
        for (int kx = 0; kx < g.kw; ++kx) {
          int ix = ox * g.sw - g.pl + kx;
          if (ix < 0 || ix >= g.w) continue;
          const float* src = row + (static_cast<long>(ky) * g.kw + kx) * g.cin;
          float* dst = img + (static_cast<long>(iy) * g.w + ix) * g.cin;
          for (int c = 0; c < g.cin; ++c) dst[c] += src[c];
        }
      }
    }
}

bool is_pointwise(const ConvGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h && g.ow == g.w;
}

}  // namespace

ThreadPool& pool() {
  static ThreadPool instance(1);
  return instance;
}

namespace {

const DirectConvKernels& direct() {
  switch (isa()) {
#if defined(__x86_64__)
    case Isa::kAvx512: return direct_kernels_avx512();
    case Isa::kAvx2: return direct_kernels_avx2();
#endif
    default: return direct_kernels_generic();
  }
}

bool direct_applies(const ConvGeometry& g) {
  return !is_pointwise(g) && g.pt >= 0 && g.pl >= 0 && g.kh * g.kw <= kDirectMaxTaps;
}

struct PaddedSize {
  int height, width;
};

// Rows and columns the direct kernels read: every tap of every output pixel, and the whole image.
PaddedSize padded_size(const ConvGeometry& g) {
  return {std::max((g.oh - 1) * g.sh + g.kh, g.pt + g.h), std::max((g.ow - 1) * g.sw + g.kw, g.pl + g.w)};
}

// One image placed at (pt, pl) inside zeros (plus zeroed slack), in this thread's buffer.
const float* pad_image(const ConvGeometry& g, const PaddedSize& p, const float* img) {
  const long size = static_cast<long>(p.height) * p.width * g.cin + direct_slack(g);
  float* out = grow(padBuffer, size);
  // Zero only what the image does not cover: the rows above, each row's margins, the rows below.
  const long rowFloats = static_cast<long>(g.w) * g.cin, paddedRow = static_cast<long>(p.width) * g.cin;
  const long left = static_cast<long>(g.pl) * g.cin, right = paddedRow - left - rowFloats;
  std::memset(out, 0, g.pt * paddedRow * sizeof(float));
  for (int iy = 0; iy < g.h; ++iy) {
    float* row = out + (iy + g.pt) * paddedRow;
    std::memset(row, 0, left * sizeof(float));
    std::memcpy(row + left, img + iy * rowFloats, rowFloats * sizeof(float));
    std::memset(row + left + rowFloats, 0, right * sizeof(float));
  }
  const long below = (g.pt + g.h) * paddedRow;
  std::memset(out + below, 0, (size - below) * sizeof(float));
  return out;
}

// Filter panels [ceil(cols/nr)][K][nr], zero-padded past `cols`; value(k, col) gives each entry.
template <typename Value>
std::vector<float> pack_panels(long K, int cols, int nr, Value value) {
  const int panels = (cols + nr - 1) / nr;
  std::vector<float> out(static_cast<size_t>(panels) * K * nr, 0.f);
  for (int p = 0; p < panels; ++p)
    for (long k = 0; k < K; ++k)
      for (int q = 0; q < nr && p * nr + q < cols; ++q) out[(p * K + k) * nr + q] = value(k, p * nr + q);
  return out;
}

// The epilogue in a pass of its own over y, in fixed row chunks. Winograd's output tiles are too
// small to take it as they are written: per tile, it measured 3–5% slower than this pass.
void epilogue_pass(const ConvGeometry& g, const ConvEpilogue& epilogue, float* y) {
  if (epilogue.empty()) return;
  const int64_t C = g.cout, rows = static_cast<int64_t>(g.n) * g.oh * g.ow;
  const int64_t per = std::max<int64_t>(16, 16384 / std::max<int64_t>(C, 1));
  pool().parallel_for((rows + per - 1) / per, [&](long chunk) {
    apply_epilogue(epilogue, y, chunk * per, std::min<int64_t>(rows, (chunk + 1) * per), C);
  });
}

void direct_forward(const ConvGeometry& g, const float* x, const std::vector<float>& panels, float* y, const ConvEpilogue& epilogue = {}) {
  const PaddedSize p = padded_size(g);
  const long inSize = static_cast<long>(g.h) * g.w * g.cin, pixels = static_cast<long>(g.oh) * g.ow;
  const DirectConvKernels& kernels = direct();
  pool().parallel_for(g.n, [&](long n) {
    kernels.forward(g, pad_image(g, p, x + n * inSize), p.width, panels.data(), y + n * pixels * g.cout, direct_output(g));
    if (!epilogue.empty()) apply_epilogue(epilogue, y, n * pixels, (n + 1) * pixels, g.cout);
  });
}

// conv2d_backprop_input of a stride-1 conv as the forward conv of dy with the filter turned by
// 180° and its channel axes swapped, padded so that every tap lands: no col2im scatter.
bool direct_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx, const ConvEpilogue& epilogue = {}) {
  const ConvGeometry t{g.n, g.oh, g.ow, g.cout, g.kh, g.kw, g.cin, 1, 1, g.kh - 1 - g.pt, g.kw - 1 - g.pl, g.h, g.w};
  if (g.sh != 1 || g.sw != 1) return false;
  // t's filter [tap][cout][cin] (its own [kh, kw, cin, cout]) is w turned, read through a view.
  const FilterView turned = turned_filter(g, w);
  if (amx_conv_applies(t)) {
    amx_conv(t, dy, turned, dx, epilogue);
    return true;
  }
  if (!direct_applies(g) || !direct_applies(t)) return false;
  if (const int m = winograd_tile(t)) {
    winograd_conv(t, m, dy, turned, dx);
    epilogue_pass(t, epilogue, dx);
    return true;
  }
  const auto panels = pack_panels(turned.taps * g.cout, g.cin, direct().panel_width(g.cin), [&](long k, int ci) { return turned.at(k / g.cout, k % g.cout, ci); });
  direct_forward(t, dy, panels, dx, epilogue);
  return true;
}

// One output phase (py, px) of a strided conv's input gradient: the input pixels
// (py + sh·a, px + sw·b) receive only the taps ky ≡ py + pt (mod sh), kx ≡ px + pl (mod sw), which
// form a stride-1 conv of dy with a sub-filter (those taps in reverse order, channel axes swapped),
// or, when no tap lands there (a kernel smaller than the stride), nothing: those pixels are zero.
struct InputPhase {
  int py, px;
  ConvGeometry g;             // that stride-1 conv: g.oh × g.ow are the phase's input pixels
  std::vector<float> filter;  // the sub-filter as direct panels (empty when no tap lands)

  bool empty() const { return g.kh == 0 || g.kw == 0; }
};

// The taps of one axis that land on phase p: the first, how many, and the sub-conv's padding.
struct PhaseTaps {
  int first, count, pad;
};

PhaseTaps phase_taps(int p, int pad, int stride, int k) {
  const int first = (p + pad) % stride;
  const int count = first < k ? (k - 1 - first) / stride + 1 : 0;
  return {first, count, count - 1 - (p + pad - first) / stride};
}

// The phases of g's input gradient with w's sub-filters, or none — and the im2col path runs — when
// one does not fit the direct kernels or no phase gets a tap. A phase with one tap (a 1×1 sub-conv) runs on the direct
// kernels too: it then writes straight into dx, and adds in the same order as a GEMM.
std::vector<InputPhase> input_phases(const ConvGeometry& g, const float* w) {
  std::vector<InputPhase> phases;
  for (int py = 0; py < g.sh && py < g.h; ++py)
    for (int px = 0; px < g.sw && px < g.w; ++px) {
      const PhaseTaps ty = phase_taps(py, g.pt, g.sh, g.kh), tx = phase_taps(px, g.pl, g.sw, g.kw);
      const ConvGeometry t{g.n, g.oh, g.ow, g.cout, ty.count, tx.count, g.cin, 1, 1, ty.pad, tx.pad,
                           (g.h - py + g.sh - 1) / g.sh, (g.w - px + g.sw - 1) / g.sw};
      if (ty.count == 0 || tx.count == 0) {
        phases.push_back({py, px, t, {}});
        continue;
      }
      // Sub-filter entry (tap, co, ci): tap (a, b) is g's tap (first + (count − 1 − a)·stride) per axis.
      const auto value = [&](long tap, long co, long ci) {
        const long ky = ty.first + (ty.count - 1 - tap / tx.count) * g.sh, kx = tx.first + (tx.count - 1 - tap % tx.count) * g.sw;
        return w[((ky * g.kw + kx) * g.cin + ci) * g.cout + co];
      };
      if (t.pt < 0 || t.pl < 0 || t.kh * t.kw > kDirectMaxTaps) return {};
      phases.push_back({py, px, t, pack_panels(static_cast<long>(t.kh) * t.kw * g.cout, g.cin, direct().panel_width(g.cin),
                                               [&](long k, int ci) { return value(k / g.cout, k % g.cout, ci); })});
    }
  if (std::all_of(phases.begin(), phases.end(), [](const InputPhase& phase) { return phase.empty(); })) return {};
  return phases;
}

// One zero-padded copy of a dy image that serves every phase: placed at (top, left), the largest
// padding a phase asks for, and as tall and wide as the furthest a phase reads; a phase with less
// padding reads it from (top − its pt, left − its pl) on.
struct SharedPadding {
  ConvGeometry g;  // a phase's geometry with the shared padding (what pad_image reads)
  PaddedSize size;
};

// For input_phases' phases (at least one has a tap).
SharedPadding shared_padding(const std::vector<InputPhase>& phases) {
  const auto tapped = std::find_if(phases.begin(), phases.end(), [](const InputPhase& phase) { return !phase.empty(); });
  SharedPadding s{tapped->g, {0, 0}};
  for (const InputPhase& phase : phases) {
    if (phase.empty()) continue;
    s.g.pt = std::max(s.g.pt, phase.g.pt);
    s.g.pl = std::max(s.g.pl, phase.g.pl);
    s.g.kw = std::max(s.g.kw, phase.g.kw);
  }
  for (const InputPhase& phase : phases) {
    if (phase.empty()) continue;
    const PaddedSize own = padded_size(phase.g);
    s.size.height = std::max(s.size.height, s.g.pt - phase.g.pt + own.height);
    s.size.width = std::max(s.size.width, s.g.pl - phase.g.pl + own.width);
  }
  return s;
}

// conv2d_backprop_input of a strided conv, phase by phase on the direct kernels (no col2im
// scatter-add: each input pixel is written once, by its phase straight into dx). False when it does
// not apply, or when RTKD_NATIVE_STRIDED_INPUT=0 (read at every call, for A/B runs) asks for im2col.
bool strided_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx, const ConvEpilogue& epilogue = {}) {
  const char* env = std::getenv("RTKD_NATIVE_STRIDED_INPUT");
  if ((g.sh == 1 && g.sw == 1) || g.pt < 0 || g.pl < 0 || (env && std::strcmp(env, "0") == 0)) return false;
  const std::vector<InputPhase> phases = input_phases(g, w);
  if (phases.empty()) return false;
  const SharedPadding shared = shared_padding(phases);
  const long dySize = static_cast<long>(g.oh) * g.ow * g.cout, dxSize = static_cast<long>(g.h) * g.w * g.cin;
  const OutputLayout phaseLayout{static_cast<long>(g.sw) * g.cin, static_cast<long>(g.sh) * g.w * g.cin};
  const DirectConvKernels& kernels = direct();
  pool().parallel_for(g.n, [&](long n) {
    const float* image = dy + n * dySize;
    float* out = dx + n * dxSize;
    const float* padded = pad_image(shared.g, shared.size, image);
    for (const InputPhase& phase : phases) {
      const ConvGeometry& t = phase.g;
      float* first = out + (static_cast<long>(phase.py) * g.w + phase.px) * g.cin;
      if (phase.empty()) {
        for (int a = 0; a < t.oh; ++a)
          for (int b = 0; b < t.ow; ++b) std::memset(first + a * phaseLayout.row + b * phaseLayout.pixel, 0, g.cin * sizeof(float));
        continue;
      }
      const long shift = (static_cast<long>(shared.g.pt - t.pt) * shared.size.width + (shared.g.pl - t.pl)) * t.cin;
      kernels.forward(t, padded + shift, shared.size.width, phase.filter.data(), first, phaseLayout);
    }
    const long pixels = static_cast<long>(g.h) * g.w;
    if (!epilogue.empty()) apply_epilogue(epilogue, dx, n * pixels, (n + 1) * pixels, g.cin);
  });
  return true;
}

}  // namespace

Isa isa() {
  static const Isa picked = pick_isa();
  return picked;
}

#if defined(__x86_64__)
void sgemm_avx2(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate) {
  sgemm_with<Avx2, 6, 2>(M, N, K, A, B, C, ldc, accumulate);
}

const WinogradKernels& winograd_kernels_avx2() { return WinoFlavour<Avx2, 6, 2, 12, 1>::kernels(); }

const WinogradFilterKernels& winograd_filter_kernels_avx2() { return WinoFilterFlavour<Avx2, 6, 2, 12, 1>::kernels(); }

namespace {
void direct_filter_avx2(const ConvGeometry& g, const float* padded, int paddedWidth, const float* dy, float* dw) {
  if (g.cout % 16 == 0) filter_image<Avx2, 4, 2>(g, padded, paddedWidth, dy, dw);
  else filter_image<Avx2, 8, 1>(g, padded, paddedWidth, dy, dw);
}
}  // namespace

const DirectConvKernels& direct_kernels_avx2() {
  static const DirectConvKernels kernels{Avx2::W, Avx2Forward::panel_width, Avx2Forward::forward, direct_filter_avx2};
  return kernels;
}
#endif

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, float* y) {
  if (amx_conv_applies(g)) return amx_conv(g, x, plain_filter(g, w), y);
  conv2d_forward_with(g, x, w, y, {});
}

// Every path but AMX (conv2d_forward's and conv2d_bias_act's own check).
void conv2d_forward_with(const ConvGeometry& g, const float* x, const float* w, float* y, const ConvEpilogue& epilogue) {
  const long M = static_cast<long>(g.oh) * g.ow, K = static_cast<long>(g.kh) * g.kw * g.cin;
  if (const int m = winograd_tile(g)) {
    winograd_conv(g, m, x, plain_filter(g, w), y);
    return epilogue_pass(g, epilogue, y);
  }
  if (direct_applies(g)) {
    const auto panels = pack_panels(K, g.cout, direct().panel_width(g.cout), [&](long k, int co) { return w[k * g.cout + co]; });
    direct_forward(g, x, panels, y, epilogue);
    return;
  }
  const long inSize = static_cast<long>(g.h) * g.w * g.cin;
  const bool pointwise = is_pointwise(g);
  pool().parallel_for(g.n, [&](long n) {
    const float* img = x + n * inSize;
    Matrix A{img, K, 1};
    if (!pointwise) {
      float* col = grow(colBuffer, M * K);
      im2col(g, img, col);
      A.data = col;
    }
    sgemm(M, g.cout, K, A, Matrix{w, g.cout, 1}, y + n * M * g.cout, g.cout, false);
    if (!epilogue.empty()) apply_epilogue(epilogue, y, n * M, (n + 1) * M, g.cout);
  });
}

namespace {

// conv2d_backprop_input with `epilogue` (x's shape: rows n·h·w, channels cin) applied to dx; per
// image as it is written on every path but Winograd's.
void backprop_input_with(const ConvGeometry& g, const float* dy, const float* w, float* dx, const ConvEpilogue& epilogue) {
  if (direct_backprop_input(g, dy, w, dx, epilogue) || strided_backprop_input(g, dy, w, dx, epilogue)) return;
  const long M = static_cast<long>(g.oh) * g.ow, K = static_cast<long>(g.kh) * g.kw * g.cin;
  const long pixels = static_cast<long>(g.h) * g.w, inSize = pixels * g.cin;
  const bool pointwise = is_pointwise(g);
  pool().parallel_for(g.n, [&](long n) {
    Matrix A{dy + n * M * g.cout, g.cout, 1};
    Matrix B{w, 1, g.cout};  // wᵀ: (co, kk) -> w[kk*cout + co]
    if (pointwise) {
      sgemm(M, K, g.cout, A, B, dx + n * inSize, K, false);
    } else {
      float* col = grow(colBuffer, M * K);
      sgemm(M, K, g.cout, A, B, col, K, false);
      col2im(g, col, dx + n * inSize);
    }
    if (!epilogue.empty()) apply_epilogue(epilogue, dx, n * pixels, (n + 1) * pixels, g.cin);
  });
}

}  // namespace

void conv2d_backprop_input_add(const ConvGeometry& g, const float* dy, const float* w, const float* addend, float* dx) {
  backprop_input_with(g, dy, w, dx, {nullptr, addend, false});
}

void conv2d_backprop_input(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  backprop_input_with(g, dy, w, dx, {});
}

// The direct filter gradient re-reads the image once per (tap, channel tile): on small outputs its
// short loops lose to im2col + GEMM — below 128 pixels with AVX2, below 64 with AVX-512, whose
// direct kernel beat im2col on 8×8 outputs of stride-2 convs (16×16×32→64: 0.74–0.80 of its time;
// 16×16×64→128: 0.89–1.04; AVX2 1.01–1.25). Both paths add each image's pixels in the same order.
bool direct_filter_applies(const ConvGeometry& g) {
  const long fewestPixels = isa() == Isa::kAvx512 ? 64 : 128;
  return direct().filter && direct_applies(g) && g.cout % direct().lanes == 0 && static_cast<long>(g.oh) * g.ow >= fewestPixels;
}

void conv2d_backprop_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  if (const int m = winograd_filter_tile(g)) return winograd_filter(g, m, x, dy, dw);
  const long M = static_cast<long>(g.oh) * g.ow, K = static_cast<long>(g.kh) * g.kw * g.cin;
  const long inSize = static_cast<long>(g.h) * g.w * g.cin;
  const bool pointwise = is_pointwise(g);
  const bool useDirect = direct_filter_applies(g);
  const PaddedSize padded = padded_size(g);
  // A fixed split of the batch (independent of the thread count) into groups with their own partial dW.
  const long groups = std::min<long>(g.n, 8);
  const long size = K * g.cout;
  std::vector<float> partial(groups * size, 0.f);
  pool().parallel_for(groups, [&](long gi) {
    long first = gi * g.n / groups, last = (gi + 1) * g.n / groups;
    float* out = partial.data() + gi * size;
    for (long n = first; n < last; ++n) {
      const float* img = x + n * inSize;
      const float* grad = dy + n * M * g.cout;
      if (useDirect) {
        direct().filter(g, pad_image(g, padded, img), padded.width, grad, out);
        continue;
      }
      Matrix A{img, 1, K};  // colᵀ: (kk, m) -> col[m*K + kk]
      if (!pointwise) {
        float* col = grow(colBuffer, M * K);
        im2col(g, img, col);
        A.data = col;
      }
      sgemm(K, g.cout, M, A, Matrix{grad, g.cout, 1}, out, g.cout, true);
    }
  });
  std::memcpy(dw, partial.data(), size * sizeof(float));
  for (long gi = 1; gi < groups; ++gi) {
    const float* p = partial.data() + gi * size;
    for (long i = 0; i < size; ++i) dw[i] += p[i];
  }
}

void batch_matmul(const float* a, const float* b, float* c, int batch, int aBatch, int bBatch, int m, int n, int k, bool transA, bool transB) {
  const long rowBlock = 64;
  const long blocks = (m + rowBlock - 1) / rowBlock;
  pool().parallel_for(static_cast<long>(batch) * blocks, [&](long task) {
    long bi = task / blocks, i0 = (task % blocks) * rowBlock;
    long rows = std::min<long>(rowBlock, m - i0);
    const float* ab = a + (aBatch == 1 ? 0 : bi) * static_cast<long>(m) * k;
    const float* bb = b + (bBatch == 1 ? 0 : bi) * static_cast<long>(k) * n;
    Matrix A = transA ? Matrix{ab + i0, 1, m} : Matrix{ab + i0 * k, k, 1};
    Matrix B = transB ? Matrix{bb, 1, k} : Matrix{bb, n, 1};
    sgemm(rows, n, k, A, B, c + bi * static_cast<long>(m) * n + i0 * n, n, false);
  });
}

namespace {
template <typename F>
void binary_loop(int rank, const int64_t* dims, const float* a, const int64_t* as, const float* b, const int64_t* bs, float* out, F f) {
  // Inner dimension = last; outer index over the others (rank ≤ 4).
  int64_t inner = dims[rank - 1], ia = as[rank - 1], ib = bs[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; ++d) outer *= dims[d];
  // Elements [i0, i1) of output row o.
  auto row = [&](int64_t o, int64_t i0, int64_t i1) {
    int64_t rest = o, offA = 0, offB = 0;
    for (int d = rank - 2; d >= 0; --d) {
      int64_t idx = rest % dims[d];
      rest /= dims[d];
      offA += idx * as[d];
      offB += idx * bs[d];
    }
    const float* pa = a + offA;
    const float* pb = b + offB;
    float* po = out + o * inner;
    if (ia == 1 && ib == 1) for (int64_t i = i0; i < i1; ++i) po[i] = f(pa[i], pb[i]);
    else if (ia == 1 && ib == 0) { float vb = pb[0]; for (int64_t i = i0; i < i1; ++i) po[i] = f(pa[i], vb); }
    else if (ia == 0 && ib == 1) { float va = pa[0]; for (int64_t i = i0; i < i1; ++i) po[i] = f(va, pb[i]); }
    else for (int64_t i = i0; i < i1; ++i) po[i] = f(pa[i * ia], pb[i * ib]);
  };
  if (inner > (1 << 16)) {
    // Long rows (e.g. a whole tensor coalesced to one dim): split each row into blocks.
    const int64_t block = 1 << 15, blocks = (inner + block - 1) / block;
    pool().parallel_for(outer * blocks, [&](long t) {
      int64_t o = t / blocks, i0 = (t % blocks) * block;
      row(o, i0, std::min<int64_t>(inner, i0 + block));
    });
    return;
  }
  const int64_t chunk = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(inner, 1));
  pool().parallel_for((outer + chunk - 1) / chunk, [&](long t) {
    int64_t o0 = t * chunk, o1 = std::min<int64_t>(outer, o0 + chunk);
    for (int64_t o = o0; o < o1; ++o) row(o, 0, inner);
  });
}
}  // namespace

void binary(int op, int rank, const int64_t* dims, const float* a, const int64_t* as, const float* b, const int64_t* bs, float* out) {
  switch (op) {
    case kAdd: return binary_loop(rank, dims, a, as, b, bs, out, [](float x, float y) { return x + y; });
    case kSub: return binary_loop(rank, dims, a, as, b, bs, out, [](float x, float y) { return x - y; });
    case kMul: return binary_loop(rank, dims, a, as, b, bs, out, [](float x, float y) { return x * y; });
    case kDiv: return binary_loop(rank, dims, a, as, b, bs, out, [](float x, float y) { return x / y; });
    case kSquaredDifference: return binary_loop(rank, dims, a, as, b, bs, out, [](float x, float y) { float d = x - y; return d * d; });
    case kMaximum: return binary_loop(rank, dims, a, as, b, bs, out, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y); });
    case kMinimum: return binary_loop(rank, dims, a, as, b, bs, out, [](float x, float y) { return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y); });
  }
}

void unary(int op, const float* x, float* out, int64_t size, float alpha) {
  const int64_t chunk = 1 << 16;
  pool().parallel_for((size + chunk - 1) / chunk, [&](long t) {
    int64_t i0 = t * chunk, i1 = std::min<int64_t>(size, i0 + chunk);
    switch (op) {
      case kRelu: for (int64_t i = i0; i < i1; ++i) out[i] = std::isnan(x[i]) ? x[i] : (x[i] < 0.f ? 0.f : x[i]); break;
      case kStep: for (int64_t i = i0; i < i1; ++i) out[i] = std::isnan(x[i]) ? NAN : (x[i] > 0.f ? 1.f : alpha); break;
      case kSquare: for (int64_t i = i0; i < i1; ++i) out[i] = x[i] * x[i]; break;
      case kNeg: for (int64_t i = i0; i < i1; ++i) out[i] = -x[i]; break;
      case kRsqrt: for (int64_t i = i0; i < i1; ++i) out[i] = 1.f / std::sqrt(x[i]); break;
      case kExp: for (int64_t i = i0; i < i1; ++i) out[i] = std::exp(x[i]); break;
      case kSqrt: for (int64_t i = i0; i < i1; ++i) out[i] = std::sqrt(x[i]); break;
    }
  });
}

void reduce_sum(const float* x, float* out, int64_t outer, int64_t red, int64_t inner, bool mean) {
  const float scale = mean ? 1.f / static_cast<float>(red) : 1.f;
  if (inner == 1) {
    // 8 interleaved partial sums (one SIMD lane each), added in a fixed order.
    const int64_t chunk = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(red, 1));
    pool().parallel_for((outer + chunk - 1) / chunk, [&](long t) {
      const int64_t o1 = std::min<int64_t>(outer, (t + 1) * chunk);
      for (int64_t o = t * chunk; o < o1; ++o) {
        const float* p = x + o * red;
        float lanes[8] = {};
        int64_t r = 0;
        for (; r + 8 <= red; r += 8)
          for (int l = 0; l < 8; ++l) lanes[l] += p[r + l];
        float s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
        for (; r < red; ++r) s += p[r];
        out[o] = mean ? s / static_cast<float>(red) : s;
      }
    });
    return;
  }
  // Fixed chunks of the reduced axis (independent of the thread count); partials added in order.
  const int64_t rowsPerChunk = std::max<int64_t>(64, (1 << 15) / inner);
  const int64_t chunks = (red + rowsPerChunk - 1) / rowsPerChunk;
  std::vector<float> partial(outer * chunks * inner, 0.f);
  pool().parallel_for(outer * chunks, [&](long t) {
    int64_t o = t / chunks, ch = t % chunks;
    int64_t r0 = ch * rowsPerChunk, r1 = std::min<int64_t>(red, r0 + rowsPerChunk);
    float* acc = partial.data() + t * inner;
    for (int64_t r = r0; r < r1; ++r) {
      const float* p = x + (o * red + r) * inner;
      for (int64_t i = 0; i < inner; ++i) acc[i] += p[i];
    }
  });
  for (int64_t o = 0; o < outer; ++o) {
    float* dst = out + o * inner;
    const float* first = partial.data() + o * chunks * inner;
    for (int64_t i = 0; i < inner; ++i) dst[i] = first[i];
    for (int64_t ch = 1; ch < chunks; ++ch) {
      const float* p = first + ch * inner;
      for (int64_t i = 0; i < inner; ++i) dst[i] += p[i];
    }
    if (mean) for (int64_t i = 0; i < inner; ++i) dst[i] /= static_cast<float>(red);
  }
  (void)scale;
}

void reduce_strided(int op, int rank, const int64_t* dims, const int64_t* reduced, const float* x, float* out) {
  // Output strides over the kept dims (0 on reduced dims); input is walked in order.
  std::vector<int64_t> ostride(rank, 0), istride(rank, 1);
  int64_t osize = 1, count = 1;
  for (int d = rank - 1; d >= 0; --d) {
    if (!reduced[d]) { ostride[d] = osize; osize *= dims[d]; } else count *= dims[d];
  }
  for (int d = rank - 2; d >= 0; --d) istride[d] = istride[d + 1] * dims[d + 1];
  const float init = op == kReduceMax ? -INFINITY : op == kReduceMin ? INFINITY : 0.f;
  for (int64_t i = 0; i < osize; ++i) out[i] = init;
  // Split over dim 0 when it is kept (disjoint outputs per index), else run as one piece.
  const int64_t pieces = reduced[0] ? 1 : dims[0];
  pool().parallel_for(pieces, [&](long piece) {
    std::vector<int64_t> idx(rank, 0);
    const int64_t begin = reduced[0] ? 0 : piece * istride[0];
    const int64_t end = reduced[0] ? istride[0] * dims[0] : begin + istride[0];
    if (!reduced[0]) idx[0] = piece;
    int64_t o = reduced[0] ? 0 : piece * ostride[0];
    const int last = rank - 1;
    const int64_t innerLen = dims[last], innerStride = ostride[last];
    for (int64_t i = begin; i < end; i += innerLen) {
      const float* p = x + i;
      float* q = out + o;
      switch (op) {
        case kReduceSum: case kReduceMean:
          if (innerStride == 0) { float s = q[0]; for (int64_t k = 0; k < innerLen; ++k) s += p[k]; q[0] = s; }
          else for (int64_t k = 0; k < innerLen; ++k) q[k] += p[k];
          break;
        case kReduceMax:
          for (int64_t k = 0; k < innerLen; ++k) { float& r = q[k * innerStride]; const float v = p[k]; r = (v > r || v != v) && r == r ? v : r; }
          break;
        case kReduceMin:
          for (int64_t k = 0; k < innerLen; ++k) { float& r = q[k * innerStride]; const float v = p[k]; r = (v < r || v != v) && r == r ? v : r; }
          break;
      }
      // Advance the odometer over dims [0, last).
      for (int d = last - 1; d >= 0; --d) {
        if (++idx[d] < dims[d]) { o += ostride[d]; break; }
        o -= ostride[d] * (dims[d] - 1);
        idx[d] = 0;
      }
    }
  });
  if (op == kReduceMean) for (int64_t i = 0; i < osize; ++i) out[i] /= static_cast<float>(count);
}

void add_n(const float* const* inputs, int count, float* out, int64_t size) {
  const int64_t chunk = 1 << 16;
  pool().parallel_for((size + chunk - 1) / chunk, [&](long t) {
    int64_t i0 = t * chunk, i1 = std::min<int64_t>(size, i0 + chunk);
    for (int64_t i = i0; i < i1; ++i) out[i] = inputs[0][i];
    for (int c = 1; c < count; ++c)
      for (int64_t i = i0; i < i1; ++i) out[i] += inputs[c][i];
  });
}

}  // namespace rtkd

#if defined(__x86_64__) && defined(__clang__)
#pragma clang attribute pop
#endif
