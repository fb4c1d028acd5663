// Stride-1 convolutions on Intel AMX tiles (Sapphire Rapids and later), at float32 accuracy.
//
// AMX multiplies bfloat16 (8 significant bits) and accumulates in float32. Each float32 operand is
// split into three bfloat16 parts, x = h + m + l (round to nearest each time), which together
// carry its 24 significant bits, and each product x·w is the sum of the six part products whose
// size is at least 2⁻¹⁶ of it (hh, hm, mh, hl, mm, lh): the three dropped ones are below 2⁻²³
// relative, under float32's own rounding. A bf16×bf16 product is exact in float32, so the sums
// round like a float32 GEMM that adds six times as many terms. AMX's 512 bf16 multiply-adds per
// cycle and core make that ~2.7× the AVX-512 FMA rate on paper.
//
// The image is zero-padded once into three part planes; the output is computed over the padded
// width (the columns past the output's width are dropped), so every filter tap of a block of 16
// output pixels is one tile load at a fixed offset — no im2col.
#pragma once

#include "kernels.h"

namespace rtkd {

// True when the CPU has AMX-TILE, AMX-BF16 and AVX512-BF16, the kernel granted this process the
// tile state (asked once), the process runs the AVX-512 kernels (isa()), and RTKD_NATIVE_AMX asks
// for it: 1 or rule (read at every call; off by default).
bool amx_enabled();

// Whether conv2d_forward runs `g` on AMX (amx_enabled(), stride 1, output channels a multiple of
// 16; with RTKD_NATIVE_AMX=rule also the measured rule of amx.cc: at least 16 input channels and a
// 16-pixel-wide output).
bool amx_conv_applies(const ConvGeometry& g);

// y = conv(x, w) for a geometry with amx_conv_applies(g).
void amx_conv(const ConvGeometry& g, const float* x, const FilterView& w, float* y, const ConvEpilogue& epilogue = {});

}  // namespace rtkd
