// im2col for one NCHW channel plane and its adjoint, shared by the GEMM lowering and the
// direct kernels.
#pragma once

#include <algorithm>
#include <cstddef>

#include "conv_geometry.h"

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
    for (ptrdiff_t i = 0; i < g.kh; ++i) {
        for (ptrdiff_t j = 0; j < g.kw; ++j) {
            T* row = rows + (i * g.kw + j) * row_stride;
            const ptrdiff_t column_offset = j * g.dw - g.pad_left;
            const Span span = inside(column_offset, g.sw, g.W, g.OW);
            for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
                T* out = row + oh * g.OW;
                const ptrdiff_t h = oh * g.sh - g.pad_top + i * g.dh;
                if (h < 0 || h >= g.H) {
                    std::fill(out, out + g.OW, T(0));
                    continue;
                }
                const T* in = plane + h * g.W;
                std::fill(out, out + span.lo, T(0));
                if (g.sw == 1 && span.hi > span.lo) {   // a contiguous run: one block copy
                    std::copy(in + span.lo + column_offset, in + span.hi + column_offset,
                              out + span.lo);
                } else {
                    for (ptrdiff_t ow = span.lo; ow < span.hi; ++ow) {
                        out[ow] = in[ow * g.sw + column_offset];
                    }
                }
                std::fill(out + span.hi, out + g.OW, T(0));
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
