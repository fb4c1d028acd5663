// The instruction sets @rtkd/native has kernels for, and the GEMM each provides. kernels.cc picks
// one per process (isa()) and calls its GEMM and direct convolutions (direct.h).
#pragma once

namespace rtkd {

struct Matrix {  // element (i, j) at data[i*rs + j*cs]
  const float* data;
  long rs, cs;
  float at(long i, long j) const { return data[i * rs + j * cs]; }
};

enum class Isa { kGeneric, kAvx2, kAvx512 };

// The kernels this process runs: AVX-512 where the CPU has AVX-512F, else AVX2 (x86-64), and the
// portable ones elsewhere. RTKD_NATIVE_ISA=avx2 or =generic (RTKD_NATIVE_NO_AVX512=1 = avx2) picks a
// lower level on x86-64, e.g. to test it or to get the AVX2 path's exact bits.
Isa isa();

// True when the CPU has AVX-512F (x86-64 only; avx512.cc).
bool cpu_has_avx512();

// Single-threaded C[M,N] (+)= A[M,K] · B[K,N]; C row-major with leading dimension ldc.
void sgemm_avx512(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate);
void sgemm_avx2(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate);
void sgemm_generic(long M, long N, long K, const Matrix& A, const Matrix& B, float* C, long ldc, bool accumulate);

}  // namespace rtkd
