// BLIS-style GEMM, written once and compiled per ISA. The including unit includes the system
// headers (<omp.h> among them) first, then sets its target pragma and defines:
//   TC_ISA           namespace of this copy (isa_avx512, isa_avx2, isa_generic)
//   TC_VECTOR_BYTES  SIMD register width in bytes
//   TC_GEMM_MR       rows of the register tile (broadcast A elements)
//   TC_GEMM_NV       vectors per tile row; the tile is MR x NR with NR = NV * lanes
//   TC_GEMM_MR_SHORT optional: rows of a shorter MR_SHORT x NR tile for short problems (M =
//                    8, 16, 32, where MR-row panels would be mostly padding)
//   TC_GEMM_MR_WIDE, TC_GEMM_NV_WIDE  optional: a wider tile for large problems (fewer
//                    loads per FMA; its wider panels pad small N more)
//
// Per matrix of the batch, C is cut into one cell per thread (or, for batches of many
// matrices, each thread takes whole matrices); each cell runs the BLIS loop nest on its own,
// with packing buffers of its own, so threads never wait on each other (no barriers: under
// an oversubscribed CPU a descheduled team member stalls a lock-step team for a time slice):
//   columns j0 += NC   B (KC, NC) block packed into NR-column panels    (b_pack, from L3;
//                      row-major B is read in place instead when M fits one MC block)
//   depth   p0 += KC
//   rows    i0 += MC   A (MC, KC) block packed into MR-row panels       (a_pack, from L2)
//   tiles   for each NR panel, for each MR panel: the MR x NR register-blocked micro-kernel
//           over the KC slice, B's (KC, NR) panel reused from L1 and L2 (see Blocking).
// Threads split M and N, never K: every C element sums its products in the same order
// whatever the thread count, and edge tiles run the same arithmetic as full ones.
#include "gemm_kernels.h"
#include "simd.h"

namespace TC_ISA {
namespace {

#ifndef TC_GEMM_MR_SHORT
#define TC_GEMM_MR_SHORT TC_GEMM_MR
#endif
#ifndef TC_GEMM_MR_WIDE
#define TC_GEMM_MR_WIDE TC_GEMM_MR
#define TC_GEMM_NV_WIDE TC_GEMM_NV
#endif

inline ptrdiff_t smaller(ptrdiff_t x, ptrdiff_t y) { return x < y ? x : y; }
inline ptrdiff_t magnitude(ptrdiff_t x) { return x < 0 ? -x : x; }
inline ptrdiff_t ceil_div(ptrdiff_t x, ptrdiff_t y) { return (x + y - 1) / y; }

template <typename T, int MR, int NV>
struct Blocking {
    static constexpr int mr = MR, nv = NV;
    static constexpr int nr = NV * Simd<T>::lanes;
    // The blocks of a product of depth k, in elements:
    //   k  depth of the K blocks: k cut into equal blocks of at most 512 (whole multiples of
    //      8 but the last). C is read and written once per block, and once C outgrows L2
    //      that traffic comes from L3 or DRAM: 512 against 160-256 ran 7-11% faster from
    //      1024^3 up and on 64 x 512 x 2048 on Zen 4 (one thread 2048^3: 101 -> 108
    //      GFLOP/s). B's (k, NR) micro-panel then streams from L2 rather than sitting in
    //      L1; L2 keeps up (per step of k, NR + MR elements per MR * NV FMAs).
    //   m  rows of the (m, k) A block: about 192 KiB, in L2 while every NR panel of B passes
    //   n  columns of the (k, n) B block: about 2 MiB, in L3
    // An empty product (k = 0) still sizes a workspace (ThreadGemms reserves before it
    // knows): one block of depth 8.
    struct Blocks {
        ptrdiff_t k, m, n;
    };
    static Blocks blocks(ptrdiff_t k) {
        const ptrdiff_t depth = k > 1 ? k : 1;
        const ptrdiff_t kc = ceil_div(ceil_div(depth, ceil_div(depth, 512)), 8) * 8;
        const ptrdiff_t bytes = kc * static_cast<ptrdiff_t>(sizeof(T));
        const ptrdiff_t mc = (192 * 1024) / bytes / mr * mr, nc = (2 << 20) / bytes / nr * nr;
        return {kc, mc > mr ? mc : mr, nc > nr ? nc : nr};
    }
};

// whole 64-byte lines, so each packing buffer carved from the workspace stays aligned
template <typename T>
inline ptrdiff_t whole_lines(ptrdiff_t elements) {
    const ptrdiff_t per_line = 64 / sizeof(T);
    return ceil_div(elements, per_line) * per_line;
}

// dst[p * MR + i0 + i] = a[i * rs + p] for i < 4, p < kc & ~3: 4 x 4 blocks of row-major
// float A transposed in registers (4 loads, 8 shuffles and 4 stores per 16 elements, where
// element-by-element packing is store-bound at one element per store). Returns the columns
// done.
template <int MR>
ptrdiff_t pack_4_rows(const float* a, ptrdiff_t rs, ptrdiff_t kc, int i0, float* dst) {
    typedef float v4 __attribute__((vector_size(16), aligned(4)));
    typedef int lanes __attribute__((vector_size(16)));
    const ptrdiff_t done = kc & ~ptrdiff_t(3);
    for (ptrdiff_t p = 0; p < done; p += 4) {
        const v4 r0 = *reinterpret_cast<const v4*>(a + p);
        const v4 r1 = *reinterpret_cast<const v4*>(a + rs + p);
        const v4 r2 = *reinterpret_cast<const v4*>(a + 2 * rs + p);
        const v4 r3 = *reinterpret_cast<const v4*>(a + 3 * rs + p);
        const v4 lo01 = __builtin_shuffle(r0, r1, lanes{0, 4, 1, 5});   // r0[0] r1[0] r0[1] r1[1]
        const v4 lo23 = __builtin_shuffle(r2, r3, lanes{0, 4, 1, 5});
        const v4 hi01 = __builtin_shuffle(r0, r1, lanes{2, 6, 3, 7});   // r0[2] r1[2] r0[3] r1[3]
        const v4 hi23 = __builtin_shuffle(r2, r3, lanes{2, 6, 3, 7});
        float* out = dst + p * MR + i0;
        *reinterpret_cast<v4*>(out) = __builtin_shuffle(lo01, lo23, lanes{0, 1, 4, 5});
        *reinterpret_cast<v4*>(out + MR) = __builtin_shuffle(lo01, lo23, lanes{2, 3, 6, 7});
        *reinterpret_cast<v4*>(out + 2 * MR) = __builtin_shuffle(hi01, hi23, lanes{0, 1, 4, 5});
        *reinterpret_cast<v4*>(out + 3 * MR) = __builtin_shuffle(hi01, hi23, lanes{2, 3, 6, 7});
    }
    return done;
}

// dst[p * MR + i0 + i] = a[i * rs + p] for i < 8, p < kc & ~7: 8 x 8 blocks transposed in
// registers in three rounds of two-input shuffles (unpacks of pairs, of pairs of pairs,
// then 128-bit halves): 8 loads, 24 shuffles and 8 stores per 64 elements, against 16, 32
// and 16 by 4 x 4 blocks. Returns the columns done.
template <int MR>
ptrdiff_t pack_8_rows(const float* a, ptrdiff_t rs, ptrdiff_t kc, int i0, float* dst) {
    typedef float v8 __attribute__((vector_size(32), aligned(4)));
    typedef int lanes __attribute__((vector_size(32)));
    const ptrdiff_t done = kc & ~ptrdiff_t(7);
    for (ptrdiff_t p = 0; p < done; p += 8) {
        v8 r[8], t[8], u[8];
        for (int i = 0; i < 8; ++i) r[i] = *reinterpret_cast<const v8*>(a + i * rs + p);
        for (int i = 0; i < 8; i += 2) {      // t[i] columns 0 1 4 5, t[i+1] 2 3 6 7 of rows i, i+1
            t[i] = __builtin_shuffle(r[i], r[i + 1], lanes{0, 8, 1, 9, 4, 12, 5, 13});
            t[i + 1] = __builtin_shuffle(r[i], r[i + 1], lanes{2, 10, 3, 11, 6, 14, 7, 15});
        }
        for (int i = 0; i < 8; i += 4) {      // u[i + c] columns c, c + 4 of rows i .. i+3
            for (int h = 0; h < 2; ++h) {
                u[i + 2 * h] = __builtin_shuffle(t[i + h], t[i + 2 + h],
                                                 lanes{0, 1, 8, 9, 4, 5, 12, 13});
                u[i + 2 * h + 1] = __builtin_shuffle(t[i + h], t[i + 2 + h],
                                                     lanes{2, 3, 10, 11, 6, 7, 14, 15});
            }
        }
        float* out = dst + p * MR + i0;
        for (int c = 0; c < 4; ++c) {         // column c from u[c] and u[4 + c], low halves
            *reinterpret_cast<v8*>(out + c * MR) =
                __builtin_shuffle(u[c], u[4 + c], lanes{0, 1, 2, 3, 8, 9, 10, 11});
            *reinterpret_cast<v8*>(out + (c + 4) * MR) =
                __builtin_shuffle(u[c], u[4 + c], lanes{4, 5, 6, 7, 12, 13, 14, 15});
        }
    }
    return done;
}

// dst[p * MR + i] = a[i * rs + p] for i < rows: row-major float A by 8 x 8, then 4 x 4
// blocks, the rows past the last multiple of 4 one by one. Returns true; the overload below,
// for other types, does nothing and returns false.
template <int MR>
bool pack_row_major_blocks(const float* a, ptrdiff_t rs, int rows, ptrdiff_t kc, float* dst) {
    auto rest_of_rows = [&](int first, int count, ptrdiff_t done) {
        for (int r = first; r < first + count; ++r)
            for (ptrdiff_t p = done; p < kc; ++p) dst[p * MR + r] = a[r * rs + p];
    };
    int i = 0;
    for (; i + 8 <= rows; i += 8) rest_of_rows(i, 8, pack_8_rows<MR>(a + i * rs, rs, kc, i, dst));
    for (; i + 4 <= rows; i += 4) rest_of_rows(i, 4, pack_4_rows<MR>(a + i * rs, rs, kc, i, dst));
    rest_of_rows(i, rows - i, 0);
    return true;
}

template <int MR, typename T>
bool pack_row_major_blocks(const T*, ptrdiff_t, int, ptrdiff_t, T*) {
    return false;
}

// dst (kc, MR) panel: dst[p * MR + i] = a[i * rs + p * cs] for i < rows, zero for the rows
// past `rows` (the bottom edge), so the micro-kernel always runs a full tile.
template <typename T, int MR>
void pack_a_panel(const T* a, ptrdiff_t rs, ptrdiff_t cs, int rows, ptrdiff_t kc, T* dst) {
    if (rows == MR && rs == 1) {                     // column-major A: MR contiguous per p
        for (ptrdiff_t p = 0; p < kc; ++p)
            for (int i = 0; i < MR; ++i) dst[p * MR + i] = a[p * cs + i];
        return;
    }
    if (cs != 1 || !pack_row_major_blocks<MR>(a, rs, rows, kc, dst)) {
        if (magnitude(cs) <= magnitude(rs)) {        // row-major-like: walk along each row
            for (int i = 0; i < rows; ++i)
                for (ptrdiff_t p = 0; p < kc; ++p) dst[p * MR + i] = a[i * rs + p * cs];
        } else {
            for (ptrdiff_t p = 0; p < kc; ++p)
                for (int i = 0; i < rows; ++i) dst[p * MR + i] = a[i * rs + p * cs];
        }
    }
    for (ptrdiff_t p = 0; p < kc; ++p)
        for (int i = rows; i < MR; ++i) dst[p * MR + i] = T(0);
}

// dst (kc, NR) panel: dst[p * NR + j] = b[p * rs + j * cs] for j < cols, zero for the
// columns past `cols` (the right edge).
template <typename T, int NR>
void pack_b_panel(const T* b, ptrdiff_t rs, ptrdiff_t cs, int cols, ptrdiff_t kc, T* dst) {
    if (cols == NR && cs == 1) {                     // row-major B: NR contiguous per p
        for (ptrdiff_t p = 0; p < kc; ++p)
            for (int j = 0; j < NR; ++j) dst[p * NR + j] = b[p * rs + j];
        return;
    }
    // column-major float B (a transposed weight, x @ w.T) is row-major A's layout with the
    // roles of rows and columns swapped: the same 4 x 4 register transposes pack it
    if (rs != 1 || !pack_row_major_blocks<NR>(b, cs, cols, kc, dst)) {
        if (magnitude(rs) <= magnitude(cs)) {        // column-major-like: walk down each column
            for (int j = 0; j < cols; ++j)
                for (ptrdiff_t p = 0; p < kc; ++p) dst[p * NR + j] = b[p * rs + j * cs];
        } else {
            for (ptrdiff_t p = 0; p < kc; ++p)
                for (int j = 0; j < cols; ++j) dst[p * NR + j] = b[p * rs + j * cs];
        }
    }
    for (ptrdiff_t p = 0; p < kc; ++p)
        for (int j = cols; j < NR; ++j) dst[p * NR + j] = T(0);
}

// `runs` runs of `bytes` contiguous bytes, the first at `first`, each `stride` bytes after
// the one before: a block of an operand as the packing (or a tile, for B read in place)
// will read it.
struct Region {
    const char* first = nullptr;
    ptrdiff_t stride = 0, bytes = 0, runs = 0;
};

// The (rows, cols) block at `origin` with element strides rs and cs, as runs along its
// unit-stride axis; empty when neither stride is 1 (those blocks are not prefetched).
template <typename T>
Region region(const T* origin, ptrdiff_t rs, ptrdiff_t cs, ptrdiff_t rows, ptrdiff_t cols) {
    const ptrdiff_t size = sizeof(T);
    if (cs == 1) return {reinterpret_cast<const char*>(origin), rs * size, cols * size, rows};
    if (rs == 1) return {reinterpret_cast<const char*>(origin), cs * size, rows * size, cols};
    return {};
}

// about as many lines as the region spans (exact for runs starting on a line)
inline ptrdiff_t lines_of(const Region& r) { return r.runs * ((r.bytes + 63) / 64); }

// Fetches the lines of up to two regions one at a time, one every `every_` steps of the
// micro-kernels' k loops, so that the next block's source arrives while this block's
// products run: a cold operand otherwise stalls each packing pass (and each in-place B
// panel's first tile) on DRAM with the FMA pipes idle. Measured on Zen 5 (2 threads, the
// operands evicted by a 40 MB write before each call): the CNN step's dense layer, 128 x
// 5408 x 128 with B transposed 552-562 -> 471-475 us, 128 x 128 x 5408 with B in place
// 474-483 -> 383-391; with the operands cached, 0.96-1.02x the time.
class Prefetcher {
  public:
    // `first`, then `second`, spread over about `steps` steps of k
    void start(const Region& first, const Region& second, ptrdiff_t steps) {
        pending_ = second;
        // done by three quarters of the steps, so that late lines still arrive in time
        const ptrdiff_t lines = lines_of(first) + lines_of(second);
        const ptrdiff_t spacing = lines > 0 ? steps * 3 / 4 / lines : idle;
        every_ = spacing > 1 ? spacing : 1;
        countdown_ = every_;
        begin(first);
    }
    void stop() { start(Region{}, Region{}, 0); }
    void step() {
        if (--countdown_ == 0) fetch();
    }

  private:
    static constexpr ptrdiff_t idle = PTRDIFF_MAX;

    void begin(const Region& r) {
        current_ = r;
        if (r.runs > 0) {
            line_ = line_start(r.first);
            end_ = r.first + r.bytes;
        } else if (pending_.runs > 0) {
            take_pending();
        } else {
            every_ = countdown_ = idle;
        }
    }
    void take_pending() {
        const Region next = pending_;
        pending_ = Region{};
        begin(next);
    }
    static const char* line_start(const char* p) {
        return reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t(63));
    }
    void fetch() {
        countdown_ = every_;
        __builtin_prefetch(line_);
        line_ += 64;
        if (line_ < end_) return;
        if (--current_.runs > 0) {
            current_.first += current_.stride;
            line_ = line_start(current_.first);
            end_ = current_.first + current_.bytes;
            return;
        }
        take_pending();
    }

    Region current_, pending_;
    const char *line_ = nullptr, *end_ = nullptr;
    ptrdiff_t every_ = idle, countdown_ = idle;
};

// c (rows, cols) with row stride ldc = [c +] ap (kc, MR panel)^T . bp (kc, NR), bp's rows
// b_stride apart (NR for a packed panel, B's own row stride when read in place): MR x NV
// accumulator vectors stay in registers; per step of k, NV loads of B, MR broadcasts of A
// and MR * NV FMAs. Edge tiles (rows < MR or cols < NR) go through a stack tile. The A panel
// may be packed for a taller tile (PANEL_MR rows per step of k, the first MR of them used).
template <typename T, int MR, int NV, int PANEL_MR = MR>
void micro_kernel(ptrdiff_t kc, const T* __restrict ap, const T* __restrict bp,
                  ptrdiff_t b_stride, T* c, ptrdiff_t ldc, int rows, int cols, bool accumulate,
                  Prefetcher& prefetcher) {
    typedef typename Simd<T>::vec V;
    constexpr int W = Simd<T>::lanes, NR = NV * W;
    // C's tile is read at the end: start fetching its lines now (a miss to DRAM there would
    // stall the whole tile)
    for (int i = 0; i < rows; ++i) {
        __builtin_prefetch(c + i * ldc, 1, 3);
        __builtin_prefetch(c + i * ldc + cols - 1, 1, 3);
    }
    V acc[MR][NV] = {};
    Prefetcher fetch = prefetcher;   // a local copy, kept in registers
    for (ptrdiff_t p = 0; p < kc; ++p) {
        fetch.step();
        V b[NV];
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) b[j] = load(bp + j * W);
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
            const V a = broadcast(ap[i]);
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) acc[i][j] += a * b[j];
        }
        ap += PANEL_MR;
        bp += b_stride;
    }
    prefetcher = fetch;
    if (rows == MR && cols == NR) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) {
                T* dst = c + i * ldc + j * W;
                store(dst, accumulate ? load(dst) + acc[i][j] : acc[i][j]);
            }
        }
        return;
    }
    T tile[MR * NR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) store(tile + i * NR + j * W, acc[i][j]);
    }
    for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < cols; ++j) {
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
        }
    }
}

// The micro-kernel for a tile of `cols` columns and `rows` rows: the narrowest NV' <= NV
// whose NV' vectors cover the columns, so that a right-edge panel (N = 100: 3 x 32 + 4) does
// not multiply zero padding (its panel is still NR wide, rows b_stride apart); and half the
// rows, rounded up, where they cover a bottom-edge panel's. On AVX2 (6 rows) M = 32 ends in a
// panel of 2: the 3-row kernel there ran 3-5% faster on 32 x 512 x 128, 32 x 784 x 128 and
// the LSTM cell's 32-row products (Zen 4, one thread, interleaved in one process). The same
// products in the same order as the full tile.
template <typename T, int MR, int NV>
void edge_micro_kernel(ptrdiff_t kc, const T* ap, const T* bp, ptrdiff_t b_stride, T* c,
                       ptrdiff_t ldc, int rows, int cols, bool accumulate,
                       Prefetcher& prefetcher) {
    if constexpr (NV > 1) {
        if (cols <= (NV - 1) * Simd<T>::lanes) {
            edge_micro_kernel<T, MR, NV - 1>(kc, ap, bp, b_stride, c, ldc, rows, cols,
                                             accumulate, prefetcher);
            return;
        }
    }
    constexpr int half = (MR + 1) / 2;
    if (rows <= half)
        micro_kernel<T, half, NV, MR>(kc, ap, bp, b_stride, c, ldc, rows, cols, accumulate,
                                      prefetcher);
    else
        micro_kernel<T, MR, NV>(kc, ap, bp, b_stride, c, ldc, rows, cols, accumulate,
                                prefetcher);
}

// c (m, n), row stride ldc, (=|+=) a (m, k) . b (k, n): one thread's BLIS loop nest over
// strided views; a_pack holds MC x KC and b_pack KC x NC elements (rounded up to whole panels).
// Returns whether A is one block (m <= MC, k <= KC), so that a_pack holds all of it after
// the call; a_packed says a_pack holds it already (the previous cell's A was this one).
template <typename T, int MR, int NV>
bool gemm_cell(const T* a, ptrdiff_t a_rs, ptrdiff_t a_cs, const T* b, ptrdiff_t b_rs,
               ptrdiff_t b_cs, T* c, ptrdiff_t ldc, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
               bool accumulate, T* a_pack, T* b_pack, bool a_packed) {
    typedef Blocking<T, MR, NV> B;
    // Row-major B is read in place when this cell's rows fit one A block: each B element
    // then meets few A panels, and copying it would cost about as much as using it (+15-30%
    // at M = 32-64). A partial right-edge panel is still packed (zero-padded to NR columns).
    const typename B::Blocks block = B::blocks(k);
    const bool b_in_place = b_cs == 1 && m <= block.m;
    // ... except where B's rows are far enough apart, by a power of two, to fall into few
    // sets of L2: a panel's column of lines at a stride of p bytes (p up to 4 KiB, the page
    // offset; the set bits above it come from the physical page) reaches 1 MiB / p lines of
    // a 1 MiB L2 (Zen 4 and Zen 5), 256 at 4 KiB-multiple strides (N = 1024, 2048 floats),
    // 512 at 2 KiB (N = 512); on huge pages (NumPy advises them from 4 MiB) strides past
    // 4 KiB reach fewer still. Where its kc rows fill half of that or more, the panel does not
    // stay cached from one tile to the next and every tile streams it from L3 again (and at
    // 4 KiB multiples all its lines share one L1 set, whose misses are served one or two at
    // a time: 8.3 TSC ticks a row from L2 on Zen 4, against 2.2 unaliased). There each whole
    // panel is copied just before its tiles, into one slot that stays in L1 and L2, where at
    // least 8 row panels reuse the copy.
    // Interleaved in one process on Zen 4's AVX2 (6-row tiles, GFLOP/s in place -> copied,
    // _C.matmul, medians of 9 rounds, fresh arrays each round): one thread 64 x 512 x 2048
    // 51 -> 68, 96 x 512 x 1024 53 -> 75, 64 x 2048 x 512 66 -> 73, 64 x 2048 x 1536 64 -> 72;
    // two threads 102 -> 134, 103 -> 127, 131 -> 145 and 128 -> 147. 1 KiB strides (kc = 512)
    // and 2 KiB with kc = 392 neither gained nor lost (within 3%) there; the benchmark's
    // 128 x 784 x 512 (2 KiB, kc = 392, two threads of 66 rows) ran 765 -> 704 us with the
    // copy in one slot (old and new builds in alternating processes).
    // B's rows at a stride that does not alias, read in place, still run faster: the copy
    // reads the aliased rows once. With 3 row panels (32 x 512 x 2048 on two threads)
    // copying lost 11%.
    const ptrdiff_t row_bytes = magnitude(b_rs) * static_cast<ptrdiff_t>(sizeof(T));
    const ptrdiff_t alias_bytes = smaller(row_bytes & -row_bytes, 4096);   // p (0 if b_rs = 0)
    const bool copy_b_panels = b_in_place && block.k * alias_bytes >= (512 << 10) &&
                               ceil_div(m, B::mr) >= 8;
    const bool one_a_block = m <= block.m && k <= block.k;
    bool a_in_pack = a_packed && one_a_block;   // a_pack holds this A block already
    // Operands that fit L2 may stay there from call to call (a loop over small products):
    // fetching ahead then costs more instructions than it saves
    const bool fetch_ahead = (m + n) * k * static_cast<ptrdiff_t>(sizeof(T)) > (1 << 20);
    Prefetcher prefetcher;
    for (ptrdiff_t j0 = 0; j0 < n; j0 += block.n) {
        const ptrdiff_t cols = smaller(block.n, n - j0), col_panels = ceil_div(cols, B::nr);
        for (ptrdiff_t p0 = 0; p0 < k; p0 += block.k) {
            const ptrdiff_t kc = smaller(block.k, k - p0);
            for (ptrdiff_t jp = 0; jp < col_panels; ++jp) {
                const ptrdiff_t j = j0 + jp * B::nr;
                const int panel_cols = static_cast<int>(smaller(B::nr, n - j));
                if (b_in_place && panel_cols == B::nr) continue;
                pack_b_panel<T, B::nr>(b + p0 * b_rs + j * b_cs, b_rs, b_cs, panel_cols, kc,
                             b_pack + jp * B::nr * kc);
            }
            // B packed: this block's products fetch the next block's source, when it fits
            // in about half of L2 beside the packed blocks
            if (fetch_ahead && !b_in_place) {
                ptrdiff_t next_j0 = j0, next_p0 = p0 + block.k;
                if (next_p0 >= k) {
                    next_j0 += block.n;
                    next_p0 = 0;
                }
                Region next_b, next_a;
                if (next_j0 < n) {
                    const ptrdiff_t next_kc = smaller(block.k, k - next_p0);
                    next_b = region(b + next_p0 * b_rs + next_j0 * b_cs, b_rs, b_cs, next_kc,
                                    smaller(block.n, n - next_j0));
                    if (!one_a_block)
                        next_a = region(a + next_p0 * a_cs, a_rs, a_cs, m, next_kc);
                }
                const bool fits = (next_b.runs * next_b.bytes + next_a.runs * next_a.bytes) <=
                                  (512 << 10);
                if (fits) prefetcher.start(next_b, next_a, ceil_div(m, B::mr) * col_panels * kc);
                else prefetcher.stop();
            }
            for (ptrdiff_t i0 = 0; i0 < m; i0 += block.m) {
                const ptrdiff_t rows = smaller(block.m, m - i0), row_panels = ceil_div(rows, B::mr);
                for (ptrdiff_t ip = 0; ip < row_panels && !a_in_pack; ++ip) {
                    const ptrdiff_t i = i0 + ip * B::mr;
                    pack_a_panel<T, MR>(a + i * a_rs + p0 * a_cs, a_rs, a_cs,
                                 static_cast<int>(smaller(B::mr, m - i)), kc,
                                 a_pack + ip * B::mr * kc);
                }
                a_in_pack = one_a_block;   // and so for the next j0 too
                for (ptrdiff_t jp = 0; jp < col_panels; ++jp) {
                    const int tile_cols = static_cast<int>(smaller(B::nr, cols - jp * B::nr));
                    // a copied panel takes the first slot (a partial panel packed above is
                    // the last, and never copied)
                    const bool copied = copy_b_panels && tile_cols == B::nr;
                    if (copied)
                        pack_b_panel<T, B::nr>(b + p0 * b_rs + j0 + jp * B::nr, b_rs, 1, B::nr,
                                               kc, b_pack);
                    const bool packed = !b_in_place || tile_cols < B::nr;
                    const T* bp = copied   ? b_pack
                                  : packed ? b_pack + jp * B::nr * kc
                                           : b + p0 * b_rs + j0 + jp * B::nr;
                    const ptrdiff_t b_stride = packed || copied ? B::nr : b_rs;
                    // B read in place (or copied panel by panel): this panel's tiles fetch the
                    // next panel's rows
                    if (fetch_ahead && b_in_place) {
                        const ptrdiff_t next = j0 + (jp + 1) * B::nr;
                        if (jp + 1 < col_panels && n - next >= B::nr)
                            prefetcher.start(region(b + p0 * b_rs + next, b_rs, ptrdiff_t(1), kc,
                                                    ptrdiff_t(B::nr)),
                                             Region{}, row_panels * kc);
                        else
                            prefetcher.stop();
                    }
                    for (ptrdiff_t ip = 0; ip < row_panels; ++ip) {
                        const int tile_rows = static_cast<int>(smaller(B::mr, rows - ip * B::mr));
                        edge_micro_kernel<T, MR, NV>(kc, a_pack + ip * B::mr * kc, bp,
                                     b_stride, c + (i0 + ip * B::mr) * ldc + j0 + jp * B::nr,
                                     ldc, tile_rows, tile_cols, accumulate || p0 > 0,
                                     prefetcher);
                    }
                }
            }
        }
    }
    return one_a_block;
}

// How a problem is split: `threads` threads take tasks t, t + threads, ... of
// batch x grid_rows x grid_cols tasks, a task being one (cell_m, cell_n) cell of C in one
// matrix, computed with `tile`'s register tile; each thread packs into its own
// a_pack + b_pack elements of the workspace.
struct Plan {
    int threads;
    GemmTile tile;
    ptrdiff_t grid_rows, grid_cols, cell_m, cell_n;
    ptrdiff_t a_pack, b_pack;
};

template <int MR, int NV>
struct TileShape {
    static constexpr int mr = MR, nv = NV;
};

// Calls f(TileShape<MR, NV>{}) with the shape of the tile kind.
template <typename F>
void with_tile(GemmTile tile, F&& f) {
    if (tile == GemmTile::wide)
        f(TileShape<TC_GEMM_MR_WIDE, TC_GEMM_NV_WIDE>{});
    else if (tile == GemmTile::short_rows)
        f(TileShape<TC_GEMM_MR_SHORT, TC_GEMM_NV>{});
    else
        f(TileShape<TC_GEMM_MR, TC_GEMM_NV>{});
}

// The tile for a problem, unless set_gemm_tile forces one: the wide one where N >= 1024 and
// row-major B is read in place (M <= 128), else the short one. Only AVX-512 has three shapes
// (8 x 48, 8 x 32 and the 14 x 32 main tile); elsewhere the three are one. Both AVX-512 CPUs
// measured favour the 8-row tiles over 14 x 32 at every shape, float and double (2 threads,
// GFLOP/s, main / wide / short):
//   Zen 4 (two 256-bit halves): 8 x 32 2-12% faster than 14 x 32, 1 and 2 threads
//     (128 x 784 x 512 203 -> 224, 1024^3 206 -> 214, 32 x 512 x 100 114 -> 164); 8 x 48 a
//     further 2-5% where B is read in place at N >= 1024, 2-3% slower where B is packed.
//   Zen 5 (full-width pipes, after the packing and K-block changes): 1024^3 430 / 446 / 448,
//     4096^3 467 / 445 / 486, 128 x 784 x 512 305 / 398 / 417, 256^3 380 / 416 / 413,
//     64 x 512 x 2048 313 / 398 / 357 (float64 163 / 211 / 171), 512 x 128 x 2048 with B
//     transposed 475 / 480 / 491.
template <typename T>
GemmTile choose_tile(const GemmProblem<T>& p) {
    const GemmTile forced = gemm_tile();
    if (forced != GemmTile::automatic) return forced;
    const bool b_in_place = p.b_col_stride == 1 && p.m <= 128;
    return p.n >= 1024 && b_in_place ? GemmTile::wide : GemmTile::short_rows;
}

template <typename T, int MR, int NV>
void plan_cells(const GemmProblem<T>& p, Plan& plan) {
    typedef Blocking<T, MR, NV> B;
    const typename B::Blocks block = B::blocks(p.k);
    plan.grid_rows = plan.grid_cols = 1;
    plan.cell_m = p.m;
    plan.cell_n = p.n;
    // Whole matrices per thread when that balances (within a quarter); else one cell per
    // thread in each matrix, cut at whole MR / NR panels: the grid whose cell costs least,
    // counting per unit of k its multiply-adds (2 FMA pipes x lanes per cycle) and the
    // elements it packs (about one per cycle): A's cell_m rows, B's cell_n columns unless
    // B is read in place (see gemm_cell).
    const bool whole_matrices = p.batch % plan.threads == 0 || p.batch >= 4 * plan.threads;
    if (plan.threads > 1 && !whole_matrices) {
        double best = -1;
        for (ptrdiff_t rows = 1; rows <= plan.threads; ++rows) {
            if (plan.threads % rows != 0) continue;
            const ptrdiff_t cols = plan.threads / rows;
            const ptrdiff_t cell_m = ceil_div(ceil_div(p.m, rows), B::mr) * B::mr;
            const ptrdiff_t cell_n = ceil_div(ceil_div(p.n, cols), B::nr) * B::nr;
            const bool b_in_place = p.b_col_stride == 1 && cell_m <= block.m;
            const double cost = static_cast<double>(cell_m) * cell_n / (2 * Simd<T>::lanes) +
                                cell_m + (b_in_place ? 0 : cell_n);
            if (best < 0 || cost < best) {
                best = cost;
                plan.grid_rows = rows;
                plan.grid_cols = cols;
                plan.cell_m = cell_m;
                plan.cell_n = cell_n;
            }
        }
    }
    plan.a_pack = whole_lines<T>(ceil_div(smaller(block.m, plan.cell_m), B::mr) * B::mr * block.k);
    plan.b_pack = whole_lines<T>(block.k * ceil_div(smaller(block.n, plan.cell_n), B::nr) * B::nr);
}

template <typename T>
Plan make_plan(const GemmProblem<T>& p, int threads, GemmTile tile) {
    Plan plan;
    // about 2^17 multiply-adds per thread at least, or the fork/join costs more than it saves
    const double useful = static_cast<double>(p.batch) * p.m * p.n * p.k / (1 << 17);
    plan.threads = useful < threads ? (useful < 1 ? 1 : static_cast<int>(useful)) : threads;
    plan.tile = tile;
    with_tile(plan.tile, [&](auto shape) {
        plan_cells<T, decltype(shape)::mr, decltype(shape)::nv>(p, plan);
    });
    return plan;
}

// The most any tile needs: the product's own plan is made when it runs, and set_gemm_tile may
// have changed the tile since the caller sized its workspace
template <typename T>
size_t workspace_size(const GemmProblem<T>& p, int threads) {
    size_t most = 0;
    for (GemmTile tile : {GemmTile::main, GemmTile::short_rows, GemmTile::wide}) {
        const Plan plan = make_plan(p, threads, tile);
        const size_t needed = static_cast<size_t>(plan.a_pack + plan.b_pack) * plan.threads;
        if (needed > most) most = needed;
    }
    return most;
}

// Tasks thread, thread + threads, ... of the plan, into this thread's packing buffers.
template <typename T>
void run_tasks(const GemmProblem<T>& p, const Plan& plan, T* workspace, int thread, int threads) {
    T* a_pack = workspace + thread * (plan.a_pack + plan.b_pack);
    T* b_pack = a_pack + plan.a_pack;
    const ptrdiff_t cells = plan.grid_rows * plan.grid_cols;
    const T* packed_a = nullptr;   // the A a_pack holds whole (a batch may repeat one A)
    for (ptrdiff_t task = thread; task < p.batch * cells; task += threads) {
        const ptrdiff_t index = task / cells, cell = task % cells;
        const ptrdiff_t i0 = cell / plan.grid_cols * plan.cell_m;
        const ptrdiff_t j0 = cell % plan.grid_cols * plan.cell_n;
        if (i0 >= p.m || j0 >= p.n) continue;
        const T* a = p.a + index * p.a_batch_stride + i0 * p.a_row_stride;
        const T* b = p.b + index * p.b_batch_stride + j0 * p.b_col_stride;
        T* c = p.c + index * p.c_batch_stride + i0 * p.c_row_stride + j0;
        const ptrdiff_t m = smaller(plan.cell_m, p.m - i0), n = smaller(plan.cell_n, p.n - j0);
        with_tile(plan.tile, [&](auto shape) {
            const bool whole = gemm_cell<T, decltype(shape)::mr, decltype(shape)::nv>(
                a, p.a_row_stride, p.a_col_stride, b, p.b_row_stride, p.b_col_stride, c,
                p.c_row_stride, m, n, p.k, p.accumulate, a_pack, b_pack, a == packed_a);
            packed_a = whole ? a : nullptr;
        });
    }
}

template <typename T>
void run_gemm(const GemmProblem<T>& p, T* workspace, int threads) {
    const Plan plan = make_plan(p, threads, choose_tile(p));
    if (plan.threads == 1) {
        run_tasks(p, plan, workspace, 0, 1);
        return;
    }
#pragma omp parallel num_threads(plan.threads)
    run_tasks(p, plan, workspace, omp_get_thread_num(), omp_get_num_threads());
}

}  // namespace

size_t gemm_workspace_size(const GemmProblem<float>& p, int threads) {
    return workspace_size(p, threads);
}
size_t gemm_workspace_size(const GemmProblem<double>& p, int threads) {
    return workspace_size(p, threads);
}
void gemm(const GemmProblem<float>& p, float* workspace, int threads) {
    run_gemm(p, workspace, threads);
}
void gemm(const GemmProblem<double>& p, double* workspace, int threads) {
    run_gemm(p, workspace, threads);
}

}  // namespace TC_ISA
