// The filter gradient of a stride-1 3×3 conv as Winograd F(m×m,3×3), m = 2 or 4. The forward tile
// identity Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A is bilinear in g and d, so its adjoint in g gives, per m×m
// tile of dy and the (m+2)×(m+2) tile d of x under it,  dW = Gᵀ[(A dy Aᵀ) ⊙ (Bᵀ d B)]G.  Summed
// over tiles and channel pairs, that is (m+2)² GEMMs M[ξ] = V[ξ]ᵀ·E[ξ] reducing over tiles (V:
// transformed x tiles, the forward Winograd's input transform; E: transformed dy tiles), then one
// inverse transform Gᵀ M G per channel pair: 16 products per 2×2 outputs (F(2×2,3×3)) or 36 per
// 4×4 (F(4×4,3×3)) where the direct kernel needs 36 and 144.
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
  // [0]: F(2×2,3×3), [1]: F(4×4,3×3). e[ξ][i][coutPadded] = A dy Aᵀ of the m×m dy tiles
  // first..first+count (numbered like the forward Winograd's tiles), zeros outside the output and
  // past cout; `zeros` holds ≥ cout zeros.
  void (*dy_transform[2])(const ConvGeometry& g, const WinogradTiles& t, const float* dy, const float* zeros, long first, long count, int coutPadded, float* e);
  // m[ξ][cinPadded][coutPadded] += Σ_i v[ξ][i][ci] · e[ξ][i][co] for ξ < a2 = (m+2)²; v as the
  // forward Winograd's input transform writes it (rows of cin, read up to row_block floats past a row).
  void (*products)(int a2, long count, int cin, int cinPadded, int coutPadded, const float* v, const float* e, float* m);
};

const WinogradFilterKernels& winograd_filter_kernels_avx2();
const WinogradFilterKernels& winograd_filter_kernels_avx512();
const WinogradFilterKernels& winograd_filter_kernels_generic();

// The dy tile side m conv2d_backprop_filter runs `g` with as Winograd F(m×m,3×3) (2 or 4), or 0 for
// the previous kernels: stride-1 3×3 with padding 0–2, by the fixed rule of winograd_filter.cc;
// RTKD_NATIVE_WINOGRAD_FILTER (read at every call) =0 forces the previous kernels, =1 or =2
// F(2×2,3×3) on every such conv, =4 F(4×4,3×3), =accurate the rule without F(4×4,3×3).
int winograd_filter_tile(const ConvGeometry& g);

// dw[3, 3, cin, cout] = Σ over the batch of x ⋆ dy, with m = winograd_filter_tile(g) ∈ {2, 4}.
void winograd_filter(const ConvGeometry& g, int m, const float* x, const float* dy, float* dw);

namespace {

// A d of one column of m dy values (A: the transpose of the forward output transform Aᵀ), m = 2:
// Aᵀ = [1 1 1 0; 0 1 −1 −1].
struct WinoDyF2 {
  static constexpr int M = 2, A = 4;
  template <class T>
  static void apply(const T* d, int s, T* o, int os) {
    o[0] = d[0];
    o[os] = d[0] + d[s];
    o[2 * os] = d[0] - d[s];
    o[3 * os] = -d[s];
  }
};

// m = 4: Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1] (WinoF4::out).
struct WinoDyF4 {
  static constexpr int M = 4, A = 6;
  template <class T>
  static void apply(const T* d, int s, T* o, int os) {
    const T d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
    const T even = d0 + d2, odd = d1 + d3, even4 = d0 + d2 * 4.f, odd4 = (d1 + d3 * 4.f) * 2.f;
    o[0] = d0;
    o[os] = even + odd;
    o[2 * os] = even - odd;
    o[3 * os] = even4 + odd4;
    o[4 * os] = even4 - odd4;
    o[5 * os] = d3;
  }
};

// Channels [c, c + V::W) of one dy tile (src[k]: pixel k of the m×m tile, row-major).
template <class V, class F>
__attribute__((always_inline)) inline void wf_dy_block(const float* const* src, int c, float* dst, long stride) {
  constexpr int M = F::M, A = F::A;
  typename V::vec d[M * M], t[A * M], o[A * A];
#pragma GCC unroll 16
  for (int k = 0; k < M * M; ++k) d[k] = V::load(src[k] + c);
#pragma GCC unroll 4
  for (int x = 0; x < M; ++x) F::apply(d + x, M, t + x, M);  // columns: t[ξy][x]
#pragma GCC unroll 6
  for (int i = 0; i < A; ++i) F::apply(t + M * i, 1, o + A * i, 1);
  float* p = dst + c;
#pragma GCC unroll 36
  for (int k = 0; k < A * A; ++k, p += stride) V::store(p, o[k]);
}

template <class V, class F>
void wf_dy_transform(const ConvGeometry& g, const WinogradTiles& t, const float* dy, const float* zeros, long first, long count, int coutPadded, float* e) {
  constexpr int M = F::M, A = F::A;
  const long perImage = static_cast<long>(t.tilesH) * t.tilesW, stride = winograd_plane(count, coutPadded);
  long n = first / perImage;
  int ty = static_cast<int>(first % perImage / t.tilesW), tx = static_cast<int>(first % t.tilesW);
  const float* src[M * M];
  for (long i = 0; i < count; ++i) {
    const float* img = dy + n * g.oh * static_cast<long>(g.ow) * g.cout;
    const int oy0 = ty * M, ox0 = tx * M;
    for (int ky = 0; ky < M; ++ky)
      for (int kx = 0; kx < M; ++kx) {
        const int oy = oy0 + ky, ox = ox0 + kx;
        src[ky * M + kx] = oy >= g.oh || ox >= g.ow ? zeros : img + (static_cast<long>(oy) * g.ow + ox) * g.cout;
      }
    float* dst = e + i * coutPadded;
    int c = 0;
    for (; c + V::W <= g.cout; c += V::W) wf_dy_block<V, F>(src, c, dst, stride);
    for (; c < g.cout; ++c) wf_dy_block<WinoScalar, F>(src, c, dst, stride);
    for (int k = 0; k < A * A; ++k)
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
void wf_products(int a2, long count, int cin, int cinPadded, int coutPadded, const float* v, const float* e, float* m) {
  constexpr int NR = V::W * NV;
  for (int xi = 0; xi < a2; ++xi) {
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
  static void products(int a2, long count, int cin, int cinPadded, int coutPadded, const float* v, const float* e, float* m) {
    if (coutPadded > V::W * NarrowNV) wf_products<V, WideMR, WideNV>(a2, count, cin, cinPadded, coutPadded, v, e, m);
    else wf_products<V, NarrowMR, NarrowNV>(a2, count, cin, cinPadded, coutPadded, v, e, m);
  }
  static const WinogradFilterKernels& kernels() {
    static const WinogradFilterKernels k{panel_width, row_block, {wf_dy_transform<V, WinoDyF2>, wf_dy_transform<V, WinoDyF4>}, products};
    return k;
  }
};

}  // namespace
}  // namespace rtkd
