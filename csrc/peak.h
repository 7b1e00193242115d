// The machine's floating-point limit, measured: what the benchmarks report "% of peak" against.
#pragma once

namespace tensorcore {

// float32 GFLOP/s of `threads` threads, each running many independent FMA chains of the active
// ISA's widest vectors (16 chains: more than FMA latency x FMA pipes on any current x86 core),
// best of `repeats` runs of `seconds` each. std::invalid_argument unless threads >= 1.
double fma_peak(int threads, double seconds = 0.05, int repeats = 3);

}  // namespace tensorcore
