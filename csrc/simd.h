// SIMD vectors through GCC vector extensions, one register wide for the including ISA unit:
// TC_VECTOR_BYTES is 64 (AVX-512 zmm), 32 (AVX2 ymm) or 16 (the SSE2/NEON baseline).
// Included inside an ISA unit after its target pragma; everything here has internal linkage.
// The AVX-512 and AVX2 units include <immintrin.h> before their pragma.
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

// p[0 .. count) in the first lanes, zeros after; and v's first count lanes to p[0 .. count).
// AVX-512 and AVX2 mask the lanes past count (never touching their memory); the baseline goes
// through a lane array on the stack, as indexing a vector's lanes at run time would make GCC
// keep that vector, and every accumulator of a register tile beside it, in memory. (Through
// the stack on AVX-512 too, the conv weight gradient's last partial vector per tile zeroed the
// array with `rep stos` and copied through memcpy, saving and restoring all 20 accumulators.)
#if TC_VECTOR_BYTES == 64
// bits i < count set, as AVX-512's mask registers take them
inline unsigned first_lanes(int count) { return (1u << count) - 1; }
inline Simd<float>::vec load_partial(const float* p, int count) {
    return _mm512_maskz_loadu_ps(first_lanes(count), p);
}
inline Simd<double>::vec load_partial(const double* p, int count) {
    return _mm512_maskz_loadu_pd(first_lanes(count), p);
}
inline void store_partial(float* p, Simd<float>::vec v, int count) {
    _mm512_mask_storeu_ps(p, first_lanes(count), v);
}
inline void store_partial(double* p, Simd<double>::vec v, int count) {
    _mm512_mask_storeu_pd(p, first_lanes(count), v);
}
#elif TC_VECTOR_BYTES == 32
// lanes i < count all ones, as AVX2's masked moves take them
inline __m256i first_lanes_32(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline __m256i first_lanes_64(int count) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(count), _mm256_setr_epi64x(0, 1, 2, 3));
}
inline Simd<float>::vec load_partial(const float* p, int count) {
    return _mm256_maskload_ps(p, first_lanes_32(count));
}
inline Simd<double>::vec load_partial(const double* p, int count) {
    return _mm256_maskload_pd(p, first_lanes_64(count));
}
inline void store_partial(float* p, Simd<float>::vec v, int count) {
    _mm256_maskstore_ps(p, first_lanes_32(count), v);
}
inline void store_partial(double* p, Simd<double>::vec v, int count) {
    _mm256_maskstore_pd(p, first_lanes_64(count), v);
}
#else
template <typename T>
inline typename Simd<T>::vec load_partial(const T* p, int count) {
    T lanes[Simd<T>::lanes] = {};
    for (int i = 0; i < count; ++i) lanes[i] = p[i];
    return load(lanes);
}

template <typename T>
inline void store_partial(T* p, typename Simd<T>::vec v, int count) {
    T lanes[Simd<T>::lanes];
    store(lanes, v);
    for (int i = 0; i < count; ++i) p[i] = lanes[i];
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

}  // namespace
}  // namespace TC_ISA
