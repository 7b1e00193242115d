// NumPy arrays for the kernels' results, their storage from the buffer cache
// (buffer_cache.h): NumPy hands the block back to the cache when the array is freed.
// Such an array does not own its data in NumPy's sense (its base is the block's capsule,
// its views' base is the array); owns_buffer() says what OWNDATA says for NumPy's arrays.
#pragma once

#include <pybind11/numpy.h>

#include <memory>
#include <vector>

#include "buffer_cache.h"

inline constexpr const char* kCachedBlockName = "tensorcore.cached_block";

// A new C-contiguous array of `shape`, or of `shape` and byte `strides` (a permutation of the
// C-contiguous ones: the same element count), uninitialised.
template <typename T>
pybind11::array_t<T> cached_array(const std::vector<pybind11::ssize_t>& shape,
                                  const std::vector<pybind11::ssize_t>& strides = {}) {
    size_t count = 1;
    for (pybind11::ssize_t size : shape) count *= static_cast<size_t>(size);
    std::unique_ptr<void, void (*)(void*)> block(tensorcore::cache_allocate(count * sizeof(T)),
                                                 tensorcore::cache_free);
    pybind11::capsule owner(block.get(), kCachedBlockName, [](PyObject* capsule) {
        tensorcore::cache_free(PyCapsule_GetPointer(capsule, kCachedBlockName));
    });
    T* data = static_cast<T*>(block.release());
    return strides.empty() ? pybind11::array_t<T>(shape, data, owner)
                           : pybind11::array_t<T>(shape, strides, data, owner);
}

// Whether `array` is a cached_array() result itself (not a view of one) and its block's only
// holder, so that autograd may keep it as a gradient without a copy.
inline bool owns_buffer(const pybind11::handle& array) {
    if (!pybind11::isinstance<pybind11::array>(array)) return false;
    PyObject* base = pybind11::detail::array_proxy(array.ptr())->base;
    return base != nullptr && PyCapsule_IsValid(base, kCachedBlockName) && Py_REFCNT(base) == 1;
}
