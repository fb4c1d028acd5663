// The filter gradient of a stride-1 3×3 conv as Winograd F(2×2,3×3). The forward tile identity
// Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A is bilinear in g and d, so its adjoint in g gives, per 2×2 tile of
// dy and the 4×4 tile d of x under it,  dW = Gᵀ[(A dy Aᵀ) ⊙ (Bᵀ d B)]G.  Summed over tiles and
// channel pairs, that is 16 GEMMs M[ξ] = V[ξ]ᵀ·E[ξ] reducing over tiles (V: transformed x tiles,
// the forward Winograd's input transform; E: transformed dy tiles), then one inverse transform
// Gᵀ M G per channel pair: 16 products per 2×2 outputs where the direct kernel needs 36.
//
// winograd_filter.cc runs the calls (fixed groups of tiles, chunks, the sum over groups and the
// inverse transform); the dy transform and the GEMM below are templates over a SIMD flavour V and,
// like direct.h, live in an anonymous namespace: kernels.cc (AVX2), avx512.cc and generic.cc each
// compile private copies for their own target.
#pragma once

#include "kernels.h"
#include "winograd.h"

namespace rtkd {

// The per-ISA parts of the Winograd filter gradient.
struct WinogradFilterKernels {
  // Output channels per register tile (the transformed dy rows are zero-padded to a multiple).
  int (*panel_width)(int cout);
  // Input channels per register tile (the products are kept for a multiple of it).
  int (*row_block)(int cout);
  // e[ξ][i][coutPadded] = A dy Aᵀ of the 2×2 dy tiles first..first+count (numbered like the
  // forward Winograd's tiles), zeros outside the output and past cout; `zeros` holds ≥ cout zeros.
  void (*dy_transform)(const ConvGeometry& g, const WinogradTiles& t, const float* dy, const float* zeros, long first, long count, int coutPadded, float* e);
  // m[ξ][cinPadded][coutPadded] += Σ_i v[ξ][i][ci] · e[ξ][i][co] for the 16 ξ; v as the forward
  // Winograd's input transform writes it (rows of cin, read up to row_block floats past a row).
  void (*products)(long count, int cin, int cinPadded, int coutPadded, const float* v, const float* e, float* m);
};

const WinogradFilterKernels& winograd_filter_kernels_avx2();
const WinogradFilterKernels& winograd_filter_kernels_avx512();
const WinogradFilterKernels& winograd_filter_kernels_generic();

// True when conv2d_backprop_filter runs `g` as Winograd F(2×2,3×3): stride-1 3×3 with padding
// 0–2, by the fixed rule of winograd_filter.cc; RTKD_NATIVE_WINOGRAD_FILTER (read at every call)
// =0 forces the previous kernels, =1 Winograd on every such conv.
bool winograd_filter_applies(const ConvGeometry& g);

// dw[3, 3, cin, cout] = Σ over the batch of x ⋆ dy, for a geometry winograd_filter_applies to.
void winograd_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw);

namespace {

// (A d)ξ of one 2-point column d0, d1: Aᵀ = [1 1 1 0; 0 1 −1 −1].
template <class T>
inline void wf_dy_1d(T d0, T d1, T* o, int os) {
  o[0] = d0;
  o[os] = d0 + d1;
  o[2 * os] = d0 - d1;
  o[3 * os] = -d1;
}

// Channels [c, c + V::W) of one dy tile (src[k]: pixel k of the 2×2 tile, row-major).
template <class V>
__attribute__((always_inline)) inline void wf_dy_block(const float* const* src, int c, float* dst, long stride) {
  typename V::vec d[4], t[8], o[16];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) d[k] = V::load(src[k] + c);
  wf_dy_1d(d[0], d[2], t, 2);      // columns: t[ξy][x]
  wf_dy_1d(d[1], d[3], t + 1, 2);
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) wf_dy_1d(t[2 * i], t[2 * i + 1], o + 4 * i, 1);
  float* p = dst + c;
#pragma GCC unroll 16
  for (int k = 0; k < 16; ++k, p += stride) V::store(p, o[k]);
}

template <class V>
void wf_dy_transform(const ConvGeometry& g, const WinogradTiles& t, const float* dy, const float* zeros, long first, long count, int coutPadded, float* e) {
  const long perImage = static_cast<long>(t.tilesH) * t.tilesW, stride = winograd_plane(count, coutPadded);
  long n = first / perImage;
  int ty = static_cast<int>(first % perImage / t.tilesW), tx = static_cast<int>(first % t.tilesW);
  const float* src[4];
  for (long i = 0; i < count; ++i) {
    const float* img = dy + n * g.oh * static_cast<long>(g.ow) * g.cout;
    const int oy0 = ty * 2, ox0 = tx * 2;
    for (int ky = 0; ky < 2; ++ky)
      for (int kx = 0; kx < 2; ++kx) {
        const int oy = oy0 + ky, ox = ox0 + kx;
        src[ky * 2 + kx] = oy >= g.oh || ox >= g.ow ? zeros : img + (static_cast<long>(oy) * g.ow + ox) * g.cout;
      }
    float* dst = e + i * coutPadded;
    int c = 0;
    for (; c + V::W <= g.cout; c += V::W) wf_dy_block<V>(src, c, dst, stride);
    for (; c < g.cout; ++c) wf_dy_block<WinoScalar>(src, c, dst, stride);
    for (int k = 0; k < 16; ++k)
      for (int q = g.cout; q < coutPadded; ++q) dst[k * stride + q] = 0.f;
    if (++tx == t.tilesW) {  // next tile, without a division per tile
      tx = 0;
      if (++ty == t.tilesH) ty = 0, ++n;
    }
  }
}

// m[MR rows][NV vectors] += Σ_i a[i·lda + r] · b[i·ldb + W·j] over `count` rows.
template <class V, int MR, int NV>
inline void wf_tile(long count, const float* a, long lda, const float* b, long ldb, float* m, long ldm) {
  typename V::vec acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[r][j] = V::zero();
  for (long i = 0; i < count; ++i, a += lda, b += ldb) {
    typename V::vec bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + V::W * j);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const typename V::vec av = V::broadcast(a + r);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[r][j] = V::fma(av, bv[j], acc[r][j]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* d = m + r * ldm + V::W * j;
      V::store(d, V::add(V::load(d), acc[r][j]));
    }
}

template <class V, int MR, int NV>
void wf_products(long count, int cin, int cinPadded, int coutPadded, const float* v, const float* e, float* m) {
  constexpr int NR = V::W * NV;
  for (int xi = 0; xi < 16; ++xi) {
    const float* vx = v + xi * winograd_plane(count, cin);
    const float* ex = e + xi * winograd_plane(count, coutPadded);
    float* mx = m + static_cast<long>(xi) * cinPadded * coutPadded;
    for (int c0 = 0; c0 < coutPadded; c0 += NR)
      for (int ci = 0; ci < cin; ci += MR) wf_tile<V, MR, NV>(count, vx + ci, cin, ex + c0, coutPadded, mx + static_cast<long>(ci) * coutPadded + c0, coutPadded);
  }
}

// The Winograd filter-gradient kernels of flavour V: WideMR × WideNV register tiles when cout
// has more than NarrowNV vectors, else NarrowMR × NarrowNV.
template <class V, int WideMR, int WideNV, int NarrowMR, int NarrowNV>
struct WinoFilterFlavour {
  static bool wide(int cout) { return cout > V::W * NarrowNV; }
  static int panel_width(int cout) { return wide(cout) ? V::W * WideNV : V::W * NarrowNV; }
  static int row_block(int cout) { return wide(cout) ? WideMR : NarrowMR; }
  static void products(long count, int cin, int cinPadded, int coutPadded, const float* v, const float* e, float* m) {
    if (coutPadded > V::W * NarrowNV) wf_products<V, WideMR, WideNV>(count, cin, cinPadded, coutPadded, v, e, m);
    else wf_products<V, NarrowMR, NarrowNV>(count, cin, cinPadded, coutPadded, v, e, m);
  }
  static const WinogradFilterKernels& kernels() {
    static const WinogradFilterKernels k{panel_width, row_block, wf_dy_transform<V>, products};
    return k;
  }
};

}  // namespace
}  // namespace rtkd
