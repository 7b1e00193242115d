// GEMM entry points, compiled once per ISA (gemm_kernels_impl.h in gemm_kernels_<isa>.cpp).
#pragma once

#include <cstddef>
// <cstdint> for gemm_kernels_impl.h too (uintptr_t, PTRDIFF_MAX): system headers come before
// the ISA units' target pragma, and those units include this header first
#include <cstdint>
#include <string>

// c[i] (=|+=) a[i] @ b[i] for i in [0, batch): a[i] is (m, k) and b[i] is (k, n), both any
// strided view (element strides of either sign; a batch stride of 0 reuses one matrix for the
// whole batch); c[i] is (m, n) with unit column stride, rows c_row_stride >= n apart and
// matrices c_batch_stride apart (distinct matrices must not overlap). `accumulate` adds the
// product to c instead of overwriting it. m, n, k >= 1.
template <typename T>
struct GemmProblem {
    const T* a;
    ptrdiff_t a_batch_stride, a_row_stride, a_col_stride;
    const T* b;
    ptrdiff_t b_batch_stride, b_row_stride, b_col_stride;
    T* c;
    ptrdiff_t c_batch_stride, c_row_stride;
    ptrdiff_t batch, m, n, k;
    bool accumulate;
};

// The register tile a GEMM runs with (gemm_kernels_impl.h): chosen per problem and CPU
// (automatic), or one kind for every problem, set for tests and kernel research. Every kind
// sums each element's products in the same order, so the choice never changes a result.
enum class GemmTile { automatic, main, short_rows, wide };
GemmTile gemm_tile();
// "auto", "main", "short" or "wide"; std::invalid_argument for another name
void set_gemm_tile(const std::string& name);
const char* gemm_tile_name(GemmTile tile);

// gemm_workspace_size: elements of packing space gemm() needs for `p` on up to `threads`
// threads. gemm: computes `p` into p.c; `workspace` is that many elements, 64-byte aligned.
#define TC_DECLARE_GEMM_KERNELS(ns)                                                      \
    namespace ns {                                                                       \
    size_t gemm_workspace_size(const GemmProblem<float>& p, int threads);                \
    size_t gemm_workspace_size(const GemmProblem<double>& p, int threads);               \
    void gemm(const GemmProblem<float>& p, float* workspace, int threads);               \
    void gemm(const GemmProblem<double>& p, double* workspace, int threads);             \
    }

TC_DECLARE_GEMM_KERNELS(isa_generic)
#ifdef TENSORCORE_X86_ISAS
TC_DECLARE_GEMM_KERNELS(isa_avx2)
TC_DECLARE_GEMM_KERNELS(isa_avx512)
#endif
