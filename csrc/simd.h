// SIMD vectors through GCC vector extensions, one register wide for the including ISA unit:
// TC_VECTOR_BYTES is 64 (AVX-512 zmm), 32 (AVX2 ymm) or 16 (the SSE2/NEON baseline).
// Included inside an ISA unit after its target pragma; everything here has internal linkage.
// The AVX-512 and AVX2 units include <immintrin.h> before their pragma; every unit includes
// <utility> (for lane_pattern's index_sequence) before it too, directly or through <algorithm>.
#pragma once

namespace TC_ISA {
namespace {

template <typename T> struct LaneBits;
template <> struct LaneBits<float> { typedef int type; };
template <> struct LaneBits<double> { typedef long long type; };

template <typename T>
struct Simd {
    static constexpr int lanes = TC_VECTOR_BYTES / sizeof(T);
    // aligned(sizeof(T)): a vec* may point at any element, so loads and stores are unaligned
    typedef T vec __attribute__((vector_size(TC_VECTOR_BYTES), aligned(sizeof(T)), may_alias));
    // lane masks from comparisons, and the lanes' bit patterns
    typedef typename LaneBits<T>::type bits __attribute__((vector_size(TC_VECTOR_BYTES)));
    // a byte per lane
    typedef unsigned char bytes __attribute__((vector_size(TC_VECTOR_BYTES / sizeof(T))));
};

template <typename T>
inline typename Simd<T>::vec load(const T* p) {
    return *reinterpret_cast<const typename Simd<T>::vec*>(p);
}

template <typename T>
inline void store(T* p, typename Simd<T>::vec v) {
    *reinterpret_cast<typename Simd<T>::vec*>(p) = v;
}

// v, held in a register: keeps GCC from folding a load that several FMAs share into each of
// them as a memory operand, which reads it again per FMA (and made the conv weight gradient
// load-bound on Zen 4, 1.4x slower)
template <typename V>
inline V in_register(V v) {
#if defined(__x86_64__) || defined(__i386__)
    asm("" : "+v"(v));
#endif
    return v;
}

// x in every lane (x - 0 is exactly x, -0 included, where x + 0 would turn -0 into +0)
template <typename T>
inline typename Simd<T>::vec broadcast(T x) {
    return x - typename Simd<T>::vec{};
}

// bits begin <= i < end set (none where end <= begin), as AVX-512's mask registers take them
inline unsigned lanes_between(int begin, int end) {
    return ((1u << end) - 1) & ~((1u << begin) - 1);
}

// Lanes [begin, end) of the vector at p (p[begin .. end)), zeros in the others; and v's lanes
// [begin, end) to p[begin .. end). Nothing outside those elements is touched: AVX-512 and AVX2
// mask the other lanes; the baseline goes through a lane array on the stack, as indexing a
// vector's lanes at run time would make GCC keep that vector, and every accumulator of a
// register tile beside it, in memory. (Through the stack on AVX-512 too, the conv weight
// gradient's last partial vector per tile zeroed the array with `rep stos` and copied through
// memcpy, saving and restoring all 20 accumulators.)
#if TC_VECTOR_BYTES == 64
inline Simd<float>::vec load_lanes(const float* p, int begin, int end) {
    return _mm512_maskz_loadu_ps(lanes_between(begin, end), p);
}
inline Simd<double>::vec load_lanes(const double* p, int begin, int end) {
    return _mm512_maskz_loadu_pd(lanes_between(begin, end), p);
}
inline void store_lanes(float* p, Simd<float>::vec v, int begin, int end) {
    _mm512_mask_storeu_ps(p, lanes_between(begin, end), v);
}
inline void store_lanes(double* p, Simd<double>::vec v, int begin, int end) {
    _mm512_mask_storeu_pd(p, lanes_between(begin, end), v);
}
// v's lanes whose bits are set in `lanes` to p (nothing else touched); and b's lanes whose
// bits are set, a's in the others
inline void store_masked(float* p, Simd<float>::vec v, unsigned lanes) {
    _mm512_mask_storeu_ps(p, lanes, v);
}
inline void store_masked(double* p, Simd<double>::vec v, unsigned lanes) {
    _mm512_mask_storeu_pd(p, lanes, v);
}
inline Simd<float>::vec blend_masked(unsigned lanes, Simd<float>::vec a, Simd<float>::vec b) {
    return _mm512_mask_blend_ps(lanes, a, b);
}
inline Simd<double>::vec blend_masked(unsigned lanes, Simd<double>::vec a,
                                      Simd<double>::vec b) {
    return _mm512_mask_blend_pd(lanes, a, b);
}
// v with its lanes [begin, end) loaded from p[begin .. end): one merge-masked load instead
// of a load and a blend
inline Simd<float>::vec load_lanes_over(Simd<float>::vec v, const float* p, int begin,
                                        int end) {
    return _mm512_mask_loadu_ps(v, lanes_between(begin, end), p);
}
inline Simd<double>::vec load_lanes_over(Simd<double>::vec v, const double* p, int begin,
                                         int end) {
    return _mm512_mask_loadu_pd(v, lanes_between(begin, end), p);
}
#elif TC_VECTOR_BYTES == 32
// lanes begin <= i < end all ones, as AVX2's masked moves take them
inline __m256i lanes_between_32(int begin, int end) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(begin), lane),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32(end), lane));
}
inline __m256i lanes_between_64(int begin, int end) {
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(begin), lane),
                               _mm256_cmpgt_epi64(_mm256_set1_epi64x(end), lane));
}
inline Simd<float>::vec load_lanes(const float* p, int begin, int end) {
    return _mm256_maskload_ps(p, lanes_between_32(begin, end));
}
inline Simd<double>::vec load_lanes(const double* p, int begin, int end) {
    return _mm256_maskload_pd(p, lanes_between_64(begin, end));
}
inline void store_lanes(float* p, Simd<float>::vec v, int begin, int end) {
    _mm256_maskstore_ps(p, lanes_between_32(begin, end), v);
}
inline void store_lanes(double* p, Simd<double>::vec v, int begin, int end) {
    _mm256_maskstore_pd(p, lanes_between_64(begin, end), v);
}
#else
template <typename T>
inline typename Simd<T>::vec load_lanes(const T* p, int begin, int end) {
    T lanes[Simd<T>::lanes] = {};
    for (int i = begin; i < end; ++i) lanes[i] = p[i];
    return load(lanes);
}

template <typename T>
inline void store_lanes(T* p, typename Simd<T>::vec v, int begin, int end) {
    T lanes[Simd<T>::lanes];
    store(lanes, v);
    for (int i = begin; i < end; ++i) p[i] = lanes[i];
}
#endif

// p[0 .. count) in the first lanes, zeros after; and v's first count lanes to p[0 .. count)
template <typename T>
inline typename Simd<T>::vec load_partial(const T* p, int count) {
    return load_lanes(p, 0, count);
}

template <typename T>
inline void store_partial(T* p, typename Simd<T>::vec v, int count) {
    store_lanes(p, v, 0, count);
}

// Each lane's index (0, 1, .. lanes - 1), to compare with lane counts
template <typename T>
inline typename Simd<T>::bits lane_indices() {
    typename Simd<T>::bits lane;
    for (int i = 0; i < Simd<T>::lanes; ++i) lane[i] = i;
    return lane;
}

// The lanes k = 0 .. L - 1 of f(k), for __builtin_shuffle of two vectors (indices L .. 2L - 1
// pick the second's lanes)
template <typename T, typename F, size_t... k>
inline typename Simd<T>::bits lane_pattern(F f, std::index_sequence<k...>) {
    return typename Simd<T>::bits{f(static_cast<int>(k))...};
}
template <typename T, typename F>
inline typename Simd<T>::bits lane_pattern(F f) {
    return lane_pattern<T>(f, std::make_index_sequence<Simd<T>::lanes>());
}

// a's lanes before `split`, b's from there on
template <typename T>
inline typename Simd<T>::vec merge_lanes(typename Simd<T>::vec a, typename Simd<T>::vec b,
                                         int split) {
    typedef typename Simd<T>::vec V;
    typedef typename Simd<T>::bits B;
    const B from_a = lane_indices<T>() < split - B{};
    return reinterpret_cast<V>((from_a & reinterpret_cast<B>(a)) |
                               (~from_a & reinterpret_cast<B>(b)));
}

#if TC_VECTOR_BYTES != 64
// v with its lanes [begin, end) loaded from p[begin .. end) (as AVX-512's above)
template <typename T>
inline typename Simd<T>::vec load_lanes_over(typename Simd<T>::vec v, const T* p, int begin,
                                             int end) {
    typedef typename Simd<T>::vec V;
    typedef typename Simd<T>::bits B;
    const B lane = lane_indices<T>();
    const B from_p = (lane >= begin - B{}) & (lane < end - B{});
    return reinterpret_cast<V>((from_p & reinterpret_cast<B>(load_lanes(p, begin, end))) |
                               (~from_p & reinterpret_cast<B>(v)));
}
#endif

// p[0 .. count) as a vector, count <= lanes: one full load when count is the lane count, else
// count lanes and zeros (count may be 0)
template <typename T>
inline typename Simd<T>::vec load_n(const T* p, int count) {
    return count == Simd<T>::lanes ? load(p) : load_partial(p, count);
}

// v's first count lanes to p[0 .. count), count <= lanes
template <typename T>
inline void store_n(T* p, typename Simd<T>::vec v, int count) {
    if (count == Simd<T>::lanes) {
        store(p, v);
    } else {
        store_partial(p, v, count);
    }
}

// a[0], b[0], a[1], b[1], ...: its first L lanes (low) and its next L (high)
template <typename T>
inline typename Simd<T>::vec interleave_low(typename Simd<T>::vec a, typename Simd<T>::vec b) {
    constexpr int L = Simd<T>::lanes;
    return __builtin_shuffle(a, b, lane_pattern<T>([](int k) { return (k % 2 ? L : 0) + k / 2; }));
}
template <typename T>
inline typename Simd<T>::vec interleave_high(typename Simd<T>::vec a, typename Simd<T>::vec b) {
    constexpr int L = Simd<T>::lanes;
    return __builtin_shuffle(
        a, b, lane_pattern<T>([](int k) { return (k % 2 ? L : 0) + L / 2 + k / 2; }));
}

// a[0], b[0], a[1], b[1], ... to p[0 .. count), count <= 2 lanes
template <typename T>
inline void store_interleaved(T* p, typename Simd<T>::vec a, typename Simd<T>::vec b,
                              int count) {
    constexpr int L = Simd<T>::lanes;
    store_n(p, interleave_low<T>(a, b), count < L ? count : L);
    if (count > L) store_n(p + L, interleave_high<T>(a, b), count - L);
}

// v's first count lanes (count <= lanes) to p[0 .. count) as int64, their bits stored
// unchanged through floating-point vectors. For float, each 32-bit lane is interleaved with
// its sign bits: lanes 2k and 2k + 1 are then int64 v[k] (little-endian).
template <typename T>
inline void store_n_int64(int64_t* p, typename Simd<T>::bits v, int count) {
    typedef typename Simd<T>::vec V;
    if constexpr (sizeof(T) == sizeof(int64_t)) {
        store_n(reinterpret_cast<T*>(p), reinterpret_cast<V>(v), count);
    } else {
        static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "low halves at even lanes");
        store_interleaved(reinterpret_cast<T*>(p), reinterpret_cast<V>(v),
                          reinterpret_cast<V>(v >> 31), 2 * count);
    }
}

// v's first count lanes (count <= lanes, each 0 .. 255) to p[0 .. count) as bytes; and
// p[0 .. count) as Simd<T>'s lanes, zeros after. AVX-512 masks the bytes of a partial vector
// and widens them with vpmovzx (GCC's __builtin_convertvector widened a byte at a time;
// the maskz forms, as GCC 12 warns on the plain ones' undefined source).
template <typename T>
inline void store_n_bytes(unsigned char* p, typename Simd<T>::bits v, int count) {
    const typename Simd<T>::bytes bytes = __builtin_convertvector(v, typename Simd<T>::bytes);
    if (count == Simd<T>::lanes) {
        __builtin_memcpy(p, &bytes, sizeof bytes);
    } else {
#if TC_VECTOR_BYTES == 64
        __m128i part{};
        __builtin_memcpy(&part, &bytes, sizeof bytes);
        _mm_mask_storeu_epi8(p, lanes_between(0, count), part);
#else
        for (int i = 0; i < count; ++i) p[i] = bytes[i];
#endif
    }
}
template <typename T>
inline typename Simd<T>::bits load_n_bytes(const unsigned char* p, int count) {
    typedef typename Simd<T>::bits B;
#if TC_VECTOR_BYTES == 64
    const __m128i bytes = _mm_maskz_loadu_epi8(lanes_between(0, count), p);
    if constexpr (sizeof(T) == 4) {
        return reinterpret_cast<B>(_mm512_maskz_cvtepu8_epi32(0xffff, bytes));
    } else {
        return reinterpret_cast<B>(_mm512_maskz_cvtepu8_epi64(0xff, bytes));
    }
#else
    typename Simd<T>::bytes bytes{};
    if (count == Simd<T>::lanes) {
        __builtin_memcpy(&bytes, p, sizeof bytes);
    } else {
        for (int i = 0; i < count; ++i) bytes[i] = p[i];
    }
    return __builtin_convertvector(bytes, B);
#endif
}

// p[0 .. count) (count <= lanes) as Simd<T>'s lanes, zeros after: loaded as double vectors
// (load_n moves their bits unchanged); for float, two of them narrowed to their low 32-bit
// halves. `outside` (64-bit lanes) gains the lanes whose value lies outside [0, limit); for
// float, limit <= 2^31 keeps the others whole.
template <typename T>
inline typename Simd<T>::bits load_n_index(const int64_t* p, int count, int64_t limit,
                                           typename Simd<double>::bits& outside) {
    typedef typename Simd<T>::bits B;
    typedef typename Simd<double>::bits Q;
    typedef unsigned long long U __attribute__((vector_size(TC_VECTOR_BYTES)));
    constexpr int per_vector = Simd<double>::lanes;
    Q parts[2];
    for (int k = 0; k < Simd<T>::lanes / per_vector; ++k) {
        const int left = count - k * per_vector;
        const int in_part = left < 0 ? 0 : left < per_vector ? left : per_vector;
        parts[k] = reinterpret_cast<Q>(
            load_n(reinterpret_cast<const double*>(p) + k * per_vector, in_part));
        outside |= reinterpret_cast<Q>(reinterpret_cast<U>(parts[k]) >=
                                       static_cast<unsigned long long>(limit));
    }
    if constexpr (sizeof(T) == sizeof(double)) {
        return parts[0];
    } else {
        static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "low halves at even lanes");
        return __builtin_shuffle(reinterpret_cast<B>(parts[0]), reinterpret_cast<B>(parts[1]),
                                 lane_pattern<T>([](int k) { return 2 * k; }));
    }
}

}  // namespace
}  // namespace TC_ISA
