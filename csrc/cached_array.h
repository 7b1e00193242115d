// NumPy arrays for the kernels' results, their storage from the buffer cache
// (buffer_cache.h): NumPy hands the block back to the cache when the array is freed.
#pragma once

#include <pybind11/numpy.h>

#include <memory>
#include <vector>

#include "buffer_cache.h"

// A new C-contiguous array of `shape`, or of `shape` and byte `strides` (a permutation of the
// C-contiguous ones: the same element count), uninitialised.
template <typename T>
pybind11::array_t<T> cached_array(const std::vector<pybind11::ssize_t>& shape,
                                  const std::vector<pybind11::ssize_t>& strides = {}) {
    size_t count = 1;
    for (pybind11::ssize_t size : shape) count *= static_cast<size_t>(size);
    std::unique_ptr<void, void (*)(void*)> block(tensorcore::cache_allocate(count * sizeof(T)),
                                                 tensorcore::cache_free);
    pybind11::capsule owner(block.get(), tensorcore::cache_free);
    T* data = static_cast<T*>(block.release());
    return strides.empty() ? pybind11::array_t<T>(shape, data, owner)
                           : pybind11::array_t<T>(shape, strides, data, owner);
}
