"""Ready-made datasets: MNIST (downloaded once into the cache) and scikit-learn's 8x8 digits.

Both return ``((x_train, y_train), (x_test, y_test))`` as NumPy uint8 arrays, as Keras'
``load_data()`` does.
"""
import zipfile
from pathlib import Path

import numpy as np

from . import download
from .idx import read_idx

MNIST_NPZ = "mnist.npz"
MNIST_NPZ_URLS = ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"]
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_IDX_MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                     "https://storage.googleapis.com/cvdf-datasets/mnist/"]
MNIST_IDX = {   # file -> SHA-256 of the .gz
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


KERAS_CACHE = Path("~/.keras/datasets").expanduser() / MNIST_NPZ


def load_mnist(directory=None):
    """MNIST: x_train uint8 (60000, 28, 28), y_train uint8 (60000,), x_test (10000, 28, 28),
    y_test (10000,).

    Read from ``directory`` (default ``$TENSORCORE_HOME/datasets/mnist``): Keras' ``mnist.npz``
    if present, else the four IDX files (``.gz`` or uncompressed). Without a directory given,
    a ``mnist.npz`` that Keras itself cached (``~/.keras/datasets``) also serves. Missing files
    are downloaded once, checked against known SHA-256 sums."""
    if directory is None and not _has_mnist(download.cache_dir("mnist")) and KERAS_CACHE.exists():
        return _check_mnist(_read_npz(KERAS_CACHE), KERAS_CACHE)
    directory = Path(directory) if directory is not None else download.cache_dir("mnist")
    if not _has_mnist(directory):
        _download_mnist(directory)
    if (directory / MNIST_NPZ).exists():
        return _check_mnist(_read_npz(directory / MNIST_NPZ), directory / MNIST_NPZ)
    paths = [_idx_path(directory, name) for name in MNIST_IDX]
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    return _check_mnist(((x_train, y_train), (x_test, y_test)), directory)


def _has_mnist(directory):
    return (directory / MNIST_NPZ).exists() or not _missing_idx(directory)


def _idx_path(directory, name):
    """The .gz file, or the uncompressed one when only that is there."""
    gz = directory / name
    return gz if gz.exists() or not (directory / name[:-3]).exists() else directory / name[:-3]


def _missing_idx(directory):
    return [name for name in MNIST_IDX if not _idx_path(directory, name).exists()]


def _download_mnist(directory):
    """Keras' mnist.npz, else the missing IDX files; a clear error naming the files when
    neither can be had."""
    try:
        download.fetch(MNIST_NPZ, MNIST_NPZ_URLS, MNIST_NPZ_SHA256, directory)
        return
    except download.DownloadError as e:
        failure = e
    reasons = failure.reasons
    if not failure.offline:
        try:
            for name in _missing_idx(directory):
                download.fetch(name, [m + name for m in MNIST_IDX_MIRRORS], MNIST_IDX[name],
                               directory)
            return
        except download.DownloadError as e:
            reasons = reasons + e.reasons
    files = "\n".join(f"    {directory / name}" for name in MNIST_IDX)
    raise RuntimeError(
        f"load_mnist: MNIST is not in {directory} and could not be downloaded:\n  "
        + "\n  ".join(reasons)
        + f"\nTo use it offline, put either Keras' file\n    {directory / MNIST_NPZ}\n(from "
        f"{MNIST_NPZ_URLS[0]}) or the four IDX files\n{files}\n(from {MNIST_IDX_MIRRORS[0]}) "
        f"there. The directory is $TENSORCORE_HOME/datasets/mnist; TENSORCORE_HOME defaults "
        f"to ~/.tensorcore.")


def _read_npz(path):
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise ValueError(f"load_mnist: '{path}' lacks the arrays {missing}; Keras' "
                                 f"mnist.npz holds {list(keys)}")
            x_train, y_train, x_test, y_test = (f[k] for k in keys)
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"load_mnist: '{path}' is not a readable .npz file ({e}); delete it "
                         f"to download it again") from None
    return (x_train, y_train), (x_test, y_test)


def _check_mnist(data, where):
    for part, (x, y) in zip(("train", "test"), data):
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            raise ValueError(f"load_mnist: {where}: {part} arrays must be uint8, got x "
                             f"{x.dtype} and y {y.dtype}")
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != x.shape[:1]:
            raise ValueError(f"load_mnist: {where}: {part} images must be (n, 28, 28) with n "
                             f"labels, got images {x.shape} and labels {y.shape}")
        if y.size and y.max() > 9:
            raise ValueError(f"load_mnist: {where}: {part} labels must be digits 0-9, found "
                             f"{int(y.max())}")
    return data


def load_digits(test_size=0.25, seed=0):
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download), split into
    train and test with a fixed stratified shuffle: x uint8 (n, 8, 8) with pixels 0-16,
    y uint8 (n,)."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ImportError("load_digits needs scikit-learn, which is not installed: "
                          "pip install scikit-learn") from None
    digits = sklearn_digits()
    x, y = digits.images.astype(np.uint8), digits.target.astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y)
    return (x_train, y_train), (x_test, y_test)
