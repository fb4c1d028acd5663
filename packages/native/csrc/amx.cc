// AMX convolutions (amx.h): CPU and OS checks, the filter's part panels, and per image the part
// planes and the tile loop. Only the functions between the target pragmas use AMX / AVX-512
// instructions; they instantiate no templates that other files share (see avx512.cc).
#include "amx.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "isa.h"
#include "pool.h"

#if defined(__x86_64__) && defined(__linux__) && \
    ((defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
#define RTKD_HAVE_AMX 1
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#define RTKD_HAVE_AMX 0
#endif

namespace rtkd {

#if RTKD_HAVE_AMX
namespace {

constexpr long kArchReqXcompPerm = 0x1023;
constexpr long kXfeatureXtiledata = 18;

bool cpu_has_amx_bf16() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool tile = d & (1u << 24), amxBf16 = d & (1u << 22), avx512bw = b & (1u << 30);
  unsigned a1, b1, c1, d1;
  if (!__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) return false;
  const bool avx512Bf16 = a1 & (1u << 5);
  return tile && amxBf16 && avx512bw && avx512Bf16;
}

// Linux hands out the tile data state only on request (arch_prctl, kernel 5.16+).
bool tile_state_granted() {
  static const bool granted = cpu_has_amx_bf16() && syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  return granted;
}

// Where the operands of one conv live (sizes in elements).
struct Layout {
  int kc;       // input channels per tile (a K step): 32, or all of them rounded up to even
  int chunks;   // K steps per filter tap
  int cp;       // channels per pixel in the part planes (chunks·kc, zero-padded)
  int nj;       // blocks of 16 output channels
  long wp;      // padded width: output pixels are computed over it, the extra columns dropped
  long pairs;   // blocks of 32 positions (two tiles of 16 rows) up to the last output pixel
  long pixels;  // pixels per part plane (padded image, plus zeros read by the last block)
};

Layout layout(const ConvGeometry& g) {
  Layout L;
  L.kc = g.cin >= 32 ? 32 : (g.cin + 1) & ~1;
  L.chunks = (g.cin + L.kc - 1) / L.kc;
  L.cp = L.chunks * L.kc;
  L.nj = g.cout / 16;
  const long hp = std::max<long>(g.oh - 1 + g.kh, g.pt + g.h);
  L.wp = std::max<long>(g.ow - 1 + g.kw, g.pl + g.w);
  const long lastPosition = (g.oh - 1) * L.wp + g.ow;  // flattened, exclusive
  L.pairs = (lastPosition + 31) / 32;
  L.pixels = std::max(hp * L.wp, L.pairs * 32 + (g.kh - 1) * L.wp + g.kw - 1);
  return L;
}

// `buffer` grown to n + 32 elements, and its first 64-byte aligned element: tile rows that
// straddle cache lines load several times slower.
uint16_t* aligned_elements(std::vector<uint16_t>& buffer, size_t n) {
  if (buffer.size() < n + 32) buffer.resize(n + 32);
  const uintptr_t address = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - address % 64) % 64) / sizeof(uint16_t);
}

float* aligned_floats(std::vector<float>& buffer, size_t n) {
  if (buffer.size() < n + 16) buffer.resize(n + 16);
  const uintptr_t address = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - address % 64) % 64) / sizeof(float);
}

struct alignas(64) TileConfig {
  uint8_t palette = 1, startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0–3: accumulators (16 positions × 16 channels, float32); 4–5: A (16 positions × kc, two
// position blocks); 6–7: B (kc/2 channel pairs × 16 output channels, two channel blocks).
TileConfig tile_config(int kc) {
  TileConfig c;
  for (int t = 0; t < 4; ++t) c.rows[t] = 16, c.colsb[t] = 64;
  for (int t = 4; t < 6; ++t) c.rows[t] = 16, c.colsb[t] = static_cast<uint16_t>(2 * kc);
  for (int t = 6; t < 8; ++t) c.rows[t] = static_cast<uint8_t>(kc / 2), c.colsb[t] = 64;
  return c;
}

thread_local std::vector<uint16_t> planeBuffer;
thread_local std::vector<float> outBuffer;


}  // namespace

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")
// GCC 12's own AVX-512 intrinsics (_mm512_undefined_epi32 in the bf16 → float widening) warn.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace {

// The (A part, B part) of the six products kept, in the order they are accumulated.
constexpr int kParts[6][2] = {{0, 0}, {0, 1}, {1, 0}, {0, 2}, {1, 1}, {2, 0}};

// x = h + m + l, each part rounded to the nearest bfloat16.
struct Parts {
  __m256bh h, m, l;
};

inline Parts split_parts(__m512 x) {
  Parts p;
  p.h = _mm512_cvtneps_pbh(x);
  const __m512 rest = _mm512_sub_ps(x, _mm512_cvtpbh_ps(p.h));
  p.m = _mm512_cvtneps_pbh(rest);
  p.l = _mm512_cvtneps_pbh(_mm512_sub_ps(rest, _mm512_cvtpbh_ps(p.m)));
  return p;
}

// 16 filter entries (ci, co0..co0+15) of one tap, zeros when ci ≥ cin.
inline __m512 filter_row(const FilterView& f, const float* tap, long ci, long co0, int cin) {
  if (ci >= cin) return _mm512_setzero_ps();
  const float* at = tap + ci * f.ciStride + co0 * f.coStride;
  if (f.coStride == 1) return _mm512_loadu_ps(at);
  const __m512i index = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(static_cast<int>(f.coStride)));
  return _mm512_i32gather_ps(index, at, 4);
}

// The panels of tap t ([chunk][j][part][kc/2][16][2]: per K step and block j of 16 output
// channels, the B tile of each part, input channels paired as AMX reads them).
void pack_tap(const ConvGeometry& g, const Layout& L, const FilterView& f, long t, uint16_t* out) {
  const long half = L.kc / 2;
  const float* tap = f.tap(t);
  const __m512i pairs = _mm512_setr_epi32(0x00200000, 0x00210001, 0x00220002, 0x00230003, 0x00240004, 0x00250005, 0x00260006, 0x00270007,
                                          0x00280008, 0x00290009, 0x002a000a, 0x002b000b, 0x002c000c, 0x002d000d, 0x002e000e, 0x002f000f);
  for (int k = 0; k < L.chunks; ++k)
    for (int j = 0; j < L.nj; ++j) {
      uint16_t* panel = out + ((t * L.chunks + k) * L.nj + j) * 3 * half * 32;
      for (long r = 0; r < half; ++r) {
        const long ci = static_cast<long>(k) * L.kc + 2 * r;
        const Parts even = split_parts(filter_row(f, tap, ci, j * 16L, g.cin));
        const Parts odd = split_parts(filter_row(f, tap, ci + 1, j * 16L, g.cin));
        const __m256bh* evens[3] = {&even.h, &even.m, &even.l};
        const __m256bh* odds[3] = {&odd.h, &odd.m, &odd.l};
        for (int part = 0; part < 3; ++part) {
          const __m512i a = _mm512_castsi256_si512((__m256i)*evens[part]), b = _mm512_castsi256_si512((__m256i)*odds[part]);
          _mm512_store_si512(panel + (part * half + r) * 32, _mm512_permutex2var_epi16(a, pairs, b));
        }
      }
    }
}

// The image placed at (pt, pl) in three zeroed part planes [pixels][cp] (h, m, l).
void split_image(const ConvGeometry& g, const Layout& L, const float* img, uint16_t* planes) {
  const long planeSize = L.pixels * L.cp;
  std::memset(planes, 0, 3 * planeSize * sizeof(uint16_t));
  for (long iy = 0; iy < g.h; ++iy)
    for (long ix = 0; ix < g.w; ++ix) {
      const float* src = img + (iy * g.w + ix) * g.cin;
      uint16_t* dst = planes + ((iy + g.pt) * L.wp + ix + g.pl) * L.cp;
      for (int c = 0; c < g.cin; c += 16) {
        const __mmask16 mask = static_cast<__mmask16>(g.cin - c >= 16 ? 0xffff : (1u << (g.cin - c)) - 1);
        const Parts p = split_parts(_mm512_maskz_loadu_ps(mask, src + c));
        _mm256_mask_storeu_epi16(dst + c, mask, (__m256i)p.h);
        _mm256_mask_storeu_epi16(dst + planeSize + c, mask, (__m256i)p.m);
        _mm256_mask_storeu_epi16(dst + 2 * planeSize + c, mask, (__m256i)p.l);
      }
    }
}

// The conv at 32 flattened positions (a: their first tap's pixel in the h plane) for NB blocks of
// 16 output channels (b: the first block's panels), stored to c (row stride ldc floats).
template <int NB>
void tile_block(const Layout& L, long planeSize, const long* offsets, int taps, const uint16_t* a, const uint16_t* b, float* c, long ldc) {
  const long aStride = 2L * L.cp, half = L.kc / 2;
  const long bPart = half * 32, bJ = 3 * bPart, bStep = L.nj * bJ;
  _tile_zero(0);
  _tile_zero(1);
  if constexpr (NB == 2) {
    _tile_zero(2);
    _tile_zero(3);
  }
  for (int t = 0; t < taps; ++t)
    for (int k = 0; k < L.chunks; ++k) {
      const uint16_t* at = a + offsets[t] + k * L.kc;
      const uint16_t* bt = b + (static_cast<long>(t) * L.chunks + k) * bStep;
#pragma GCC unroll 6
      for (int s = 0; s < 6; ++s) {
        const uint16_t* ap = at + kParts[s][0] * planeSize;
        const uint16_t* bp = bt + kParts[s][1] * bPart;
        _tile_loadd(4, ap, aStride);
        _tile_loadd(5, ap + 16 * L.cp, aStride);
        _tile_loadd(6, bp, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 5, 6);
        if constexpr (NB == 2) {
          _tile_loadd(7, bp + bJ, 64);
          _tile_dpbf16ps(2, 4, 7);
          _tile_dpbf16ps(3, 5, 7);
        }
      }
    }
  const long stride = ldc * sizeof(float);
  _tile_stored(0, c, stride);
  _tile_stored(1, c + 16 * ldc, stride);
  if constexpr (NB == 2) {
    _tile_stored(2, c + 16, stride);
    _tile_stored(3, c + 16 * ldc + 16, stride);
  }
}

// out[q][cout] at every flattened position q < pairs·32 of one image, from its part planes.
// `next` (bytes long): the next image's input, fetched into the cache a slice per block meanwhile.
void conv_image(const ConvGeometry& g, const Layout& L, const uint16_t* planes, const uint16_t* filter, float* out, const char* next, long bytes) {
  const TileConfig config = tile_config(L.kc);
  _tile_loadconfig(&config);
  const int taps = g.kh * g.kw;
  long offsets[64];
  for (int ky = 0; ky < g.kh; ++ky)
    for (int kx = 0; kx < g.kw; ++kx) offsets[ky * g.kw + kx] = (ky * L.wp + kx) * L.cp;
  const long planeSize = L.pixels * L.cp, half = L.kc / 2;
  const long slice = (bytes / L.pairs + 63) / 64 * 64;
  for (long p = 0; p < L.pairs; ++p) {
    if (next)
      for (long at = p * slice; at < (p + 1) * slice && at < bytes; at += 64) _mm_prefetch(next + at, _MM_HINT_T1);
    const uint16_t* a = planes + p * 32 * L.cp;
    float* c = out + p * 32 * g.cout;
    for (int j = 0; j + 1 < L.nj; j += 2) tile_block<2>(L, planeSize, offsets, taps, a, filter + j * 3 * half * 32, c + j * 16, g.cout);
    if (L.nj % 2) tile_block<1>(L, planeSize, offsets, taps, a, filter + (L.nj - 1) * 3 * half * 32, c + (L.nj - 1) * 16, g.cout);
  }
  _tile_release();
}

}  // namespace

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

namespace {

// RTKD_NATIVE_AMX's first character: '1' wherever it applies, 'r' (rule) by the measured rule,
// anything else — unset, empty, '0' — off (README: on whole training steps AMX lost on one AMX VM).
char amx_setting() {
  const char* env = std::getenv("RTKD_NATIVE_AMX");
  return env && (env[0] == '1' || env[0] == 'r') ? env[0] : '0';
}

bool amx_runs_here() { return isa() == Isa::kAvx512 && tile_state_granted(); }

}  // namespace

bool amx_enabled() { return amx_setting() != '0' && amx_runs_here(); }

bool amx_conv_applies(const ConvGeometry& g) {
  const char setting = amx_setting();
  if (setting == '0' || !amx_runs_here()) return false;
  if (g.sh != 1 || g.sw != 1 || g.pt < 0 || g.pl < 0 || g.cout % 16 != 0 || g.kh * g.kw > 64) return false;
  if (setting == '1') return true;
  // The measured rule (README): from 16 input channels, and outputs at least 16 pixels wide (the
  // padded columns computed and dropped stay under 1/8; 8×8 maps lose to the AVX-512 kernels).
  return g.cin >= 16 && g.ow >= 16;
}

void amx_conv(const ConvGeometry& g, const float* x, const FilterView& w, float* y, const ConvEpilogue& epilogue) {
  const Layout L = layout(g);
  const long taps = static_cast<long>(g.kh) * g.kw;
  std::vector<uint16_t> storage;
  uint16_t* filter = aligned_elements(storage, static_cast<size_t>(taps) * L.chunks * L.nj * 3 * (L.kc / 2) * 32);
  pool().parallel_for(taps, [&](long t) { pack_tap(g, L, w, t, filter); });
  const long inSize = static_cast<long>(g.h) * g.w * g.cin, outSize = static_cast<long>(g.oh) * g.ow * g.cout;
  // Images in a fixed number of runs (not the thread count), so each task knows its next image.
  const long runs = std::min<long>(g.n, 16);
  pool().parallel_for(runs, [&](long run) {
    const long last = (run + 1) * g.n / runs;
    for (long n = run * g.n / runs; n < last; ++n) {
      uint16_t* planes = aligned_elements(planeBuffer, static_cast<size_t>(3) * L.pixels * L.cp);
      split_image(g, L, x + n * inSize, planes);
      float* out = aligned_floats(outBuffer, static_cast<size_t>(L.pairs) * 32 * g.cout);
      const char* next = n + 1 < last ? reinterpret_cast<const char*>(x + (n + 1) * inSize) : nullptr;
      conv_image(g, L, planes, filter, out, next, inSize * static_cast<long>(sizeof(float)));
      // The rows of the padded width that are output pixels (read long after the tile stores),
      // then conv2d_bias_act's epilogue on them while they are in cache.
      for (long oy = 0; oy < g.oh; ++oy) {
        std::memcpy(y + n * outSize + oy * g.ow * g.cout, out + oy * L.wp * g.cout, sizeof(float) * g.ow * g.cout);
        if (!epilogue.empty()) {
          const int64_t row = (n * g.oh + oy) * g.ow;
          apply_epilogue(epilogue, y, row, row + g.ow, g.cout);
        }
      }
    }
  });
}

#else  // no AMX on this target or compiler

bool amx_enabled() { return false; }
bool amx_conv_applies(const ConvGeometry&) { return false; }
void amx_conv(const ConvGeometry&, const float*, const FilterView&, float*, const ConvEpilogue&) {}

#endif

}  // namespace rtkd
