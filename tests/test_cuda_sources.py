"""Every CUDA C++ source compiles with nvcc for the H200 (sm_90) with exactly the #defines the
CuPy loader injects (tensorcore/backends/cuda/cu_sources.py builds both), and the loader's
table, the .cu files present and the registered variants agree. Runs without a GPU; the
compile tests skip without nvcc."""
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

import tensorcore as tc
from tensorcore.backends.cuda import cu_sources

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")


def _compile(build, tmp_path):
    file, config, dtype = build
    source = tmp_path / f"{file[:-3]}_{config}_{dtype}.cu"
    source.write_text(cu_sources.source_text(file, cu_sources.defines(file, config, dtype)))
    result = subprocess.run(
        [NVCC, "-arch=sm_90", "-cubin", *cu_sources.COMPILE_OPTIONS, "-Werror", "all-warnings",
         "-o", str(source.with_suffix(".cubin")), str(source)],
        capture_output=True, text=True)
    return build, result


@needs_nvcc
def test_every_source_compiles_for_sm90(tmp_path):
    builds = cu_sources.builds()
    with ThreadPoolExecutor(max_workers=4) as pool:   # nvcc is mostly single-threaded
        results = list(pool.map(lambda b: _compile(b, tmp_path), builds))
    failures = [f"{build}:\n{r.stderr}" for build, r in results if r.returncode != 0]
    assert not failures, "\n".join(failures)


def _extern_c_kernels(file):
    """Names of the extern "C" kernels in a source (ACTIVATION_KERNELS expands to two each)."""
    text = (cu_sources.SOURCE_DIR / file).read_text()
    names = set(re.findall(r'extern "C" __global__ void(?: __launch_bounds__\(\w+\))?\s+(\w+)\(',
                           text))
    for prefix in re.findall(r"^ACTIVATION_KERNELS\((\w+),", text, flags=re.M):
        names |= {prefix + "_forward", prefix + "_backward"}
    return names


def test_loader_table_matches_the_sources_present():
    present = {p.name for p in cu_sources.SOURCE_DIR.glob("*.cu")}
    assert present == set(cu_sources.CONFIGS) == set(cu_sources.DTYPES)
    for file, config, dtype in cu_sources.builds():
        defs = cu_sources.defines(file, config, dtype)
        text = (cu_sources.SOURCE_DIR / file).read_text()
        for name in defs:   # every define is used by the source, and nothing is left undefined
            assert re.search(rf"\b{name}\b", text), f"{file}: define {name} is never used"
    with pytest.raises(ValueError, match="float64"):
        cu_sources.defines("sgemm.cu", "large", "float64")


def test_kernels_the_variants_launch_exist():
    """The kernel names cupy_variants / cupy_activations launch are defined in their sources."""
    import inspect
    from tensorcore.backends.cuda import cupy_activations, cupy_variants
    code = inspect.getsource(cupy_variants) + inspect.getsource(cupy_activations)
    kernels = {f: _extern_c_kernels(f) for f in cu_sources.CONFIGS}
    for file, name in re.findall(r'kernel\("(\w+\.cu)", "(\w+)"', code):
        assert name in kernels[file], f"{file} has no kernel {name}"
    for file, names in kernels.items():
        for name in names:   # activations are launched by prefix: name + "_forward"
            assert name in code or name.rsplit("_", 1)[0] in code or file.startswith(
                ("sgemm", "gemm_tf32")), f"{file}: kernel {name} is never launched"
    assert kernels["sgemm.cu"] == {"sgemm"} and kernels["gemm_tf32.cu"] == {"gemm_tf32"}


def test_cuda_variants_registered():
    names = {(r.op, r.name) for r in tc.kernels.list(device="cuda")}
    for op in ("matmul", "conv2d", "conv2d_backward_input", "conv2d_backward_weight",
               "lstm_cell", "lstm_cell_backward", "relu", "gelu_backward", "softmax",
               "log_softmax_backward", "cross_entropy", "cross_entropy_backward"):
        assert (op, "cuda.cupy") in names
    assert {("matmul", "cuda.cublas"), ("matmul", "cuda.tf32")} <= names
    variants = tc.kernels.get("matmul").variants
    exact = [v.priority for n, v in variants.items() if n in ("cuda.cupy", "cuda.cublas")]
    assert variants["cuda.tf32"].priority < min(exact)      # never the silent default
    assert variants["cuda.tf32"].rtol is not None and variants["cuda.tf32"].rtol <= 1e-2
