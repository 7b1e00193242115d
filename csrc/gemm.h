// GEMM for the other C++ kernels (matmul, conv, LSTM): one call on raw pointers that picks
// the active ISA's kernels and the thread count and owns the packing workspace.
#pragma once

#include "buffer_cache.h"
#include "gemm_kernels.h"
#include "isa.h"

namespace tensorcore {

// Computes `p` (see GemmProblem) on the active ISA with num_threads() threads. Does not
// touch the GIL: callers release it around the call when they hold it. m, n or k may be 0
// (k == 0 zeroes c unless accumulating).
template <typename T>
void gemm(const GemmProblem<T>& p);

// The common case: c (m, n) C-contiguous (=|+=) a (m, k) @ b (k, n), any strides for a and b.
template <typename T>
void gemm(const T* a, ptrdiff_t a_row_stride, ptrdiff_t a_col_stride, const T* b,
          ptrdiff_t b_row_stride, ptrdiff_t b_col_stride, T* c, ptrdiff_t m, ptrdiff_t n,
          ptrdiff_t k, bool accumulate = false) {
    gemm(GemmProblem<T>{a, 0, a_row_stride, a_col_stride, b, 0, b_row_stride, b_col_stride, c,
                        0, n, 1, m, n, k, accumulate});
}

// GEMMs run one per thread inside the caller's parallel region (the recurrence of an LSTM,
// where each thread owns a slice of the columns). The packing space of every thread is
// allocated before the region, by reserve(), so nothing inside it allocates or throws.
template <typename T>
class ThreadGemms {
  public:
    explicit ThreadGemms(int threads) : isa_(active_isa()), threads_(threads) {}
    // room for problem p on every thread
    void reserve(const GemmProblem<T>& p);
    // p, a problem reserved for, on the calling thread alone
    void run(const GemmProblem<T>& p, int thread);

  private:
    Isa isa_;
    int threads_;
    size_t slot_ = 0;   // elements of packing space per thread, whole 64-byte lines
    CachedArray<T> packing_{0};
};

}  // namespace tensorcore
