"""The OpenBLAS AVX-512 baseline: NumPy's sgemm timed in a child process started with
OPENBLAS_CORETYPE=SkylakeX (read once, when OpenBLAS loads, so it needs a fresh process).

    python -m tensorcore.bench.openblas '[[m, k, n], ...]' REPEATS MIN_SECONDS PAUSE
prints {"m,k,n": median seconds} as JSON.
"""
import json
import os
import subprocess
import sys

CORETYPE = "SkylakeX"


def time_in_child(shapes, repeats, min_seconds, pause):
    """{(m, k, n): seconds} from a child process, or raises RuntimeError saying why not."""
    # the child imports this package from wherever this process found it
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, OPENBLAS_CORETYPE=CORETYPE, PYTHONPATH=path)
    command = [sys.executable, "-m", "tensorcore.bench.openblas", json.dumps(shapes),
               str(repeats), str(min_seconds), str(pause)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"OpenBLAS {CORETYPE} child failed: {done.stderr.strip()[-500:]}")
    return {tuple(int(d) for d in key.split(",")): seconds
            for key, seconds in json.loads(done.stdout).items()}


def main(argv):
    import numpy as np

    from .timing import paused_median_seconds
    shapes, repeats = json.loads(argv[0]), int(argv[1])
    min_seconds, pause = float(argv[2]), float(argv[3])
    results = {}
    for m, k, n in shapes:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        results[f"{m},{k},{n}"] = paused_median_seconds(lambda: a @ b, pause, repeats=repeats,
                                                        min_seconds=min_seconds)
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
