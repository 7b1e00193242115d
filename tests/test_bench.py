"""`python -m tensorcore bench`: runs end to end (on tiny shapes), writes the JSON it promises,
and reports a wrong kernel variant instead of timing it."""
import json
import mmap
import os
import subprocess
import sys

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.bench import cases, runner, timing
from tensorcore.bench.report import format_report
from tensorcore.kernels import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_command(*args):
    env = dict(os.environ, TENSORCORE_BENCH_TINY="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "tensorcore", "bench", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setenv("TENSORCORE_BENCH_TINY", "1")


def test_quick_run_prints_a_table_and_writes_json(tmp_path):
    path = tmp_path / "bench.json"
    done = run_command("--quick", "--json", str(path))
    assert done.returncode == 0, done.stderr
    assert "speedup" in done.stdout and "sgemm 16x16x16" in done.stdout
    report = json.loads(path.read_text())
    for key in ("date", "device", "tensorcore", "machine", "peak", "settings", "results"):
        assert key in report
    assert report["device"] == "cpu" and report["machine"]["cpu"]
    assert report["settings"]["quick"] and report["settings"]["tiny"]
    if report["peak"] is not None:
        assert report["peak"]["gflops_1_thread"] > 0
    assert report["results"], "no case ran"
    for result in report["results"]:
        assert result["status"] == "ok", result["status"]
        ours = result["times"]["tensorcore"]
        assert ours["seconds"] > 0
        assert ours["gflops"] == pytest.approx(result["flops"] / ours["seconds"] / 1e9)
        assert result["speedup"]["numpy"] == pytest.approx(
            result["times"]["numpy"]["seconds"] / ours["seconds"])
        assert result["validation"]["matmul"]["cpu.gemm"] in ("ok", "unavailable")


def test_saved_results_never_overwrite_an_earlier_run(tmp_path, monkeypatch):
    """benchmarks/cpu.py --save names its file by date and tag, numbered past taken names."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import cpu as script
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(script, "RESULTS", tmp_path)
    first = script.result_path("zen4")
    assert first.name.startswith("cpu-") and first.name.endswith("-zen4.json")
    first.write_text("{}")
    second = script.result_path("zen4")
    assert second.name == first.name.replace(".json", "-2.json")
    second.write_text("{}")
    assert script.result_path("zen4").name == first.name.replace(".json", "-3.json")
    assert script.result_path("").name == first.name.replace("-zen4", "")


def test_op_filter_and_unknown_op(tiny):
    report = runner.run(op="conv2d", log=lambda *a, **k: None)
    groups = {r["group"] for r in report["results"]}
    assert "conv2d" in groups and "sgemm" not in groups     # the CNN step also runs conv2d
    with pytest.raises(ValueError, match="no case runs op 'no_such_op'"):
        runner.run(op="no_such_op", log=lambda *a, **k: None)
    done = run_command("--op", "no_such_op")
    assert done.returncode == 2 and "no_such_op" in done.stderr


def test_wrong_variant_is_flagged_and_not_timed(tiny):
    @registry.register("matmul", "cpu.wrong_for_test", priority=1000)
    def wrong(a, b):
        return a @ b + 1.0

    @registry.register("matmul", "cpu.declines_for_test", priority=999)
    def declines(a, b):
        raise NotImplementedError

    try:
        report = runner.run(op="matmul", log=lambda *a, **k: None)
    finally:
        registry.unregister("matmul", "cpu.wrong_for_test")
        registry.unregister("matmul", "cpu.declines_for_test")
    sgemm = [r for r in report["results"] if r["group"] == "sgemm"]
    assert sgemm
    for result in sgemm:
        assert result["status"].startswith("INVALID") and "cpu.wrong_for_test" in result["status"]
        assert "tensorcore" not in result["times"] and "numpy" in result["times"]
        verdicts = result["validation"]["matmul"]
        assert verdicts["cpu.wrong_for_test"].startswith("FAILED")
        assert verdicts["cpu.declines_for_test"] == "declined"
        assert verdicts.get("cpu.gemm", "ok") in ("ok", "unavailable")
    table = format_report(report)
    assert "FAILED validation" in table and "cpu.wrong_for_test" in table


def test_page_faults_per_call_are_recorded_and_flagged(tiny):
    if timing.minor_page_faults() is None:
        pytest.skip("this OS does not count page faults")
    pages = 300
    kept = bytearray(pages * mmap.PAGESIZE)

    def touch(buffer):
        for page in range(pages):
            buffer[page * mmap.PAGESIZE] = 1

    def maps_fresh_pages():     # what an allocator that hands its buffers back does
        with mmap.mmap(-1, pages * mmap.PAGESIZE) as fresh:
            touch(fresh)

    case = cases.Case("touch pages", "test", (), None,
                      lambda device: {"tensorcore": lambda: touch(kept),
                                      "numpy": maps_fresh_pages})
    result = runner.time_case(case, "cpu", runner.Settings(), runner.cpu_timer, lambda *a: None)
    assert result["status"] == "ok"
    assert result["times"]["numpy"]["page_faults_per_call"] >= pages
    assert result["times"]["tensorcore"]["page_faults_per_call"] < pages / 10
    runner.add_rates([result], None)
    table = format_report({"results": [result]})
    assert "minor page faults per call" in table
    (flagged,) = [line for line in table.splitlines() if line.startswith("  touch pages:")]
    assert "NumPy" in flagged and "tensorcore" not in flagged


def test_model_cases_skip_cleanly_without_tc_nn(tiny):
    report = runner.run(op="cnn_step", log=lambda *a, **k: None)
    (result,) = report["results"]
    if hasattr(tc.nn, "Conv2d") and hasattr(tc, "optim"):
        assert result["status"] == "ok"
    else:
        assert result["status"].startswith("skipped: needs tc.nn/tc.optim")
        assert "skipped" in format_report(report)


def test_cuda_without_a_device_skips():
    if cases.torch is not None and cases.torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    from tensorcore.bench import cuda
    if cuda.unavailable() is None:
        pytest.skip("a CUDA device is present")
    done = run_command("--device", "cuda")
    assert done.returncode == 0 and "no CUDA device" in done.stdout


def test_fma_peak_is_measured_and_checks_its_arguments():
    _C = pytest.importorskip("tensorcore._C")
    one = _C.fma_peak(1, 0.01, 1)
    assert np.isfinite(one) and one > 0.1
    with pytest.raises(ValueError, match="fma_peak"):
        _C.fma_peak(0)
    with pytest.raises(ValueError, match="fma_peak: expected threads from 1 to 1024"):
        _C.fma_peak(100000, 0.01, 1)
    with pytest.raises(ValueError, match="seconds=inf"):     # would calibrate for hours
        _C.fma_peak(1, float("inf"))
