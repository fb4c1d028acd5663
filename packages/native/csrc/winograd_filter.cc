// The Winograd F(m×m,3×3) filter gradient (winograd_filter.h): the batch's m×m dy tiles are cut
// into a fixed number of groups with their own transformed-domain sums M[(m+2)²][cin][cout]; per chunk
// of a group, x tiles (the forward Winograd's input transform) and dy tiles are transformed and the
// (m+2)² GEMMs add into the group's M; then the groups are summed in order (in float64) and
// transformed back (Gᵀ M G, float64, rounded once). Groups and chunks depend on the shape only, so
// the bits do not depend on the thread count. Compiled without target flags: the heavy work runs
// in the ISA's templates.
#include "winograd_filter.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "isa.h"
#include "pool.h"

namespace rtkd {
namespace {

thread_local std::vector<float> filterIn, filterDy, filterZeros;

const WinogradFilterKernels& filter_kernels() {
  switch (isa()) {
#if defined(__x86_64__)
    case Isa::kAvx512: return winograd_filter_kernels_avx512();
    case Isa::kAvx2: return winograd_filter_kernels_avx2();
#endif
    default: return winograd_filter_kernels_generic();
  }
}

long round_up(long v, long to) { return (v + to - 1) / to * to; }

// Tiles per chunk: the chunk's transformed x and dy tiles near 1 MiB (a2 × tiles × (cin + cout)
// floats), 31–511 tiles, an odd number: with a power-of-two count the rows ξ of each tile lie a
// multiple of 4 KiB apart, in one L1 set, and the transforms ran ~2× slower (32×32×32→32, AVX-512).
long tiles_per_chunk(int a2, int cin, int coutPadded) {
  const long tiles = (1L << 18) / (static_cast<long>(a2) * (cin + coutPadded));
  return ((tiles < 32 ? 32 : tiles > 512 ? 512 : tiles) - 1) | 1;
}

// Groups of tiles with their own sums, at most 8, and at most 32 MiB of sums (each group's sums
// are cleared, added to once per chunk and read at the end). F(2×2,3×3): one per 2²¹
// multiply-adds of each of the 16 GEMMs, at least 256 tiles each; F(4×4,3×3), whose tiles carry
// 2.25× the work and whose maps have a quarter of the tiles: one per 2²³ multiply-adds in all, at
// least 64 tiles each (so a batch of 8×8 maps still splits across threads).
long group_count(int m, long tiles, const ConvGeometry& g, long sumFloats) {
  const long work = tiles * g.cin * g.cout;
  long groups = m == 2 ? work >> 21 : work * 36 >> 23;
  const long fewestTiles = m == 2 ? 256 : 64;
  if (groups > tiles / fewestTiles) groups = tiles / fewestTiles;
  if (groups > 8) groups = 8;
  while (groups > 1 && groups * sumFloats > (8L << 20)) --groups;
  return groups < 1 ? 1 : groups;
}

// Tiles per chunk of a group of `tiles`: the group cut into equal chunks of at most `most`, rounded
// up to an odd count (see tiles_per_chunk), so no chunk is a sliver that rereads the sums.
long chunk_of(long tiles, long most) {
  const long chunks = (tiles + most - 1) / most;
  return ((tiles + chunks - 1) / chunks) | 1;
}

}  // namespace

// The fixed rule (measurements in the README): F(4×4,3×3) when both sides have 16 to 64 channels
// (as the forward rule, winograd.cc); otherwise F(2×2,3×3) on every stride-1 3×3 conv with padding
// 0–2, on AVX-512 and AVX2 only from 16 input channels (with 3, a first layer, their direct kernels
// are faster) and, on AVX-512, not for 16 output channels on 128 pixels or more, where its direct
// kernel keeps a tap's 16×16 sums in registers and beats F(2×2,3×3) (bench/conv3x3-filter.mjs).
int winograd_filter_tile(const ConvGeometry& g) {
  if (g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1 || g.pt < 0 || g.pl < 0 || g.pt > 2 || g.pl > 2) return 0;
  const char* env = std::getenv("RTKD_NATIVE_WINOGRAD_FILTER");
  if (env && std::strcmp(env, "0") == 0) return 0;
  if (env && (std::strcmp(env, "1") == 0 || std::strcmp(env, "2") == 0)) return 2;
  if (env && std::strcmp(env, "4") == 0) return 4;
  const bool accurate = env && std::strcmp(env, "accurate") == 0;
  if (!accurate && winograd_f4_channels(g)) return 4;
  if (isa() == Isa::kAvx512 && g.cout == 16 && direct_filter_applies(g) && static_cast<long>(g.oh) * g.ow >= 128) return 0;
  return isa() == Isa::kGeneric || g.cin >= 16 ? 2 : 0;
}

void winograd_filter(const ConvGeometry& g, int m, const float* x, const float* dy, float* dw) {
  const WinogradKernels& in = winograd_kernels();
  const WinogradFilterKernels& k = filter_kernels();
  const WinogradTiles t{m, (g.oh + m - 1) / m, (g.ow + m - 1) / m};
  const int a = m + 2, a2 = a * a, which = m == 2 ? 0 : 1;
  const int coutPadded = static_cast<int>(round_up(g.cout, k.panel_width(g.cout)));
  const int cinPadded = static_cast<int>(round_up(g.cin, k.row_block(g.cout)));
  const long sumFloats = static_cast<long>(a2) * cinPadded * coutPadded;
  const long tiles = static_cast<long>(g.n) * t.tilesH * t.tilesW;
  if (tiles <= 0) {  // an empty batch or output: the gradient is zero
    std::memset(dw, 0, sizeof(float) * 9 * g.cin * g.cout);
    return;
  }
  const long groups = group_count(m, tiles, g, sumFloats), per = tiles_per_chunk(a2, g.cin, coutPadded);
  std::unique_ptr<float[]> sums(new float[groups * sumFloats]);
  pool().parallel_for(groups, [&](long group) {
    float* sum = sums.get() + group * sumFloats;
    std::memset(sum, 0, sumFloats * sizeof(float));
    const long first0 = group * tiles / groups, last = (group + 1) * tiles / groups, chunk = chunk_of(last - first0, per);
    const int widest = g.cin > coutPadded ? g.cin : coutPadded;
    float* zeros = winograd_buffer(filterZeros, widest);
    std::memset(zeros, 0, widest * sizeof(float));
    for (long first = first0; first < last; first += chunk) {
      const long count = last - first < chunk ? last - first : chunk;
      float* v = winograd_buffer(filterIn, a2 * winograd_plane(count, g.cin) + winograd_slack(g.cin));
      float* e = winograd_buffer(filterDy, a2 * winograd_plane(count, coutPadded));
      in.input[which](g, t, x, zeros, first, count, v);
      k.dy_transform[which](g, t, dy, zeros, first, count, coutPadded, e);
      k.products(a2, count, g.cin, cinPadded, coutPadded, v, e, sum);
    }
  });
  // Σ over groups in order (float64), then dW = Gᵀ M G per channel pair. A task takes whole rows
  // of input channels: it adds the groups' sums row by row into its own buffer (contiguous reads;
  // reading the a2·groups sums of one pair at a time hit addresses a multiple of 4 KiB apart, one
  // L1 set: a quarter of the time of 8×8×128→128) and writes its own rows of dw.
  const double* G = m == 2 ? &kWinogradG2[0][0] : &kWinogradG4[0][0];  // G[ξ·3 + tap]
  const long rows = g.cout >= 256 ? 1 : 256 / g.cout, tasks = (g.cin + rows - 1) / rows;
  const long rowFloats = static_cast<long>(cinPadded) * coutPadded, pairs = static_cast<long>(g.cin) * g.cout;
  pool().parallel_for(tasks, [&](long task) {
    const long ci0 = task * rows, n = g.cin - ci0 < rows ? g.cin - ci0 : rows;
    const long xiStride = n * g.cout + 8;  // +8: the rows ξ not 4 KiB apart
    std::vector<double> acc(a2 * xiStride, 0.0);
    for (int xi = 0; xi < a2; ++xi)
      for (long group = 0; group < groups; ++group)
        for (long r = 0; r < n; ++r) {
          const float* src = sums.get() + group * sumFloats + xi * rowFloats + (ci0 + r) * coutPadded;
          double* dst = acc.data() + xi * xiStride + r * g.cout;
          for (long co = 0; co < g.cout; ++co) dst[co] += src[co];
        }
    // Gᵀ M G for the task's pairs, each step a loop over the pairs (vectors across them); every sum
    // runs over ξ in order from its first term.
    const long width = n * g.cout;
    std::vector<double> half(3L * a * width);  // half[i][kx][pair] = (M G)[i][kx]
    for (int i = 0; i < a; ++i)
      for (int kx = 0; kx < 3; ++kx) {
        double* h = half.data() + (i * 3 + kx) * width;
        const double* row = acc.data() + static_cast<long>(i) * a * xiStride;
        for (long q = 0; q < width; ++q) h[q] = G[kx] * row[q];
        for (int j = 1; j < a; ++j) {
          const double gj = G[j * 3 + kx], *mj = row + j * xiStride;
          for (long q = 0; q < width; ++q) h[q] += gj * mj[q];
        }
      }
    std::vector<double> tap(width);
    for (int ky = 0; ky < 3; ++ky)
      for (int kx = 0; kx < 3; ++kx) {
        const double* h0 = half.data() + kx * width;
        for (long q = 0; q < width; ++q) tap[q] = G[ky] * h0[q];
        for (int i = 1; i < a; ++i) {
          const double gi = G[i * 3 + ky], *hi = h0 + static_cast<long>(i) * 3 * width;
          for (long q = 0; q < width; ++q) tap[q] += gi * hi[q];
        }
        float* out = dw + (ky * 3 + kx) * pairs + ci0 * g.cout;
        for (long q = 0; q < width; ++q) out[q] = static_cast<float>(tap[q]);
      }
  });
}

}  // namespace rtkd
