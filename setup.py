"""Builds the C++ CPU backend, tensorcore._C, from csrc/.

Kernel families are compiled once per ISA: csrc/*_avx512.cpp and csrc/*_avx2.cpp carry
their own `#pragma GCC target`, so no global -m flags (and no -march=native) are needed and
the extension runs on any x86-64 CPU, picking the best ISA at import. On other architectures
only the generic kernels are built.

TENSORCORE_SANITIZE=address builds with AddressSanitizer (`make asan` does, into build/asan).
"""
import glob
import os
import platform

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension
from setuptools import setup

X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")
ISA_SPECIFIC = ("_avx512.cpp", "_avx2.cpp")

sources = sorted(path for path in glob.glob("csrc/*.cpp") if X86 or not path.endswith(ISA_SPECIFIC))
headers = sorted(glob.glob("csrc/*.h"))


def needs_recompile(obj, src):
    """Rebuild an object older than its source or than any csrc header: the per-ISA units
    include their *_impl.h, which a source-only time check would miss."""
    if not os.path.exists(obj):
        return True
    return os.path.getmtime(obj) < max(os.path.getmtime(path) for path in [src, *headers])


ParallelCompile("NPY_NUM_BUILD_JOBS", needs_recompile=needs_recompile).install()

SANITIZE = os.environ.get("TENSORCORE_SANITIZE", "")
# (instrumentation makes GCC's may-be-uninitialized analysis report false positives)
sanitize_flags = ([f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer",
                   "-Wno-maybe-uninitialized"] if SANITIZE else [])

extension = Pybind11Extension(
    "tensorcore._C",
    sources,
    depends=headers,
    cxx_std=17,
    define_macros=[("TENSORCORE_X86_ISAS", "1")] if X86 else [],
    extra_compile_args=["-O3", "-Wall", "-ffp-contract=fast", "-fopenmp"] + sanitize_flags,
    extra_link_args=["-fopenmp"] + sanitize_flags,
)

setup(ext_modules=[extension])
