"""``tc.save`` / ``tc.load``: state dicts and checkpoints in the safetensors format.

The file is a standard safetensors file, readable by the ``safetensors`` package (and so by
PyTorch, JAX and Hugging Face tools) without tensorcore:

    bytes 0..8     N, the header length, unsigned 64-bit little-endian
    bytes 8..8+N   the header: UTF-8 JSON, padded with spaces to a multiple of 8 bytes
                   {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
                    ...,
                    "__metadata__": {"<str>": "<str>", ...}}
    bytes 8+N..    the data: each tensor's bytes, C order, little-endian, at
                   [begin, end) counted from the start of the data; the tensors tile it
                   exactly (no gaps, no overlaps)

dtypes: BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, F32, F64.

tensorcore writes one tensor per array in the saved object, named by its dotted path
(``fc.weight``, ``state.0.exp_avg``), and puts the object's structure in
``__metadata__["tensorcore.structure"]``: JSON in which every tensor is replaced by
``{"__tensor__": "<name>"}``, tuples are ``{"__tuple__": [...]}``, dicts whose keys are not
all plain strings are ``{"__dict__": [[key, value], ...]}`` and non-finite floats are
``{"__float__": "nan" | "inf" | "-inf"}``. ``tc.load`` rebuilds the same nested object with
every array as a cpu ``tc.Tensor``; a safetensors file without that entry loads as a flat
``{name: Tensor}`` dict.

Loading never runs code (no pickle): it parses JSON and copies bytes, after checking every
header entry against the file. Saving writes a temporary file in the target's directory,
fsyncs it and renames it over the target, so an interrupted save leaves an earlier file whole.
Like ``open(path, "wb")``, a save goes through a symbolic link to its file, refuses a file
without write permission and keeps an existing file's mode (a new one gets the umask's);
unlike it, the rename makes a new file: hard links to the old one keep the old contents, and
its owner and extended attributes are the saving process's.
"""
import errno
import io
import json
import math
import os
import secrets
import stat
import struct

import numpy as np

from .tensor import Tensor, _make

STRUCTURE_KEY = "tensorcore.structure"
_MAX_HEADER = 100 * 1024 * 1024      # the safetensors limit: refuse absurd header lengths

_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16,
           "U16": np.uint16, "I32": np.int32, "U32": np.uint32, "I64": np.int64,
           "U64": np.uint64, "F16": np.float16, "F32": np.float32, "F64": np.float64}
_CODES = {np.dtype(t): code for code, t in _DTYPES.items()}


# ---- save -------------------------------------------------------------------------------
def save(obj, f):
    """Write ``obj`` (a state dict, or nested dicts/lists/tuples of tensors, ndarrays and
    plain Python values) to ``f`` (a path, or a binary file object) as safetensors."""
    arrays = {}
    structure = _encode(obj, "", arrays)
    header, blobs, offset = {}, [], 0
    for name, array in arrays.items():
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
        blobs.append(data.tobytes())
        header[name] = {"dtype": _CODES[array.dtype.newbyteorder("=")], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blobs[-1])]}
        offset += len(blobs[-1])
    header["__metadata__"] = {STRUCTURE_KEY: json.dumps(structure, allow_nan=False)}
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    chunks = [struct.pack("<Q", len(text)), text, *blobs]
    if hasattr(f, "write"):
        for chunk in chunks:
            f.write(chunk)
        return
    path = os.fsdecode(os.fspath(f))
    if not path:
        raise ValueError("tc.save: expected a file path, got ''")
    if os.path.isdir(path) or path.endswith(os.sep) or (os.altsep and path.endswith(os.altsep)):
        raise IsADirectoryError(f"tc.save: expected a file path, got the directory '{path}'")
    _write_atomically(path, chunks)


def _write_atomically(path, chunks):
    try:
        _replace_with(os.path.realpath(path), chunks)
    except OSError as e:
        raise _naming(e, "tc.save", path) from e


def _replace_with(path, chunks):
    directory = os.path.dirname(path)
    mode = None
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        mode = stat.S_IMODE(os.stat(path).st_mode)
    fd, tmp = _temporary_file(directory, os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as out:
            if mode is not None:
                os.fchmod(fd, mode) if hasattr(os, "fchmod") else os.chmod(tmp, mode)
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:                       # make the rename itself durable (POSIX; a no-op elsewhere)
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _naming(error, op, path):
    """``error`` (an OSError) as one of its type naming the op and ``path`` (a save's error
    otherwise names its temporary file)."""
    if error.errno is None:
        return type(error)(f"{op}: '{path}': {error}")
    return type(error)(error.errno, f"{op}: {error.strerror}", os.fspath(path))


def _temporary_file(directory, base):
    """A new file beside the target, created with mode 0o666 so that the umask applies (as to
    ``open(path, "wb")``; tempfile.mkstemp makes 0o600)."""
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                           0o666), tmp
        except FileExistsError:
            continue


def _encode(value, path, arrays):
    """The JSON structure of ``value``; its arrays go into ``arrays`` under dotted names."""
    if isinstance(value, (Tensor, np.ndarray)):
        array = value.numpy() if isinstance(value, Tensor) else value
        if array.dtype.newbyteorder("=") not in _CODES:
            raise TypeError(f"tc.save: cannot store the {array.dtype} array at "
                            f"'{path or '<root>'}'; supported dtypes: "
                            f"{', '.join(str(np.dtype(t)) for t in _DTYPES.values())}")
        name = path or "tensor"
        # {"a.b": x, "a": {"b": y}} would collide, and a tensor named "__metadata__" with the
        # header's entry of that name
        while name in arrays or name == "__metadata__":
            name += "_"
        arrays[name] = array
        return {"__tensor__": name}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, (list, tuple)):
        items = [_encode(v, _join(path, i), arrays) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        plain = all(isinstance(k, str) and not k.startswith("__") for k in value)
        for k in value:
            if not isinstance(k, (str, int, bool)) and k is not None:
                raise TypeError(f"tc.save: dict keys must be str or int, got "
                                f"{type(k).__name__} key {k!r} at '{path or '<root>'}'")
        if plain:
            return {k: _encode(v, _join(path, k), arrays) for k, v in value.items()}
        return {"__dict__": [[k, _encode(v, _join(path, k), arrays)] for k, v in value.items()]}
    raise TypeError(f"tc.save: cannot store a {type(value).__name__} at '{path or '<root>'}'; "
                    f"supported: Tensor, numpy array, dict, list, tuple, str, int, float, "
                    f"bool, None")


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


# ---- load -------------------------------------------------------------------------------
def load(f, map_location=None):
    """Read what ``save`` wrote (or any safetensors file) from a path or binary file object.

    Arrays come back as cpu ``tc.Tensor``s (``map_location``, a device, moves them)."""
    if hasattr(f, "read"):
        name = getattr(f, "name", "<file object>")
        if isinstance(f, io.TextIOBase):
            raise TypeError(f"tc.load: expected a binary file object (open(path, 'rb')), got a "
                            f"text one: '{name}'")
        raw = f.read()
    else:
        name = os.fspath(f)
        try:
            with open(name, "rb") as source:
                raw = source.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"tc.load: no such file: '{name}'") from None
        except OSError as e:
            raise _naming(e, "tc.load", name) from e
    header, data = _parse(raw, name)
    metadata = header.pop("__metadata__", None) or {}
    tensors = {key: _read_tensor(key, entry, data) for key, entry in header.items()}
    if map_location is not None:
        tensors = {key: t.to(map_location) for key, t in tensors.items()}
    if STRUCTURE_KEY not in metadata:
        return tensors
    try:
        structure = json.loads(metadata[STRUCTURE_KEY])
        used = set()
        obj = _decode(structure, tensors, name, used)
    except json.JSONDecodeError as e:
        raise ValueError(f"tc.load: '{name}': the saved structure is not valid JSON ({e})") from None
    except RecursionError:
        raise _bad(name, "the saved structure nests too deeply") from None
    left_out = sorted(set(tensors) - used)
    if left_out:
        raise _bad(name, f"the saved structure leaves out tensors {left_out[:4]}")
    return obj


def _bad(name, problem):
    return ValueError(f"tc.load: '{name}' is not a valid safetensors file: {problem}")


def _parse(raw, name):
    """The header dict and the data bytes, after checking every entry against the file."""
    if len(raw) < 8:
        raise _bad(name, f"it is {len(raw)} bytes long, shorter than the 8-byte header length "
                         f"(truncated?)")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > _MAX_HEADER or 8 + length > len(raw):
        raise _bad(name, f"the header claims {length} bytes but the file has {len(raw) - 8} "
                         f"after the length (truncated?)")
    try:
        header = json.loads(raw[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _bad(name, f"the header is not UTF-8 JSON ({e})") from None
    if not isinstance(header, dict):
        raise _bad(name, f"the header is a JSON {type(header).__name__}, not an object")
    data = memoryview(raw)[8 + length:]
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise _bad(name, "__metadata__ must map strings to strings")
    spans = []
    for key, entry in header.items():
        if key != "__metadata__":
            spans.append((*_check_entry(name, key, entry), key))
    spans.sort()
    end = 0
    for begin, stop, key in spans:
        if begin < end:
            raise _bad(name, f"tensor '{key}' at bytes [{begin}, {stop}) overlaps the tensor "
                             f"before it, which ends at {end}")
        if begin > end:
            raise _bad(name, f"bytes [{end}, {begin}) of the data belong to no tensor")
        end = stop
    if end != len(data):
        raise _bad(name, f"the tensors cover {end} bytes of data but the file has {len(data)} "
                         f"(truncated or padded)")
    return header, data


def _check_entry(name, key, entry):
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _bad(name, f"entry '{key}' must have exactly dtype, shape and data_offsets, got "
                         f"{entry!r}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in _DTYPES:
        raise _bad(name, f"tensor '{key}' has unknown dtype {dtype!r}; known: "
                         f"{', '.join(_DTYPES)}")
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        raise _bad(name, f"tensor '{key}' has shape {shape!r}, not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(type(n) is int and n >= 0 for n in offsets) and offsets[0] <= offsets[1]):
        raise _bad(name, f"tensor '{key}' has data_offsets {offsets!r}, not [begin, end]")
    expected = math.prod(shape) * np.dtype(_DTYPES[dtype]).itemsize
    if offsets[1] - offsets[0] != expected:
        raise _bad(name, f"tensor '{key}' ({dtype}, shape {shape}) needs {expected} bytes but "
                         f"its data_offsets {offsets} span {offsets[1] - offsets[0]}")
    return offsets[0], offsets[1]


def _read_tensor(key, entry, data):
    begin, end = entry["data_offsets"]
    dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
    array = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
    return _make(array.astype(dtype.newbyteorder("="), copy=True))


def _decode(node, tensors, name, used):
    """The object ``node`` (the saved structure) describes; the tensors it names go into
    ``used``. Markers with values of the wrong kind are a bad file, not a TypeError."""
    if isinstance(node, list):
        return [_decode(v, tensors, name, used) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (marker, value), = node.items()
        if marker == "__tensor__":
            if not isinstance(value, str) or value not in tensors:
                raise _bad(name, f"the structure names tensor {value!r}, which the file lacks")
            used.add(value)
            return tensors[value]
        if marker == "__tuple__" and isinstance(value, list):
            return tuple(_decode(v, tensors, name, used) for v in value)
        if marker == "__dict__" and isinstance(value, list) and all(
                isinstance(item, list) and len(item) == 2
                and (item[0] is None or isinstance(item[0], (str, int))) for item in value):
            return {k: _decode(v, tensors, name, used) for k, v in value}
        if marker == "__float__" and value in ("nan", "inf", "-inf"):
            return float(value)
        if marker in ("__tuple__", "__dict__", "__float__"):
            raise _bad(name, f"the structure's {marker} holds {value!r}")
    return {k: _decode(v, tensors, name, used) for k, v in node.items()}
