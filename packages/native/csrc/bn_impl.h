// The BnKernels bodies (bn.h) for one SIMD flavour V, included by bn_avx512.cc, bn_avx2.cc and
// bn_generic.cc after their target pragmas. V provides: vec, W (floats per vector), MaxNV (vectors
// of channels a loop keeps in registers: 8 or 4), zero, set1, load, store, add, sub, mul, div,
// fma(a, b, c) = a·b + c, fnma(a, b, c) = c − a·b, relu(v) = max(0, v) with NaN and −0 kept, and
// relu_grad(g, y) = g·step(y) with step(NaN) = NaN.
//
// Channels are cut into groups of NV vectors (MaxNV while that many are left, then 4, 2 or 1, then
// a scalar tail for C % W); per group, every row of the chunk is read with the group's per-channel
// constants and accumulators in registers (with U = 4 / NV row streams when a group is narrow, so
// the add latency is hidden), which avoids the per-row loop setup of a runtime-length channel loop.
// Uses no standard-library templates: instantiations must stay local to each ISA's file.
#pragma once
#include <cstdint>

#include "bn.h"

namespace rtkd {
namespace {

template <class V>
struct BnFlavour {
  using vec = typename V::vec;
  static constexpr int W = V::W;

  // Calls op.template run<NV>(c) for each group of NV vectors starting at channel c; returns the
  // first channel of the scalar tail.
  template <class Op>
  static int64_t for_groups(int64_t C, const Op& op) {
    int64_t c = 0;
    while (C - c >= W) {
      const int64_t left = (C - c) / W;
      if (V::MaxNV >= 8 && left >= 8) {
        if constexpr (V::MaxNV >= 8) op.template run<8>(c);
        c += 8 * W;
      } else if (left >= 4) {
        op.template run<4>(c);
        c += 4 * W;
      } else if (left >= 2) {
        op.template run<2>(c);
        c += 2 * W;
      } else {
        op.template run<1>(c);
        c += W;
      }
    }
    return c;
  }

  template <int NV>
  static constexpr int streams() { return NV >= 4 ? 1 : 4 / NV; }

  // Stores Σ_u a[u][v] and Σ_u b[u][v], added in stream order, at outA + v·W and outB + v·W.
  template <int NV, int U>
  static void store_stream_sums(const vec (&a)[U][NV], const vec (&b)[U][NV], float* outA, float* outB) {
    for (int v = 0; v < NV; ++v) {
      vec s = a[0][v], t = b[0][v];
      for (int u = 1; u < U; ++u) {
        s = V::add(s, a[u][v]);
        t = V::add(t, b[u][v]);
      }
      V::store(outA + v * W, s);
      V::store(outB + v * W, t);
    }
  }

  // ---------------------------------------------------------------- statistics
  struct Stats {
    const float* x;
    int64_t rows, C;
    float *m, *d, *q;
    template <int NV>
    void run(int64_t c) const {
      constexpr int U = streams<NV>();
      const float* xc = x + c;
      vec s[U][NV];
      for (int u = 0; u < U; ++u)
        for (int v = 0; v < NV; ++v) s[u][v] = V::zero();
      int64_t r = 0;
      for (; r + U <= rows; r += U)
        for (int u = 0; u < U; ++u)
          for (int v = 0; v < NV; ++v) s[u][v] = V::add(s[u][v], V::load(xc + (r + u) * C + v * W));
      for (; r < rows; ++r)
        for (int v = 0; v < NV; ++v) s[0][v] = V::add(s[0][v], V::load(xc + r * C + v * W));
      vec mv[NV];
      const vec n = V::set1(static_cast<float>(rows));
      for (int v = 0; v < NV; ++v) {
        vec t = s[0][v];
        for (int u = 1; u < U; ++u) t = V::add(t, s[u][v]);
        mv[v] = V::div(t, n);
        V::store(m + c + v * W, mv[v]);
      }
      vec sd[U][NV], sq[U][NV];
      for (int u = 0; u < U; ++u)
        for (int v = 0; v < NV; ++v) sd[u][v] = sq[u][v] = V::zero();
      for (r = 0; r + U <= rows; r += U)
        for (int u = 0; u < U; ++u)
          for (int v = 0; v < NV; ++v) {
            const vec e = V::sub(V::load(xc + (r + u) * C + v * W), mv[v]);
            sd[u][v] = V::add(sd[u][v], e);
            sq[u][v] = V::fma(e, e, sq[u][v]);
          }
      for (; r < rows; ++r)
        for (int v = 0; v < NV; ++v) {
          const vec e = V::sub(V::load(xc + r * C + v * W), mv[v]);
          sd[0][v] = V::add(sd[0][v], e);
          sq[0][v] = V::fma(e, e, sq[0][v]);
        }
      store_stream_sums<NV, U>(sd, sq, d + c, q + c);
    }
  };

  static void stats(const float* x, int64_t rows, int64_t C, float* m, float* d, float* q) {
    for (int64_t c = for_groups(C, Stats{x, rows, C, m, d, q}); c < C; ++c) {
      float s = 0.f;
      for (int64_t r = 0; r < rows; ++r) s += x[r * C + c];
      const float mc = s / static_cast<float>(rows);
      float a = 0.f, b = 0.f;
      for (int64_t r = 0; r < rows; ++r) {
        const float e = x[r * C + c] - mc;
        a += e;
        b += e * e;
      }
      m[c] = mc;
      d[c] = a;
      q[c] = b;
    }
  }

  // ---------------------------------------------------------------- normalise / affine
  template <bool Relu, bool Centre, bool Residual>
  struct Map {  // y = (x [− mean])·scale + shift [+ residual]
    const float *x, *mean, *scale, *shift, *residual;
    float* y;
    int64_t rows, C;
    template <int NV>
    void run(int64_t c) const {
      vec mv[NV], sv[NV], bv[NV];
      for (int v = 0; v < NV; ++v) {
        if (Centre) mv[v] = V::load(mean + c + v * W);
        sv[v] = V::load(scale + c + v * W);
        bv[v] = V::load(shift + c + v * W);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const float* p = x + r * C + c;
        float* o = y + r * C + c;
        for (int v = 0; v < NV; ++v) {
          vec t = V::load(p + v * W);
          if (Centre) t = V::sub(t, mv[v]);
          t = V::fma(t, sv[v], bv[v]);
          if (Residual) t = V::add(t, V::load(residual + r * C + c + v * W));
          if (Relu) t = V::relu(t);
          V::store(o + v * W, t);
        }
      }
    }
  };

  // The maps keep the per-channel constants of one group in registers when a group covers all
  // channels; with more channels they walk each row once and load the constants from L1 (the same
  // operations per element, so the same bits), not a strided pass per group.
  template <bool Relu, bool Centre, bool Residual>
  static void map(const float* x, const float* mean, const float* scale, const float* shift, const float* residual, float* y, int64_t rows, int64_t C) {
    if (C <= V::MaxNV * W) return map_block<Relu, Centre, Residual>(x, mean, scale, shift, residual, y, rows, C);
    const int64_t vc = C / W * W;
    for (int64_t r = 0; r < rows; ++r) {
      const float* p = x + r * C;
      float* o = y + r * C;
      for (int64_t c = 0; c < vc; c += W) {
        vec t = V::load(p + c);
        if (Centre) t = V::sub(t, V::load(mean + c));
        t = V::fma(t, V::load(scale + c), V::load(shift + c));
        if (Residual) t = V::add(t, V::load(residual + r * C + c));
        if (Relu) t = V::relu(t);
        V::store(o + c, t);
      }
      for (int64_t c = vc; c < C; ++c) o[c] = map_scalar<Relu, Centre, Residual>(x, mean, scale, shift, residual, r * C + c, c);
    }
  }

  // (x − mean)·scale + shift of one element, as map_scalar rounds it (also the gradient's mask).
  static float centred_affine_scalar(const float* x, const float* mean, const float* scale, const float* shift, int64_t o, int64_t c) {
    return (x[o] - mean[c]) * scale[c] + shift[c];
  }

  template <bool Relu, bool Centre, bool Residual>
  static float map_scalar(const float* x, const float* mean, const float* scale, const float* shift, const float* residual, int64_t o, int64_t c) {
    float t = Centre ? centred_affine_scalar(x, mean, scale, shift, o, c) : x[o] * scale[c] + shift[c];
    if (Residual) t += residual[o];
    return Relu && t < 0.f ? 0.f : t;
  }

  template <bool Relu, bool Centre, bool Residual>
  static void map_block(const float* x, const float* mean, const float* scale, const float* shift, const float* residual, float* y, int64_t rows,
                        int64_t C) {
    for (int64_t c = for_groups(C, Map<Relu, Centre, Residual>{x, mean, scale, shift, residual, y, rows, C}); c < C; ++c)
      for (int64_t r = 0; r < rows; ++r) y[r * C + c] = map_scalar<Relu, Centre, Residual>(x, mean, scale, shift, residual, r * C + c, c);
  }

  static void normalize(const float* x, const float* mean, const float* scale, const float* beta, const float* residual, float* y, int64_t rows,
                        int64_t C, bool relu) {
    if (residual == nullptr) {
      if (relu) map<true, true, false>(x, mean, scale, beta, nullptr, y, rows, C);
      else map<false, true, false>(x, mean, scale, beta, nullptr, y, rows, C);
    } else {
      if (relu) map<true, true, true>(x, mean, scale, beta, residual, y, rows, C);
      else map<false, true, true>(x, mean, scale, beta, residual, y, rows, C);
    }
  }

  static void affine(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t C, bool relu) {
    if (relu) map<true, false, false>(x, nullptr, scale, shift, nullptr, y, rows, C);
    else map<false, false, false>(x, nullptr, scale, shift, nullptr, y, rows, C);
  }

  // ---------------------------------------------------------------- gradient
  // Where the gradient's ReLU mask comes from: none, step(y) of the saved output, or step of the
  // output recomputed from x — (x − mean)·scale + beta with the forward's rounding — so that y is
  // not read (ReLU without a residual; relu_grad(g, t) = relu_grad(g, relu(t)) for every t).
  enum Mask { kNoMask, kMaskFromY, kMaskFromX };

  static float step_scalar(float g, float y) { return g * (y > 0.f ? 1.f : (y != y ? __builtin_nanf("") : 0.f)); }

  // The masked dy of one element (scalar tail).
  template <int M>
  static float masked_scalar(const float* dy, const float* x, const float* y, const float* mean, const float* scale, const float* beta, int64_t o, int64_t c) {
    if constexpr (M == kMaskFromY) return step_scalar(dy[o], y[o]);
    if constexpr (M == kMaskFromX) return step_scalar(dy[o], centred_affine_scalar(x, mean, scale, beta, o, c));
    return dy[o];
  }

  // The masked dy of W elements at o (channel c), xc = x − mean there.
  template <int M>
  static vec masked(const float* dy, const float* y, const float* scale, const float* beta, int64_t o, int64_t c, vec xc) {
    const vec g = V::load(dy + o);
    if constexpr (M == kMaskFromY) return V::relu_grad(g, V::load(y + o));
    if constexpr (M == kMaskFromX) return V::relu_grad(g, V::fma(xc, V::load(scale + c), V::load(beta + c)));
    return g;
  }

  template <int M, bool StoreG>
  struct GradSums {
    const float *dy, *x, *y, *mean, *scale, *beta;
    int64_t rows, C;
    float *sdy, *sdyx, *gOut;
    template <int NV>
    void run(int64_t c) const {
      constexpr int U = streams<NV>();
      vec mv[NV], a[U][NV], b[U][NV];
      for (int v = 0; v < NV; ++v) mv[v] = V::load(mean + c + v * W);
      for (int u = 0; u < U; ++u)
        for (int v = 0; v < NV; ++v) a[u][v] = b[u][v] = V::zero();
      int64_t r = 0;
      for (; r + U <= rows; r += U)
        for (int u = 0; u < U; ++u) add_row<NV>(r + u, c, mv, a[u], b[u]);
      for (; r < rows; ++r) add_row<NV>(r, c, mv, a[0], b[0]);
      store_stream_sums<NV, U>(a, b, sdy + c, sdyx + c);
    }
    template <int NV>
    void add_row(int64_t r, int64_t c, const vec* mv, vec* a, vec* b) const {
      const int64_t o = r * C + c;
      for (int v = 0; v < NV; ++v) {
        const vec xc = V::sub(V::load(x + o + v * W), mv[v]);
        const vec g = masked<M>(dy, y, scale, beta, o + v * W, c + v * W, xc);
        if constexpr (StoreG) V::store(gOut + o + v * W, g);
        a[v] = V::add(a[v], g);
        b[v] = V::fma(g, xc, b[v]);
      }
    }
  };

  template <int M, bool StoreG>
  static void grad_sums_with(const float* dy, const float* x, const float* y, const float* mean, const float* scale, const float* beta, int64_t rows, int64_t C,
                             float* sdy, float* sdyx, float* gOut) {
    for (int64_t c = for_groups(C, GradSums<M, StoreG>{dy, x, y, mean, scale, beta, rows, C, sdy, sdyx, gOut}); c < C; ++c) {
      float s = 0.f, t = 0.f;
      for (int64_t r = 0; r < rows; ++r) {
        const float g = masked_scalar<M>(dy, x, y, mean, scale, beta, r * C + c, c);
        if constexpr (StoreG) gOut[r * C + c] = g;
        s += g;
        t += g * (x[r * C + c] - mean[c]);
      }
      sdy[c] = s;
      sdyx[c] = t;
    }
  }

  template <int M>
  static void grad_sums_masked(const float* dy, const float* x, const float* y, const float* mean, const float* scale, const float* beta, int64_t rows,
                               int64_t C, float* sdy, float* sdyx, float* gOut) {
    if (gOut != nullptr) grad_sums_with<M, true>(dy, x, y, mean, scale, beta, rows, C, sdy, sdyx, gOut);
    else grad_sums_with<M, false>(dy, x, y, mean, scale, beta, rows, C, sdy, sdyx, gOut);
  }

  static void grad_sums(const float* dy, const float* x, const float* y, const float* mean, const float* scale, const float* beta, int64_t rows, int64_t C,
                        float* sdy, float* sdyx, float* gOut) {
    if (y != nullptr) grad_sums_masked<kMaskFromY>(dy, x, y, mean, scale, beta, rows, C, sdy, sdyx, gOut);
    else if (beta != nullptr) grad_sums_masked<kMaskFromX>(dy, x, y, mean, scale, beta, rows, C, sdy, sdyx, gOut);
    else grad_sums_masked<kNoMask>(dy, x, y, mean, scale, beta, rows, C, sdy, sdyx, gOut);
  }

  // The operands of grad_dx: dx = k·((g − a) − (x − mean)·b), g the masked dy (stored at gOut when StoreG).
  struct DxArgs {
    const float *dy, *x, *y, *mean, *scale, *beta, *k, *a, *b;
    float *dx, *gOut;
    int64_t rows, C;
  };

  template <int M, bool StoreG>
  struct GradDx {
    DxArgs p;
    template <int NV>
    void run(int64_t c) const {
      vec mv[NV], kv[NV], av[NV], bv[NV];
      for (int v = 0; v < NV; ++v) {
        mv[v] = V::load(p.mean + c + v * W);
        kv[v] = V::load(p.k + c + v * W);
        av[v] = V::load(p.a + c + v * W);
        bv[v] = V::load(p.b + c + v * W);
      }
      for (int64_t r = 0; r < p.rows; ++r) {
        const int64_t o = r * p.C + c;
        for (int v = 0; v < NV; ++v) {
          const vec xc = V::sub(V::load(p.x + o + v * W), mv[v]);
          const vec g = masked<M>(p.dy, p.y, p.scale, p.beta, o + v * W, c + v * W, xc);
          if (StoreG) V::store(p.gOut + o + v * W, g);
          V::store(p.dx + o + v * W, V::mul(kv[v], V::fnma(xc, bv[v], V::sub(g, av[v]))));
        }
      }
    }
  };

  template <int M, bool StoreG>
  static void grad_dx_scalar(const DxArgs& p, int64_t o, int64_t c) {
    const float g = masked_scalar<M>(p.dy, p.x, p.y, p.mean, p.scale, p.beta, o, c);
    if (StoreG) p.gOut[o] = g;
    p.dx[o] = p.k[c] * ((g - p.a[c]) - (p.x[o] - p.mean[c]) * p.b[c]);
  }

  template <int M, bool StoreG>
  static void grad_dx_with(const DxArgs& p) {
    const int64_t C = p.C;
    if (C <= V::MaxNV * W) {
      for (int64_t c = for_groups(C, GradDx<M, StoreG>{p}); c < C; ++c)
        for (int64_t r = 0; r < p.rows; ++r) grad_dx_scalar<M, StoreG>(p, r * C + c, c);
      return;
    }
    const int64_t vc = C / W * W;
    for (int64_t r = 0; r < p.rows; ++r) {
      const int64_t o = r * C;
      for (int64_t c = 0; c < vc; c += W) {
        const vec xc = V::sub(V::load(p.x + o + c), V::load(p.mean + c));
        const vec g = masked<M>(p.dy, p.y, p.scale, p.beta, o + c, c, xc);
        if (StoreG) V::store(p.gOut + o + c, g);
        V::store(p.dx + o + c, V::mul(V::load(p.k + c), V::fnma(xc, V::load(p.b + c), V::sub(g, V::load(p.a + c)))));
      }
      for (int64_t c = vc; c < C; ++c) grad_dx_scalar<M, StoreG>(p, o + c, c);
    }
  }

  template <int M>
  static void grad_dx_masked(const DxArgs& p) {
    if (p.gOut != nullptr) grad_dx_with<M, true>(p);
    else grad_dx_with<M, false>(p);
  }

  static void grad_dx(const float* dy, const float* x, const float* y, const float* mean, const float* scale, const float* beta, const float* k, const float* a,
                      const float* b, float* dx, float* gOut, int64_t rows, int64_t C) {
    const DxArgs p{dy, x, y, mean, scale, beta, k, a, b, dx, gOut, rows, C};
    if (y != nullptr) grad_dx_masked<kMaskFromY>(p);
    else if (beta != nullptr) grad_dx_masked<kMaskFromX>(p);
    else grad_dx_masked<kNoMask>(p);
  }

  static const BnKernels& kernels() {
    static const BnKernels k{stats, normalize, grad_sums, grad_dx, affine};
    return k;
  }
};

}  // namespace
}  // namespace rtkd
