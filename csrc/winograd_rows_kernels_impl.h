// The kernels of winograd_rows_kernels.h, written once and compiled per ISA. The including
// unit sets its target pragma and defines
//   TC_ISA                         namespace of this copy (isa_avx512, isa_avx2, isa_generic)
//   TC_VECTOR_BYTES                SIMD register width in bytes
//   TC_WINOGRAD_ROWS_FORWARD_ROWS  output channels per forward tile (3 vectors of positions,
//                                  4 accumulators each: 24 of the 32 zmm on AVX-512, 12 of the
//                                  16 registers on AVX2 and SSE2)
//   TC_WINOGRAD_ROWS_WEIGHT_ROWS   output channels per weight-gradient tile (12 accumulators
//                                  each, one per transform entry and kernel column)
#include "conv_kernels.h"
#include "simd.h"
#include "max_2x2.h"
#include "winograd_filter.h"
#include "winograd_rows_kernels.h"

namespace TC_ISA {
namespace {

using tensorcore::PairSpan;

// spans[q / L] for the vectors of positions q = 0, L, 2L, .. of an image, stepped along
// without dividing (out_w >= L: a vector crosses at most one pair boundary)
template <int L>
void plan_spans(ptrdiff_t out_h, ptrdiff_t out_w, PairSpan* spans) {
    const ptrdiff_t positions = (out_h + 1) / 2 * out_w;
    ptrdiff_t j = 0, x = 0;
    for (ptrdiff_t q = 0; q < positions; q += L) {
        PairSpan& s = spans[q / L];
        s.base = 2 * j * out_w + x;
        s.valid = static_cast<int>(std::min<ptrdiff_t>(positions - q, L));
        s.split = static_cast<int>(std::min<ptrdiff_t>(out_w - x, s.valid));
        s.first_middle = 2 * j + 1 < out_h ? 0 : s.split;   // row 2j + 1 exists
        s.last_bottom = 2 * j + 3 < out_h ? s.valid : s.split;
        s.whole = s.split == L && s.first_middle == 0;
        s.top_lanes = lanes_between(0, s.split);
        s.middle_lanes = lanes_between(s.first_middle, s.valid);
        s.bottom_lanes = lanes_between(s.split, s.last_bottom);
        x += L;
        if (x >= out_w) x -= out_w, ++j;
    }
}

// y0 and y1 into rows 2j and 2j + 1 of `plane` for the vector of span s (always inlined, as
// the tiles' accumulators and these vectors must stay in registers)
template <typename T>
__attribute__((always_inline)) inline void store_pair(T* plane, ptrdiff_t out_w,
                                                      const PairSpan& s,
                                                      typename Simd<T>::vec y0,
                                                      typename Simd<T>::vec y1) {
    T* row = plane + s.base;
    if (s.whole) {
        store(row, y0);
        store(row + out_w, y1);
        return;
    }
#if TC_VECTOR_BYTES == 64
    // branch-free: a store whose mask is empty touches nothing
    store_masked(row, y0, s.top_lanes);
    store_masked(row + out_w, blend_masked(s.top_lanes, y0, y1), s.middle_lanes);
    store_masked(row + 2 * out_w, y1, s.bottom_lanes);
#else
    store_lanes(row, y0, 0, s.split);
    if (s.valid > s.first_middle)
        store_lanes(row + out_w, merge_lanes<T>(y1, y0, s.split), s.first_middle, s.valid);
    if (s.last_bottom > s.split) store_lanes(row + 2 * out_w, y1, s.split, s.last_bottom);
#endif
}

// The pair of values (rows 2j, 2j + 1) of each lane, zero past the plane's rows
template <typename T>
__attribute__((always_inline)) inline void load_pair(const T* plane, ptrdiff_t out_w,
                                                     const PairSpan& s,
                                                     typename Simd<T>::vec& g0,
                                                     typename Simd<T>::vec& g1) {
    typedef typename Simd<T>::vec V;
    const T* row = plane + s.base;
    if (s.whole) {
        g0 = load(row);
        g1 = load(row + out_w);
        return;
    }
    if (s.first_middle == 0 && s.last_bottom == Simd<T>::lanes) {
        // crossing into a pair whose rows all exist, all inside the plane: the middle row
        // whole, the top and bottom rows' lanes loaded over it (merge-masked loads on AVX-512:
        // the row-pair weight gradient of the first MNIST layer, where 12 of an image's 22
        // vectors cross, took 0.91-0.92x the time of loads and blends on Zen 4)
        const V middle = load(row + out_w);
        g0 = load_lanes_over(middle, row, 0, s.split);
        g1 = load_lanes_over(middle, row + 2 * out_w, s.split, Simd<T>::lanes);
        return;
    }
    const V top = load_lanes(row, 0, s.split);
    const V middle =
        s.valid > s.first_middle ? load_lanes(row + out_w, s.first_middle, s.valid) : V{};
    const V bottom =
        s.last_bottom > s.split ? load_lanes(row + 2 * out_w, s.split, s.last_bottom) : V{};
    // (g0 as load_lanes_over(middle, row, 0, split), the same lanes, made GCC's code for the
    // whole weight-gradient loop 1.06x slower on Zen 4)
    g0 = merge_lanes<T>(top, middle, s.split);
    g1 = merge_lanes<T>(middle, bottom, s.split);
}

// (x0 - x2, x1 + x2, x2 - x1, x1 - x3): B^T x, for x down a kernel column or along a tile
template <typename V>
__attribute__((always_inline)) inline void input_entries(V x0, V x1, V x2, V x3, V (&out)[4]) {
    out[0] = x0 - x2;
    out[1] = x1 + x2;
    out[2] = x2 - x1;
    out[3] = x1 - x3;
}

// Where a vector's lanes lie in a plane of rows in pairs: lanes [0, split) `first` elements on
// from a place in pair j, lanes [split, end) `second` on (in the next pair's rows), lanes from
// `end` (past the image's last position or tile) zero. A vector spans at most two pairs
// (out_w >= L).
struct SplitLanes {
    ptrdiff_t first, second;
    int split, end;
};

// In an image of rows out_w + 2 wide, from a lane past a pair's end to the same lane in the
// next pair's rows: two image rows on, less the pair's out_w columns the lane passed
inline ptrdiff_t next_pair_offset(ptrdiff_t out_w) { return 2 * (out_w + 2) - out_w; }

// The L lanes from `at` as `lanes` places them. Where both whole vectors lie inside the image
// (`inside`), two plain loads merged (the first's lanes past split run on into the next pair's
// rows, the second's before split lie after the first's start); else masked loads. In the
// one-channel forward's 2-D tiles (one Zen 5 thread, 26-wide rows, 32 output channels): 0.96x
// the forward's time of masked loads wherever a pair boundary falls among the lanes (TSC ticks
// per image 3354-3406 against 3510-3562; 32 images 3645-3686 against 3793-3829); the test
// `inside` made for each load there, instead of once per vector of tiles, lost the gain.
template <typename T>
__attribute__((always_inline)) inline typename Simd<T>::vec load_split(const T* at,
                                                                       const SplitLanes& lanes,
                                                                       bool inside) {
    if (inside)
        return merge_lanes<T>(load(at + lanes.first), in_register(load(at + lanes.second)),
                              lanes.split);
    const typename Simd<T>::vec x =
        load_lanes(at + lanes.first, 0, std::min(lanes.split, lanes.end));
    return lanes.end > lanes.split ? load_lanes_over(x, at + lanes.second, lanes.split, lanes.end)
                                   : x;
}

// Per vector of positions and input channel, the 4 rows at each kernel column are all
// loaded before any is transformed and stored: a kernel column at a time (its loads, then its
// stores), the transform took 1.15-1.2x the time (one Zen 5 thread, an MNIST image, TSC ticks
// 540-625 against 465-530), with masked or merged whole loads alike where a vector crosses.
// Taken per vector inside the first weight-gradient tile instead (output channel 0 alone
// there: with two, GCC spilled 145 vectors), the image's weight gradient took 1.08-1.11x the
// time (32 images, 4740-5009 ticks against 4343-4737): its loads and stores bind it there as
// here, and do not hide behind the tile's products.
template <typename T>
void input_transform(const T* image, ptrdiff_t channels, ptrdiff_t out_w, ptrdiff_t pairs,
                     T* v) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    constexpr ptrdiff_t B = tensorcore::winograd_rows_block;
    const ptrdiff_t image_w = out_w + 2, plane = (2 * pairs + 2) * image_w;
    const ptrdiff_t positions = pairs * out_w, block_size = 12 * channels * B;
    const ptrdiff_t next = next_pair_offset(out_w);
    // the vectors past the last, zero: the end of the last block's rows
    const ptrdiff_t vectors_end = tensorcore::round_up(positions, L);
    if (vectors_end % B != 0) {
        const V zero = in_register(V{});   // (seen as zero, GCC calls memset per row)
        T* last = v + vectors_end / B * block_size;
        for (ptrdiff_t row = 0; row < 12 * channels; ++row)
            for (ptrdiff_t p = vectors_end % B; p < B; p += L) store(last + row * B + p, zero);
    }
    // the vectors of positions as the kernels read them (aligned, each stored once): pair j
    // from column x, lanes [split, valid) in the next pair
    const std::true_type yes;
    const std::false_type no;
    ptrdiff_t j = 0, x = 0;
    for (ptrdiff_t q = 0; q < positions; q += L) {
        const int valid = static_cast<int>(std::min<ptrdiff_t>(positions - q, L));
        const int split = static_cast<int>(std::min<ptrdiff_t>(out_w - x, valid));
        const ptrdiff_t first = 2 * j * image_w + x;
        T* to = v + q / B * block_size + q % B;
        // rows[kw][r] lane l: column x + kw + l of row 2j + r, or past split `next` further;
        // whole: no lanes past split; in_image: all lanes valid and the vectors from both
        // places inside the image (the last channel's plane ends it)
        const SplitLanes lanes{0, next, split, valid};
        auto transform = [&](auto whole, auto in_image) {
            for (ptrdiff_t c = 0; c < channels; ++c) {
                const T* d = image + c * plane + first;
                V rows[3][4];
#pragma GCC unroll 3
                for (int kw = 0; kw < 3; ++kw) {
#pragma GCC unroll 4
                    for (int r = 0; r < 4; ++r) {
                        const T* at = d + r * image_w + kw;
                        rows[kw][r] = whole() ? load(at) : load_split(at, lanes, in_image());
                    }
                }
#pragma GCC unroll 3
                for (int kw = 0; kw < 3; ++kw) {
                    V entries[4];
                    input_entries(rows[kw][0], rows[kw][1], rows[kw][2], rows[kw][3], entries);
#pragma GCC unroll 4
                    for (int i = 0; i < 4; ++i)
                        store(to + ((3 * c + kw) * 4 + i) * B, entries[i]);
                }
            }
        };
        if (split == L)
            transform(yes, yes);
        else if (valid == L && first + next + 3 * image_w + 2 + L <= plane)
            transform(no, yes);
        else
            transform(no, no);
        x += L;
        if (x >= out_w) x -= out_w, ++j;
    }
}

// v elements per chunk of positions of the forward: 256 KiB of float, a quarter of L2
constexpr ptrdiff_t forward_chunk_elements = ptrdiff_t(1) << 16;

// The forward in tiles of R output channels x 3 vectors of positions, 4 accumulators (the
// transform entries) per output vector.
template <typename T>
void image_forward(const T* v, ptrdiff_t channels, ptrdiff_t out_h, ptrdiff_t out_w,
                   const T* u, const T* bias, ptrdiff_t out, const PairSpan* spans, T* y) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes, R = TC_WINOGRAD_ROWS_FORWARD_ROWS, VB = 3;
    constexpr ptrdiff_t B = tensorcore::winograd_rows_block;
    static_assert(tensorcore::conv_out_block % R == 0, "tiles must not pass the kernels' padding");
    static_assert(B % (VB * L) == 0, "nor cross a block of positions");
    const ptrdiff_t depth = 3 * channels, block_size = 12 * channels * B;
    const ptrdiff_t positions = (out_h + 1) / 2 * out_w, plane = out_h * out_w;
    // positions in chunks of whole blocks whose v stays in L2 while every output channel
    // passes over them
    const ptrdiff_t chunk = std::max<ptrdiff_t>(forward_chunk_elements / block_size, 1) * B;
    for (ptrdiff_t p0 = 0; p0 < positions; p0 += chunk) {
        const ptrdiff_t p1 = std::min(positions, p0 + chunk);
        for (ptrdiff_t o0 = 0; o0 < out; o0 += R) {
            const int rows = static_cast<int>(std::min<ptrdiff_t>(R, out - o0));
            for (ptrdiff_t q = p0; q < p1; q += VB * L) {
                V acc[4][R][VB];
#pragma GCC unroll 8
                for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
                    for (int e = 0; e < VB; ++e) {
                        acc[0][r][e] = broadcast(bias[o0 + r]);   // y0 = m0 + m1 + m2
                        acc[1][r][e] = acc[2][r][e] = broadcast(T(0));
                        acc[3][r][e] = broadcast(-bias[o0 + r]);  // y1 = m1 - m2 - m3
                    }
                }
                // k = 3c + kw at run time: unrolled, GCC issued all the tile's loads first and
                // spilled the accumulators
                const T* vk = v + q / B * block_size + q % B;
                const T* uk = u + o0 * 4 * depth;
#pragma GCC unroll 1
                for (ptrdiff_t k = 0; k < depth; ++k, vk += 4 * B, ++uk) {
#pragma GCC unroll 4
                    for (int i = 0; i < 4; ++i) {
                        V b[VB];
#pragma GCC unroll 4
                        for (int e = 0; e < VB; ++e)
                            b[e] = in_register(load(vk + i * B + e * L));
#pragma GCC unroll 8
                        for (int r = 0; r < R; ++r) {
                            const V a = broadcast(uk[(r * 4 + i) * depth]);
#pragma GCC unroll 4
                            for (int e = 0; e < VB; ++e) acc[i][r][e] += a * b[e];
                        }
                    }
                }
                // A^T m into the first two entries, then the stores
#pragma GCC unroll 8
                for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
                    for (int e = 0; e < VB; ++e) {
                        const V m1 = acc[1][r][e], m2 = acc[2][r][e];
                        acc[0][r][e] += m1 + m2;
                        acc[1][r][e] = m1 - m2 - acc[3][r][e];
                    }
                }
#pragma GCC unroll 4
                for (int e = 0; e < VB; ++e) {
                    if (q + e * L >= positions) break;
                    const PairSpan& span = spans[q / L + e];
#pragma GCC unroll 8
                    for (int r = 0; r < R; ++r) {
                        if (r < rows)
                            store_pair<T>(y + (o0 + r) * plane, out_w, span, acc[0][r][e],
                                          acc[1][r][e]);
                    }
                }
            }
        }
    }
}

// The 2-D transform (B^T d B)[a][b] of the L tiles from tile t of a one-channel `image`
// (2 * pairs + 2 rows of out_w + 2: padding in place) into d[4a + b]: per row of the tiles,
// their 4 columns picked from 2L + 2 consecutive elements (even and odd lanes), lanes past a
// pair taken from the next pair's rows.
template <typename T>
__attribute__((always_inline)) inline void tile_entries(const T* image, ptrdiff_t out_w,
                                                        ptrdiff_t tiles, ptrdiff_t t,
                                                        typename Simd<T>::vec (&d)[16]) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t image_w = out_w + 2, per_pair = out_w / 2;
    const auto even = lane_pattern<T>([](int k) { return 2 * k; });
    const auto odd = lane_pattern<T>([](int k) { return 2 * k + 1; });
    const ptrdiff_t j = t / per_pair, i = t % per_pair;
    const ptrdiff_t down = next_pair_offset(out_w);   // to a lane's element in the next pair
    // each half of the vector (L / 2 tiles, L elements of each of their rows)
    SplitLanes halves[2];
    for (int h = 0; h < 2; ++h) {
        // the half's element lanes before tile `tile` (two per tile)
        auto lanes_before = [&](ptrdiff_t tile) {
            return static_cast<int>(std::clamp<ptrdiff_t>(2 * (tile - t - h * L / 2), 0, L));
        };
        // where the next pair and the one after start
        const int next = lanes_before((j + 1) * per_pair), after = lanes_before((j + 2) * per_pair);
        const int pairs_before = (next == 0) + (after == 0);   // wholly past pair j, or j + 1
        halves[h].split = pairs_before == 0 ? next : pairs_before == 1 ? after : L;
        halves[h].first = pairs_before * down;
        halves[h].second = halves[h].first + (halves[h].split < L ? down : 0);
        halves[h].end = lanes_before(tiles);
    }
    const bool inside = t + L <= tiles;
    const T* corner = image + 2 * j * image_w + 2 * i;
    V rows[4][4];   // B^T along each of the tiles' 4 rows
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
        const T* row = corner + r * image_w;
        V x[4];   // elements [0, L), [L, 2L), [2, L + 2), [L + 2, 2L + 2)
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k)
            x[k] = load_split(row + k % 2 * L + k / 2 * 2, halves[k % 2], inside);
        input_entries(__builtin_shuffle(x[0], x[1], even), __builtin_shuffle(x[0], x[1], odd),
                      __builtin_shuffle(x[2], x[3], even), __builtin_shuffle(x[2], x[3], odd),
                      rows[r]);
    }
#pragma GCC unroll 4
    for (int b = 0; b < 4; ++b) {
        V entries[4];
        input_entries(rows[0][b], rows[1][b], rows[2][b], rows[3][b], entries);
#pragma GCC unroll 4
        for (int a = 0; a < 4; ++a) d[4 * a + b] = entries[a];
    }
}

// (m0 + m1 + m2, m1 - m2 - m3): A^T m, for m along either side of a tile
template <typename V>
__attribute__((always_inline)) inline void output_entries(V m0, V m1, V m2, V m3, V& y0,
                                                          V& y1) {
    y0 = m0 + m1 + m2;
    y1 = m1 - m2 - m3;
}

// The 2-D forward for one input channel: per vector of L tiles, its 16 transformed input
// entries, taken from the image (tile_entries), held in registers while a group of output
// channels take their products (each kernel entry a broadcast operand from u), A^T along both
// sides and the tiles' two columns interleaved into two vectors of positions per output row.
// Against the transform stored beforehand, per pair of rows, and loaded here (one Zen 5
// thread, y in the caches, 26-wide rows, TSC ticks per image): 3406-3458 against 3535-3640
// with 32 output channels, 6786 against 6812-6864 with 64, 9646-9671 against 9724-9802 with
// 96; on 64 MNIST images (2 threads) 53.8-55.1 against 55.1-55.7 us.
// pooled: each tile's 2x2 outputs are the windows of a 2x2 max pool at stride 2, so y takes
// their maxima (out, out_h / 2, out_w / 2) and `taps` where in its window each lies (max_2x2's
// taps, a byte each); a last odd output row, which no window takes, is not computed.
template <typename T, bool pooled>
void tiles_forward(const T* image, ptrdiff_t out_h, ptrdiff_t out_w, const T* u, const T* bias,
                   ptrdiff_t out, const PairSpan* spans, T* entries, T* y, uint8_t* taps,
                   bool next_image) {
    typedef typename Simd<T>::vec V;
    typedef typename Simd<T>::bits B;
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t per_pair = out_w / 2;
    const ptrdiff_t tiles = (pooled ? out_h / 2 : (out_h + 1) / 2) * per_pair;
    const ptrdiff_t positions = 2 * tiles;
    constexpr ptrdiff_t line = 64 / sizeof(T);
    const ptrdiff_t plane = pooled ? tiles : out_h * out_w;
    const auto low = lane_pattern<T>([](int k) { return k / 2 + (k % 2) * L; });
    const auto high = lane_pattern<T>([](int k) { return L / 2 + k / 2 + (k % 2) * L; });
    // Output channels per pass over the tiles. A group's planes are written side by side:
    // planes a multiple of 4 KiB apart share L1 sets, and where y is not in the caches (as in
    // a training step) the hardware prefetchers lose track of the interleaved streams, so the
    // kernel prefetches the next group's planes itself. Against one channel per pass with its
    // kernel entries in registers (standalone harness, one Zen 4 thread, 32 output channels,
    // output rows 26 / 32 / 64 / 126 wide, y in the caches; before the prefetching): groups of
    // 8 took 0.92 / 0.87-0.96 / 0.97-0.98 / 0.87x the time, of 4 0.95 / 0.89-0.95 / 0.94 /
    // 0.91x, of 16 0.91x at 26 but 1.42x at 64. Without the prefetching, groups of 8 took
    // 1.07-1.22x the old kernel's time in the CNN Adam step (2 threads), groups of 2 1.47x.
    // On Zen 5 (same harness, 32 output channels) larger groups took less time at every
    // width: 26 / 30 / 46 / 64 / 126 wide, groups of 32 took 0.95 / 0.96 / 0.89 / 0.75 /
    // 0.77x the time of groups of 8; on 32 images into a 2.8 MB y (one thread, alternating
    // builds), 0.94-0.95x.
    constexpr ptrdiff_t group = 32;
    for (ptrdiff_t o0 = 0; o0 < out; o0 += group) {
        const ptrdiff_t o1 = std::min(out, o0 + group);
        // the planes swept by the prefetches: the next group's, after the last the next
        // image's first, or with no next image this group's own (cached, or about to be).
        // Past the end of this thread's images the lines prefetched for writing would be
        // another thread's, or no part of y: on 4 MNIST images (2 threads of Zen 5), where
        // y stays in L2, the other thread took 1.2-1.9 us longer over its first image, and
        // the call 1.27x the time (6.4 against 5.05 us; no change at 64 images)
        const ptrdiff_t ahead_plane = o1 < out || next_image ? o1 : o0;
        const T* ahead = y + ahead_plane * plane;
        for (ptrdiff_t t = 0; t < tiles; t += L) {
            // the tiles' transform: taken by the first group, kept for the others
            V d[16];
            T* kept = entries + 16 * t;
            if (o0 == 0) {
                tile_entries(image, out_w, tiles, t, d);
                if (out > group) {
#pragma GCC unroll 16
                    for (int e = 0; e < 16; ++e) store(kept + e * L, d[e]);
                }
            } else {
#pragma GCC unroll 16
                for (int e = 0; e < 16; ++e) d[e] = load(kept + e * L);
            }
            const ptrdiff_t q = 2 * t;   // the tiles' first position
            const bool second = q + L < positions;   // a second vector of positions
            // copies, which the stores to y cannot change, so that their offsets and masks
            // stay in registers across the output channels (read through `spans`, they were
            // reloaded after every store: one Zen 5 thread, 0.90-0.92x the time); without a
            // second vector, span[1] repeats the first and is not used
            const PairSpan span[2] = {spans[q / L], spans[q / L + second]};
            for (ptrdiff_t o = o0; o < o1; ++o) {
                const T* u_o = u + o * 16;
                V top[4], bottom[4], y00, y01, y10, y11;   // A^T down the columns, then along
#pragma GCC unroll 4
                for (int b = 0; b < 4; ++b) {
                    // GCC contracts a column's products into its sums (6 FMAs instead of 4
                    // products and 4 sums); columns 1 and 2 keep theirs apart (in registers),
                    // so that the multipliers and the adders share the work: 0.95-0.98x the
                    // time of every column contracted, 1.04x with none (Zen 4)
                    V m[4];
#pragma GCC unroll 4
                    for (int a = 0; a < 4; ++a) {
                        const V product = broadcast(u_o[4 * a + b]) * d[4 * a + b];
                        m[a] = b == 1 || b == 2 ? in_register(product) : product;
                    }
                    // entry (1, 1) reaches all 4 outputs once
                    if (b == 1) m[1] += broadcast(bias[o]);
                    output_entries(m[0], m[1], m[2], m[3], top[b], bottom[b]);
                }
                output_entries(top[0], top[1], top[2], top[3], y00, y01);
                output_entries(bottom[0], bottom[1], bottom[2], bottom[3], y10, y11);
                const ptrdiff_t step = t / L * (o1 - o0) + (o - o0);
                if constexpr (pooled) {
                    // the ahead planes swept in order: a line of y and a vector's taps a step
                    __builtin_prefetch(ahead + step * line, 1, 2);
                    __builtin_prefetch(taps + ahead_plane * plane + step * L, 1, 2);
                    B tap;
                    const V best = max_2x2<T>(y00, y01, y10, y11, &tap);
                    const int count = static_cast<int>(std::min<ptrdiff_t>(L, tiles - t));
                    store_n(y + o * plane + t, best, count);
                    store_n_bytes<T>(taps + o * plane + t, tap, count);
                    continue;
                }
                // the ahead planes swept in order, 4 lines a step: a plane has about 4 lines
                // per vector of tiles
#pragma GCC unroll 4
                for (ptrdiff_t e = 0; e < 4 * line; e += line)
                    __builtin_prefetch(ahead + step * 4 * line + e, 1, 2);
                T* plane_o = y + o * plane;
                store_pair<T>(plane_o, out_w, span[0], __builtin_shuffle(y00, y01, low),
                              __builtin_shuffle(y10, y11, low));
                if (second) {
                    store_pair<T>(plane_o, out_w, span[1], __builtin_shuffle(y00, y01, high),
                                  __builtin_shuffle(y10, y11, high));
                }
            }
        }
    }
}

// sums[i] (first L lanes) += v
template <typename T>
inline void add_lanes(T* sums, typename Simd<T>::vec v) {
    store(sums, load(sums) + v);
}

// Slot k of `sums` (S = winograd_rows_lanes<T> lanes each) += the lanes of v[k]: on AVX-512,
// whose vectors are two slots wide, two vectors at a time, each one's halves added; narrower
// vectors into the first lanes of their own slots.
template <typename T, int n>
inline void add_slots(T* sums, const typename Simd<T>::vec (&v)[n]) {
    constexpr int L = Simd<T>::lanes, S = tensorcore::winograd_rows_lanes<T>;
    if constexpr (L == 2 * S) {
        static_assert(n % 2 == 0, "two slots per vector");
        const auto low = lane_pattern<T>([](int k) { return k < S ? k : L + k - S; });
        const auto high = lane_pattern<T>([](int k) { return k < S ? k + S : L + k; });
#pragma GCC unroll 9
        for (int k = 0; k < n; k += 2) {
            add_lanes(sums + k * S, __builtin_shuffle(v[k], v[k + 1], low) +
                                        __builtin_shuffle(v[k], v[k + 1], high));
        }
    } else {
        static_assert(L <= S, "a vector fits a slot");
#pragma GCC unroll 9
        for (int k = 0; k < n; ++k) add_lanes(sums + k * S, v[k]);
    }
}

// One tile of the weight gradient: grad planes g[0 .. R) against the 12 transform rows of input
// channel c, summed over the positions, G^T taking each output channel's 4 x 3 sums to its 9
// taps, into R x 9 lane sums from dweight_lanes and, with_bias, R from dbias_lanes (the tile's
// first output channel's). Below `inside_end` (AVX-512) a vector's pairs of values come from
// three plain loads at its position, one row apart, and two blends (two loads where it lies
// in one pair; past it, at the plane's end, load_pair's masked loads: one Zen 5 thread, 64
// MNIST images, 0.91-0.94x the time of load_pair's merge-masked loads throughout, which 12 of
// an image's 22 vectors take). The accumulators are locals touched only by loops of
// constant trip count, so that they stay in registers. The first pass over these planes
// (with_bias) also prefetches the next tile's R planes from `ahead` (when not null): the lines
// of plane elements 2q .. 2q + 2L at step q (a plane holds about twice the positions), as grad
// is read once per call and, on the first MNIST layer, 5.5 MB. Into L1: 0.975-0.99x the time of
// prefetching into L2 on 32 MNIST images (one Zen 5 thread, alternating builds).
template <typename T, int R, bool with_bias>
void weight_gradient_tile(const T* const (&g)[R], const T* v, ptrdiff_t channels,
                          ptrdiff_t c, ptrdiff_t out_h, ptrdiff_t out_w, const PairSpan* spans,
                          ptrdiff_t inside_end, const T* ahead, T* dweight_lanes,
                          T* dbias_lanes) {
    typedef typename Simd<T>::vec V;
    constexpr int L = Simd<T>::lanes;
    constexpr ptrdiff_t line = 64 / sizeof(T);
    const ptrdiff_t positions = (out_h + 1) / 2 * out_w, plane = out_h * out_w;
    constexpr ptrdiff_t B = tensorcore::winograd_rows_block;
    const ptrdiff_t block_size = 12 * channels * B;
    V acc[R][3][4], bias_acc[R];   // acc[r][kw][i]: entry i of kernel column kw
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        bias_acc[r] = broadcast(T(0));
#pragma GCC unroll 3
        for (int kw = 0; kw < 3; ++kw)
#pragma GCC unroll 4
            for (int i = 0; i < 4; ++i) acc[r][kw][i] = broadcast(T(0));
    }
    const T* vc = v + 12 * c * B;
    // where vector q's values lie, stepped along with q: from row 2j, column x, at base =
    // 2j * out_w + x (PairSpan::base and split, kept here: read from the span at each step,
    // as the blended loads' offset and mask, they made the weight gradient 1.15x slower on
    // Zen 5, the span's mask registers 1.1-1.5x)
    ptrdiff_t base = 0, x = 0;
    // vq, the step's transform rows: vc + q / B * block_size + q % B, stepped along with q
    // (computed at each step, the weight gradient took 1.01-1.05x the time on Zen 5)
    const T* vq = vc;
    ptrdiff_t in_block = 0;
    auto accumulate = [&](ptrdiff_t q, auto prefetch, auto inside) {
        if (prefetch) {
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
                for (ptrdiff_t e = 0; e < 2 * L; e += line)
                    __builtin_prefetch(ahead + r * plane + 2 * q + e, 0, 3);
            }
        }
        V g0[R], g1[R];
        if constexpr (inside()) {
            // lanes [0, split) in pair j, the rest in pair j + 1
            const int split = static_cast<int>(std::min<ptrdiff_t>(out_w - x, L));
            if (split == L) {
                // all in pair j: two loads, no blends (one Zen 5 thread, grad in L2: 0.955-0.98x
                // the weight gradient's time at rows 26, 30 and 32 wide; within noise on 64
                // MNIST images, 2 threads, grad from L3)
#pragma GCC unroll 8
                for (int r = 0; r < R; ++r) {
                    g0[r] = load(g[r] + base);
                    g1[r] = load(g[r] + base + out_w);
                }
            } else {
                const unsigned top = lanes_between(0, split);
#pragma GCC unroll 8
                for (int r = 0; r < R; ++r) {
                    const T* row = g[r] + base;
                    // (in registers: GCC would make the blends merge-masked loads, slower here)
                    const V middle = load(row + out_w);
                    g0[r] = blend_masked(top, middle, in_register(load(row)));
                    g1[r] = blend_masked(top, in_register(load(row + 2 * out_w)), middle);
                }
            }
            base += L, x += L;
            if (x >= out_w) base += out_w, x -= out_w;
        } else {
#pragma GCC unroll 8
            for (int r = 0; r < R; ++r) load_pair(g[r], out_w, spans[q / L], g0[r], g1[r]);
        }
        // acc[r][kw][i] += m[r] * (entry i of kernel column kw), or -= for entry 3 (A g's -g1)
        auto add_entry = [&](auto i, const V(&m)[R]) {
#pragma GCC unroll 3
            for (int kw = 0; kw < 3; ++kw) {
                const V row = in_register(load(vq + (4 * kw + i()) * B));
#pragma GCC unroll 8
                for (int r = 0; r < R; ++r) {
                    if constexpr (i() == 3) {
                        acc[r][kw][3] -= m[r] * row;
                    } else {
                        acc[r][kw][i()] += m[r] * row;
                    }
                }
            }
        };
        // A g = (g0, g0 + g1, g0 - g1, -g1): entries 0 and 3 first, then g0 and g1 turn into
        // the sum and difference in place (two vectors per channel live, not four)
        add_entry(std::integral_constant<int, 0>(), g0);
        add_entry(std::integral_constant<int, 3>(), g1);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            g0[r] += g1[r];
            g1[r] = g0[r] - (g1[r] + g1[r]);
            if (with_bias) bias_acc[r] += g0[r];
        }
        add_entry(std::integral_constant<int, 1>(), g0);
        add_entry(std::integral_constant<int, 2>(), g1);
        vq += L;
        in_block += L;
        if (in_block == B) in_block = 0, vq += block_size - B;
    };
    // the steps whose prefetches all lie in the ahead planes, then the rest: two loops, as a
    // test in the loop costs (3.5% in the direct weight gradient)
    const ptrdiff_t prefetch_end =
        with_bias && ahead ? std::min(positions, plane / 2 - L + 1) : 0;
    const std::true_type yes;
    const std::false_type no;
    ptrdiff_t q = 0;
#if TC_VECTOR_BYTES == 64
    for (; q < std::min(inside_end, prefetch_end); q += L) accumulate(q, yes, yes);
    for (; q < inside_end; q += L) accumulate(q, no, yes);
#endif
    for (; q < prefetch_end; q += L) accumulate(q, yes, no);
    for (; q < positions; q += L) accumulate(q, no, no);
    V taps[R * 9];   // output channel r's tap (kh, kw) at 9r + 3kh + kw
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
        for (int kw = 0; kw < 3; ++kw)
#pragma GCC unroll 3
            for (int kh = 0; kh < 3; ++kh)
                taps[9 * r + 3 * kh + kw] = tensorcore::WinogradF2::adjoint(acc[r][kw], kh);
    add_slots(dweight_lanes, taps);
    if (with_bias) add_slots(dbias_lanes, bias_acc);
}

template <typename T>
void image_weight_gradient(const T* grad, const T* v, ptrdiff_t channels, ptrdiff_t out_h,
                           ptrdiff_t out_w, ptrdiff_t out, const PairSpan* spans,
                           T* dweight_lanes, T* dbias_lanes, bool next_image) {
    constexpr int R = TC_WINOGRAD_ROWS_WEIGHT_ROWS;
    constexpr ptrdiff_t S = tensorcore::winograd_rows_lanes<T>;
    static_assert(tensorcore::conv_out_block % R == 0, "tiles must not pass the sums' padding");
    const ptrdiff_t plane = out_h * out_w;
    const ptrdiff_t out_padded = tensorcore::round_up(out, tensorcore::conv_out_block);
    // the vectors whose three rows of loads from their position stay in the plane (a prefix,
    // as the positions' offsets grow): where blending serves for load_pair's masks
    ptrdiff_t inside_end = 0;
#if TC_VECTOR_BYTES == 64
    constexpr int L = Simd<T>::lanes;
    const ptrdiff_t positions = (out_h + 1) / 2 * out_w;
    while (inside_end < positions && spans[inside_end / L].base + 2 * out_w + L <= plane)
        inside_end += L;
#endif
    for (ptrdiff_t o0 = 0; o0 < out; o0 += R) {
        const int rows = static_cast<int>(std::min<ptrdiff_t>(R, out - o0));
        // planes past `out` repeat the last one; their sums go to the padding's slots
        const T* g[R];
        for (int r = 0; r < R; ++r) g[r] = grad + (o0 + std::min(r, rows - 1)) * plane;
        // the next tile's planes, or the next image's first, where there are R of them
        const bool prefetch = tensorcore::rows_ahead(o0, R, out, next_image) == R;
        const T* ahead = prefetch ? grad + std::min(o0 + R, out) * plane : nullptr;
        T* dbias = dbias_lanes + o0 * S;
        weight_gradient_tile<T, R, true>(g, v, channels, 0, out_h, out_w, spans, inside_end,
                                         ahead, dweight_lanes + o0 * 9 * S, dbias);
        for (ptrdiff_t c = 1; c < channels; ++c)
            weight_gradient_tile<T, R, false>(g, v, channels, c, out_h, out_w, spans,
                                              inside_end, nullptr,
                                              dweight_lanes + (c * out_padded + o0) * 9 * S,
                                              dbias);
    }
}

}  // namespace

#define TC_DEFINE_WINOGRAD_ROWS_KERNELS_FOR(T)                                                  \
    void winograd_rows_plan(T, ptrdiff_t out_h, ptrdiff_t out_w, tensorcore::PairSpan* spans) { \
        plan_spans<Simd<T>::lanes>(out_h, out_w, spans);                                        \
    }                                                                                           \
    void winograd_rows_input(const T* image, ptrdiff_t channels, ptrdiff_t out_w,               \
                             ptrdiff_t pairs, T* v) {                                           \
        input_transform(image, channels, out_w, pairs, v);                                      \
    }                                                                                           \
    void winograd_rows_forward(const T* v, ptrdiff_t channels, ptrdiff_t out_h, ptrdiff_t out_w, \
                               const T* u, const T* bias, ptrdiff_t out,                        \
                               const tensorcore::PairSpan* spans, T* y) {                       \
        image_forward(v, channels, out_h, out_w, u, bias, out, spans, y);                       \
    }                                                                                           \
    void winograd_tiles_forward(const T* image, ptrdiff_t out_h, ptrdiff_t out_w, const T* u,   \
                                const T* bias, ptrdiff_t out, const tensorcore::PairSpan* spans, \
                                T* entries, T* y, uint8_t* taps, bool next_image) {             \
        if (taps) {                                                                             \
            tiles_forward<T, true>(image, out_h, out_w, u, bias, out, spans, entries, y, taps,  \
                                   next_image);                                                 \
        } else {                                                                                \
            tiles_forward<T, false>(image, out_h, out_w, u, bias, out, spans, entries, y, taps, \
                                    next_image);                                                \
        }                                                                                       \
    }                                                                                           \
    void winograd_rows_weight_gradient(const T* grad, const T* v, ptrdiff_t channels,          \
                                       ptrdiff_t out_h, ptrdiff_t out_w, ptrdiff_t out,         \
                                       const tensorcore::PairSpan* spans, T* dweight_lanes,     \
                                       T* dbias_lanes, bool next_image) {                       \
        image_weight_gradient(grad, v, channels, out_h, out_w, out, spans, dweight_lanes,      \
                              dbias_lanes, next_image);                                         \
    }

TC_DEFINE_WINOGRAD_ROWS_KERNELS_FOR(float)
TC_DEFINE_WINOGRAD_ROWS_KERNELS_FOR(double)

}  // namespace TC_ISA
