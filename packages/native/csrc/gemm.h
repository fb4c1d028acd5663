// Packed GEMM for one SIMD flavour V (lanes V::W; zero/load/broadcast/fma/add/store): blocks of
// KC × NC of B and MC × KC of A are packed, and an MR × (W·NV) tile of C stays in registers. Like
// direct.h it lives in an anonymous namespace and uses no std:: templates: avx512.cc, kernels.cc
// (AVX2) and generic.cc each compile a private copy for their own target.
#pragma once

#include <cstdlib>
#include <cstring>

#include "isa.h"

namespace rtkd {
namespace {

constexpr long KC = 256, MC = 144, NC = 512;

inline long lmin(long a, long b) { return a < b ? a : b; }

struct Buffer {  // grow-only scratch space, freed at thread exit
  float* data = nullptr;
  size_t size = 0;
  ~Buffer() { std::free(data); }
};

thread_local Buffer gemmPackA, gemmPackB, gemmTile;

float* grow(Buffer& b, size_t n) {
  if (b.size < n) {
    std::free(b.data);
    b.data = static_cast<float*>(std::malloc(n * sizeof(float)));
    if (!b.data) std::abort();
    b.size = n;
  }
  return b.data;
}

// Ap: panels of MR rows, k-major inside: Ap[p][k][r].
template <int MR>
void pack_a(const Matrix& A, long i0, long mc, long k0, long kc, float* ap) {
  for (long p = 0; p < mc; p += MR) {
    const long rows = lmin(MR, mc - p);
    if (A.cs == 1 && rows == MR) {
      const float* r[MR];
      for (int q = 0; q < MR; ++q) r[q] = A.data + (i0 + p + q) * A.rs + k0;
      for (long k = 0; k < kc; ++k)
        for (int q = 0; q < MR; ++q) *ap++ = r[q][k];
    } else if (A.rs == 1 && rows == MR) {
      for (long k = 0; k < kc; ++k) {
        const float* src = A.data + (i0 + p) + (k0 + k) * A.cs;
        for (int q = 0; q < MR; ++q) *ap++ = src[q];
      }
    } else {
      for (long k = 0; k < kc; ++k)
        for (int q = 0; q < MR; ++q) *ap++ = q < rows ? A.at(i0 + p + q, k0 + k) : 0.f;
    }
  }
}

// Bp: panels of NR columns: Bp[p][k][c].
template <int NR>
void pack_b(const Matrix& B, long k0, long kc, long j0, long nc, float* bp) {
  for (long p = 0; p < nc; p += NR) {
    const long cols = lmin(NR, nc - p);
    if (B.cs == 1 && cols == NR) {
      for (long k = 0; k < kc; ++k) {
        std::memcpy(bp, B.data + (k0 + k) * B.rs + j0 + p, NR * sizeof(float));
        bp += NR;
      }
    } else {
      for (long k = 0; k < kc; ++k)
        for (int c = 0; c < NR; ++c) *bp++ = c < cols ? B.at(k0 + k, j0 + p + c) : 0.f;
    }
  }
}

// C[MR × 16·NV] (+)= Ap · Bp over kc.
template <class V, int MR, int NV>
inline void micro_kernel(long kc, const float* ap, const float* bp, float* c, long ldc, bool accumulate) {
  typename V::vec acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();
  for (long k = 0; k < kc; ++k) {
    typename V::vec b[NV];
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) b[j] = V::load(bp + V::W * j);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const typename V::vec a = V::broadcast(ap + i);
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fma(a, b[j], acc[i][j]);
    }
    ap += MR;
    bp += V::W * NV;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    float* row = c + i * ldc;
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      if (accumulate) V::store(row + V::W * j, V::add(V::load(row + V::W * j), acc[i][j]));
      else V::store(row + V::W * j, acc[i][j]);
    }
  }
}

template <class V, int MR, int NV>
void sgemm_tiles(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate) {
  constexpr int NR = V::W * NV;
  float* tile = grow(gemmTile, MR * NR);
  for (long j0 = 0; j0 < N; j0 += NC) {
    const long nc = lmin(NC, N - j0);
    const long ncPadded = (nc + NR - 1) / NR * NR;
    for (long k0 = 0; k0 < K; k0 += KC) {
      const long kc = lmin(KC, K - k0);
      const bool acc = accumulate || k0 > 0;
      float* bp = grow(gemmPackB, ncPadded * kc);
      pack_b<NR>(B, k0, kc, j0, nc, bp);
      for (long i0 = 0; i0 < M; i0 += MC) {
        const long mc = lmin(MC, M - i0);
        const long mcPadded = (mc + MR - 1) / MR * MR;
        float* ap = grow(gemmPackA, mcPadded * kc);
        pack_a<MR>(A, i0, mc, k0, kc, ap);
        for (long jr = 0; jr < nc; jr += NR) {
          const long cols = lmin(NR, nc - jr);
          for (long ir = 0; ir < mc; ir += MR) {
            const long rows = lmin(MR, mc - ir);
            float* c = C + (i0 + ir) * ldc + j0 + jr;
            const float* a = ap + ir * kc;
            const float* b = bp + jr * kc;
            if (rows == MR && cols == NR) {
              micro_kernel<V, MR, NV>(kc, a, b, c, ldc, acc);
            } else {
              micro_kernel<V, MR, NV>(kc, a, b, tile, NR, false);
              for (long r = 0; r < rows; ++r)
                for (long q = 0; q < cols; ++q) c[r * ldc + q] = acc ? c[r * ldc + q] + tile[r * NR + q] : tile[r * NR + q];
            }
          }
        }
      }
    }
  }
}

// C[M,N] (+)= A · B with MR × (W·NV) register tiles.
template <class V, int MR, int NV>
void sgemm_with(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate) {
  if (K == 0) {
    if (!accumulate)
      for (long i = 0; i < M; ++i) std::memset(C + i * ldc, 0, N * sizeof(float));
    return;
  }
  sgemm_tiles<V, MR, NV>(M, N, K, A, B, C, ldc, accumulate);
}

}  // namespace
}  // namespace rtkd
