#include "peak.h"

#include <omp.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "isa.h"
#include "threads.h"

namespace {

// Independent FMA chains on vectors of `bytes`: at least latency x pipes (4 x 2) in flight,
// and with the two constants all in registers. AVX-512 has 32 vector registers; AVX2 and SSE
// 16, where 16 chains spilled (Zen 5: the AVX2 peak read 81 GFLOP/s per thread, 134 with 12
// chains; our AVX2 GEMM runs at 122 there).
constexpr int chain_count(int bytes) { return bytes == 64 ? 16 : 12; }
// The longest measurement asked for: inf would calibrate for 2^40 iterations
constexpr double max_seconds = 600;

typedef float zmm __attribute__((vector_size(64)));
typedef float ymm __attribute__((vector_size(32)));
typedef float xmm __attribute__((vector_size(16)));

// Runs `iterations` steps of chain_count independent float FMA chains on vectors `vec` and
// returns a value depending on every chain (so none is optimised away). Inlined into the
// target-specific callers below, so it compiles to that ISA's vector FMAs.
template <typename vec>
__attribute__((always_inline)) inline float fma_chains(long iterations) {
    constexpr int chains = chain_count(sizeof(vec));
    constexpr int lanes = sizeof(vec) / sizeof(float);
    vec acc[chains];
#pragma GCC unroll 16
    for (int i = 0; i < chains; ++i) acc[i] = vec{} + 1.0f + i * 1e-3f;
    const vec scale = vec{} + 0.9999999f, shift = vec{} + 1e-7f;
    for (long step = 0; step < iterations; ++step) {
#pragma GCC unroll 16
        for (int i = 0; i < chains; ++i) {
            acc[i] = acc[i] * scale + shift;
            asm("" : "+v"(acc[i]));   // keeps each chain in a register and in the loop
        }
    }
    vec total = {};
#pragma GCC unroll 16
    for (int i = 0; i < chains; ++i) total += acc[i];
    float sum = 0.0f;
    for (int lane = 0; lane < lanes; ++lane) sum += total[lane];
    return sum;
}

#ifdef TENSORCORE_X86_ISAS
__attribute__((target("avx512f,fma"))) float chains_avx512(long n) { return fma_chains<zmm>(n); }
__attribute__((target("avx2,fma"))) float chains_avx2(long n) { return fma_chains<ymm>(n); }
#endif
float chains_generic(long n) { return fma_chains<xmm>(n); }

int vector_bytes(Isa isa) { return isa == Isa::avx512 ? 64 : isa == Isa::avx2 ? 32 : 16; }

float run_chains(Isa isa, long iterations) {
#ifdef TENSORCORE_X86_ISAS
    if (isa == Isa::avx512) return chains_avx512(iterations);
    if (isa == Isa::avx2) return chains_avx2(iterations);
#endif
    return chains_generic(iterations);
}

// Seconds for `threads` threads to each run `iterations` steps.
double time_chains(Isa isa, int threads, long iterations) {
    float sink = 0.0f;
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += run_chains(isa, iterations);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    volatile float keep = sink;  // the chains' results are used
    (void)keep;
    return seconds;
}

}  // namespace

namespace tensorcore {

double fma_peak(int threads, double seconds, int repeats) {
    if (threads < 1 || threads > max_num_threads || repeats < 1 ||
        !(seconds > 0 && seconds <= max_seconds)) {
        throw std::invalid_argument(
            "fma_peak: expected threads from 1 to " + std::to_string(max_num_threads) +
            ", repeats >= 1 and seconds in (0, " + std::to_string(int(max_seconds)) +
            "], got threads=" + std::to_string(threads) + ", repeats=" +
            std::to_string(repeats) + ", seconds=" + std::to_string(seconds));
    }
    const Isa isa = active_isa();
    const int bytes = vector_bytes(isa);
    const double flops_per_step = 2.0 * chain_count(bytes) * bytes / sizeof(float);
    long iterations = 1 << 16;   // calibrate: grow until one run lasts a tenth of `seconds`
    while (time_chains(isa, threads, iterations) < seconds / 10 && iterations < (1L << 40))
        iterations *= 2;
    const double per_second = iterations / time_chains(isa, threads, iterations);
    iterations = static_cast<long>(per_second * seconds) + 1;
    double best = 0.0;
    for (int r = 0; r < repeats; ++r) {
        const double rate =
            flops_per_step * iterations * threads / time_chains(isa, threads, iterations);
        if (rate > best) best = rate;
    }
    return best / 1e9;
}

}  // namespace tensorcore
