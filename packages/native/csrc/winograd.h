// Winograd convolution F(m×m, 3×3) for stride-1 3×3 NHWC convs (any zero padding): each m×m output
// tile comes from an (m+2)×(m+2) input tile d as Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, and the channel sums
// of the element-wise products become (m+2)² GEMMs over channels on the packed GEMM (gemm.h).
// F(2×2,3×3) needs 16 products per 4 outputs where the direct conv needs 36 (2.25× fewer),
// F(4×4,3×3) 36 per 16 outputs (4× fewer) with larger transform constants and so more rounding.
//
// winograd.cc runs the calls (filter transform, pieces of tiles, GEMMs); the input and output
// transforms below are templates over a SIMD flavour V (vectors across channels) and, like
// direct.h, live in an anonymous namespace: kernels.cc (AVX2), avx512.cc and generic.cc compile
// private copies for their own target.
#pragma once

#include <cstddef>
#include <vector>

#include "direct.h"
#include "kernels.h"

namespace rtkd {

// Where an output tile's pixels are: image n, tile row ty, tile column tx of m×m output pixels.
struct WinogradTiles {
  int m;                 // output tile side (2 or 4)
  int tilesH, tilesW;    // tiles per image: ceil(oh/m) × ceil(ow/m)
};

// A filter through G w Gᵀ into the panels the GEMMs read (winograd.cc's transform_filter). w is
// the conv's filter as plain_filter or turned_filter reads it; its rows are the third axis of the
// array it views: cin rows of cout pairs, or turned (the forward filter of the conv whose input
// gradient this conv is) cout rows of cin.
struct WinogradFilterJob {
  const double* G;  // (m+2)×3, row-major
  int a;            // m + 2
  FilterView w;
  int cin, cout;    // of the conv run
  int nr;           // output channels per panel
  float* u;         // u[ξ][ceil(cout/nr)][cin][nr], its padding already zero
};

// The transforms of one SIMD flavour for F(2×2,3×3) (index 0) and F(4×4,3×3) (index 1).
struct WinogradKernels {
  // (Each [ξ] plane below starts winograd_plane(count, channels) floats after the previous one.)
  // v[ξ][i][cin] for tiles first..first+count (numbered n·tilesH·tilesW + ty·tilesW + tx): the
  // (m+2)² values Bᵀ d B of each input tile d, reading `zeros` (≥ cin zero floats) outside the image.
  void (*input[2])(const ConvGeometry& g, const WinogradTiles& t, const float* x, const float* zeros, long first, long count, float* v);
  // y pixels of the same tiles from m[ξ][i][cout] (Aᵀ M A), clipped to the output.
  void (*output[2])(const ConvGeometry& g, const WinogradTiles& t, const float* m, long first, long count, float* y);
  // Output channels per panel of the transformed filter for `cout` (zero-padded to this width).
  int (*panel_width)(int cout);
  // m[ξ][i][cout] = v[ξ][i][:] · u[ξ] for ξ < a2, i < count, from panels u[ξ][ceil(cout/NR)][cin][NR].
  // Reads up to 16 rows of v past the last tile (kWinogradSlack floats after v's end).
  void (*products)(int a2, long count, int cin, int cout, const float* v, const float* panels, float* m);
  // Rows first..first+count of a filter transform: the same float64 operations in the same order on
  // every ISA (vectors across a row's pairs), so the same bits.
  void (*filter)(const WinogradFilterJob& job, long first, long count);
};

// Floats readable after the transformed inputs: the GEMM tiles read up to 16 rows past the end.
inline long winograd_slack(int cin) { return 16L * cin + 64; }

// Floats from one ξ plane of a piece's transformed tiles (v[ξ][i][cin], m[ξ][i][cout], the filter
// path's e[ξ][i][cout]) to the next: count·channels, and one cache line more when that is a multiple
// of 4 KiB. (At 96 or 192 tiles of 16–64 channels it was: the 16 stores of a tile's transform then
// fell in one L1 set, and a forward conv took up to 1.2× its time. The filter path's tile counts
// are odd: its planes are padded only for channel counts that are a multiple of 1024.)
inline long winograd_plane(long count, int channels) {
  const long floats = count * channels;
  return floats % 1024 == 0 ? floats + 16 : floats;
}

const WinogradKernels& winograd_kernels_avx2();
const WinogradKernels& winograd_kernels_avx512();
const WinogradKernels& winograd_kernels_generic();
// The transforms of the instruction set this process runs (isa()).
const WinogradKernels& winograd_kernels();
// `buffer` grown to at least n floats (the callers keep thread-local buffers across calls).
float* winograd_buffer(std::vector<float>& buffer, size_t n);

// G of F(2×2,3×3) and F(4×4,3×3) (rows: the (m+2) filter-transform points); the filter gradient's
// inverse transform (winograd_filter.cc) uses the same tables.
inline constexpr double kWinogradG2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
inline constexpr double kWinogradG4[6][3] = {{1. / 4, 0, 0},          {-1. / 6, -1. / 6, -1. / 6}, {-1. / 6, 1. / 6, -1. / 6},
                                             {1. / 24, 1. / 12, 1. / 6}, {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};

// True when both sides of `g` have 16 to 64 channels: where the fixed rules of the forward conv
// (winograd.cc) and of the filter gradient (winograd_filter.cc) take F(4×4,3×3), unless told
// `accurate`.
bool winograd_f4_channels(const ConvGeometry& g);

// Output tile side Winograd runs `g` with (2 or 4), or 0 for the direct kernels: the fixed shape
// rule of winograd.cc, or RTKD_NATIVE_WINOGRAD (0 = off, 2 or 4 = that tile wherever it applies,
// accurate = the rule without F(4×4,3×3); read at every call).
int winograd_tile(const ConvGeometry& g);

// y = conv(x, w) for a geometry with winograd_tile(g) = m ∈ {2, 4} and a 3×3 filter w.
void winograd_conv(const ConvGeometry& g, int m, const float* x, const FilterView& w, float* y);

namespace {

// 1-D transforms on values of type T (a SIMD vector or a float): in = Bᵀ d, out = Aᵀ m.
struct WinoF2 {
  static constexpr int M = 2, A = 4;
  template <class T>
  static void in(const T* d, int s, T* o, int os) {
    o[0] = d[0] - d[2 * s];
    o[os] = d[s] + d[2 * s];
    o[2 * os] = d[2 * s] - d[s];
    o[3 * os] = d[s] - d[3 * s];
  }
  template <class T>
  static void out(const T* d, int s, T* o, int os) {
    o[0] = d[0] + d[s] + d[2 * s];
    o[os] = d[s] - d[2 * s] - d[3 * s];
  }
};

struct WinoF4 {
  static constexpr int M = 4, A = 6;
  template <class T>
  static void in(const T* d, int s, T* o, int os) {
    const T d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s];
    o[0] = (d4 - d2 * 5.f) + d[0] * 4.f;
    o[os] = (d3 + d4) - (d1 + d2) * 4.f;
    o[2 * os] = (d4 - d3) + (d1 - d2) * 4.f;
    o[3 * os] = (d4 - d2) + (d3 - d1) * 2.f;
    o[4 * os] = (d4 - d2) - (d3 - d1) * 2.f;
    o[5 * os] = (d[5 * s] - d3 * 5.f) + d1 * 4.f;
  }
  template <class T>
  static void out(const T* d, int s, T* o, int os) {
    const T a = d[s] + d[2 * s], b = d[s] - d[2 * s], c = d[3 * s] + d[4 * s], e = d[3 * s] - d[4 * s];
    o[0] = (d[0] + a) + c;
    o[os] = b + e * 2.f;
    o[2 * os] = a + c * 4.f;
    o[3 * os] = (b + e * 8.f) + d[5 * s];
  }
};

struct WinoScalar {  // the channel tail past the last full vector
  using vec = float;
  static constexpr int W = 1;
  static float load(const float* p) { return *p; }
  static void store(float* p, float v) { *p = v; }
};

// Channels [c, c + V::W) of one input tile: src[k] points at pixel k of the tile (row-major).
template <class V, class F>
inline void wino_input_block(const float* const* src, int c, float* dst, long stride) {
  constexpr int A = F::A;
  typename V::vec d[A * A], t[A * A], o[A * A];
#pragma GCC unroll 36
  for (int k = 0; k < A * A; ++k) d[k] = V::load(src[k] + c);
#pragma GCC unroll 6
  for (int j = 0; j < A; ++j) F::in(d + j, A, t + j, A);
#pragma GCC unroll 6
  for (int i = 0; i < A; ++i) F::in(t + i * A, 1, o + i * A, 1);
#pragma GCC unroll 36
  for (int k = 0; k < A * A; ++k) V::store(dst + k * stride + c, o[k]);
}

template <class V, class F>
void wino_input(const ConvGeometry& g, const WinogradTiles& t, const float* x, const float* zeros, long first, long count, float* v) {
  constexpr int A = F::A;
  const long perImage = static_cast<long>(t.tilesH) * t.tilesW, stride = winograd_plane(count, g.cin);
  const float* src[A * A];
  for (long i = 0; i < count; ++i) {
    const long tile = first + i, n = tile / perImage, r = tile % perImage;
    const int iy0 = static_cast<int>(r / t.tilesW) * F::M - g.pt, ix0 = static_cast<int>(r % t.tilesW) * F::M - g.pl;
    const float* img = x + n * g.h * static_cast<long>(g.w) * g.cin;
    for (int ky = 0; ky < A; ++ky)
      for (int kx = 0; kx < A; ++kx) {
        const int iy = iy0 + ky, ix = ix0 + kx;
        src[ky * A + kx] = iy < 0 || iy >= g.h || ix < 0 || ix >= g.w ? zeros : img + (static_cast<long>(iy) * g.w + ix) * g.cin;
      }
    float* dst = v + i * g.cin;
    int c = 0;
    for (; c + V::W <= g.cin; c += V::W) wino_input_block<V, F>(src, c, dst, stride);
    for (; c < g.cin; ++c) wino_input_block<WinoScalar, F>(src, c, dst, stride);
  }
}

// Channels [c, c + V::W) of one output tile from src[ξ·stride + c]; rows × cols of it are stored.
template <class V, class F>
inline void wino_output_block(const float* src, long stride, int c, float* y, long rowStride, int cout, int rows, int cols) {
  constexpr int A = F::A, M = F::M;
  typename V::vec d[A * A], t[M * A], o[M * M];
#pragma GCC unroll 36
  for (int k = 0; k < A * A; ++k) d[k] = V::load(src + k * stride + c);
#pragma GCC unroll 6
  for (int j = 0; j < A; ++j) F::out(d + j, A, t + j, A);
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) F::out(t + i * A, 1, o + i * M, 1);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) V::store(y + i * rowStride + static_cast<long>(j) * cout + c, o[i * M + j]);
}

template <class V, class F>
void wino_output(const ConvGeometry& g, const WinogradTiles& t, const float* m, long first, long count, float* y) {
  const long perImage = static_cast<long>(t.tilesH) * t.tilesW, stride = winograd_plane(count, g.cout), rowStride = static_cast<long>(g.ow) * g.cout;
  for (long i = 0; i < count; ++i) {
    const long tile = first + i, n = tile / perImage, r = tile % perImage;
    const int oy0 = static_cast<int>(r / t.tilesW) * F::M, ox0 = static_cast<int>(r % t.tilesW) * F::M;
    const int rows = g.oh - oy0 < F::M ? g.oh - oy0 : F::M, cols = g.ow - ox0 < F::M ? g.ow - ox0 : F::M;
    float* out = y + ((n * g.oh + oy0) * static_cast<long>(g.ow) + ox0) * g.cout;
    const float* src = m + i * g.cout;
    int c = 0;
    for (; c + V::W <= g.cout; c += V::W) wino_output_block<V, F>(src, stride, c, out, rowStride, g.cout, rows, cols);
    for (; c < g.cout; ++c) wino_output_block<WinoScalar, F>(src, stride, c, out, rowStride, g.cout, rows, cols);
  }
}

// The (m+2)² GEMMs of a piece on direct.h's register tile (an unpacked row-major A, one tap).
template <class V, int MR, int NV, long L>
void wino_products_with(int a2, long count, int cin, int cout, const float* v, const float* up, float* m) {
  constexpr int NR = V::W * NV;
  const int panels = (cout + NR - 1) / NR;
  const long noOffset = 0;
  alignas(64) float tile[MR * NR];
  for (int xi = 0; xi < a2; ++xi) {
    const float* vx = v + xi * winograd_plane(count, cin);
    float* mx = m + xi * winograd_plane(count, cout);
    for (int pn = 0; pn < panels; ++pn) {
      const float* bp = up + (static_cast<long>(xi) * panels + pn) * cin * NR;
      const int c0 = pn * NR, cols = cout - c0 < NR ? cout - c0 : NR;
      for (long i0 = 0; i0 < count; i0 += MR) {
        const int rows = count - i0 < MR ? static_cast<int>(count - i0) : MR;
        if (rows == MR && cols == NR) {
          forward_tile<V, MR, NV, L>(vx + i0 * cin, cin, &noOffset, 1, cin, bp, mx + i0 * cout + c0, cout);
          continue;
        }
        forward_tile<V, MR, NV, L>(vx + i0 * cin, cin, &noOffset, 1, cin, bp, tile, NR);
        for (int r = 0; r < rows; ++r)
          for (int q = 0; q < cols; ++q) mx[(i0 + r) * cout + c0 + q] = tile[r * NR + q];
      }
    }
  }
}

template <class V, int MR, int NV>
void wino_products(int a2, long count, int cin, int cout, const float* v, const float* up, float* m) {
  with_row_stride(cin, [&](auto stride) { wino_products_with<V, MR, NV, decltype(stride)::value>(a2, count, cin, cout, v, up, m); });
}

// FMA contraction off (GCC's pragma around the function, clang's in its body): each product of the
// filter transform is rounded in float64 before its sum, on every ISA.
#if !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
inline void wino_filter_rows(const WinogradFilterJob& f, long first, long count) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  const long width = f.w.turned ? f.cin : f.cout;
  const long panels = (f.cout + f.nr - 1) / f.nr, plane = panels * f.cin * f.nr, a2 = f.a * f.a;
  std::vector<double> t(static_cast<size_t>(f.a) * 3 * width);
  // Each row's a² transformed rows; turned, kept for the whole task and then written transposed
  // (a turned row r is output channel r of every input channel: one float per 64-byte line).
  std::vector<float> out(static_cast<size_t>(f.w.turned ? a2 * count : 1) * width);
  for (long r = first; r < first + count; ++r) {
    for (int i = 0; i < f.a; ++i)
      for (int kx = 0; kx < 3; ++kx) {
        const float *w0 = f.w.tap(kx) + r * width, *w1 = f.w.tap(3 + kx) + r * width, *w2 = f.w.tap(6 + kx) + r * width;
        const double g0 = f.G[i * 3], g1 = f.G[i * 3 + 1], g2 = f.G[i * 3 + 2];
        double* ti = t.data() + (i * 3 + kx) * width;
        for (long q = 0; q < width; ++q) {
          double s = 0;
          s += g0 * w0[q];
          s += g1 * w1[q];
          s += g2 * w2[q];
          ti[q] = s;
        }
      }
    for (int i = 0; i < f.a; ++i)
      for (int j = 0; j < f.a; ++j) {
        const double h0 = f.G[j * 3], h1 = f.G[j * 3 + 1], h2 = f.G[j * 3 + 2];
        const double *t0 = t.data() + i * 3 * width, *t1 = t0 + width, *t2 = t1 + width;
        float* row = out.data() + (f.w.turned ? ((i * f.a + j) * count + r - first) * width : 0);
        for (long q = 0; q < width; ++q) {
          double s = 0;
          s += t0[q] * h0;
          s += t1[q] * h1;
          s += t2[q] * h2;
          row[q] = static_cast<float>(s);
        }
        if (f.w.turned) continue;
        float* u = f.u + (i * f.a + j) * plane + r * f.nr;  // row r is input channel r
        for (long p = 0; p < panels; ++p) {
          const long n = width - p * f.nr < f.nr ? width - p * f.nr : f.nr;
          for (long c = 0; c < n; ++c) u[p * f.cin * f.nr + c] = row[p * f.nr + c];
        }
      }
  }
  if (!f.w.turned) return;
  for (long xi = 0; xi < a2; ++xi)
    for (long r0 = first; r0 < first + count; r0 += f.nr - r0 % f.nr) {  // output channels of one panel
      const long n = first + count - r0 < f.nr - r0 % f.nr ? first + count - r0 : f.nr - r0 % f.nr;
      float* u = f.u + xi * plane + (r0 / f.nr) * f.cin * f.nr + r0 % f.nr;
      const float* rows = out.data() + (xi * count + r0 - first) * width;
      for (long q = 0; q < width; ++q)
        for (long c = 0; c < n; ++c) u[q * f.nr + c] = rows[c * width + q];
    }
}
#if !defined(__clang__)
#pragma GCC pop_options
#endif

// The Winograd kernels of flavour V with the register tiles of its direct kernels (DirectForward).
template <class V, int WideMR, int WideNV, int NarrowMR, int NarrowNV>
struct WinoFlavour {
  static int panel_width(int cout) { return cout > V::W * NarrowNV ? V::W * WideNV : V::W * NarrowNV; }
  static void products(int a2, long count, int cin, int cout, const float* v, const float* up, float* m) {
    if (panel_width(cout) == V::W * WideNV) wino_products<V, WideMR, WideNV>(a2, count, cin, cout, v, up, m);
    else wino_products<V, NarrowMR, NarrowNV>(a2, count, cin, cout, v, up, m);
  }
  static const WinogradKernels& kernels() {
    static const WinogradKernels k{{wino_input<V, WinoF2>, wino_input<V, WinoF4>}, {wino_output<V, WinoF2>, wino_output<V, WinoF4>}, panel_width, products, wino_filter_rows};
    return k;
  }
};

}  // namespace
}  // namespace rtkd
