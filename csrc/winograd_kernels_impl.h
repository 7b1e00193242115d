// The Winograd kernels of winograd_kernels.h, written once and compiled per ISA. The including
// unit sets its target pragma and defines
//   TC_ISA                  namespace of this copy (isa_avx512, isa_avx2, isa_generic)
//   TC_VECTOR_BYTES         SIMD register width in bytes
//   TC_WINOGRAD_VECTORS     vectors per row of a product tile (tile_rows rows), about
//                           half the register file in accumulators
// The transforms work on vectors of channels; the products broadcast one operand and load
// the other as vectors, from buffers small enough to stay in L2.
#include "simd.h"
#include "winograd_kernels.h"

namespace TC_ISA {
namespace {

using tensorcore::winograd_entries;
using tensorcore::winograd_entry_stride;
using tensorcore::winograd_tile;

// Rows of a full product tile
constexpr int tile_rows = 6;

// One product tile: c (R rows, VB vectors, rows c_row apart) (=|+=) the sum over k < depth of
// a[r * a_row + k * a_step] * b[k * b_row + vector v].
template <typename T, int R, int VB, bool accumulate>
void product_tile(const T* a, ptrdiff_t a_row, ptrdiff_t a_step, const T* b, ptrdiff_t b_row,
                  ptrdiff_t depth, T* c, ptrdiff_t c_row) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    V acc[R][VB];
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < VB; ++v) acc[r][v] = accumulate ? load(c + r * c_row + v * L) : V{};
    for (ptrdiff_t k = 0; k < depth; ++k, a += a_step, b += b_row) {
        V bv[VB];
        for (int v = 0; v < VB; ++v) bv[v] = load(b + v * L);
        for (int r = 0; r < R; ++r) {
            const V av = broadcast(a[r * a_row]);
            for (int v = 0; v < VB; ++v) acc[r][v] += av * bv[v];
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < VB; ++v) store(c + r * c_row + v * L, acc[r][v]);
}

// f(Count<n>{}) for a run-time count 1 <= n <= N: a call templated on a small count
template <int n>
struct Count {
    static constexpr int value = n;
};

template <int N, class F>
void with_count(ptrdiff_t n, const F& f) {
    if constexpr (N > 1) {
        if (n < N) return with_count<N - 1>(n, f);
    }
    f(Count<N>{});
}

// R rows of product tiles across `width_padded` columns (a multiple of the lanes): full tiles
// of TC_WINOGRAD_VECTORS vectors, then one of the remaining vectors.
template <typename T, int R, bool accumulate>
void product_row(const T* a, ptrdiff_t a_row, ptrdiff_t a_step, const T* b, ptrdiff_t b_row,
                 ptrdiff_t depth, ptrdiff_t width_padded, T* c, ptrdiff_t c_row) {
    constexpr int L = Simd<T>::lanes, VB = TC_WINOGRAD_VECTORS;
    ptrdiff_t w = 0;
    for (; w + VB * L <= width_padded; w += VB * L)
        product_tile<T, R, VB, accumulate>(a, a_row, a_step, b + w, b_row, depth, c + w, c_row);
    if (w == width_padded) return;
    with_count<VB - 1>((width_padded - w) / L, [&](auto vectors) {
        product_tile<T, R, decltype(vectors)::value, accumulate>(a, a_row, a_step, b + w, b_row,
                                                                 depth, c + w, c_row);
    });
}

// c (rows, width_padded) (=|+=) the products as in product_tile: rows of full tiles, then one
// row of tiles for the rest (so that no caller pads its rows)
template <typename T, bool accumulate>
void product_rows(const T* a, ptrdiff_t a_row, ptrdiff_t a_step, const T* b, ptrdiff_t b_row,
                  ptrdiff_t depth, ptrdiff_t rows, ptrdiff_t width_padded, T* c,
                  ptrdiff_t c_row) {
    ptrdiff_t r = 0;
    for (; r + tile_rows <= rows; r += tile_rows) {
        product_row<T, tile_rows, accumulate>(a + r * a_row, a_row, a_step, b, b_row, depth,
                                              width_padded, c + r * c_row, c_row);
    }
    if (r == rows) return;
    with_count<tile_rows - 1>(rows - r, [&](auto rest) {
        product_row<T, decltype(rest)::value, accumulate>(a + r * a_row, a_row, a_step, b, b_row,
                                                          depth, width_padded, c + r * c_row,
                                                          c_row);
    });
}

template <typename T>
void multiply(const T* v, ptrdiff_t capacity, ptrdiff_t count, ptrdiff_t depth, const T* u,
              ptrdiff_t width_padded, T* m) {
    for (int xi = 0; xi < winograd_entries; ++xi) {
        const T* vx = v + xi * winograd_entry_stride<T>(capacity, depth);
        const T* ux = u + xi * winograd_entry_stride<T>(depth, width_padded);
        T* mx = m + xi * winograd_entry_stride<T>(capacity, width_padded);
        product_rows<T, false>(vx, depth, 1, ux, width_padded, depth, count, width_padded, mx,
                               width_padded);
    }
}

template <typename T>
void multiply_transposed(const T* v, const T* g, ptrdiff_t capacity, ptrdiff_t count,
                         ptrdiff_t depth, ptrdiff_t width_padded, T* du) {
    for (int xi = 0; xi < winograd_entries; ++xi) {
        const T* vx = v + xi * winograd_entry_stride<T>(capacity, depth);
        const T* gx = g + xi * winograd_entry_stride<T>(capacity, width_padded);
        T* dux = du + xi * winograd_entry_stride<T>(depth, width_padded);
        product_rows<T, true>(vx, 1, depth, gx, width_padded, count, depth, width_padded, dux,
                              width_padded);
    }
}

// The position of tile t (numbered as winograd_kernels.h says): its image, and its first
// row and column in that image's grid of pixels
struct TilePosition {
    ptrdiff_t image, y, x;

    TilePosition(ptrdiff_t t, ptrdiff_t tiles_h, ptrdiff_t tiles_w)
        : image(t / (tiles_h * tiles_w)),
          y(winograd_tile * (t % (tiles_h * tiles_w) / tiles_w)),
          x(winograd_tile * (t % tiles_w)) {}
};

// z = B^T d for 6 values d, B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//                                  0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
template <typename V>
inline void input_rows(const V d[6], V z[6]) {
    const V a = d[4] - 4 * d[2], b = d[3] - 4 * d[1];
    const V c = d[4] - d[2], e = 2 * (d[3] - d[1]);
    z[0] = 4 * d[0] - 5 * d[2] + d[4];
    z[1] = a + b;
    z[2] = a - b;
    z[3] = c + e;
    z[4] = c - e;
    z[5] = 4 * d[1] - 5 * d[3] + d[5];
}

// e = A g for 4 values g, A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1]
template <typename V>
inline void gradient_rows(const V g[4], V e[6]) {
    const V even = g[0] + g[2], odd = g[1] + g[3];
    const V even4 = g[0] + 4 * g[2], odd2 = 2 * g[1] + 8 * g[3];
    e[0] = g[0];
    e[1] = even + odd;
    e[2] = even - odd;
    e[3] = even4 + odd2;
    e[4] = even4 - odd2;
    e[5] = g[3];
}

// y = A^T m for 6 values m, A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
template <typename V>
inline void output_rows(const V m[6], V y[4]) {
    const V a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], d = m[3] - m[4];
    y[0] = m[0] + a + c;
    y[1] = b + 2 * d;
    y[2] = a + 4 * c;
    y[3] = b + 8 * d + m[5];
}

// The 6x6 transform of the K x K tile x (rows `row` apart, pixels `pixel` apart) from `tile`:
// rows(x, z), 6 values z from K, down each column of x, then along each row of the result
// (B^T d B with input_rows, A g A^T with gradient_rows). n channels loaded (zeros in the other
// lanes) and `stored` lanes stored, into v[xi * stride]; all lanes when full.
template <typename T, int K, bool full, typename Rows>
void transform_tile(const T* tile, ptrdiff_t row, ptrdiff_t pixel, int n, int stored, T* v,
                    ptrdiff_t stride, Rows rows) {
    typedef typename Simd<T>::vec V;
    if (full) n = stored = Simd<T>::lanes;
    V r[6][K];   // a column of x at a time
    for (int j = 0; j < K; ++j) {
        V x[K], z[6];
        for (int i = 0; i < K; ++i) x[i] = load_n(tile + i * row + j * pixel, n);
        rows(x, z);
        for (int i = 0; i < 6; ++i) r[i][j] = z[i];
    }
    for (int i = 0; i < 6; ++i) {
        V z[6];
        rows(r[i], z);
        for (int j = 0; j < 6; ++j) store_n(v + (6 * i + j) * stride, z[j], stored);
    }
}

// B^T d B for the 6x6 tile d, n channels (v holds just the channels)
template <typename T, bool full>
void input_tile(const T* tile, ptrdiff_t row, ptrdiff_t pixel, int n, T* v, ptrdiff_t stride) {
    transform_tile<T, 6, full>(tile, row, pixel, n, n, v, stride,
                               [](const auto* d, auto* z) { input_rows(d, z); });
}

template <typename T>
void input_transform(const T* images, ptrdiff_t channels, ptrdiff_t tiles_h, ptrdiff_t tiles_w,
                     ptrdiff_t first, ptrdiff_t count, T* v, ptrdiff_t capacity) {
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t stride = winograd_entry_stride<T>(capacity, channels);
    const ptrdiff_t image_w = winograd_tile * tiles_w + 2, row = image_w * channels;
    const ptrdiff_t image_size = (winograd_tile * tiles_h + 2) * row;
    for (ptrdiff_t t = first; t < first + count; ++t) {
        const TilePosition at(t, tiles_h, tiles_w);
        const T* tile = images + at.image * image_size + at.y * row + at.x * channels;
        T* out = v + (t - first) * channels;
        ptrdiff_t c = 0;
        for (; c + L <= channels; c += L)
            input_tile<T, true>(tile + c, row, channels, L, out + c, stride);
        if (c < channels) {
            input_tile<T, false>(tile + c, row, channels, static_cast<int>(channels - c),
                                 out + c, stride);
        }
    }
}

// A g A^T for the 4x4 tile g, n channels, zeros in the other lanes (v holds the padded
// channels)
template <typename T, bool full>
void gradient_tile(const T* tile, ptrdiff_t row, ptrdiff_t pixel, int n, T* v, ptrdiff_t stride) {
    transform_tile<T, 4, full>(tile, row, pixel, n, Simd<T>::lanes, v, stride,
                               [](const auto* g, auto* e) { gradient_rows(g, e); });
}

template <typename T>
void gradient_transform(const T* grad, ptrdiff_t channels, ptrdiff_t channels_padded,
                        ptrdiff_t tiles_h, ptrdiff_t tiles_w, ptrdiff_t first, ptrdiff_t count,
                        T* v, ptrdiff_t capacity) {
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t stride = winograd_entry_stride<T>(capacity, channels_padded);
    const ptrdiff_t row = winograd_tile * tiles_w * channels;
    const ptrdiff_t image_size = winograd_tile * tiles_h * row;
    for (ptrdiff_t t = first; t < first + count; ++t) {
        const TilePosition at(t, tiles_h, tiles_w);
        const T* tile = grad + at.image * image_size + at.y * row + at.x * channels;
        T* out = v + (t - first) * channels_padded;
        for (ptrdiff_t c = 0; c < channels_padded; c += L) {
            const int n = static_cast<int>(std::clamp<ptrdiff_t>(channels - c, 0, L));
            if (n == L) {
                gradient_tile<T, true>(tile + c, row, channels, n, out + c, stride);
            } else {   // zeros past the channels
                gradient_tile<T, false>(tile + c, row, channels, n, out + c, stride);
            }
        }
    }
}

// A^T m A + bias for the tile whose 36 entries are `stride` apart from m, n channels (all
// lanes when full), into its rows x cols pixels from `to` (rows row apart, pixels `pixel`
// apart)
template <typename T, bool full>
void output_tile(const T* m, ptrdiff_t stride, const T* bias, int n, int rows, int cols, T* to,
                 ptrdiff_t row, ptrdiff_t pixel) {
    typedef typename Simd<T>::vec V;
    if (full) n = Simd<T>::lanes;
    V s[4][6];   // A^T m, a column of m at a time
    for (int j = 0; j < 6; ++j) {
        V column[6], y[4];
        for (int i = 0; i < 6; ++i) column[i] = load(m + (6 * i + j) * stride);
        output_rows(column, y);
        for (int i = 0; i < 4; ++i) s[i][j] = y[i];
    }
    const V b = bias ? load_n(bias, n) : V{};
    for (int i = 0; i < rows; ++i) {
        V y[4];
        output_rows(s[i], y);
        for (int j = 0; j < cols; ++j) store_n(to + i * row + j * pixel, y[j] + b, n);
    }
}

template <typename T>
void output_transform(const T* m, ptrdiff_t capacity, ptrdiff_t channels_padded,
                      ptrdiff_t channels, const T* bias, ptrdiff_t tiles_h, ptrdiff_t tiles_w,
                      ptrdiff_t first, ptrdiff_t count, T* out, ptrdiff_t out_h,
                      ptrdiff_t out_w) {
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t stride = winograd_entry_stride<T>(capacity, channels_padded);
    const ptrdiff_t row = out_w * channels;
    for (ptrdiff_t t = first; t < first + count; ++t) {
        const TilePosition at(t, tiles_h, tiles_w);
        const int rows = static_cast<int>(std::min<ptrdiff_t>(winograd_tile, out_h - at.y));
        const int cols = static_cast<int>(std::min<ptrdiff_t>(winograd_tile, out_w - at.x));
        const T* tile = m + (t - first) * channels_padded;
        T* to = out + at.image * out_h * row + at.y * row + at.x * channels;
        ptrdiff_t c = 0;
        for (; c + L <= channels; c += L) {
            output_tile<T, true>(tile + c, stride, bias ? bias + c : bias, L, rows, cols, to + c,
                                 row, channels);
        }
        if (c < channels) {
            output_tile<T, false>(tile + c, stride, bias ? bias + c : bias,
                                  static_cast<int>(channels - c), rows, cols, to + c, row,
                                  channels);
        }
    }
}

// One stage of an L x L transpose held in rows r: swaps bit `b` of the row and column indices
// (after the stages for every bit, r[i][j] holds the former r[j][i]).
template <typename T, int b>
inline void transpose_stage(typename Simd<T>::vec (&r)[Simd<T>::lanes]) {
    typedef typename Simd<T>::bits Mask;
    constexpr int L = Simd<T>::lanes;
    Mask low, high;   // lanes of the pair (r[i], r[i + b]) for the new r[i] and r[i + b]
    for (int j = 0; j < L; ++j) {
        low[j] = (j & b) ? L + j - b : j;
        high[j] = (j & b) ? L + j : j + b;
    }
    for (int i = 0; i < L; ++i) {
        if (i & b) continue;
        const typename Simd<T>::vec a = r[i], c = r[i + b];
        r[i] = __builtin_shuffle(a, c, low);
        r[i + b] = __builtin_shuffle(a, c, high);
    }
}

template <typename T, int b = Simd<T>::lanes / 2>
inline void transpose_block(typename Simd<T>::vec (&r)[Simd<T>::lanes]) {
    transpose_stage<T, b>(r);
    if constexpr (b > 1) transpose_block<T, b / 2>(r);
}

template <typename T>
void transpose(const T* src, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t src_stride, T* dst,
               ptrdiff_t dst_stride) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t full_rows = rows / L * L, full_cols = cols / L * L;
    for (ptrdiff_t i0 = 0; i0 < full_rows; i0 += L) {
        for (ptrdiff_t j0 = 0; j0 < full_cols; j0 += L) {
            V r[L];
            for (int i = 0; i < L; ++i) r[i] = load(src + (i0 + i) * src_stride + j0);
            transpose_block<T>(r);
            for (int j = 0; j < L; ++j) store(dst + (j0 + j) * dst_stride + i0, r[j]);
        }
    }
    // the edges: the rows below the full blocks, and every row of the columns past them
    for (ptrdiff_t j = 0; j < cols; ++j)
        for (ptrdiff_t i = j < full_cols ? full_rows : 0; i < rows; ++i)
            dst[j * dst_stride + i] = src[i * src_stride + j];
}

}  // namespace

#define TC_DEFINE_WINOGRAD_KERNELS_FOR(T)                                                        \
    void winograd_input_transform(const T* images, ptrdiff_t channels, ptrdiff_t tiles_h,       \
                                  ptrdiff_t tiles_w, ptrdiff_t first, ptrdiff_t count, T* v,      \
                                  ptrdiff_t capacity) {                                          \
        input_transform(images, channels, tiles_h, tiles_w, first, count, v, capacity);          \
    }                                                                                            \
    void winograd_gradient_transform(const T* grad, ptrdiff_t channels,                          \
                                     ptrdiff_t channels_padded, ptrdiff_t tiles_h,               \
                                     ptrdiff_t tiles_w, ptrdiff_t first, ptrdiff_t count, T* v,  \
                                     ptrdiff_t capacity) {                                       \
        gradient_transform(grad, channels, channels_padded, tiles_h, tiles_w, first, count, v,   \
                           capacity);                                                            \
    }                                                                                            \
    void winograd_output_transform(const T* m, ptrdiff_t capacity, ptrdiff_t channels_padded,   \
                                   ptrdiff_t channels, const T* bias, ptrdiff_t tiles_h,         \
                                   ptrdiff_t tiles_w, ptrdiff_t first, ptrdiff_t count, T* out,  \
                                   ptrdiff_t out_h, ptrdiff_t out_w) {                           \
        output_transform(m, capacity, channels_padded, channels, bias, tiles_h, tiles_w, first,  \
                         count, out, out_h, out_w);                                              \
    }                                                                                            \
    void winograd_multiply(const T* v, ptrdiff_t capacity, ptrdiff_t count, ptrdiff_t depth,    \
                           const T* u, ptrdiff_t width_padded, T* m) {                           \
        multiply(v, capacity, count, depth, u, width_padded, m);                                 \
    }                                                                                            \
    void winograd_multiply_transposed(const T* v, const T* g, ptrdiff_t capacity,               \
                                      ptrdiff_t count, ptrdiff_t depth, ptrdiff_t width_padded,  \
                                      T* du) {                                                   \
        multiply_transposed(v, g, capacity, count, depth, width_padded, du);                     \
    }                                                                                            \
    void winograd_transpose(const T* src, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t src_stride, \
                            T* dst, ptrdiff_t dst_stride) {                                      \
        transpose(src, rows, cols, src_stride, dst, dst_stride);                                 \
    }

TC_DEFINE_WINOGRAD_KERNELS_FOR(float)
TC_DEFINE_WINOGRAD_KERNELS_FOR(double)

}  // namespace TC_ISA
