// A cache of freed large buffers for the kernels' outputs and scratch space. A fresh large
// allocation is mapped from the OS page by page, and touching each page costs a fault (1-2 us
// in these VMs): the second MNIST conv layer faulted in 1500 pages, 2.5 ms, per training
// step, more than its kernels took. A training loop asks for the same sizes every step, so
// a freed buffer kept here is what the next step's call of that size gets back, already
// mapped. Thread-safe; blocks are 64-byte aligned.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <string>

namespace tensorcore {

// std::bad_alloc saying what ran out: pybind11 raises MemoryError with what()
class OutOfMemory : public std::bad_alloc {
  public:
    // "out of memory for an array of `bytes` bytes"
    explicit OutOfMemory(size_t bytes);
    // "`op`: " and what `cause` says (an OutOfMemory's message, else "out of memory")
    OutOfMemory(const char* op, const std::bad_alloc& cause);
    const char* what() const noexcept override { return message_.c_str(); }

  private:
    std::string message_;
};

// `bytes` of storage (any size, 0 included); std::bad_alloc when memory runs out.
void* cache_allocate(size_t bytes);
// Returns a block of cache_allocate (null is ignored): large blocks are kept for reuse while
// the cache stays under its limit, the oldest ones given back to the OS first.
void cache_free(void* block);

size_t cache_limit();
void set_cache_limit(size_t bytes);   // 0: cache nothing (and free what is cached)
size_t cache_cached_bytes();
// On: every block handed out is first filled with 0xFF bytes (NaN as float and double), so
// that a kernel reading its output or scratch space before writing it fails its tests. The
// test suite runs with it on.
void set_cache_poison(bool on);

// Applies TENSORCORE_CPU_CACHE_MB when set; returns a warning for the caller to raise when it
// is not an integer from 0 to 2^30 (the default limit stays).
std::string select_cache_limit_from_environment();

// Scratch space of `size` T from the cache, given back when it goes out of scope.
template <typename T>
class CachedArray {
  public:
    explicit CachedArray(size_t size)
        : data_(static_cast<T*>(cache_allocate(size * sizeof(T)))), size_(size) {}
    CachedArray(size_t size, T value) : CachedArray(size) {
        std::fill(data(), data() + size, value);
    }

    T* data() { return data_.get(); }
    const T* data() const { return data_.get(); }
    size_t size() const { return size_; }
    T& operator[](size_t i) { return data_.get()[i]; }
    const T& operator[](size_t i) const { return data_.get()[i]; }
    T* begin() { return data(); }
    T* end() { return data() + size_; }

  private:
    struct Free {
        void operator()(T* block) const { cache_free(block); }
    };
    std::unique_ptr<T, Free> data_;
    size_t size_;
};

}  // namespace tensorcore
