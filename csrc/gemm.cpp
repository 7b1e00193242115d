#include "gemm.h"

#include <cstdlib>
#include <memory>
#include <new>

#include "isa.h"
#include "threads.h"

namespace tensorcore {

namespace {

template <typename T>
class AlignedBuffer {
  public:
    explicit AlignedBuffer(size_t elements) {
        const size_t bytes = (elements * sizeof(T) + 63) / 64 * 64;
        data_.reset(static_cast<T*>(std::aligned_alloc(64, bytes ? bytes : 64)));
        if (!data_) throw std::bad_alloc();
    }
    T* data() { return data_.get(); }

  private:
    struct Free {
        void operator()(T* p) const { std::free(p); }
    };
    std::unique_ptr<T, Free> data_;
};

}  // namespace

template <typename T>
void gemm(const GemmProblem<T>& p) {
    if (p.batch <= 0 || p.m <= 0 || p.n <= 0) return;
    if (p.k <= 0) {
        if (p.accumulate) return;
        for (ptrdiff_t i = 0; i < p.batch; ++i)
            for (ptrdiff_t r = 0; r < p.m; ++r) {
                T* row = p.c + i * p.c_batch_stride + r * p.c_row_stride;
                for (ptrdiff_t j = 0; j < p.n; ++j) row[j] = T(0);
            }
        return;
    }
    const Isa isa = active_isa();
    const int threads = num_threads();
    AlignedBuffer<T> workspace(TC_ISA_CALL(isa, gemm_workspace_size(p, threads)));
    TC_ISA_CALL(isa, gemm(p, workspace.data(), threads));
}

template void gemm<float>(const GemmProblem<float>&);
template void gemm<double>(const GemmProblem<double>&);

}  // namespace tensorcore
