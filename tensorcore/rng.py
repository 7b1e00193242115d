"""The global random state behind tc.rand, tc.randn, dropout and initialisation."""
import numpy as np

from . import device as devices

_host = np.random.default_rng()
_cuda = {}      # device string -> cupy Generator, made on first use
_seed = None


def manual_seed(seed):
    """Seed every generator tensorcore uses (host and GPUs) so runs repeat."""
    global _host, _seed
    _seed = int(seed)
    _host = np.random.default_rng(_seed)
    _cuda.clear()
    return _seed


def generator(device="cpu"):
    """The generator for ``device``: numpy's on the cpu, cupy's on a GPU."""
    if device == "cpu":
        return _host
    if device not in _cuda:
        with devices.on(device):
            _cuda[device] = devices.module(device).random.default_rng(
                None if _seed is None else _seed + 1 + int(device[5:]))
    return _cuda[device]
