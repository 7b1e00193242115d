// The first maximum of 2x2 windows in row-major tap order, NaN counting as the maximum (as
// max_pool2d takes it), a vector of windows at a time: shared by the 2x2 max pool's kernels
// (pool_kernels_impl.h) and the conv forward that pools its 2x2 tiles as it makes them
// (winograd_rows_kernels_impl.h). Included after simd.h, inside an ISA unit.
#pragma once

namespace TC_ISA {
namespace {

// True where v replaces best: v is larger, or v is the window's first NaN.
template <typename T>
inline typename Simd<T>::bits replaces(typename Simd<T>::vec v, typename Simd<T>::vec best) {
    return (v > best) | ((v != v) & (best == best));
}

// Per lane, the largest of taps (0, 0), (0, 1), (1, 0), (1, 1), the first of equals; *tap is
// which (0 .. 3), so that the flat index is the window's first + (tap / 2) * width + tap % 2.
template <typename T>
inline typename Simd<T>::vec max_2x2(typename Simd<T>::vec top_left,
                                     typename Simd<T>::vec top_right,
                                     typename Simd<T>::vec bottom_left,
                                     typename Simd<T>::vec bottom_right,
                                     typename Simd<T>::bits* tap) {
    typedef typename Simd<T>::vec V;
    typedef typename Simd<T>::bits B;
    V best = top_left;
    B which = B{};
    const V others[3] = {top_right, bottom_left, bottom_right};
    for (int k = 0; k < 3; ++k) {
        const B take = replaces<T>(others[k], best);
        best = take ? others[k] : best;
        which = take ? B{} + (k + 1) : which;
    }
    *tap = which;
    return best;
}

}  // namespace
}  // namespace TC_ISA
