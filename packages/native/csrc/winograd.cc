// Winograd F(2×2,3×3) / F(4×4,3×3) convolutions (winograd.h): the filter transform, the fixed
// split of the batch's tiles into pieces, and per piece input transform → (m+2)² GEMMs over channels
// → output transform. Compiled without target flags: the heavy work runs in the ISA's transforms
// and GEMM tiles (winograd.h).
#include "winograd.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "isa.h"
#include "pool.h"

namespace rtkd {
namespace {

thread_local std::vector<float> winoIn, winoProducts, winoZeros;

// u[ξ][panel][cin][nr] = (G w Gᵀ)[ξ] per channel pair (cout in panels of nr, zero-padded), in
// float64 rounded once to float; w as in WinogradFilterJob. Tasks of whole rows of w, ~256 pairs
// each or (turned) one panel's (each entry is written by one task).
std::vector<float> transform_filter(const WinogradKernels& k, const ConvGeometry& g, int m, const FilterView& w) {
  const int a = m + 2, nr = k.panel_width(g.cout);
  const long panels = (g.cout + nr - 1) / nr;
  std::vector<float> u(static_cast<size_t>(a) * a * panels * g.cin * nr, 0.f);
  const WinogradFilterJob job{m == 2 ? &kWinogradG2[0][0] : &kWinogradG4[0][0], a, w, g.cin, g.cout, nr, u.data()};
  const long rows = w.turned ? g.cout : g.cin, width = w.turned ? g.cin : g.cout;
  const long per = w.turned ? nr : width >= 256 ? 1 : 256 / width;  // turned: whole panels
  pool().parallel_for((rows + per - 1) / per, [&](long task) {
    k.filter(job, task * per, rows - task * per < per ? rows - task * per : per);
  });
  return u;
}

// Tiles per piece: as many as keep a piece's transformed inputs and products near 1 MiB, in
// multiples of 48 (whole register tiles of every flavour), 48–192. Depends on the shape only, never
// on the thread count (and the bits do not depend on it either: each output is one tile's sums).
long tiles_per_piece(const ConvGeometry& g, int m) {
  const long a2 = (m + 2L) * (m + 2L);
  const long tiles = (256L * 1024) / (a2 * (g.cin + g.cout)) / 48 * 48;
  return tiles < 48 ? 48 : tiles > 192 ? 192 : tiles;
}

}  // namespace

float* winograd_buffer(std::vector<float>& buffer, size_t n) {
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

const WinogradKernels& winograd_kernels() {
  switch (isa()) {
#if defined(__x86_64__)
    case Isa::kAvx512: return winograd_kernels_avx512();
    case Isa::kAvx2: return winograd_kernels_avx2();
#endif
    default: return winograd_kernels_generic();
  }
}

// The fixed rule (measurements and errors in the README): F(4×4,3×3) when both sides have 16 to
// 64 channels, where it is the fastest path on every ISA measured and rounds to at most ~6e-6 of
// max|y| (its error grows with the channel count: ~1e-5 at 128, over the models' golden tolerance
// at 512); above that F(2×2,3×3) from 32 channels on AVX2 and AVX-512 (16 on the portable
// kernels); below 16 channels (the RGB stem) the direct kernels, where the transforms cost more
// than the products they save. RTKD_NATIVE_WINOGRAD=accurate keeps F(4×4,3×3) out (the rule
// before it: F(2×2,3×3) rounds less than the direct kernels).
int winograd_tile(const ConvGeometry& g) {
  if (g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1 || g.pt < 0 || g.pl < 0 || g.pt > 2 || g.pl > 2) return 0;
  const char* env = std::getenv("RTKD_NATIVE_WINOGRAD");
  if (env && std::strcmp(env, "0") == 0) return 0;
  if (env && std::strcmp(env, "2") == 0) return 2;
  if (env && std::strcmp(env, "4") == 0) return 4;
  const bool accurate = env && std::strcmp(env, "accurate") == 0;
  if (!accurate && winograd_f4_channels(g)) return 4;
  const int least = isa() == Isa::kGeneric ? 16 : 32;
  return std::min(g.cin, g.cout) >= least ? 2 : 0;
}

bool winograd_f4_channels(const ConvGeometry& g) { return std::min(g.cin, g.cout) >= 16 && std::max(g.cin, g.cout) <= 64; }

void winograd_conv(const ConvGeometry& g, int m, const float* x, const FilterView& w, float* y) {
  const int a2 = (m + 2) * (m + 2);
  const WinogradKernels& k = winograd_kernels();
  const std::vector<float> u = transform_filter(k, g, m, w);
  const WinogradTiles t{m, (g.oh + m - 1) / m, (g.ow + m - 1) / m};
  const long tiles = static_cast<long>(g.n) * t.tilesH * t.tilesW, per = tiles_per_piece(g, m);
  const int which = m == 2 ? 0 : 1;
  pool().parallel_for((tiles + per - 1) / per, [&](long piece) {
    const long first = piece * per, count = tiles - first < per ? tiles - first : per;
    float* zeros = winograd_buffer(winoZeros, g.cin);
    std::memset(zeros, 0, g.cin * sizeof(float));
    float* v = winograd_buffer(winoIn, a2 * winograd_plane(count, g.cin) + winograd_slack(g.cin));
    float* p = winograd_buffer(winoProducts, a2 * winograd_plane(count, g.cout));
    k.input[which](g, t, x, zeros, first, count, v);
    k.products(a2, count, g.cin, g.cout, v, u.data(), p);
    k.output[which](g, t, p, first, count, y);
  });
}

}  // namespace rtkd
