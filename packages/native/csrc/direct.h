// Direct NHWC convolution (no im2col matrix): the output tile of MR neighbouring pixels of one
// output row × NR output channels stays in registers while the kernel walks the filter taps and
// input channels, broadcasting input values straight from a zero-padded copy of the image. For
// the 3×3 convs of CIFAR nets this runs at ~90% of the FMA peak, where im2col + GEMM spent about
// half of its time writing, re-reading and packing the im2col matrix.
//
// The templates below take a SIMD flavour V (lanes V::W, load/broadcast/fma/store) and live in an
// anonymous namespace: kernels.cc (AVX2), avx512.cc and generic.cc each compile private copies for
// their own target. They use no std:: templates, so no AVX-512 code can leak into shared inline
// functions (see avx512.cc).
#pragma once

#include "kernels.h"

namespace rtkd {

// Largest kh·kw the direct kernels handle (7×7); bigger filters take the im2col path.
constexpr int kDirectMaxTaps = 49;

// Where a direct forward kernel writes an output image: floats between neighbouring pixels of a
// row and between rows (a strided input gradient's phase writes every other pixel of dx).
struct OutputLayout {
  long pixel, row;
};

// The packed [oh, ow, cout] layout of g's output.
inline OutputLayout direct_output(const ConvGeometry& g) { return {g.cout, static_cast<long>(g.ow) * g.cout}; }

// The per-image direct kernels of one SIMD flavour. `padded` is one image placed at (pt, pl)
// inside zeros, `paddedWidth` pixels wide, with enough rows for every tap of every output row and
// kDirectSlack(g) readable floats after its end (tiles read a little past the last pixel and
// discard it).
struct DirectConvKernels {
  int lanes;  // floats per vector
  // Output channels per filter panel for `cout` (the panels are zero-padded to this width).
  int (*panel_width)(int cout);
  // y[oh, ow, cout] of one image from filter panels [ceil(cout/NR)][kh·kw·cin][NR], output pixel
  // (oy, ox) at y + oy·out.row + ox·out.pixel (direct_output(g): packed).
  void (*forward)(const ConvGeometry& g, const float* padded, int paddedWidth, const float* panels, float* y, const OutputLayout& out);
  // dw[kh, kw, cin, cout] += the filter gradient of one image; needs cout % lanes == 0. Null when
  // the flavour has none worth using.
  void (*filter)(const ConvGeometry& g, const float* padded, int paddedWidth, const float* dy, float* dw);
};

// Floats readable after a padded image: tiles of up to 16 rows read past the last output pixel.
inline long direct_slack(const ConvGeometry& g) { return (16L * g.sw + g.kw + 1) * g.cin + 64; }

const DirectConvKernels& direct_kernels_avx2();
const DirectConvKernels& direct_kernels_avx512();
const DirectConvKernels& direct_kernels_generic();

// Whether conv2d_backprop_filter (when Winograd does not apply) runs the direct filter kernel of
// the active ISA, else im2col + GEMM.
bool direct_filter_applies(const ConvGeometry& g);

namespace {

// A row stride known at compile time (0: read at run time). With a constant stride every row of a
// register tile is a constant displacement from one pointer; a stride read at run time needs an
// indexed address per row, and Intel cores split a broadcast-FMA with an indexed address into two
// µops (1.5× slower tiles, measured on a Xeon with AVX-512).
template <long L>
struct RowStride {
  static constexpr long value = L;
};

// Calls fn(RowStride<lda>{}) for the strides of the CIFAR nets' tiles (channel counts 16–128),
// else fn(RowStride<0>{}).
template <class Fn>
inline void with_row_stride(long lda, Fn&& fn) {
  switch (lda) {
    case 16: return fn(RowStride<16>{});
    case 32: return fn(RowStride<32>{});
    case 64: return fn(RowStride<64>{});
    case 128: return fn(RowStride<128>{});
    default: return fn(RowStride<0>{});
  }
}

template <class V, int MR, int NV, long L = 0>
inline void forward_tile(const float* a, long ldaAtRunTime, const long* tapOffsets, int taps, int cin, const float* bp, float* c, long ldc) {
  const long lda = L ? L : ldaAtRunTime;
  typename V::vec acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
  for (int t = 0; t < taps; ++t) {
    const float* at = a + tapOffsets[t];
    for (int ci = 0; ci < cin; ++ci) {
      typename V::vec b[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) b[j] = V::load(bp + V::W * j);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const typename V::vec av = V::broadcast(at + i * lda + ci);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(av, b[j], acc[i][j]);
      }
      bp += V::W * NV;
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) V::store(c + i * ldc + V::W * j, acc[i][j]);
}

// forward_tile with R = rows (1 ≤ rows ≤ MR) chosen at compile time, so a row's last, partial
// tile computes only its own pixels (each output's sum runs in the same order: the same bits).
template <class V, int R, int NV, long L>
inline void forward_rows(int rows, const float* a, long lda, const long* tapOffsets, int taps, int cin, const float* bp, float* c, long ldc) {
  if constexpr (R > 1) {
    if (rows < R) return forward_rows<V, R - 1, NV, L>(rows, a, lda, tapOffsets, taps, cin, bp, c, ldc);
  }
  forward_tile<V, R, NV, L>(a, lda, tapOffsets, taps, cin, bp, c, ldc);
}

inline void tap_offsets(const ConvGeometry& g, int paddedWidth, long* offsets) {
  for (int ky = 0; ky < g.kh; ++ky)
    for (int kx = 0; kx < g.kw; ++kx) offsets[ky * g.kw + kx] = (static_cast<long>(ky) * paddedWidth + kx) * g.cin;
}

template <class V, int MR, int NV, long L>
void forward_image_with(const ConvGeometry& g, const float* padded, int paddedWidth, const float* panels, float* y, const OutputLayout& layout) {
  constexpr int NR = V::W * NV;
  const int taps = g.kh * g.kw;
  long offsets[kDirectMaxTaps];
  tap_offsets(g, paddedWidth, offsets);
  const long K = static_cast<long>(taps) * g.cin;
  const long lda = static_cast<long>(g.sw) * g.cin;
  alignas(64) float tile[MR * NR];
  for (int oy = 0; oy < g.oh; ++oy)
    for (int ox = 0; ox < g.ow; ox += MR) {
      const int rows = g.ow - ox < MR ? g.ow - ox : MR;
      const float* a = padded + (static_cast<long>(oy) * g.sh * paddedWidth + static_cast<long>(ox) * g.sw) * g.cin;
      float* out = y + oy * layout.row + ox * layout.pixel;
      for (int c0 = 0; c0 < g.cout; c0 += NR) {
        const int cols = g.cout - c0 < NR ? g.cout - c0 : NR;
        const float* bp = panels + (c0 / NR) * K * NR;
        if (cols == NR) {
          forward_rows<V, MR, NV, L>(rows, a, lda, offsets, taps, g.cin, bp, out + c0, layout.pixel);
          continue;
        }
        forward_rows<V, MR, NV, L>(rows, a, lda, offsets, taps, g.cin, bp, tile, NR);
        for (int r = 0; r < rows; ++r)
          for (int q = 0; q < cols; ++q) out[r * layout.pixel + c0 + q] = tile[r * NR + q];
      }
    }
}

template <class V, int MR, int NV>
void forward_image(const ConvGeometry& g, const float* padded, int paddedWidth, const float* panels, float* y, const OutputLayout& layout) {
  with_row_stride(static_cast<long>(g.sw) * g.cin, [&](auto stride) {
    forward_image_with<V, MR, NV, decltype(stride)::value>(g, padded, paddedWidth, panels, y, layout);
  });
}

// dw[MR input channels][NR output channels] += Σ over output pixels of x(pixel + tap) · dy(pixel).
template <class V, int MR, int NV>
inline void filter_tile(const ConvGeometry& g, int paddedWidth, const float* a, const float* dy, float* dw, int rows) {
  typename V::vec acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
  const long pixelStep = static_cast<long>(g.sw) * g.cin;
  for (int oy = 0; oy < g.oh; ++oy) {
    const float* ar = a + static_cast<long>(oy) * g.sh * paddedWidth * g.cin;
    const float* dr = dy + static_cast<long>(oy) * g.ow * g.cout;
    for (int ox = 0; ox < g.ow; ++ox, ar += pixelStep, dr += g.cout) {
      typename V::vec b[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) b[j] = V::load(dr + V::W * j);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const typename V::vec av = V::broadcast(ar + i);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(av, b[j], acc[i][j]);
      }
    }
  }
  // A compile-time loop with a run-time guard: indexing acc by a run-time row would keep the
  // accumulators in memory instead of registers (3x slower).
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= rows) break;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* d = dw + static_cast<long>(i) * g.cout + V::W * j;
      V::store(d, V::add(V::load(d), acc[i][j]));
    }
  }
}

template <class V, int MR, int NV>
void filter_image(const ConvGeometry& g, const float* padded, int paddedWidth, const float* dy, float* dw) {
  constexpr int NR = V::W * NV;
  long offsets[kDirectMaxTaps];
  tap_offsets(g, paddedWidth, offsets);
  for (int t = 0; t < g.kh * g.kw; ++t)
    for (int ci = 0; ci < g.cin; ci += MR) {
      const int rows = g.cin - ci < MR ? g.cin - ci : MR;
      for (int c0 = 0; c0 < g.cout; c0 += NR)
        filter_tile<V, MR, NV>(g, paddedWidth, padded + offsets[t] + ci, dy + c0, dw + (static_cast<long>(t) * g.cin + ci) * g.cout + c0, rows);
    }
}

// dw[3, 3, 3, cout] += the filter gradient of one image of a 3×3 conv with 3 input channels (an
// RGB stem; cout a multiple of V::W): the 27 (tap, channel) sums of a vector of output channels in
// registers at once, one pass over the image, where filter_image's tile would use 3 of its rows
// per tap. Each sum adds the pixels in the same order as filter_tile: the same bits.
template <class V>
void filter_image_rgb(const ConvGeometry& g, const float* padded, int paddedWidth, const float* dy, float* dw) {
  const long rowStride = static_cast<long>(paddedWidth) * 3, pixelStep = static_cast<long>(g.sw) * 3;
  for (int c0 = 0; c0 < g.cout; c0 += V::W) {
    typename V::vec acc[27];
#pragma GCC unroll 27
    for (int k = 0; k < 27; ++k) acc[k] = V::zero();
    for (int oy = 0; oy < g.oh; ++oy) {
      const float* r0 = padded + static_cast<long>(oy) * g.sh * rowStride;  // tap row ky = 0, then 1, 2
      const float* r1 = r0 + rowStride;
      const float* r2 = r1 + rowStride;
      const float* d = dy + static_cast<long>(oy) * g.ow * g.cout + c0;
      for (int ox = 0; ox < g.ow; ++ox, r0 += pixelStep, r1 += pixelStep, r2 += pixelStep, d += g.cout) {
        const typename V::vec b = V::load(d);
#pragma GCC unroll 9
        for (int c = 0; c < 9; ++c) {  // c = kx·3 + channel
          acc[c] = V::fma(V::broadcast(r0 + c), b, acc[c]);
          acc[9 + c] = V::fma(V::broadcast(r1 + c), b, acc[9 + c]);
          acc[18 + c] = V::fma(V::broadcast(r2 + c), b, acc[18 + c]);
        }
      }
    }
#pragma GCC unroll 27
    for (int k = 0; k < 27; ++k) {
      float* out = dw + static_cast<long>(k) * g.cout + c0;
      V::store(out, V::add(V::load(out), acc[k]));
    }
  }
}

// The forward kernels of flavour V: a wide register tile (WideMR pixels × WideNV vectors) for
// outputs with more than NarrowNV vectors of channels, else a narrow one (NarrowMR × NarrowNV).
template <class V, int WideMR, int WideNV, int NarrowMR, int NarrowNV>
struct DirectForward {
  static int panel_width(int cout) { return cout > V::W * NarrowNV ? V::W * WideNV : V::W * NarrowNV; }

  static void forward(const ConvGeometry& g, const float* padded, int paddedWidth, const float* panels, float* y, const OutputLayout& out) {
    if (panel_width(g.cout) == V::W * WideNV) forward_image<V, WideMR, WideNV>(g, padded, paddedWidth, panels, y, out);
    else forward_image<V, NarrowMR, NarrowNV>(g, padded, paddedWidth, panels, y, out);
  }
};

}  // namespace
}  // namespace rtkd
