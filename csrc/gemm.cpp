#include "gemm.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>

#include "asan.h"
#include "isa.h"
#include "threads.h"

namespace {

std::atomic<GemmTile> forced_tile{GemmTile::automatic};
constexpr GemmTile tile_kinds[] = {GemmTile::automatic, GemmTile::main, GemmTile::short_rows,
                                   GemmTile::wide};

}  // namespace

GemmTile gemm_tile() { return forced_tile.load(std::memory_order_relaxed); }

const char* gemm_tile_name(GemmTile tile) {
    switch (tile) {
        case GemmTile::main: return "main";
        case GemmTile::short_rows: return "short";
        case GemmTile::wide: return "wide";
        default: return "auto";
    }
}

void set_gemm_tile(const std::string& name) {
    for (GemmTile tile : tile_kinds) {
        if (name == gemm_tile_name(tile)) {
            forced_tile.store(tile, std::memory_order_relaxed);
            return;
        }
    }
    throw std::invalid_argument("set_gemm_tile: expected 'auto', 'main', 'short' or 'wide', "
                                "got '" + name + "'");
}

namespace tensorcore {

namespace {

// Under AddressSanitizer only the first `used` bytes of `capacity` bytes at `data` are
// addressable: a packing buffer outlives its call, sized for the largest one.
inline void limit_to(void* data, size_t used, size_t capacity) {
    ASAN_UNPOISON_MEMORY_REGION(data, used);
    ASAN_POISON_MEMORY_REGION(static_cast<char*>(data) + used, capacity - used);
}

// The packing workspace, kept per calling thread and grown on demand: a fresh allocation per
// call would cost a malloc and, for the large blocks (served by mmap), page faults on every
// call. 64-byte aligned; it only grows, to the largest problem this thread has run.
class Workspace {
  public:
    template <typename T>
    T* get(size_t elements) {
        const size_t bytes = (elements * sizeof(T) + 63) / 64 * 64;
        if (bytes > capacity_) {
            void* fresh = std::aligned_alloc(64, bytes);
            if (fresh == nullptr) throw std::bad_alloc();
            data_.reset(fresh);
            capacity_ = bytes;
        }
        limit_to(data_.get(), elements * sizeof(T), capacity_);
        return static_cast<T*>(data_.get());
    }

  private:
    struct Free {
        void operator()(void* p) const { std::free(p); }
    };
    std::unique_ptr<void, Free> data_;
    size_t capacity_ = 0;
};

thread_local Workspace workspace;

// Completes p when it has no products to sum (an empty c, or k = 0: c zeroed unless
// accumulating) and says whether it did.
template <typename T>
bool empty_product(const GemmProblem<T>& p) {
    if (p.batch <= 0 || p.m <= 0 || p.n <= 0) return true;
    if (p.k > 0) return false;
    if (p.accumulate) return true;
    for (ptrdiff_t i = 0; i < p.batch; ++i)
        for (ptrdiff_t r = 0; r < p.m; ++r) {
            T* row = p.c + i * p.c_batch_stride + r * p.c_row_stride;
            for (ptrdiff_t j = 0; j < p.n; ++j) row[j] = T(0);
        }
    return true;
}

}  // namespace

template <typename T>
void gemm(const GemmProblem<T>& p) {
    if (empty_product(p)) return;
    const Isa isa = active_isa();
    const int threads = num_threads();
    T* packing = workspace.get<T>(TC_ISA_CALL(isa, gemm_workspace_size(p, threads)));
    TC_ISA_CALL(isa, gemm(p, packing, threads));
}

template void gemm<float>(const GemmProblem<float>&);
template void gemm<double>(const GemmProblem<double>&);

template <typename T>
void ThreadGemms<T>::reserve(const GemmProblem<T>& p) {
    const size_t needed = TC_ISA_CALL(isa_, gemm_workspace_size(p, 1));
    if (needed <= slot_) return;
    slot_ = (needed * sizeof(T) + 63) / 64 * 64 / sizeof(T);
    packing_ = CachedArray<T>(slot_ * threads_);
}

template <typename T>
void ThreadGemms<T>::run(const GemmProblem<T>& p, int thread) {
    if (empty_product(p)) return;
    T* slot = packing_.data() + thread * slot_;
    if (asan_build) {   // (sizing the problem's packing costs three plans)
        limit_to(slot, TC_ISA_CALL(isa_, gemm_workspace_size(p, 1)) * sizeof(T),
                 slot_ * sizeof(T));
    }
    TC_ISA_CALL(isa_, gemm(p, slot, 1));
}

template class ThreadGemms<float>;
template class ThreadGemms<double>;

}  // namespace tensorcore
