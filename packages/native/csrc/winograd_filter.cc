// The Winograd F(2×2,3×3) filter gradient (winograd_filter.h): the batch's 2×2 dy tiles are cut
// into a fixed number of groups with their own transformed-domain sums M[16][cin][cout]; per chunk
// of a group, x tiles (the forward Winograd's input transform) and dy tiles are transformed and the
// 16 GEMMs add into the group's M; then the groups are summed in order (in float64) and
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

// Tiles per chunk: the chunk's transformed x and dy tiles near 1 MiB (16 × tiles × (cin + cout)
// floats), 31–511 tiles, an odd number: with a power-of-two count the 16 rows ξ of each tile lie a
// multiple of 4 KiB apart, in one L1 set, and the transforms ran ~2× slower (32×32×32→32, AVX-512).
long tiles_per_chunk(int cin, int coutPadded) {
  const long tiles = 16384L / (cin + coutPadded);
  return ((tiles < 32 ? 32 : tiles > 512 ? 512 : tiles) - 1) | 1;
}

// Groups of tiles with their own sums: one per 2²¹ multiply-adds of each of the 16 GEMMs and at
// least 256 tiles each, at most 8, and at most 32 MiB of sums (each group's sums are cleared,
// added to once per chunk and read at the end).
long group_count(long tiles, const ConvGeometry& g, long sumFloats) {
  long groups = tiles * g.cin * g.cout >> 21;
  if (groups > tiles / 256) groups = tiles / 256;
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

// G of F(2×2,3×3): row ξ holds the weights of the 3 taps in transformed point ξ.
constexpr double kG[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

}  // namespace

// The fixed rule (measurements in the README): every stride-1 3×3 conv with padding 0–2, on
// AVX-512 and AVX2 only from 16 input channels (with 3, a first layer, their direct kernels are
// faster), unless RTKD_NATIVE_WINOGRAD_FILTER=0 (=1: every stride-1 3×3 conv with padding 0–2).
bool winograd_filter_applies(const ConvGeometry& g) {
  if (g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1 || g.pt < 0 || g.pl < 0 || g.pt > 2 || g.pl > 2) return false;
  const char* env = std::getenv("RTKD_NATIVE_WINOGRAD_FILTER");
  if (env && std::strcmp(env, "0") == 0) return false;
  if (env && std::strcmp(env, "1") == 0) return true;
  // AVX-512's direct kernel keeps a tap's 16×16 sums in registers when cout is one vector, and
  // beats F(2×2,3×3) there (bench/conv3x3-filter.mjs, 32×32×16→16) — where it runs at all, on
  // outputs of 128 pixels or more (the sizes measured).
  if (isa() == Isa::kAvx512 && g.cout == 16 && direct_filter_applies(g) && static_cast<long>(g.oh) * g.ow >= 128) return false;
  return isa() == Isa::kGeneric || g.cin >= 16;
}

void winograd_filter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  const WinogradKernels& in = winograd_kernels();
  const WinogradFilterKernels& k = filter_kernels();
  const WinogradTiles t{2, (g.oh + 1) / 2, (g.ow + 1) / 2};
  const int coutPadded = static_cast<int>(round_up(g.cout, k.panel_width(g.cout)));
  const int cinPadded = static_cast<int>(round_up(g.cin, k.row_block(g.cout)));
  const long sumFloats = 16L * cinPadded * coutPadded;
  const long tiles = static_cast<long>(g.n) * t.tilesH * t.tilesW;
  if (tiles <= 0) {  // an empty batch or output: the gradient is zero
    std::memset(dw, 0, sizeof(float) * 9 * g.cin * g.cout);
    return;
  }
  const long groups = group_count(tiles, g, sumFloats), per = tiles_per_chunk(g.cin, coutPadded);
  std::unique_ptr<float[]> sums(new float[groups * sumFloats]);
  pool().parallel_for(groups, [&](long group) {
    float* m = sums.get() + group * sumFloats;
    std::memset(m, 0, sumFloats * sizeof(float));
    const long first0 = group * tiles / groups, last = (group + 1) * tiles / groups, chunk = chunk_of(last - first0, per);
    const int widest = g.cin > coutPadded ? g.cin : coutPadded;
    float* zeros = winograd_buffer(filterZeros, widest);
    std::memset(zeros, 0, widest * sizeof(float));
    for (long first = first0; first < last; first += chunk) {
      const long count = last - first < chunk ? last - first : chunk;
      float* v = winograd_buffer(filterIn, 16 * winograd_plane(count, g.cin) + winograd_slack(g.cin));
      float* e = winograd_buffer(filterDy, 16 * winograd_plane(count, coutPadded));
      in.input[0](g, t, x, zeros, first, count, v);
      k.dy_transform(g, t, dy, zeros, first, count, coutPadded, e);
      k.products(count, g.cin, cinPadded, coutPadded, v, e, m);
    }
  });
  // Σ over groups in order (float64), then dW = Gᵀ M G per channel pair. A task takes whole rows
  // of input channels: it adds the groups' sums row by row into its own buffer (contiguous reads;
  // reading the 16·groups sums of one pair at a time hit addresses a multiple of 4 KiB apart, one
  // L1 set: a quarter of the time of 8×8×128→128) and writes its own rows of dw.
  const long rows = g.cout >= 256 ? 1 : 256 / g.cout, tasks = (g.cin + rows - 1) / rows;
  const long rowFloats = static_cast<long>(cinPadded) * coutPadded, pairs = static_cast<long>(g.cin) * g.cout;
  pool().parallel_for(tasks, [&](long task) {
    const long ci0 = task * rows, n = g.cin - ci0 < rows ? g.cin - ci0 : rows;
    const long xiStride = n * g.cout + 8;  // +8: the 16 rows ξ not 4 KiB apart
    std::vector<double> acc(16 * xiStride, 0.0);
    for (int xi = 0; xi < 16; ++xi)
      for (long group = 0; group < groups; ++group)
        for (long r = 0; r < n; ++r) {
          const float* src = sums.get() + group * sumFloats + xi * rowFloats + (ci0 + r) * coutPadded;
          double* dst = acc.data() + xi * xiStride + r * g.cout;
          for (long co = 0; co < g.cout; ++co) dst[co] += src[co];
        }
    // Gᵀ M G for the task's pairs, each step a loop over the pairs (vectors across them).
    const long width = n * g.cout;
    std::vector<double> half(12 * width);  // half[i][kx][pair] = (M G)[i][kx]
    for (int i = 0; i < 4; ++i)
      for (int kx = 0; kx < 3; ++kx) {
        const double *m0 = acc.data() + i * 4 * xiStride, *m1 = m0 + xiStride, *m2 = m1 + xiStride, *m3 = m2 + xiStride;
        const double g0 = kG[0][kx], g1 = kG[1][kx], g2 = kG[2][kx], g3 = kG[3][kx];
        double* h = half.data() + (i * 3 + kx) * width;
        for (long q = 0; q < width; ++q) h[q] = g0 * m0[q] + g1 * m1[q] + g2 * m2[q] + g3 * m3[q];
      }
    for (int ky = 0; ky < 3; ++ky)
      for (int kx = 0; kx < 3; ++kx) {
        const double *h0 = half.data() + kx * width, *h1 = h0 + 3 * width, *h2 = h1 + 3 * width, *h3 = h2 + 3 * width;
        const double g0 = kG[0][ky], g1 = kG[1][ky], g2 = kG[2][ky], g3 = kG[3][ky];
        float* out = dw + (ky * 3 + kx) * pairs + ci0 * g.cout;
        for (long q = 0; q < width; ++q) out[q] = static_cast<float>(g0 * h0[q] + g1 * h1[q] + g2 * h2[q] + g3 * h3[q]);
      }
  });
}

}  // namespace rtkd
