// AVX-512 packed GEMM (see gemm512.h): MR×(16·NV) register tiles, NV = 2 when N ≥ 32, else 1.
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#include "gemm512.h"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

namespace rtkd {
namespace {

// This file is compiled for AVX-512. It must not instantiate templates or inline functions that
// other files also use (std::vector<float>, std::min<long>, …): the linker keeps one copy of each,
// and an AVX-512 copy would then run on AVX2-only CPUs. Hence the local helpers below.
constexpr long KC = 256, MC = 144, NC = 512;

inline long lmin(long a, long b) { return a < b ? a : b; }

struct Buffer {  // grow-only scratch space, freed at thread exit
  float* data = nullptr;
  size_t size = 0;
  ~Buffer() { std::free(data); }
};

thread_local Buffer packA, packB, tileBuffer;

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
template <int MR, int NV>
inline void micro_kernel(long kc, const float* ap, const float* bp, float* c, long ldc, bool accumulate) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_ps();
  for (long k = 0; k < kc; ++k) {
    __m512 b[NV];
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) b[j] = _mm512_loadu_ps(bp + 16 * j);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(ap[i]);
#pragma GCC unroll 2
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
    }
    ap += MR;
    bp += 16 * NV;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    float* row = c + i * ldc;
#pragma GCC unroll 2
    for (int j = 0; j < NV; ++j) {
      if (accumulate) _mm512_storeu_ps(row + 16 * j, _mm512_add_ps(_mm512_loadu_ps(row + 16 * j), acc[i][j]));
      else _mm512_storeu_ps(row + 16 * j, acc[i][j]);
    }
  }
}

template <int MR, int NV>
void sgemm_tiles(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate) {
  constexpr int NR = 16 * NV;
  float* tile = grow(tileBuffer, MR * NR);
  for (long j0 = 0; j0 < N; j0 += NC) {
    const long nc = lmin(NC, N - j0);
    const long ncPadded = (nc + NR - 1) / NR * NR;
    for (long k0 = 0; k0 < K; k0 += KC) {
      const long kc = lmin(KC, K - k0);
      const bool acc = accumulate || k0 > 0;
      float* bp = grow(packB, ncPadded * kc);
      pack_b<NR>(B, k0, kc, j0, nc, bp);
      for (long i0 = 0; i0 < M; i0 += MC) {
        const long mc = lmin(MC, M - i0);
        const long mcPadded = (mc + MR - 1) / MR * MR;
        float* ap = grow(packA, mcPadded * kc);
        pack_a<MR>(A, i0, mc, k0, kc, ap);
        for (long jr = 0; jr < nc; jr += NR) {
          const long cols = lmin(NR, nc - jr);
          for (long ir = 0; ir < mc; ir += MR) {
            const long rows = lmin(MR, mc - ir);
            float* c = C + (i0 + ir) * ldc + j0 + jr;
            const float* a = ap + ir * kc;
            const float* b = bp + jr * kc;
            if (rows == MR && cols == NR) {
              micro_kernel<MR, NV>(kc, a, b, c, ldc, acc);
            } else {
              micro_kernel<MR, NV>(kc, a, b, tile, NR, false);
              for (long r = 0; r < rows; ++r)
                for (long q = 0; q < cols; ++q) c[r * ldc + q] = acc ? c[r * ldc + q] + tile[r * NR + q] : tile[r * NR + q];
            }
          }
        }
      }
    }
  }
}

}  // namespace

bool use_avx512() {
  static const bool on = [] {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && std::getenv("RTKD_NATIVE_NO_AVX512") == nullptr;
#else
    return false;
#endif
  }();
  return on;
}

void sgemm_avx512(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate) {
  if (K == 0) {
    if (!accumulate)
      for (long i = 0; i < M; ++i) std::memset(C + i * ldc, 0, N * sizeof(float));
    return;
  }
  if (N > 16) sgemm_tiles<12, 2>(M, N, K, A, B, C, ldc, accumulate);
  else sgemm_tiles<12, 1>(M, N, K, A, B, C, ldc, accumulate);
}

}  // namespace rtkd
