// max_pool2d and avg_pool2d, written once and compiled per ISA. The including unit includes
// the system headers first, then sets its target pragma and defines TC_ISA (the namespace of
// this copy) and TC_VECTOR_BYTES (the SIMD width). Semantics are the reference variants'
// (tensorcore/backends/reference/pooling.py).
//
// Planar arrays (NCHW or any strides) run one (n, c) plane per task. Where the columns have
// unit strides and the column stride of the windows is 1 or 2, the windows whose column taps
// all lie inside the row go a vector of output columns at a time (ColumnVectors), the others
// one at a time; the 2x2 stride-2 max pool has a path of its own, forward and backward (both
// layouts). Channels-last arrays (C stride 1) run one output row (n, oh) per task with a
// vector of channels per lane group.
#include "pool_kernels.h"
#include "simd.h"
#include "max_2x2.h"

namespace TC_ISA {
namespace {

// Below this much work (window taps over all outputs) a kernel runs on one thread: an OpenMP
// fork/join costs microseconds.
constexpr ptrdiff_t parallel_threshold = 1 << 15;

inline ptrdiff_t min_of(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }
inline ptrdiff_t max_of(ptrdiff_t a, ptrdiff_t b) { return a > b ? a : b; }

// Along one axis, window o's taps [first, end) fall inside [0, size); tap i sits at
// start + i * dilation.
struct TapRange {
    ptrdiff_t first, end, start;
};

inline TapRange taps_inside(ptrdiff_t o, ptrdiff_t size, ptrdiff_t kernel, ptrdiff_t stride,
                            ptrdiff_t pad, ptrdiff_t dilation) {
    const ptrdiff_t start = o * stride - pad;
    if (dilation == 1) {   // no divisions on the common path
        const ptrdiff_t first = start < 0 ? -start : 0;
        return {first, max_of(first, min_of(kernel, size - start)), start};
    }
    const ptrdiff_t first = start < 0 ? (-start + dilation - 1) / dilation : 0;
    ptrdiff_t end = kernel;
    if (start + (kernel - 1) * dilation >= size) {
        end = start >= size ? 0 : (size - 1 - start) / dilation + 1;
    }
    return {first, max_of(first, end), start};
}

inline TapRange row_taps(const PoolGeometry& g, ptrdiff_t oh) {
    return taps_inside(oh, g.H, g.kh, g.sh, g.ph, g.dh);
}

inline TapRange col_taps(const PoolGeometry& g, ptrdiff_t ow) {
    return taps_inside(ow, g.W, g.kw, g.sw, g.pw, g.dw);
}

// The elements a window of `kernel` at o covers in [low, high): the padded input when
// count_include_pad, else the input.
inline ptrdiff_t window_count(ptrdiff_t o, ptrdiff_t size, ptrdiff_t kernel, ptrdiff_t stride,
                              ptrdiff_t pad, bool include_pad) {
    const ptrdiff_t start = o * stride - pad;
    const ptrdiff_t low = include_pad ? -pad : 0, high = include_pad ? size + pad : size;
    return min_of(start + kernel, high) - max_of(start, low);
}

template <typename T>
inline T divisor_of(const PoolGeometry& g, AvgDivisor d, ptrdiff_t oh, ptrdiff_t ow) {
    if (d.divisor_override != 0) return T(d.divisor_override);
    return T(window_count(oh, g.H, g.kh, g.sh, g.ph, d.count_include_pad) *
             window_count(ow, g.W, g.kw, g.sw, g.pw, d.count_include_pad));
}

inline bool run_parallel(int threads, ptrdiff_t work) {
    return threads > 1 && work >= parallel_threshold;
}

// Windows of 2x2 at stride 2, without padding or dilation: the tiling of x by 2x2 blocks
inline bool windows_2x2(const PoolGeometry& g) {
    return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 &&
           g.dh == 1 && g.dw == 1;
}

// --- vectors of output columns (planar) ------------------------------------------------

// Output columns [first, end) of a planar row whose windows go by vectors: those whose column
// taps all lie inside [0, W), where the columns have unit strides and the windows' column
// stride is 1 or 2 (empty elsewhere).
template <typename T>
struct ColumnVectors {
    ptrdiff_t first, end, OW;

    ColumnVectors(const PoolGeometry& g, bool unit_columns) : OW(g.OW) {
        const bool apply = unit_columns && (g.sw == 1 || g.sw == 2);
        first = apply ? min_of(g.OW, (g.pw + g.sw - 1) / g.sw) : g.OW;
        const ptrdiff_t last_start = g.W - 1 - (g.kw - 1) * g.dw + g.pw;   // ow * sw <= this
        end = max_of(first, last_start < 0 ? first : min_of(g.OW, last_start / g.sw + 1));
    }

    // Left to right over a row: one(ow) for each column outside [first, end) (every column
    // unless `vectors`), vector(ow, count) for each vector of count <= lanes columns inside.
    template <typename One, typename Vector>
    void each(bool vectors, One one, Vector vector) const {
        constexpr int L = Simd<T>::lanes;
        const ptrdiff_t vector_first = vectors ? first : OW, vector_end = vectors ? end : OW;
        for (ptrdiff_t ow = 0; ow < vector_first; ++ow) one(ow);
        for (ptrdiff_t ow = vector_first; ow < vector_end; ow += L)
            vector(ow, static_cast<int>(min_of(L, vector_end - ow)));
        for (ptrdiff_t ow = vector_end; ow < OW; ++ow) one(ow);
    }
};

// p[0], p[step], .. p[(count - 1) * step] in the first count lanes (count <= lanes), zeros
// after, for a step of 1 or 2; nothing past p[(count - 1) * step] is read.
template <typename T>
inline typename Simd<T>::vec load_columns(const T* p, ptrdiff_t step, int count) {
    constexpr int L = Simd<T>::lanes;
    if (step == 1) return load_n(p, count);
    const int span = 2 * count - 1;
    const auto even = lane_pattern<T>([](int k) { return 2 * k; });
    const int first = span < L ? span : L;
    return __builtin_shuffle(load_n(p, first), load_n(p + L, span - first), even);
}

// row[k * step + j] += v[k] for every tap j < taps and k < count (count <= lanes), step 1 or
// 2: a window's share added to each of its column taps. With step 2 the taps go in pairs,
// one vector of v's lanes each twice (a lone last tap's with zeros between, and x + 0 leaves
// every value but -0 as it is).
template <typename T>
inline void add_to_taps(T* row, typename Simd<T>::vec v, ptrdiff_t step, ptrdiff_t taps,
                        int count) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    if (step == 1) {
        for (ptrdiff_t j = 0; j < taps; ++j) store_n(row + j, load_n(row + j, count) + v, count);
        return;
    }
    for (ptrdiff_t j = 0; j < taps; j += 2) {
        const V other = j + 1 < taps ? v : V{};
        // elements j .. j + span - 1 of the row
        const int span = 2 * count - (j + 1 < taps ? 0 : 1);
        const int first = span < L ? span : L, second = span - first;
        T* p = row + j;
        store_n(p, load_n(p, first) + interleave_low<T>(v, other), first);
        store_n(p + L, load_n(p + L, second) + interleave_high<T>(v, other), second);
    }
}

// --- max pool ------------------------------------------------------------------------

// One window of a plane (row stride rs, column stride cs) -> its maximum and flat index; the
// first tap inside x starts the search, so a window of -inf points at it, and a window with
// no tap inside x gives -inf and -1.
template <typename T>
inline void max_window(const PoolGeometry& g, const T* plane, ptrdiff_t rs, ptrdiff_t cs,
                       ptrdiff_t oh, ptrdiff_t ow, T* value, int64_t* index) {
    const TapRange rows = row_taps(g, oh), cols = col_taps(g, ow);
    T best = -static_cast<T>(INFINITY);
    int64_t at = -1;
    for (ptrdiff_t i = rows.first; i < rows.end; ++i) {
        const ptrdiff_t r = rows.start + i * g.dh;
        for (ptrdiff_t j = cols.first; j < cols.end; ++j) {
            const ptrdiff_t c = cols.start + j * g.dw;
            const T v = plane[r * rs + c * cs];
            if (at < 0 || v > best || (v != v && best == best)) {
                best = v;
                at = r * g.W + c;
            }
        }
    }
    *value = best;
    *index = at;
}

// Windows ow0 .. ow0 + count - 1 (count <= lanes) of output row oh, whose rows `rows` hold
// at least one tap and whose column taps all lie inside the row: max_window's maxima and flat
// indices, a vector of windows at a time (the lanes keep r * W + the tap's column offset,
// within their width: the caller keeps H * W within int32 for float).
template <typename T>
inline void max_windows(const PoolGeometry& g, const T* plane, ptrdiff_t rs, TapRange rows,
                        ptrdiff_t ow0, int count, T* y, int64_t* indices) {
    typedef typename Simd<T>::vec V;
    typedef typename Simd<T>::bits B;
    typedef typename LaneBits<T>::type Lane;
    const ptrdiff_t col0 = ow0 * g.sw - g.pw;
    // the first tap starts the search, as in max_window
    const ptrdiff_t r0 = rows.start + rows.first * g.dh;
    V best = load_columns(plane + r0 * rs + col0, g.sw, count);
    B at = B{} + static_cast<Lane>(r0 * g.W);
    for (ptrdiff_t i = rows.first; i < rows.end; ++i) {
        const ptrdiff_t r = rows.start + i * g.dh;
        for (ptrdiff_t j = i == rows.first ? 1 : 0; j < g.kw; ++j) {
            const V v = load_columns(plane + r * rs + col0 + j * g.dw, g.sw, count);
            const B take = replaces<T>(v, best);
            best = take ? v : best;
            at = take ? B{} + static_cast<Lane>(r * g.W + j * g.dw) : at;
        }
    }
    store_n(y, best, count);
    const B columns = static_cast<Lane>(col0) + lane_indices<T>() * static_cast<Lane>(g.sw);
    store_n_int64<T>(indices, at + columns, count);
}

// 2x2 windows at stride 2, no padding or dilation, unit column strides: each vector of L
// outputs reads 2L inputs from each of two rows and splits them into the 4 taps. Rows of a
// small plane (MNIST's 26 columns) are shorter than the vectors: there the loads run on
// past the row, within the plane, and the stores on into the plane's next rows (of a
// contiguous output), which overwrite those lanes after.
template <typename T>
void max_pool_plane_2x2(const PoolGeometry& g, const T* plane, ptrdiff_t rs, T* y,
                        int64_t* indices, ptrdiff_t y_rs) {
    typedef typename Simd<T>::vec V;
    typedef typename Simd<T>::bits B;
    typedef typename LaneBits<T>::type Lane;
    constexpr int L = Simd<T>::lanes;
    B even, odd;
    for (int i = 0; i < L; ++i) {
        even[i] = 2 * i;
        odd[i] = 2 * i + 1;
    }
    const T* plane_end = plane + (g.H - 1) * rs + g.W;
    const ptrdiff_t full_cols = min_of(g.OW, g.W / 2);
    for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
        T* y_row = y + oh * y_rs;
        int64_t* index_row = indices + oh * y_rs;
        ptrdiff_t ow = 0;
        if (2 * oh + 1 < g.H) {
            const T* top = plane + 2 * oh * rs;
            const T* bottom = top + rs;
            for (; ow < full_cols; ow += L) {
                // the last vector of a row may hold fewer outputs: partial loads (zeros after)
                // where full ones would leave the plane
                const int count = static_cast<int>(min_of(L, full_cols - ow));
                V a, b, c, d;
                if (bottom + 2 * ow + 2 * L <= plane_end) {
                    a = load(top + 2 * ow), b = load(top + 2 * ow + L);
                    c = load(bottom + 2 * ow), d = load(bottom + 2 * ow + L);
                } else {
                    const int first_half = 2 * count < L ? 2 * count : L;
                    const int second_half = 2 * count - first_half;
                    a = load_n(top + 2 * ow, first_half), b = load_n(top + 2 * ow + L, second_half);
                    c = load_n(bottom + 2 * ow, first_half);
                    d = load_n(bottom + 2 * ow + L, second_half);
                }
                B tap;
                const V best = max_2x2<T>(__builtin_shuffle(a, b, even),
                                          __builtin_shuffle(a, b, odd),
                                          __builtin_shuffle(c, d, even),
                                          __builtin_shuffle(c, d, odd), &tap);
                // flat index = the window's first + (tap / 2) W + tap % 2
                const B at = even + static_cast<Lane>(2 * oh * g.W + 2 * ow) +
                             (tap >> 1) * static_cast<Lane>(g.W) + (tap & 1);
                // a whole vector when the lanes past the row stay in the plane's later rows
                const bool within_plane = y_rs == g.OW && (oh * g.OW + ow + L) <= g.OH * g.OW;
                const int stored = within_plane ? L : count;
                store_n(y_row + ow, best, stored);
                store_n_int64<T>(index_row + ow, at, stored);
            }
            ow = full_cols;   // the vectors covered every full window of the row
        }
        for (; ow < g.OW; ++ow) {
            max_window(g, plane, rs, ptrdiff_t(1), oh, ow, y_row + ow, index_row + ow);
        }
    }
}

template <typename T>
void max_pool_planar(const PoolGeometry& g, const T* x, Strides4 xs, T* y, int64_t* indices,
                     Strides4 ys, int threads) {
    // vectors of output columns, where float lanes can hold the flat indices as int32
    const bool vectors = xs.w == 1 && ys.w == 1 && (sizeof(T) == 8 || g.H * g.W <= INT_MAX);
    const ColumnVectors<T> columns(g, vectors);
    const bool fast = windows_2x2(g) && vectors;
    const ptrdiff_t planes = g.N * g.C;
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel(threads, planes * g.OH * g.OW * g.kh * g.kw))
    for (ptrdiff_t p = 0; p < planes; ++p) {
        const ptrdiff_t n = p / g.C, c = p % g.C;
        const T* plane = x + n * xs.n + c * xs.c;
        const ptrdiff_t out_plane = n * ys.n + c * ys.c;
        if (fast) {
            max_pool_plane_2x2(g, plane, xs.h, y + out_plane, indices + out_plane, ys.h);
            continue;
        }
        for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
            const TapRange rows = row_taps(g, oh);
            T* y_row = y + out_plane + oh * ys.h;
            int64_t* index_row = indices + out_plane + oh * ys.h;
            columns.each(
                rows.first < rows.end,
                [&](ptrdiff_t ow) {
                    max_window(g, plane, xs.h, xs.w, oh, ow, y_row + ow * ys.w,
                               index_row + ow * ys.w);
                },
                [&](ptrdiff_t ow, int count) {
                    max_windows(g, plane, xs.h, rows, ow, count, y_row + ow, index_row + ow);
                });
        }
    }
}

// One window of the 2x2 stride-2 tiling, channels-last: its four pixels (top_left, the next
// one pixel_stride on, and those below them row_stride on; channels contiguous) -> the
// channels' maxima and flat indices, `first` the top-left pixel's.
template <typename T>
inline void max_pixel_2x2(const PoolGeometry& g, const T* top_left, ptrdiff_t pixel_stride,
                          ptrdiff_t row_stride, ptrdiff_t first, T* y, int64_t* indices) {
    typedef typename Simd<T>::vec V;
    typedef typename Simd<T>::bits B;
    typedef typename LaneBits<T>::type Lane;
    constexpr int L = Simd<T>::lanes;
    const T* top_right = top_left + pixel_stride;
    const T* bottom_left = top_left + row_stride;
    const T* bottom_right = bottom_left + pixel_stride;
    for (ptrdiff_t c0 = 0; c0 < g.C; c0 += L) {
        const int count = static_cast<int>(min_of(L, g.C - c0));
        B tap;
        const V best = max_2x2<T>(load_n(top_left + c0, count), load_n(top_right + c0, count),
                                  load_n(bottom_left + c0, count),
                                  load_n(bottom_right + c0, count), &tap);
        const B at = static_cast<Lane>(first) + (tap >> 1) * static_cast<Lane>(g.W) + (tap & 1);
        store_n(y + c0, best, count);
        store_n_int64<T>(indices + c0, at, count);
    }
}

// Channels-last: a vector of channels per window, the flat index kept per lane (as 32- or
// 64-bit lanes; the caller keeps H * W within int32 for float).
template <typename T>
void max_pool_channels_last(const PoolGeometry& g, const T* x, Strides4 xs, T* y,
                            int64_t* indices, Strides4 ys, int threads) {
    typedef typename Simd<T>::vec V;
    typedef typename Simd<T>::bits B;
    constexpr int L = Simd<T>::lanes;
    const bool tiled = windows_2x2(g);
    const ptrdiff_t rows = g.N * g.OH;
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel(threads, rows * g.OW * g.C * g.kh * g.kw))
    for (ptrdiff_t row = 0; row < rows; ++row) {
        const ptrdiff_t n = row / g.OH, oh = row % g.OH;
        const TapRange taps_r = row_taps(g, oh);
        for (ptrdiff_t ow = 0; ow < g.OW; ++ow) {
            const ptrdiff_t out = n * ys.n + oh * ys.h + ow * ys.w;
            if (tiled && 2 * oh + 1 < g.H && 2 * ow + 1 < g.W) {   // all four taps inside
                max_pixel_2x2(g, x + n * xs.n + 2 * oh * xs.h + 2 * ow * xs.w, xs.w, xs.h,
                              2 * oh * g.W + 2 * ow, y + out, indices + out);
                continue;
            }
            const TapRange taps_c = col_taps(g, ow);
            for (ptrdiff_t c0 = 0; c0 < g.C; c0 += L) {
                const int count = static_cast<int>(min_of(L, g.C - c0));
                V best = broadcast(-static_cast<T>(INFINITY));
                B at = B{} - 1;
                bool first = true;
                for (ptrdiff_t i = taps_r.first; i < taps_r.end; ++i) {
                    const ptrdiff_t r = taps_r.start + i * g.dh;
                    for (ptrdiff_t j = taps_c.first; j < taps_c.end; ++j) {
                        const ptrdiff_t col = taps_c.start + j * g.dw;
                        const T* p = x + n * xs.n + r * xs.h + col * xs.w + c0;
                        const V v = load_n(p, count);
                        const B position =
                            B{} + static_cast<typename LaneBits<T>::type>(r * g.W + col);
                        const B take = first ? B{} - 1 : replaces<T>(v, best);
                        best = take ? v : best;
                        at = take ? position : at;
                        first = false;
                    }
                }
                store_n(y + out + c0, best, count);
                store_n_int64<T>(indices + out + c0, at, count);
            }
        }
    }
}

// --- max pool backward over the 2x2 stride-2 tiling -----------------------------------------
// Where every index lies in its own window of that tiling (as max_pool2d(x, 2) gives them),
// each element of dx receives at most one gradient, so dx is written whole, each element once,
// with no zeroing pass and no scatter. Where an index lies elsewhere (another geometry, or -1)
// the plane or image is redone on the general path, and that thread does not try again.

// The value each element of a vector of windows receives: grad where the index points at it,
// else zero.
template <typename T>
struct WindowGrads {
    typename Simd<T>::vec top_left, top_right, bottom_left, bottom_right;
};

// values to the elements of their windows that the masks pick, zeros to the others: + 0, so
// that -0 turns into +0 as on the general path's 0 + grad
template <typename T>
inline WindowGrads<T> placed(typename Simd<T>::vec values, typename Simd<T>::bits top_left,
                             typename Simd<T>::bits top_right,
                             typename Simd<T>::bits bottom_left,
                             typename Simd<T>::bits bottom_right) {
    const typename Simd<T>::vec zero{};
    return {(top_left ? values : zero) + zero, (top_right ? values : zero) + zero,
            (bottom_left ? values : zero) + zero, (bottom_right ? values : zero) + zero};
}

// Where the windows' indices lie: `outside` gains the lanes whose index lies in none of its
// window's four elements, `off_plane` (64-bit lanes) those outside [0, H * W)
template <typename T>
struct IndexChecks {
    typename Simd<T>::bits outside{};
    typename Simd<double>::bits off_plane{};
};

// count windows from grad[0 .. count) and indices[0 .. count); `first` their first (top-left)
// elements
template <typename T>
inline WindowGrads<T> window_grads(const PoolGeometry& g, const T* grad, const int64_t* indices,
                                   int count, typename Simd<T>::bits first,
                                   IndexChecks<T>& checks) {
    typedef typename Simd<T>::bits B;
    typedef typename LaneBits<T>::type Lane;
    const B offset = load_n_index<T>(indices, count, g.H * g.W, checks.off_plane) - first;
    const Lane W = static_cast<Lane>(g.W);
    const B top_left = offset == 0, top_right = offset == 1;
    const B bottom_left = offset == W, bottom_right = offset == W + 1;
    checks.outside |= (lane_indices<T>() < count - B{}) &
                      ~(top_left | top_right | bottom_left | bottom_right);
    return placed<T>(load_n(grad, count), top_left, top_right, bottom_left, bottom_right);
}

// The same from the windows' taps (max_2x2's, 0 .. 3); `past` gains the lanes whose tap lies
// past 3
template <typename T>
inline WindowGrads<T> tap_grads(const T* grad, const unsigned char* taps, int count,
                                typename Simd<T>::bits& past) {
    typedef typename Simd<T>::bits B;
    const B tap = load_n_bytes<T>(taps, count);
    past |= tap > 3;
    return placed<T>(load_n(grad, count), tap == 0, tap == 1, tap == 2, tap == 3);
}

template <typename V>
inline bool any_lane(V v) {
    for (size_t i = 0; i < sizeof(V) / sizeof(v[0]); ++i) {
        if (v[i]) return true;
    }
    return false;
}

template <typename T>
inline bool inside_windows(const IndexChecks<T>& checks) {
    return !any_lane(checks.outside) && !any_lane(checks.off_plane);
}

// One plane of dx (rows of W contiguous elements) from its windows' values, a vector of
// windows at a time: grads_at(oh, ow, count) for windows (oh, ow .. ow + count)
template <typename T, class Grads>
void plane_from_windows_2x2(const PoolGeometry& g, T* d, const Grads& grads_at) {
    constexpr int L = Simd<T>::lanes;
    for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
        T* top = d + 2 * oh * g.W;
        for (ptrdiff_t ow = 0; ow < g.OW; ow += L) {
            const int count = static_cast<int>(min_of(L, g.OW - ow));
            const WindowGrads<T> w = grads_at(oh, ow, count);
            store_interleaved(top + 2 * ow, w.top_left, w.top_right, 2 * count);
            store_interleaved(top + g.W + 2 * ow, w.bottom_left, w.bottom_right, 2 * count);
        }
        if (g.W % 2) top[g.W - 1] = top[2 * g.W - 1] = T(0);
    }
    std::fill(d + 2 * g.OH * g.W, d + g.H * g.W, T(0));
}

// One plane of dx from a plane of grad and indices (unit column strides); false where an index
// lies outside its window.
template <typename T>
bool max_backward_plane_2x2(const PoolGeometry& g, const T* grad, ptrdiff_t grad_rs,
                            const int64_t* indices, ptrdiff_t index_rs, T* d) {
    typedef typename Simd<T>::bits B;
    typedef typename LaneBits<T>::type Lane;
    const B even = lane_indices<T>() * 2;
    IndexChecks<T> checks;
    plane_from_windows_2x2(g, d, [&](ptrdiff_t oh, ptrdiff_t ow, int count) {
        return window_grads<T>(g, grad + oh * grad_rs + ow, indices + oh * index_rs + ow, count,
                               even + static_cast<Lane>(2 * oh * g.W + 2 * ow), checks);
    });
    return inside_windows(checks);
}

// dx (C, H, W) of one image from grad and taps (C, OH, OW), all contiguous
template <typename T>
bool max_backward_taps(const PoolGeometry& g, const T* grad, const unsigned char* taps, T* dx) {
    typename Simd<T>::bits past{};
    const ptrdiff_t plane = g.OH * g.OW;
    for (ptrdiff_t c = 0; c < g.C; ++c) {
        plane_from_windows_2x2(g, dx + c * g.H * g.W, [&](ptrdiff_t oh, ptrdiff_t ow, int count) {
            const ptrdiff_t at = c * plane + oh * g.OW + ow;
            return tap_grads<T>(grad + at, taps + at, count, past);
        });
    }
    return !any_lane(past);
}

// One image of channels-last dx (pixels pixel_stride apart, channels contiguous) from one of
// grad and indices (unit channel strides); false where an index lies outside its window.
template <typename T>
bool max_backward_image_2x2(const PoolGeometry& g, const T* grad, Strides4 gs,
                            const int64_t* indices, Strides4 is, T* d, ptrdiff_t pixel_stride) {
    typedef typename Simd<T>::bits B;
    typedef typename LaneBits<T>::type Lane;
    constexpr int L = Simd<T>::lanes;
    IndexChecks<T> checks;
    for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
        for (ptrdiff_t ow = 0; ow < g.OW; ++ow) {
            const ptrdiff_t first = 2 * oh * g.W + 2 * ow;
            const B first_lanes = B{} + static_cast<Lane>(first);
            T* top_left = d + first * pixel_stride;
            T* bottom_left = top_left + g.W * pixel_stride;
            for (ptrdiff_t c0 = 0; c0 < g.C; c0 += L) {
                const int count = static_cast<int>(min_of(L, g.C - c0));
                const WindowGrads<T> w =
                    window_grads<T>(g, grad + oh * gs.h + ow * gs.w + c0,
                                    indices + oh * is.h + ow * is.w + c0, count, first_lanes,
                                    checks);
                store_n(top_left + c0, w.top_left, count);
                store_n(top_left + pixel_stride + c0, w.top_right, count);
                store_n(bottom_left + c0, w.bottom_left, count);
                store_n(bottom_left + pixel_stride + c0, w.bottom_right, count);
            }
        }
    }
    for (ptrdiff_t r = 0; r < g.H; ++r) {   // the pixels no window covers
        for (ptrdiff_t col = r < 2 * g.OH ? 2 * g.OW : 0; col < g.W; ++col) {
            std::fill_n(d + (r * g.W + col) * pixel_stride, g.C, T(0));
        }
    }
    return inside_windows(checks);
}

// Whether grad's shape is that of the 2x2 stride-2 tiling of x's (the indices then decide),
// with a plane's indices within 32-bit lanes
inline bool tiled_2x2(const PoolGeometry& g) {
    return g.OH == g.H / 2 && g.OW == g.W / 2 && g.H * g.W < (ptrdiff_t(1) << 31);
}

// --- max pool backward, any geometry ----------------------------------------------------------
// dx of one (n, c) plane or one image n: zeroed, then every grad added at its index. dx's
// element (r, c) of a plane lies at (r * W + c) * dx_strides.w (planes of contiguous rows).
template <typename T>
bool max_backward_planar(const PoolGeometry& g, const T* grad, Strides4 gs,
                         const int64_t* indices, Strides4 is, T* dx, Strides4 ds, int threads) {
    const ptrdiff_t planes = g.N * g.C, plane_size = g.H * g.W;
    const bool tiled = tiled_2x2(g) && gs.w == 1 && is.w == 1 && ds.w == 1 && ds.h == g.W;
    bool in_range = true;
#pragma omp parallel num_threads(threads) reduction(&& : in_range) \
    if (run_parallel(threads, planes * (g.OH * g.OW + plane_size)))
    {
        bool try_tiled = tiled;
#pragma omp for schedule(static)
        for (ptrdiff_t p = 0; p < planes; ++p) {
            const ptrdiff_t n = p / g.C, c = p % g.C;
            T* d = dx + n * ds.n + c * ds.c;
            const T* gp = grad + n * gs.n + c * gs.c;
            const int64_t* ip = indices + n * is.n + c * is.c;
            if (try_tiled && max_backward_plane_2x2(g, gp, gs.h, ip, is.h, d)) continue;
            try_tiled = false;
            if (ds.w == 1) {
                std::fill(d, d + plane_size, T(0));   // vector stores: the common, contiguous plane
            } else {
                for (ptrdiff_t i = 0; i < plane_size; ++i) d[i * ds.w] = T(0);
            }
            for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
                for (ptrdiff_t ow = 0; ow < g.OW; ++ow) {
                    const int64_t at = ip[oh * is.h + ow * is.w];
                    if (at < -1 || at >= plane_size) in_range = false;
                    if (at < 0 || at >= plane_size) continue;
                    d[at * ds.w] += gp[oh * gs.h + ow * gs.w];
                }
            }
        }
    }
    return in_range;
}

template <typename T>
bool max_backward_channels_last(const PoolGeometry& g, const T* grad, Strides4 gs,
                                const int64_t* indices, Strides4 is, T* dx, Strides4 ds,
                                int threads) {
    const ptrdiff_t plane_size = g.H * g.W;
    const bool tiled = tiled_2x2(g) && gs.c == 1 && is.c == 1 && ds.c == 1;
    bool in_range = true;
#pragma omp parallel num_threads(threads) reduction(&& : in_range) \
    if (run_parallel(threads, g.N * g.C * (g.OH * g.OW + plane_size)))
    {
        bool try_tiled = tiled;
#pragma omp for schedule(static)
        for (ptrdiff_t n = 0; n < g.N; ++n) {
            T* d = dx + n * ds.n;
            const T* gn = grad + n * gs.n;
            const int64_t* in = indices + n * is.n;
            if (try_tiled && max_backward_image_2x2(g, gn, gs, in, is, d, ds.w)) continue;
            try_tiled = false;
            for (ptrdiff_t i = 0; i < plane_size; ++i) {
                for (ptrdiff_t c = 0; c < g.C; ++c) d[i * ds.w + c] = T(0);
            }
            for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
                for (ptrdiff_t ow = 0; ow < g.OW; ++ow) {
                    const T* gp = gn + oh * gs.h + ow * gs.w;
                    const int64_t* ip = in + oh * is.h + ow * is.w;
                    for (ptrdiff_t c = 0; c < g.C; ++c) {
                        const int64_t at = ip[c * is.c];
                        if (at < -1 || at >= plane_size) in_range = false;
                        if (at < 0 || at >= plane_size) continue;
                        d[at * ds.w + c] += gp[c * gs.c];
                    }
                }
            }
        }
    }
    return in_range;
}

// --- avg pool ------------------------------------------------------------------------

template <typename T>
void avg_forward_planar(const PoolGeometry& g, AvgDivisor divisor, const T* x, Strides4 xs, T* y,
                        Strides4 ys, int threads) {
    typedef typename Simd<T>::vec V;
    const ColumnVectors<T> columns(g, xs.w == 1 && ys.w == 1);
    const ptrdiff_t planes = g.N * g.C;
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel(threads, planes * g.OH * g.OW * g.kh * g.kw))
    for (ptrdiff_t p = 0; p < planes; ++p) {
        const ptrdiff_t n = p / g.C, c = p % g.C;
        const T* plane = x + n * xs.n + c * xs.c;
        for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
            const TapRange rows = row_taps(g, oh);
            T* y_row = y + n * ys.n + c * ys.c + oh * ys.h;
            // each row of a window summed apart: a large window's rounding then grows with
            // kh + kw terms, not kh * kw
            columns.each(
                true,
                [&](ptrdiff_t ow) {
                    const TapRange cols = col_taps(g, ow);
                    T sum = 0;
                    for (ptrdiff_t i = rows.first; i < rows.end; ++i) {
                        const T* row = plane + (rows.start + i) * xs.h;
                        T row_sum = 0;
                        for (ptrdiff_t j = cols.first; j < cols.end; ++j) {
                            row_sum += row[(cols.start + j) * xs.w];
                        }
                        sum += row_sum;
                    }
                    y_row[ow * ys.w] = sum / divisor_of<T>(g, divisor, oh, ow);
                },
                [&](ptrdiff_t ow, int count) {
                    V sum = V{};
                    for (ptrdiff_t i = rows.first; i < rows.end; ++i) {
                        const T* row = plane + (rows.start + i) * xs.h + ow * g.sw - g.pw;
                        V row_sum = V{};
                        for (ptrdiff_t j = 0; j < g.kw; ++j)
                            row_sum += load_columns(row + j, g.sw, count);
                        sum += row_sum;
                    }
                    // its windows span kw columns each: one divisor for all of them
                    store_n(y_row + ow, sum / divisor_of<T>(g, divisor, oh, ow), count);
                });
        }
    }
}

template <typename T>
void avg_forward_channels_last(const PoolGeometry& g, AvgDivisor divisor, const T* x,
                               Strides4 xs, T* y, Strides4 ys, int threads) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t rows = g.N * g.OH;
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel(threads, rows * g.OW * g.C * g.kh * g.kw))
    for (ptrdiff_t row = 0; row < rows; ++row) {
        const ptrdiff_t n = row / g.OH, oh = row % g.OH;
        const TapRange taps_r = row_taps(g, oh);
        for (ptrdiff_t ow = 0; ow < g.OW; ++ow) {
            const TapRange taps_c = col_taps(g, ow);
            const T div = divisor_of<T>(g, divisor, oh, ow);
            T* out = y + n * ys.n + oh * ys.h + ow * ys.w;
            for (ptrdiff_t c0 = 0; c0 < g.C; c0 += L) {
                const int count = static_cast<int>(min_of(L, g.C - c0));
                V sum = V{};
                for (ptrdiff_t i = taps_r.first; i < taps_r.end; ++i) {
                    V row_sum = V{};   // summed apart, as in avg_forward_planar
                    for (ptrdiff_t j = taps_c.first; j < taps_c.end; ++j) {
                        const T* p = x + n * xs.n + (taps_r.start + i) * xs.h +
                                     (taps_c.start + j) * xs.w + c0;
                        row_sum += load_n(p, count);
                    }
                    sum += row_sum;
                }
                store_n(out + c0, sum / div, count);
            }
        }
    }
}

template <typename T>
void avg_backward_planar(const PoolGeometry& g, AvgDivisor divisor, const T* grad, Strides4 gs,
                         T* dx, Strides4 ds, int threads) {
    typedef typename Simd<T>::vec V;
    const ColumnVectors<T> columns(g, gs.w == 1 && ds.w == 1);
    const ptrdiff_t planes = g.N * g.C;
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel(threads, planes * g.OH * g.OW * g.kh * g.kw))
    for (ptrdiff_t p = 0; p < planes; ++p) {
        const ptrdiff_t n = p / g.C, c = p % g.C;
        T* d = dx + n * ds.n + c * ds.c;
        for (ptrdiff_t r = 0; r < g.H; ++r) {
            if (ds.w == 1) {
                std::fill(d + r * ds.h, d + r * ds.h + g.W, T(0));
            } else {
                for (ptrdiff_t col = 0; col < g.W; ++col) d[r * ds.h + col * ds.w] = T(0);
            }
        }
        for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
            const TapRange rows = row_taps(g, oh);
            const T* grad_row = grad + n * gs.n + c * gs.c + oh * gs.h;
            columns.each(
                true,
                [&](ptrdiff_t ow) {
                    const TapRange cols = col_taps(g, ow);
                    const T share = grad_row[ow * gs.w] / divisor_of<T>(g, divisor, oh, ow);
                    for (ptrdiff_t i = rows.first; i < rows.end; ++i) {
                        T* row = d + (rows.start + i) * ds.h;
                        for (ptrdiff_t j = cols.first; j < cols.end; ++j) {
                            row[(cols.start + j) * ds.w] += share;
                        }
                    }
                },
                [&](ptrdiff_t ow, int count) {
                    // one divisor for the vector's windows, as in avg_forward_planar
                    const T div = divisor_of<T>(g, divisor, oh, ow);
                    const V share = load_n(grad_row + ow, count) / div;
                    for (ptrdiff_t i = rows.first; i < rows.end; ++i) {
                        add_to_taps(d + (rows.start + i) * ds.h + ow * g.sw - g.pw, share, g.sw,
                                    g.kw, count);
                    }
                });
        }
    }
}

// One image per task: windows of neighbouring output rows overlap in dx.
template <typename T>
void avg_backward_channels_last(const PoolGeometry& g, AvgDivisor divisor, const T* grad,
                                Strides4 gs, T* dx, Strides4 ds, int threads) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
#pragma omp parallel for num_threads(threads) schedule(static) \
    if (run_parallel(threads, g.N * g.OH * g.OW * g.C * g.kh * g.kw))
    for (ptrdiff_t n = 0; n < g.N; ++n) {
        for (ptrdiff_t r = 0; r < g.H; ++r) {
            for (ptrdiff_t col = 0; col < g.W; ++col) {
                T* d = dx + n * ds.n + r * ds.h + col * ds.w;
                for (ptrdiff_t c = 0; c < g.C; ++c) d[c] = T(0);
            }
        }
        for (ptrdiff_t oh = 0; oh < g.OH; ++oh) {
            const TapRange taps_r = row_taps(g, oh);
            for (ptrdiff_t ow = 0; ow < g.OW; ++ow) {
                const TapRange taps_c = col_taps(g, ow);
                const T div = divisor_of<T>(g, divisor, oh, ow);
                const T* gp = grad + n * gs.n + oh * gs.h + ow * gs.w;
                for (ptrdiff_t c0 = 0; c0 < g.C; c0 += L) {
                    const int count = static_cast<int>(min_of(L, g.C - c0));
                    const V share = load_n(gp + c0, count) / div;
                    for (ptrdiff_t i = taps_r.first; i < taps_r.end; ++i) {
                        for (ptrdiff_t j = taps_c.first; j < taps_c.end; ++j) {
                            T* d = dx + n * ds.n + (taps_r.start + i) * ds.h +
                                   (taps_c.start + j) * ds.w + c0;
                            store_n(d, load_n(d, count) + share, count);
                        }
                    }
                }
            }
        }
    }
}

}  // namespace

#define TC_DEFINE_POOL_KERNELS_FOR(T)                                                            \
    void max_pool_forward(const PoolGeometry& g, const T* x, Strides4 xs, T* y,                  \
                          int64_t* indices, Strides4 ys, bool channels_last, int threads) {       \
        if (channels_last) {                                                                     \
            max_pool_channels_last(g, x, xs, y, indices, ys, threads);                           \
        } else {                                                                                 \
            max_pool_planar(g, x, xs, y, indices, ys, threads);                                  \
        }                                                                                        \
    }                                                                                            \
    bool max_pool_backward(const PoolGeometry& g, const T* grad, Strides4 gs,                    \
                           const int64_t* indices, Strides4 is, T* dx, Strides4 ds,              \
                           bool channels_last, int threads) {                                    \
        return channels_last                                                                     \
                   ? max_backward_channels_last(g, grad, gs, indices, is, dx, ds, threads)      \
                   : max_backward_planar(g, grad, gs, indices, is, dx, ds, threads);            \
    }                                                                                            \
    bool max_pool_backward_taps(const PoolGeometry& g, const T* grad, const unsigned char* taps, \
                                T* dx) {                                                         \
        return max_backward_taps(g, grad, taps, dx);                                             \
    }                                                                                            \
    void avg_pool_forward(const PoolGeometry& g, AvgDivisor divisor, const T* x, Strides4 xs,   \
                          T* y, Strides4 ys, bool channels_last, int threads) {                 \
        if (channels_last) {                                                                     \
            avg_forward_channels_last(g, divisor, x, xs, y, ys, threads);                        \
        } else {                                                                                 \
            avg_forward_planar(g, divisor, x, xs, y, ys, threads);                               \
        }                                                                                        \
    }                                                                                            \
    void avg_pool_backward(const PoolGeometry& g, AvgDivisor divisor, const T* grad,            \
                           Strides4 gs, T* dx, Strides4 ds, bool channels_last, int threads) {  \
        if (channels_last) {                                                                     \
            avg_backward_channels_last(g, divisor, grad, gs, dx, ds, threads);                   \
        } else {                                                                                 \
            avg_backward_planar(g, divisor, grad, gs, dx, ds, threads);                          \
        }                                                                                        \
    }

TC_DEFINE_POOL_KERNELS_FOR(float)
TC_DEFINE_POOL_KERNELS_FOR(double)

}  // namespace TC_ISA
