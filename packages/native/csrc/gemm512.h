// AVX-512 GEMM of @rtkd/native, used instead of the AVX2 one when the CPU has AVX-512F (twice the
// FLOPs per instruction; Zen 5 and recent Xeons also have twice the FMA width). Same interface as
// kernels.cc's sgemm. RTKD_NATIVE_NO_AVX512=1 turns it off (e.g. to get the AVX2 path's exact bits).
#pragma once

namespace rtkd {

struct Matrix {  // element (i, j) at data[i*rs + j*cs]
  const float* data;
  long rs, cs;
  float at(long i, long j) const { return data[i * rs + j * cs]; }
};

// True when the CPU has AVX-512F and it is not turned off by RTKD_NATIVE_NO_AVX512.
bool use_avx512();

// Single-threaded C[M,N] (+)= A[M,K] · B[K,N]; C row-major with leading dimension ldc.
void sgemm_avx512(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate);

}  // namespace rtkd
