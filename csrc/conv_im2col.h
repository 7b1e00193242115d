// im2col for one NCHW channel plane and its adjoint, shared by the GEMM lowering and the
// direct kernels.
#pragma once

#include <algorithm>
#include <cstddef>

#include "conv_geometry.h"
#include "conv_kernels.h"
#include "isa.h"

namespace tensorcore {

// The outputs o in [lo, hi) of a row of `out_size` whose input o*stride + offset lies in
// [0, size): the rest read padding.
struct Span {
    ptrdiff_t lo, hi;
};

inline Span inside(ptrdiff_t offset, ptrdiff_t stride, ptrdiff_t size, ptrdiff_t out_size) {
    const ptrdiff_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    const ptrdiff_t hi = size - 1 - offset < 0 ? 0 : (size - 1 - offset) / stride + 1;
    const ptrdiff_t clamped_lo = std::min(lo, out_size);
    return {clamped_lo, std::clamp(hi, clamped_lo, out_size)};
}

// One channel plane (H, W) -> its kh*kw rows of cols, `row_stride` apart, each (OH, OW)
// row-major: row (i, j) holds plane[oh*sh - pad_top + i*dh, ow*sw - pad_left + j*dw], 0 in
// the padding.
template <typename T>
void im2col_plane(const ConvGeometry& g, const T* plane, T* rows, ptrdiff_t row_stride) {
    const Isa isa = active_isa();
    for (ptrdiff_t i = 0; i < g.kh; ++i) {
        // the output rows whose input row lies inside the plane
        const ptrdiff_t row_offset = i * g.dh - g.pad_top;
        const Span rows_inside = inside(row_offset, g.sh, g.H, g.OH);
        for (ptrdiff_t j = 0; j < g.kw; ++j) {
            T* row = rows + (i * g.kw + j) * row_stride;
            const ptrdiff_t column_offset = j * g.dw - g.pad_left;
            const Span span = inside(column_offset, g.sw, g.W, g.OW);
            std::fill(row, row + rows_inside.lo * g.OW, T(0));
            std::fill(row + rows_inside.hi * g.OW, row + g.OH * g.OW, T(0));
            if (span.lo > 0 || span.hi < g.OW) {
                for (ptrdiff_t oh = rows_inside.lo; oh < rows_inside.hi; ++oh) {
                    std::fill(row + oh * g.OW, row + oh * g.OW + span.lo, T(0));
                    std::fill(row + oh * g.OW + span.hi, row + (oh + 1) * g.OW, T(0));
                }
            }
            const ptrdiff_t count = rows_inside.hi - rows_inside.lo;
            if (count == 0 || span.hi == span.lo) continue;
            // input and output of the first inside row, at output column span.lo
            const T* in = plane + (rows_inside.lo * g.sh + row_offset) * g.W +
                          span.lo * g.sw + column_offset;
            T* out = row + rows_inside.lo * g.OW + span.lo;
            if (g.sw == 1) {   // contiguous runs
                TC_ISA_CALL(isa, conv_copy_rows(in, g.sh * g.W, out, g.OW, count,
                                                span.hi - span.lo));
                continue;
            }
            for (ptrdiff_t r = 0; r < count; ++r, in += g.sh * g.W, out += g.OW) {
                for (ptrdiff_t ow = 0; ow < span.hi - span.lo; ++ow) out[ow] = in[ow * g.sw];
            }
        }
    }
}

// The adjoint of im2col_plane: plane (H, W) = the sum of its kh*kw rows' window entries.
template <typename T>
void col2im_plane(const ConvGeometry& g, const T* rows, ptrdiff_t row_stride, T* plane) {
    std::fill(plane, plane + g.H * g.W, T(0));
    for (ptrdiff_t i = 0; i < g.kh; ++i) {
        for (ptrdiff_t j = 0; j < g.kw; ++j) {
            const T* row = rows + (i * g.kw + j) * row_stride;
            const ptrdiff_t column_offset = j * g.dw - g.pad_left;
            const Span span = inside(column_offset, g.sw, g.W, g.OW);
            for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
                const ptrdiff_t h = oh * g.sh - g.pad_top + i * g.dh;
                if (h < 0 || h >= g.H) continue;
                T* out = plane + h * g.W;
                const T* in = row + oh * g.OW;
                for (ptrdiff_t ow = span.lo; ow < span.hi; ++ow) {
                    out[ow * g.sw + column_offset] += in[ow];
                }
            }
        }
    }
}

}  // namespace tensorcore
