// The Winograd kernels of winograd_kernels.h, written once and compiled per ISA. The including
// unit sets its target pragma and defines
//   TC_ISA                  namespace of this copy (isa_avx512, isa_avx2, isa_generic)
//   TC_VECTOR_BYTES         SIMD register width in bytes
//   TC_WINOGRAD_VECTORS     vectors per row of a product tile (winograd_rows rows), about
//                           half the register file in accumulators
// The transforms work on vectors of channels; the products broadcast one operand and load
// the other as vectors, from buffers small enough to stay in L2.
#include "simd.h"
#include "winograd_kernels.h"

namespace TC_ISA {
namespace {

using tensorcore::winograd_rows;

// One product tile: c (winograd_rows rows, VB vectors, rows c_row apart) (=|+=) the sum over
// k < depth of a[r * a_row + k * a_step] * b[k * b_row + vector v].
template <typename T, int VB, bool accumulate>
void product_tile(const T* a, ptrdiff_t a_row, ptrdiff_t a_step, const T* b, ptrdiff_t b_row,
                  ptrdiff_t depth, T* c, ptrdiff_t c_row) {
    typedef typename Simd<T>::vec V;
    constexpr int R = winograd_rows, L = Simd<T>::lanes;
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

// A row of product tiles across `width_padded` columns (a multiple of the lanes): full tiles
// of TC_WINOGRAD_VECTORS vectors, then the remaining vectors.
template <typename T, bool accumulate>
void product_row(const T* a, ptrdiff_t a_row, ptrdiff_t a_step, const T* b, ptrdiff_t b_row,
                 ptrdiff_t depth, ptrdiff_t width_padded, T* c, ptrdiff_t c_row) {
    constexpr int L = Simd<T>::lanes, VB = TC_WINOGRAD_VECTORS;
    ptrdiff_t w = 0;
    for (; w + VB * L <= width_padded; w += VB * L)
        product_tile<T, VB, accumulate>(a, a_row, a_step, b + w, b_row, depth, c + w, c_row);
    switch ((width_padded - w) / L) {
        case 0: break;
        case 1: product_tile<T, 1, accumulate>(a, a_row, a_step, b + w, b_row, depth, c + w, c_row); break;
        case 2: product_tile<T, 2, accumulate>(a, a_row, a_step, b + w, b_row, depth, c + w, c_row); break;
        default: product_tile<T, 3, accumulate>(a, a_row, a_step, b + w, b_row, depth, c + w, c_row); break;
    }
}

template <typename T>
void multiply(const T* v, ptrdiff_t capacity, ptrdiff_t rows, ptrdiff_t depth, const T* u,
              ptrdiff_t width_padded, T* m) {
    for (int xi = 0; xi < 16; ++xi) {
        const T* vx = v + xi * capacity * depth;
        const T* ux = u + xi * depth * width_padded;
        T* mx = m + xi * capacity * width_padded;
        for (ptrdiff_t r = 0; r < rows; r += winograd_rows) {
            product_row<T, false>(vx + r * depth, depth, 1, ux, width_padded, depth,
                                  width_padded, mx + r * width_padded, width_padded);
        }
    }
}

template <typename T>
void multiply_transposed(const T* v, const T* g, ptrdiff_t capacity, ptrdiff_t count,
                         ptrdiff_t depth, ptrdiff_t depth_padded, ptrdiff_t width_padded, T* du) {
    for (int xi = 0; xi < 16; ++xi) {
        const T* vx = v + xi * capacity * depth;
        const T* gx = g + xi * capacity * width_padded;
        T* dux = du + xi * depth_padded * width_padded;
        for (ptrdiff_t r = 0; r < depth_padded; r += winograd_rows) {
            product_row<T, true>(vx + r, 1, depth, gx, width_padded, count, width_padded,
                                 dux + r * width_padded, width_padded);
        }
    }
}

// B^T d B for the 4x4 tile d (rows row apart, vectors lane apart) from `tile`, into
// v[xi * stride] (B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]).
template <typename T>
void input_tile(const T* tile, ptrdiff_t row, ptrdiff_t pixel, int n, T* v, ptrdiff_t stride) {
    typedef typename Simd<T>::vec V;
    V d[4][4], r[4][4];
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) d[i][j] = load_n(tile + i * row + j * pixel, n);
    for (int j = 0; j < 4; ++j) {
        r[0][j] = d[0][j] - d[2][j];
        r[1][j] = d[1][j] + d[2][j];
        r[2][j] = d[2][j] - d[1][j];
        r[3][j] = d[1][j] - d[3][j];
    }
    for (int i = 0; i < 4; ++i) {
        store_n(v + (4 * i + 0) * stride, r[i][0] - r[i][2], n);
        store_n(v + (4 * i + 1) * stride, r[i][1] + r[i][2], n);
        store_n(v + (4 * i + 2) * stride, r[i][2] - r[i][1], n);
        store_n(v + (4 * i + 3) * stride, r[i][1] - r[i][3], n);
    }
}

template <typename T>
void input_transform(const T* image, ptrdiff_t image_w, ptrdiff_t channels, ptrdiff_t tiles_w,
                     ptrdiff_t first, ptrdiff_t count, T* v, ptrdiff_t capacity) {
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t stride = capacity * channels;
    for (ptrdiff_t t = first; t < first + count; ++t) {
        const T* tile = image + (2 * (t / tiles_w) * image_w + 2 * (t % tiles_w)) * channels;
        T* row = v + (t - first) * channels;
        for (ptrdiff_t c = 0; c < channels; c += L) {
            const int n = static_cast<int>(std::min<ptrdiff_t>(L, channels - c));
            input_tile(tile + c, image_w * channels, channels, n, row + c, stride);
        }
    }
}

template <typename T>
void gradient_transform(const T* grad, ptrdiff_t channels, ptrdiff_t channels_padded,
                        ptrdiff_t tiles_w, ptrdiff_t first, ptrdiff_t count, T* v,
                        ptrdiff_t capacity) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t stride = capacity * channels_padded, grad_row = 2 * tiles_w * channels;
    for (ptrdiff_t t = first; t < first + count; ++t) {
        const T* tile = grad + 2 * (t / tiles_w) * grad_row + 2 * (t % tiles_w) * channels;
        T* out = v + (t - first) * channels_padded;
        for (ptrdiff_t c = 0; c < channels_padded; c += L) {
            const int n = static_cast<int>(std::clamp<ptrdiff_t>(channels - c, 0, L));
            // A g A^T with A = [1 0; 1 1; 1 -1; 0 -1]: rows, then columns
            const V g00 = load_n(tile + c, n), g01 = load_n(tile + channels + c, n);
            const V g10 = load_n(tile + grad_row + c, n);
            const V g11 = load_n(tile + grad_row + channels + c, n);
            const V r[4][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11},
                               {-g10, -g11}};
            for (int i = 0; i < 4; ++i) {
                T* to = out + 4 * i * stride + c;
                store(to, r[i][0]);
                store(to + stride, r[i][0] + r[i][1]);
                store(to + 2 * stride, r[i][0] - r[i][1]);
                store(to + 3 * stride, -r[i][1]);
            }
        }
    }
}

template <typename T>
void output_transform(const T* m, ptrdiff_t capacity, ptrdiff_t channels_padded,
                      ptrdiff_t channels, const T* bias, ptrdiff_t tiles_w, ptrdiff_t first,
                      ptrdiff_t count, T* out, ptrdiff_t out_h, ptrdiff_t out_w) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t stride = capacity * channels_padded;
    for (ptrdiff_t t = first; t < first + count; ++t) {
        const ptrdiff_t y0 = 2 * (t / tiles_w), x0 = 2 * (t % tiles_w);
        const int rows = static_cast<int>(std::min<ptrdiff_t>(2, out_h - y0));
        const int cols = static_cast<int>(std::min<ptrdiff_t>(2, out_w - x0));
        const T* tile = m + (t - first) * channels_padded;
        for (ptrdiff_t c = 0; c < channels; c += L) {
            const int n = static_cast<int>(std::min<ptrdiff_t>(L, channels - c));
            // A^T m A with A^T = [1 1 1 0; 0 1 -1 -1]: rows, then columns
            V s[2][4];
            for (int j = 0; j < 4; ++j) {
                const V m0 = load(tile + j * stride + c), m1 = load(tile + (4 + j) * stride + c);
                const V m2 = load(tile + (8 + j) * stride + c);
                const V m3 = load(tile + (12 + j) * stride + c);
                s[0][j] = m0 + m1 + m2;
                s[1][j] = m1 - m2 - m3;
            }
            const V b = bias ? load_n(bias + c, n) : V{};
            for (int i = 0; i < rows; ++i) {
                const V y[2] = {s[i][0] + s[i][1] + s[i][2] + b, s[i][1] - s[i][2] - s[i][3] + b};
                for (int j = 0; j < cols; ++j)
                    store_n(out + ((y0 + i) * out_w + x0 + j) * channels + c, y[j], n);
            }
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
    // the edges: columns past the full blocks, then rows past them
    for (ptrdiff_t i = 0; i < full_rows; ++i)
        for (ptrdiff_t j = full_cols; j < cols; ++j) dst[j * dst_stride + i] = src[i * src_stride + j];
    for (ptrdiff_t j = 0; j < cols; ++j)
        for (ptrdiff_t i = full_rows; i < rows; ++i) dst[j * dst_stride + i] = src[i * src_stride + j];
}

}  // namespace

#define TC_DEFINE_WINOGRAD_KERNELS_FOR(T)                                                        \
    void winograd_input_transform(const T* image, ptrdiff_t image_w, ptrdiff_t channels,         \
                                  ptrdiff_t tiles_w, ptrdiff_t first, ptrdiff_t count, T* v,      \
                                  ptrdiff_t capacity) {                                          \
        input_transform(image, image_w, channels, tiles_w, first, count, v, capacity);           \
    }                                                                                            \
    void winograd_gradient_transform(const T* grad, ptrdiff_t channels,                          \
                                     ptrdiff_t channels_padded, ptrdiff_t tiles_w,               \
                                     ptrdiff_t first, ptrdiff_t count, T* v,                     \
                                     ptrdiff_t capacity) {                                       \
        gradient_transform(grad, channels, channels_padded, tiles_w, first, count, v, capacity); \
    }                                                                                            \
    void winograd_output_transform(const T* m, ptrdiff_t capacity, ptrdiff_t channels_padded,   \
                                   ptrdiff_t channels, const T* bias, ptrdiff_t tiles_w,         \
                                   ptrdiff_t first, ptrdiff_t count, T* out, ptrdiff_t out_h,    \
                                   ptrdiff_t out_w) {                                            \
        output_transform(m, capacity, channels_padded, channels, bias, tiles_w, first, count,    \
                         out, out_h, out_w);                                                     \
    }                                                                                            \
    void winograd_multiply(const T* v, ptrdiff_t capacity, ptrdiff_t rows, ptrdiff_t depth,     \
                           const T* u, ptrdiff_t width_padded, T* m) {                           \
        multiply(v, capacity, rows, depth, u, width_padded, m);                                  \
    }                                                                                            \
    void winograd_multiply_transposed(const T* v, const T* g, ptrdiff_t capacity,               \
                                      ptrdiff_t count, ptrdiff_t depth,                          \
                                      ptrdiff_t depth_padded, ptrdiff_t width_padded, T* du) {   \
        multiply_transposed(v, g, capacity, count, depth, depth_padded, width_padded, du);       \
    }                                                                                            \
    void winograd_transpose(const T* src, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t src_stride, \
                            T* dst, ptrdiff_t dst_stride) {                                      \
        transpose(src, rows, cols, src_stride, dst, dst_stride);                                 \
    }

TC_DEFINE_WINOGRAD_KERNELS_FOR(float)
TC_DEFINE_WINOGRAD_KERNELS_FOR(double)

}  // namespace TC_ISA
