"""The IDX file format of MNIST (http://yann.lecun.com/exdb/mnist/), read strictly.

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64
    byte  3     number of dimensions d
    4*d bytes   the sizes, unsigned 32-bit big-endian
    the rest    the elements, big-endian, C order; exactly prod(sizes) of them

Files ending in ``.gz`` (or starting with the gzip magic) are decompressed first.
"""
import gzip
import struct
import zlib

import numpy as np

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
          0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path):
    """The array stored in the IDX file at ``path`` (native byte order)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:
            raise ValueError(f"read_idx: '{path}' is a damaged or truncated gzip file ({e})") \
                from None
    return parse_idx(raw, path)


def parse_idx(raw, path="<bytes>"):
    if len(raw) < 4:
        raise ValueError(f"read_idx: '{path}' has {len(raw)} bytes, too short for the 4-byte "
                         f"IDX magic number (truncated?)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise ValueError(f"read_idx: '{path}' does not start with an IDX magic number (got "
                         f"bytes {raw[:4].hex(' ')}; expected 00 00 <type> <ndim> with type one "
                         f"of {', '.join(f'{t:02x}' for t in _TYPES)})")
    dtype, ndim = _TYPES[raw[2]], raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"read_idx: '{path}' is truncated inside its header ({ndim} sizes "
                         f"need {4 + 4 * ndim} bytes, the file has {len(raw)})")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    data = raw[4 + 4 * ndim:]
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "has trailing bytes"
        raise ValueError(f"read_idx: '{path}' is {problem}: shape {shape} of {dtype.name} needs "
                         f"{expected} data bytes, the file has {len(data)}")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
