// def_op: how bindings.cpp binds a kernel op.
#pragma once

#include <pybind11/pybind11.h>

#include <new>
#include <utility>

#include "buffer_cache.h"

// Binds the kernel op `name`: where it runs out of memory, its MemoryError names the op, as
// its other errors do.
template <typename R, typename... Args, typename... Extra>
void def_op(pybind11::module_& m, const char* name, R (*kernel)(Args...),
            const Extra&... extra) {
    m.def(
        name,
        [name, kernel](Args... args) -> R {
            try {
                return kernel(std::forward<Args>(args)...);
            } catch (const std::bad_alloc& error) {
                throw tensorcore::OutOfMemory(name, error);
            }
        },
        extra...);
}
