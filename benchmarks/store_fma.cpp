// What a 512-bit store, load or add costs beside 512-bit FMAs on this core: the ceiling of
// kernels such as the first conv layer's forward, which stores one vector per 9 FMAs.
//
//   g++ -O2 -mavx512f -mfma benchmarks/store_fma.cpp -o /tmp/store_fma && /tmp/store_fma
//
// Each loop iteration issues `fmas` independent FMAs (one per accumulator, so FMA latency is
// hidden), `adds` independent adds, `loads` loads feeding the FMAs (from addresses that move
// with the iteration, so the compiler cannot hoist them), each feeding `reuse` FMAs (1: the
// load is the FMA's memory operand; 2 or 3: loaded into a register that several FMAs read, as
// a conv kernel's input row feeds several output channels) and `stores` stores to an
// L1-resident ring. Times are in FMA issue slots: the 16-FMA loop, which runs at the FMA
// pipes' throughput, is taken as 16 (no cycle counter is needed): 16 cycles where a 512-bit
// FMA issues once a cycle (Zen 4's two 256-bit halves), 8 on Zen 5's two 512-bit pipes.
// Medians of 7 runs; prints one JSON object per mix.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

constexpr long iterations = 5000000;
alignas(64) float ring[64 * 16 + 16];   // 64 vectors, then one to keep results in

template <int fmas, int adds, int loads, int stores, int reuse = 1>
__attribute__((noinline)) double seconds_per_iteration() {
    static_assert(fmas <= 16 && adds <= 8 && loads * reuse <= fmas, "registers: 16 + 8 + 3");
    static_assert(reuse == 1 || 16 + 3 + (adds > 0 ? 8 : 0) + loads <= 32,
                  "and the loaded vectors, held in registers");
    __m512 acc[16], sums[8];
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(float(i));
    for (int i = 0; i < 8; ++i) sums[i] = _mm512_set1_ps(float(i));
    const __m512 a = _mm512_set1_ps(0.5f), b = _mm512_set1_ps(0.25f), c = _mm512_set1_ps(1.0f);
    const auto start = std::chrono::steady_clock::now();
    for (long it = 0; it < iterations; ++it) {
        __m512 loaded[loads > 0 ? loads : 1];
#pragma GCC unroll 16
        for (int l = 0; l < loads; ++l) {
            loaded[l] = _mm512_load_ps(ring + 16 * ((it + l) & 63));
            // in a register: without this, GCC folds the load into each FMA that reads it
            if (reuse > 1) __asm__("" : "+v"(loaded[l]));
        }
#pragma GCC unroll 16
        for (int i = 0; i < fmas; ++i)
            acc[i] = _mm512_fmadd_ps(acc[i], a, i < loads * reuse ? loaded[i / reuse] : b);
#pragma GCC unroll 8
        for (int i = 0; i < adds; ++i) sums[i] = _mm512_add_ps(sums[i], c);
#pragma GCC unroll 16
        for (int s = 0; s < stores; ++s)
            _mm512_store_ps(ring + 16 * ((it * stores + s) & 63), c);
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // keep the results alive
    __m512 keep = _mm512_setzero_ps();
    for (int i = 0; i < 16; ++i) keep = _mm512_add_ps(keep, acc[i]);
    for (int i = 0; i < 8; ++i) keep = _mm512_add_ps(keep, sums[i]);
    _mm512_store_ps(ring + 64 * 16, keep);
    return elapsed / iterations;
}

template <int fmas, int adds, int loads, int stores, int reuse = 1>
double median_seconds() {
    std::vector<double> runs;
    for (int r = 0; r < 7; ++r)
        runs.push_back(seconds_per_iteration<fmas, adds, loads, stores, reuse>());
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
}

template <int fmas, int adds, int loads, int stores, int reuse = 1>
void report(double fma_cycle) {
    const double cycles = median_seconds<fmas, adds, loads, stores, reuse>() / fma_cycle;
    std::printf("{\"fmas\": %d, \"adds\": %d, \"loads\": %d, \"stores\": %d, "
                "\"reuse\": %d, \"cycles\": %.1f}\n",
                fmas, adds, loads, stores, reuse, cycles);
}

}  // namespace

int main() {
    const double fma_cycle = median_seconds<16, 0, 0, 0>() / 16;
    report<16, 0, 0, 0>(fma_cycle);
    report<16, 8, 0, 0>(fma_cycle);
    report<16, 0, 16, 0>(fma_cycle);
    report<0, 0, 0, 8>(fma_cycle);
    report<0, 8, 0, 8>(fma_cycle);
    report<16, 0, 0, 2>(fma_cycle);
    report<16, 0, 0, 4>(fma_cycle);
    report<16, 0, 0, 8>(fma_cycle);
    report<16, 0, 16, 4>(fma_cycle);
    report<16, 0, 8, 8>(fma_cycle);
    report<16, 0, 8, 0, 2>(fma_cycle);
    report<16, 0, 5, 0, 3>(fma_cycle);
    report<16, 0, 4, 0, 2>(fma_cycle);
    return 0;
}
