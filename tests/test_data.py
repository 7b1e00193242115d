"""tensorcore.data: Dataset/DataLoader, the IDX reader, MNIST from the cache or a (faked)
download, and the digits loader. Nothing here touches the network."""
import gzip
import hashlib
import io
import struct
import sys
import urllib.error

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.data import DataLoader, Dataset, TensorDataset, datasets, download
from tensorcore.data.idx import read_idx


# ---- Dataset / DataLoader -------------------------------------------------------------------
def test_tensor_dataset_items_and_length_mismatch():
    x, y = np.arange(20).reshape(10, 2), tc.arange(10)
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    a, b = ds[3]
    np.testing.assert_array_equal(a, [6, 7])
    assert int(b) == 3
    with pytest.raises(ValueError, match="got 10 samples, 9 samples"):
        TensorDataset(x, np.zeros(9))


@pytest.mark.parametrize("n, batch, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]), (10, 3, True, [3, 3, 3]), (7, 7, False, [7]),
    (1, 4, False, [1]), (3, 4, True, []),
])
def test_batches_in_order(n, batch, drop_last, sizes):
    x, y = np.random.default_rng(0).standard_normal((n, 5)).astype(np.float32), np.arange(n)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) and [len(b[0]) for b in batches] == sizes
    if sizes:
        assert isinstance(batches[0][0], tc.Tensor) and batches[0][0].dtype == np.float32
        got = np.concatenate([b[1].numpy() for b in batches])
        np.testing.assert_array_equal(got, np.arange(sum(sizes)))
        np.testing.assert_array_equal(batches[0][0].numpy(), x[:batch])


def test_shuffle_is_a_permutation_reproducible_with_manual_seed():
    ds = TensorDataset(np.arange(33))

    def epoch(loader):
        return np.concatenate([b[0].numpy() for b in loader])
    tc.manual_seed(5)
    loader = DataLoader(ds, batch_size=4, shuffle=True)
    first, second = epoch(loader), epoch(loader)
    assert sorted(first) == list(range(33)) and sorted(second) == list(range(33))
    assert not np.array_equal(first, np.arange(33)) and not np.array_equal(first, second)
    tc.manual_seed(5)
    np.testing.assert_array_equal(epoch(DataLoader(ds, batch_size=4, shuffle=True)), first)
    own = [epoch(DataLoader(ds, batch_size=5, shuffle=True, seed=11)) for _ in range(2)]
    np.testing.assert_array_equal(own[0], own[1])


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.full((2, 2), i, dtype=np.float32), i * i, {"name": f"s{i}", "w": 0.5}


def test_generic_dataset_is_collated_field_by_field():
    images, labels, extra = next(iter(DataLoader(Squares(), batch_size=3)))
    assert images.shape == (3, 2, 2) and images.dtype == np.float32
    np.testing.assert_array_equal(labels.numpy(), [0, 1, 4])
    assert extra["name"] == ["s0", "s1", "s2"] and extra["w"].shape == (3,)
    assert len(list(DataLoader(Squares(), batch_size=2, num_workers=2))) == 3


def test_loader_argument_errors():
    ds = TensorDataset(np.zeros(4))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(TypeError, match="unexpected keyword argument 'shufle'"):
        DataLoader(ds, shufle=True)
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(42)
    with pytest.raises(NotImplementedError, match="must define __len__"):
        len(Dataset())


# ---- IDX and MNIST from the cache ---------------------------------------------------------
def idx_bytes(array):
    code = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}[array.dtype.type]
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def fake_mnist(n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
             rng.integers(0, 10, n_train, dtype=np.uint8)),
            (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
             rng.integers(0, 10, n_test, dtype=np.uint8)))


def write_idx_files(directory, data, compress=True):
    directory.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = data
    for name, array in zip(datasets.MNIST_IDX, (x_train, y_train, x_test, y_test)):
        raw = idx_bytes(array)
        if compress:
            (directory / name).write_bytes(gzip.compress(raw))
        else:
            (directory / name[:-3]).write_bytes(raw)


def npz_bytes(data):
    (x_train, y_train), (x_test, y_test) = data
    buffer = io.BytesIO()
    np.savez(buffer, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return buffer.getvalue()


def assert_same(got, expected):
    for g, e in zip(np.array(got, dtype=object).ravel(), np.array(expected, dtype=object).ravel()):
        assert g.dtype == np.uint8 and g.shape == e.shape
        np.testing.assert_array_equal(g, e)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """TENSORCORE_HOME in tmp_path, Keras' own cache there too, and any network access an
    error."""
    monkeypatch.setenv("TENSORCORE_HOME", str(tmp_path))
    monkeypatch.setattr(datasets, "KERAS_CACHE", tmp_path / "keras" / "mnist.npz")

    def no_network(url, timeout):
        raise AssertionError(f"the test tried to download {url}")
    monkeypatch.setattr(download, "_open_url", no_network)
    return tmp_path / "datasets" / "mnist"


def test_idx_round_trip_other_dtypes(tmp_path):
    for array in (np.arange(-6, 6, dtype=np.int32).reshape(3, 4), np.linspace(0, 1, 7, dtype=np.float32)):
        (tmp_path / "a.idx").write_bytes(idx_bytes(array))
        np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), array)


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_from_idx_files(home, compress):
    data = fake_mnist()
    write_idx_files(home, data, compress)
    assert_same(datasets.load_mnist(), data)


def test_mnist_from_the_keras_cache_when_ours_is_empty(home):
    data = fake_mnist(seed=3)
    datasets.KERAS_CACHE.parent.mkdir(parents=True)
    datasets.KERAS_CACHE.write_bytes(npz_bytes(data))
    assert_same(datasets.load_mnist(), data)
    write_idx_files(home, fake_mnist(seed=4))                  # our cache, once there, wins
    assert_same(datasets.load_mnist(), fake_mnist(seed=4))


def test_mnist_from_npz_is_preferred(home):
    data = fake_mnist(seed=1)
    write_idx_files(home, fake_mnist(seed=2))
    (home / "mnist.npz").write_bytes(npz_bytes(data))
    assert_same(datasets.load_mnist(), data)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-10], "truncated: shape \\(12, 28, 28\\)"),
    (lambda raw: raw + b"\0", "trailing bytes"),
    (lambda raw: b"\x01\x02" + raw[2:], "does not start with an IDX magic number"),
    (lambda raw: raw[:2] + b"\x42" + raw[3:], "does not start with an IDX magic number"),
    (lambda raw: raw[:10], "truncated inside its header|truncated: shape"),
    (lambda raw: raw[:3], "too short"),
])
def test_corrupt_idx_raises(home, damage, message):
    write_idx_files(home, fake_mnist())
    path = home / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(damage(gzip.decompress(path.read_bytes()))))
    with pytest.raises(ValueError, match=message) as info:
        datasets.load_mnist()
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def test_damaged_gzip_and_wrong_shapes_raise(home):
    write_idx_files(home, fake_mnist())
    path = home / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(ValueError, match="damaged or truncated gzip"):
        datasets.load_mnist()
    (x, y), test = fake_mnist()
    write_idx_files(home, ((x, y[:-1]), test))
    with pytest.raises(ValueError, match=r"images \(12, 28, 28\) and labels \(11,\)"):
        datasets.load_mnist()


def test_corrupt_npz_raises(home):
    home.mkdir(parents=True)
    (home / "mnist.npz").write_bytes(npz_bytes(fake_mnist())[:100])
    with pytest.raises(ValueError, match="mnist.npz' is not a readable .npz"):
        datasets.load_mnist()
    buffer = io.BytesIO()
    np.savez(buffer, x_train=np.zeros(1))
    (home / "mnist.npz").write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="lacks the arrays"):
        datasets.load_mnist()


# ---- downloads (faked) --------------------------------------------------------------------
def serve(monkeypatch, files):
    """Make ``download._open_url`` answer from ``files`` (url -> bytes or an exception)."""
    calls = []

    def open_url(url, timeout):
        calls.append(url)
        answer = files.get(url, urllib.error.HTTPError(url, 404, "Not Found", None, None))
        if isinstance(answer, Exception):
            raise answer
        return io.BytesIO(answer)
    monkeypatch.setattr(download, "_open_url", open_url)
    return calls


def test_download_npz_with_checksum(home, monkeypatch):
    data = fake_mnist(seed=3)
    raw = npz_bytes(data)
    monkeypatch.setattr(datasets, "MNIST_NPZ_SHA256", hashlib.sha256(raw).hexdigest())
    calls = serve(monkeypatch, {datasets.MNIST_NPZ_URLS[0]: raw})
    assert_same(datasets.load_mnist(), data)
    assert_same(datasets.load_mnist(), data)       # the second time from the cache
    assert calls == datasets.MNIST_NPZ_URLS
    assert sorted(p.name for p in home.iterdir()) == ["mnist.npz"]


def test_download_falls_back_to_idx_mirrors(home, monkeypatch):
    data = fake_mnist(seed=4)
    (x_train, y_train), (x_test, y_test) = data
    files, sums = {}, {}
    for name, array in zip(datasets.MNIST_IDX, (x_train, y_train, x_test, y_test)):
        files[datasets.MNIST_IDX_MIRRORS[1] + name] = gzip.compress(idx_bytes(array))
        sums[name] = hashlib.sha256(files[datasets.MNIST_IDX_MIRRORS[1] + name]).hexdigest()
    monkeypatch.setattr(datasets, "MNIST_IDX", sums)
    serve(monkeypatch, files)                      # the npz and the first mirror answer 404
    assert_same(datasets.load_mnist(), data)


def test_checksum_mismatch_is_rejected(home, monkeypatch):
    serve(monkeypatch, {datasets.MNIST_NPZ_URLS[0]: npz_bytes(fake_mnist())})
    with pytest.raises(RuntimeError, match="sent a file with SHA-256 [0-9a-f]{64}, expected 731c"):
        datasets.load_mnist()
    assert list(home.iterdir()) == []              # nothing kept, no temporary left


def test_offline_fails_at_once_naming_the_files(home, monkeypatch):
    calls = serve(monkeypatch, {datasets.MNIST_NPZ_URLS[0]:
                                urllib.error.URLError("Name or service not known")})
    with pytest.raises(RuntimeError) as info:
        datasets.load_mnist()
    message = str(info.value)
    assert len(calls) == 1                         # no further mirrors tried once offline
    assert "Name or service not known" in message and "TENSORCORE_HOME" in message
    for name in ["mnist.npz", *datasets.MNIST_IDX]:
        assert str(home / name) in message


def test_cache_dir_default(monkeypatch, tmp_path):
    monkeypatch.delenv("TENSORCORE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert download.cache_dir("mnist") == tmp_path / ".tensorcore" / "datasets" / "mnist"


# ---- digits -------------------------------------------------------------------------------
def test_load_digits_fixed_split():
    pytest.importorskip("sklearn")
    (x_train, y_train), (x_test, y_test) = datasets.load_digits()
    assert x_train.shape == (1347, 8, 8) and x_test.shape == (450, 8, 8)
    assert x_train.dtype == y_train.dtype == np.uint8 and x_train.max() == 16
    assert set(np.unique(y_test)) == set(range(10))
    (again, _), _ = datasets.load_digits()
    np.testing.assert_array_equal(again, x_train)


def test_load_digits_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        datasets.load_digits()


def test_a_tensor_dataset_subclass_keeps_its_getitem():
    """The loader's one-gather path for TensorDataset skipped a subclass's __getitem__ (a
    transform): batches held the raw rows while ds[i] held the transformed ones."""
    class Scaled(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x / 255.0, y

    data = np.arange(8, dtype=np.uint8).reshape(4, 2) * 30
    x, y = next(iter(DataLoader(Scaled(data, np.arange(4)), batch_size=3)))
    np.testing.assert_allclose(x.numpy(), data[:3] / 255.0)
    assert y.tolist() == [0, 1, 2]


def test_namedtuple_samples_collate_field_by_field():
    """type(sample)(generator) raised for a namedtuple (its fields are positional)."""
    from collections import namedtuple
    Pair = namedtuple("Pair", ["image", "label"])
    samples = [Pair(np.full(2, i, np.float32), i) for i in range(3)]
    batch = next(iter(DataLoader(samples, batch_size=3)))
    assert isinstance(batch, Pair) and batch.label.tolist() == [0, 1, 2]
    assert batch.image.shape == (3, 2)
