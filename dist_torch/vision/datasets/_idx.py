"""The IDX file format of MNIST and its relatives (LeCun's "SN3 Pascal Vincent" format).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

__all__ = ["read_idx", "read_idx_bytes", "read_image_file", "read_label_file"]

# type code -> big-endian element type
IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx_bytes(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the contents of an (uncompressed) IDX file into a native-endian array.

    Raises ValueError naming ``name`` when the magic number, type code, dimension count or
    size does not match the format.
    """
    if len(data) < 4:
        raise ValueError(f"{name}: not an IDX file: {len(data)} bytes, shorter than the 4-byte "
                         "magic number")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"{name}: not an IDX file: the magic number must start with two zero "
                         f"bytes, got {data[:4].hex()}")
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        raise ValueError(f"{name}: unknown IDX type code 0x{code:02X} (expected one of "
                         + ", ".join(f"0x{c:02X}" for c in IDX_TYPES) + ")")
    if ndim < 1:
        raise ValueError(f"{name}: IDX file declares {ndim} dimensions")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise ValueError(f"{name}: truncated IDX header: {ndim} dimensions need {start} bytes, "
                         f"the file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    count = int(np.prod(shape, dtype=np.int64))
    expected = start + count * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{name}: IDX header declares shape {shape} of {dtype.name} "
                         f"({expected} bytes with the header) but the file has {len(data)} "
                         "bytes")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=start)
    # a native-endian, writable copy (frombuffer of bytes is read-only)
    return array.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def read_idx(path) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not (detected from its first bytes)."""
    path = os.fspath(path)
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise ValueError(f"{path}: corrupt gzip data ({err})") from None
    return read_idx_bytes(data, path)


def read_image_file(path) -> np.ndarray:
    """An IDX file of uint8 images: shape (N, H, W)."""
    array = read_idx(path)
    if array.dtype != np.uint8 or array.ndim != 3:
        raise ValueError(f"{os.fspath(path)}: expected uint8 images of shape (N, H, W), got "
                         f"{array.dtype.name} data of shape {array.shape}")
    return array


def read_label_file(path) -> np.ndarray:
    """An IDX file of uint8 labels: shape (N,), returned as int64."""
    array = read_idx(path)
    if array.dtype != np.uint8 or array.ndim != 1:
        raise ValueError(f"{os.fspath(path)}: expected uint8 labels of shape (N,), got "
                         f"{array.dtype.name} data of shape {array.shape}")
    return array.astype(np.int64)
