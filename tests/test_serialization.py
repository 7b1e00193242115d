"""tc.save / tc.load: the safetensors format, nested objects, atomic writes, bad files."""
import io
import json
import os
import struct

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import serialization


def arrays():
    rng = np.random.default_rng(1)
    return {
        "f32": rng.standard_normal((3, 7)).astype(np.float32),
        "f64": rng.standard_normal((33,)),
        "i64": rng.integers(-1000, 1000, (2, 3, 4)),
        "u8": rng.integers(0, 256, (5,), dtype=np.uint8),
        "bool": rng.random((4, 1)) > 0.5,
        "f16": rng.standard_normal((1, 3)).astype(np.float16),
        "scalar": np.asarray(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "transposed": rng.standard_normal((7, 3)).T,           # non-contiguous
        "strided": rng.standard_normal((8, 6)).astype(np.float32)[::2, 1::3],
    }


def test_round_trip_every_dtype_and_layout(tmp_path):
    expected = arrays()
    state = {k: tc.tensor(v) if i % 2 else v for i, (k, v) in enumerate(expected.items())}
    path = tmp_path / "state.safetensors"
    tc.save(state, path)
    loaded = tc.load(path)
    assert list(loaded) == list(expected)
    for key, array in expected.items():
        assert isinstance(loaded[key], tc.Tensor) and loaded[key].device == "cpu"
        assert loaded[key].dtype == array.dtype and loaded[key].shape == array.shape, key
        np.testing.assert_array_equal(loaded[key].numpy(), array, err_msg=key)


def test_file_layout_is_safetensors(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([1, -2], dtype=np.int64)
    tc.save({"a": a, "b": b}, tmp_path / "x.safetensors")
    raw = (tmp_path / "x.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n])
    assert header["a"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    assert header["b"] == {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]}
    assert all(isinstance(v, str) for v in header["__metadata__"].values())
    data = raw[8 + n:]
    np.testing.assert_array_equal(np.frombuffer(data[:24], "<f4").reshape(2, 3), a)
    np.testing.assert_array_equal(np.frombuffer(data[24:], "<i8"), b)


def test_nested_optimizer_style_object(tmp_path):
    w = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    checkpoint = {
        "model": {"fc.weight": tc.tensor(w), "fc.bias": tc.zeros(3)},
        "optimizer": {
            "state": {0: {"step": 12, "exp_avg": tc.tensor(w * 0.1), "exp_avg_sq": w ** 2},
                      1: {"step": 12, "exp_avg": tc.ones(3)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                              "amsgrad": False, "params": [0, 1], "name": None}],
        },
        "epoch": 7, "best": float("inf"), "tag": "run-1", "__weird": [1.5, "x"],
    }
    tc.save(checkpoint, tmp_path / "ckpt")
    got = tc.load(tmp_path / "ckpt")
    assert set(got) == set(checkpoint)
    np.testing.assert_array_equal(got["model"]["fc.weight"].numpy(), w)
    state = got["optimizer"]["state"]
    assert set(state) == {0, 1} and state[0]["step"] == 12
    np.testing.assert_allclose(state[0]["exp_avg"].numpy(), w * 0.1)
    np.testing.assert_array_equal(state[0]["exp_avg_sq"].numpy(), w ** 2)
    assert got["optimizer"]["param_groups"] == checkpoint["optimizer"]["param_groups"]
    assert isinstance(got["optimizer"]["param_groups"][0]["betas"], tuple)
    assert got["epoch"] == 7 and got["best"] == float("inf") and got["tag"] == "run-1"
    assert got["__weird"] == [1.5, "x"]


def test_colliding_dotted_names_stay_apart(tmp_path):
    obj = {"a.b": np.ones(2), "a": {"b": np.zeros(3)}}
    tc.save(obj, tmp_path / "c")
    got = tc.load(tmp_path / "c")
    assert got["a.b"].shape == (2,) and got["a"]["b"].shape == (3,)


def test_file_objects(tmp_path):
    buffer = io.BytesIO()
    tc.save({"x": np.arange(5)}, buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(tc.load(buffer)["x"].numpy(), np.arange(5))


def test_unsupported_values_raise(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store a set at 'a.b'"):
        tc.save({"a": {"b": {1, 2}}}, tmp_path / "bad")
    with pytest.raises(TypeError, match="complex128"):
        tc.save({"z": np.ones(2, dtype=complex)}, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "weights.safetensors"
    tc.save({"w": np.full(3, 7.0)}, path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        tc.save({"w": np.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["weights.safetensors"]       # no temporary left behind

    real_fdopen = os.fdopen

    class FailingFile:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, chunk):
            self.f.write(chunk[:3])
            raise KeyboardInterrupt      # interrupted half way through

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: FailingFile(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        tc.save({"w": np.zeros(1000)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(tc.load(path)["w"].numpy(), np.full(3, 7.0))
    assert os.listdir(tmp_path) == ["weights.safetensors"]


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        tc.load(tmp_path / "nope.safetensors")


def _file(tmp_path, header, data=b"", length=None):
    text = json.dumps(header).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


@pytest.mark.parametrize("header, data, length, problem", [
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, None,
     "cover 8 bytes of data but the file has 4"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, 10 ** 6,
     "header claims"),
    ({"a": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, None,
     "unknown dtype 'Q7'"),
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, None,
     "needs 12 bytes"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12, None,
     "overlaps"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, None,
     "belong to no tensor"),
    ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, None,
     "not a list of sizes"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4, None,
     "not \\[begin, end\\]"),
    ({"a": [1, 2]}, b"", None, "must have exactly"),
    ({"__metadata__": {"k": 1}}, b"", None, "strings to strings"),
    ([1, 2], b"", None, "not an object"),
])
def test_corrupt_headers_raise(tmp_path, header, data, length, problem):
    path = _file(tmp_path, header, data, length)
    with pytest.raises(ValueError, match=problem) as info:
        tc.load(path)
    assert "bad.safetensors" in str(info.value)


def test_truncated_and_garbage_files_raise(tmp_path):
    good = tmp_path / "good"
    tc.save({"w": np.ones((10, 10)), "meta": {"epoch": 3}}, good)
    raw = good.read_bytes()
    for cut in (0, 5, 8, 20, len(raw) - 1):
        (tmp_path / "cut").write_bytes(raw[:cut])
        with pytest.raises(ValueError, match="cut"):
            tc.load(tmp_path / "cut")
    (tmp_path / "junk").write_bytes(struct.pack("<Q", 4) + b"\xff\xfe{[")
    with pytest.raises(ValueError, match="not UTF-8 JSON"):
        tc.load(tmp_path / "junk")


def test_structure_naming_a_missing_tensor_raises(tmp_path):
    meta = {serialization.STRUCTURE_KEY: json.dumps({"w": {"__tensor__": "gone"}})}
    path = _file(tmp_path, {"__metadata__": meta})
    with pytest.raises(ValueError, match="'gone'"):
        tc.load(path)


@pytest.mark.parametrize("structure, problem", [
    ({"w": {"__tensor__": ["w"]}}, r"names tensor \['w'\]"),
    ({"w": {"__tensor__": "w"}, "t": {"__tuple__": 3}}, "__tuple__ holds 3"),
    ({"w": {"__tensor__": "w"}, "d": {"__dict__": [[["k"], 1]]}}, "__dict__ holds"),
    ({"w": {"__tensor__": "w"}, "f": {"__float__": "1e3"}}, "__float__ holds '1e3'"),
    ({"w": 1}, r"leaves out tensors \['w'\]"),
    (None, "nests too deeply"),    # 100 000 nested lists, written out below
])
def test_a_malformed_structure_is_a_bad_file(tmp_path, structure, problem):
    """Each of these gave a TypeError, a RecursionError or a bare float() error, or (a tensor
    the structure leaves out) dropped the tensor silently."""
    text = json.dumps(structure) if structure else "[" * 100_000 + '{"__tensor__": "w"}' + (
        "]" * 100_000)
    meta = {serialization.STRUCTURE_KEY: text}
    path = _file(tmp_path, {"w": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]},
                            "__metadata__": meta}, np.array([3, -4], dtype="<i4").tobytes())
    with pytest.raises(ValueError, match=f"tc.load: .* is not a valid safetensors file: .*"
                                         f"{problem}"):
        tc.load(path)


def test_paths_and_file_objects_of_the_wrong_kind(tmp_path):
    tc.save({"w": np.ones(2)}, os.fsencode(tmp_path / "bytes"))       # as open() takes them
    np.testing.assert_array_equal(tc.load(tmp_path / "bytes")["w"].numpy(), 1.0)
    with pytest.raises(ValueError, match="tc.save: expected a file path, got ''"):
        tc.save({"w": np.ones(2)}, "")
    for directory in (tmp_path, f"{tmp_path / 'new'}{os.sep}"):    # open() refuses both
        with pytest.raises(IsADirectoryError, match="tc.save: expected a file path, got the "
                                                    "directory"):
            tc.save({"w": np.ones(2)}, directory)
    assert not (tmp_path / "new").exists()
    with open(tmp_path / "bytes") as text:
        with pytest.raises(TypeError, match="tc.load: expected a binary file object"):
            tc.load(text)


def test_plain_safetensors_file_loads_flat(tmp_path):
    """A file with no tensorcore structure (as other tools write them) loads as a flat dict."""
    path = _file(tmp_path, {"layer.w": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]},
                            "__metadata__": {"format": "pt"}},
                 np.array([3, -4], dtype="<i4").tobytes())
    got = tc.load(path)
    assert list(got) == ["layer.w"]
    np.testing.assert_array_equal(got["layer.w"].numpy(), [3, -4])


def test_interop_with_the_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    expected = {k: np.ascontiguousarray(v) for k, v in arrays().items()}
    st.save_file(expected, str(tmp_path / "theirs.safetensors"))
    ours = tc.load(tmp_path / "theirs.safetensors")
    for key, array in expected.items():
        np.testing.assert_array_equal(ours[key].numpy(), array)
    tc.save(expected, tmp_path / "ours.safetensors")
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))
    for key, array in expected.items():
        np.testing.assert_array_equal(theirs[key], array)


def test_a_top_level_key_named_like_the_header_entry_round_trips(tmp_path):
    """A tensor named "__metadata__" took the header entry's place: the file saved, then
    never loaded."""
    obj = {"__metadata__": np.arange(3.0), "w": np.ones(2)}
    tc.save(obj, tmp_path / "m")
    loaded = tc.load(tmp_path / "m")
    assert sorted(loaded) == ["__metadata__", "w"]
    np.testing.assert_array_equal(loaded["__metadata__"].numpy(), obj["__metadata__"])


def test_a_save_keeps_the_mode_and_goes_through_a_symbolic_link(tmp_path):
    """As open(path, "wb"): a new file gets 0o666 less the umask (mkstemp's 0o600 hid saved
    weights from other users), a replaced one keeps its mode, and a link's file is the one
    written (the link itself was replaced, its file left stale)."""
    umask = os.umask(0o022)
    try:
        tc.save({"w": np.ones(2)}, tmp_path / "new")
    finally:
        os.umask(umask)
    assert os.stat(tmp_path / "new").st_mode & 0o777 == 0o644
    os.chmod(tmp_path / "new", 0o640)
    tc.save({"w": np.zeros(2)}, tmp_path / "new")
    assert os.stat(tmp_path / "new").st_mode & 0o777 == 0o640
    os.symlink("new", tmp_path / "link")
    tc.save({"w": np.full(2, 5.0)}, tmp_path / "link")
    assert os.path.islink(tmp_path / "link")
    np.testing.assert_array_equal(tc.load(tmp_path / "new")["w"].numpy(), 5.0)


def test_a_save_refuses_a_file_without_write_permission(tmp_path, monkeypatch):
    """Its directory being writeable was enough to replace a write-protected file."""
    path = tmp_path / "best"
    tc.save({"w": np.ones(2)}, path)
    before = path.read_bytes()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if os.fspath(p) == str(path)
                        and mode == os.W_OK else real_access(p, mode, **kw))   # as for non-root
    with pytest.raises(PermissionError, match=r"tc.save: Permission denied: '.*best'"):
        tc.save({"w": np.zeros(2)}, path)
    assert path.read_bytes() == before


def test_io_errors_name_the_op_and_the_target(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"tc.save: .*: '.*missing/w'"):
        tc.save({"w": np.ones(2)}, tmp_path / "missing" / "w")
    with pytest.raises(IsADirectoryError, match=r"tc.load: .*: '.*'"):
        tc.load(tmp_path)
    assert os.listdir(tmp_path) == []
