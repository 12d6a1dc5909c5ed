"""Checkpoints: ``save`` and ``load`` in the safetensors format, never pickle.

A file is one safetensors file (8-byte little-endian header length, a JSON header, then the
raw little-endian tensor bytes). Every tensor of the saved object is stored under a path-like
key (``model.fc.weight`` for ``{"model": state_dict}``; a plain state_dict keeps its own keys),
so ``safetensors.numpy.load_file`` / ``safetensors.torch.load_file`` read our files. The
structure around the tensors (dicts with any hashable keys, lists, tuples, numbers incl.
inf/nan, strings, ``None``, ``Size``, dtypes, devices) is JSON in the header's
``__metadata__`` under the key ``"dist_torch"``, with a type tag for everything JSON cannot
spell (tuples, int-keyed dicts, non-finite floats, ...). A safetensors file written by any
other tool loads as a dict of tensors.

Unpickling can run arbitrary code, so pickle files and ``torch.save`` zip archives are refused
with an explanation of how to convert them.
"""

from __future__ import annotations

import base64
import json
import math
import mmap as _mmap
import os
import struct
import tempfile
from collections import OrderedDict

import numpy as np

from dist_torch import _dtype
from dist_torch._device import as_device, device
from dist_torch._size import Size
from dist_torch._tensor import Tensor, _host, _wrap
from dist_torch.backend import cuda_available, to_device

__all__ = ["save", "load"]

_META_KEY = "dist_torch"
_FORMAT_VERSION = 1
_MAX_HEADER = 100_000_000  # the safetensors reference implementation's limit

_CODES = {
    "bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "int32": "I32", "int64": "I64",
    "float16": "F16", "bfloat16": "BF16", "float32": "F32", "float64": "F64",
}
_BY_CODE = {code: getattr(_dtype, name) for name, code in _CODES.items()}
_UNSUPPORTED_CODES = ("U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3",
                      "F6_E3M2", "C64", "C128")

_CONVERT_HINT = (
    "dist_torch.load reads safetensors files only and never unpickles, because unpickling can "
    "run arbitrary code. Convert the checkpoint once with PyTorch, e.g. "
    "`from safetensors.torch import save_file; "
    "save_file(torch.load(path, weights_only=True), 'model.safetensors')` for a state_dict "
    "(for a nested checkpoint, save each state_dict separately), then load that file.")


# --------------------------------------------------------------------------- encoding

def _path_str(path) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


class _Encoder:
    """Turns an object into a JSON-able structure, collecting its tensors under unique keys."""

    def __init__(self):
        self.arrays = {}     # key -> host ndarray, in first-seen order
        self._active = set()  # ids of the containers being encoded (cycle check)

    def _key(self, path) -> str:
        base = ".".join(str(p) for p in path) or "tensor"
        key, n = base, 1
        while key in self.arrays or key == "__metadata__":
            key, n = f"{base}#{n}", n + 1
        return key

    def _store(self, array, path) -> str:
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("="))
        if array.dtype not in _dtype._BY_NUMPY:
            raise TypeError(f"dist_torch.save cannot store an array of dtype {array.dtype} (at "
                            f"{_path_str(path)}): supported dtypes are "
                            + ", ".join(_CODES))
        key = self._key(path)
        self.arrays[key] = array
        return key

    def encode(self, obj, path=()):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"float": repr(float(obj))}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return self.encode(obj.item(), path)
        if isinstance(obj, np.ndarray):
            return {"ndarray": self._store(np.asarray(obj, order="C"), path)}
        if isinstance(obj, Size):
            return {"size": [int(d) for d in obj]}
        if isinstance(obj, _dtype.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, device):
            return {"device": str(obj)}
        if isinstance(obj, bytes):
            return {"bytes": base64.b64encode(obj).decode("ascii")}
        if isinstance(obj, (list, tuple, dict, set, frozenset)):
            if id(obj) in self._active:
                raise ValueError(f"dist_torch.save cannot store a container that contains "
                                 f"itself (at {_path_str(path)})")
            self._active.add(id(obj))
            try:
                return self._container(obj, path)
            finally:
                self._active.discard(id(obj))
        raise TypeError(_unsupported(obj, path))

    def _container(self, obj, path):
        if isinstance(obj, list):
            return [self.encode(v, path + (i,)) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v, path + (i,)) for i, v in enumerate(obj)]}
        if isinstance(obj, (set, frozenset)):
            tag = "set" if isinstance(obj, set) else "frozenset"
            return {tag: [self._dict_key(v, path) for v in obj]}
        items = [[self._dict_key(k, path), self.encode(v, path + (k,))] for k, v in obj.items()]
        return {"odict" if isinstance(obj, OrderedDict) else "dict": items}

    def _dict_key(self, key, path):
        if isinstance(key, (Tensor, np.ndarray, list, dict, set)):
            raise TypeError(f"dist_torch.save cannot store a dict key of type "
                            f"{type(key).__name__} (in {_path_str(path)}): keys must be "
                            "strings, numbers, bools, None or tuples of these")
        return self.encode(key, path + (key,))

    def _tensor(self, t, path):
        from dist_torch.nn.parameter import Parameter
        out = {"tensor": self._store(np.asarray(_host(t._data), order="C"), path)}
        if isinstance(t, Parameter):
            out["parameter"] = True
        if t.requires_grad:  # as torch: non-leaf tensors load as leaves that require grad
            out["requires_grad"] = True
        loc = t.device
        if loc.type != "cpu":
            out["device"] = str(loc)
        return out


def _unsupported(obj, path) -> str:
    kind = type(obj)
    name = kind.__qualname__ if kind.__module__ in ("builtins", None) else \
        f"{kind.__module__}.{kind.__qualname__}"
    msg = (f"dist_torch.save cannot store an object of type {name} (at {_path_str(path)}): "
           "checkpoints hold tensors, NumPy arrays, numbers, strings, bools, None, bytes, "
           "lists, tuples, sets, dicts, torch.Size, dtypes and devices (dist_torch never "
           "pickles).")
    from dist_torch.nn.modules.module import Module
    if isinstance(obj, Module):
        msg += " Save module.state_dict() instead of the module."
    elif hasattr(obj, "state_dict"):
        msg += " Save its state_dict() instead."
    return msg


def _layout(arrays: dict, structure) -> tuple[bytes, list]:
    """The padded header and the arrays in file order (largest itemsize first keeps every
    tensor aligned to its element size, as the safetensors writer does)."""
    order = sorted(arrays, key=lambda k: -arrays[k].dtype.itemsize)
    offsets, pos = {}, 0
    for key in order:
        nbytes = arrays[key].nbytes
        offsets[key] = (pos, pos + nbytes)
        pos += nbytes
    meta = json.dumps({"version": _FORMAT_VERSION, "obj": structure}, separators=(",", ":"),
                      allow_nan=False)
    header = {"__metadata__": {_META_KEY: meta}}
    for key, array in arrays.items():
        header[key] = {"dtype": _CODES[_dtype.from_numpy_dtype(array.dtype).name],
                       "shape": list(array.shape), "data_offsets": list(offsets[key])}
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    raw += b" " * (-(len(raw) + 8) % 8)
    return raw, [arrays[k] for k in order]


def _array_bytes(array):
    """A flat uint8 view of a C-contiguous little-endian array (no copy when possible)."""
    array = np.asarray(array, order="C")
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and
                                        not np.little_endian and array.dtype.itemsize > 1):
        array = array.astype(array.dtype.newbyteorder("<"))
    return array.reshape(-1).view(np.uint8)


def _write_array(fh, array) -> None:
    if array.size:
        fh.write(_array_bytes(array))


def _write_file(fh, header: bytes, arrays) -> None:
    fh.write(struct.pack("<Q", len(header)))
    fh.write(header)
    for array in arrays:
        _write_array(fh, array)


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path: str, header: bytes, arrays) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_file(fh, header, arrays)
            fh.flush()
            os.fsync(fh.fileno())
        if os.path.exists(path):  # keep the mode of the file we replace
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False) -> None:
    """Save ``obj`` (a tensor, state_dict or nested checkpoint) to ``f`` as safetensors.

    Args:
        obj: tensors, NumPy arrays, and ``None``/bools/ints/floats (inf and nan
            included)/strings/bytes, nested in lists, tuples, sets and dicts with any such
            keys (optimizer state_dicts' int keys survive), plus ``torch.Size``, dtypes and
            devices. Other objects raise ``TypeError`` naming where they sit in ``obj``.
        f: a path (str or ``os.PathLike``), written atomically (a temporary file in the same
            directory, fsynced, then renamed over the target: a crash mid-save leaves the
            previous file intact), or a binary file object opened for writing.

    The pickle arguments are accepted for compatibility with ``torch.save`` and ignored.
    Views and non-contiguous tensors are stored by value; tensors shared between several
    places are stored once per place. ``requires_grad`` (non-leaf tensors load as leaves, as in
    torch) and the ``nn.Parameter`` type are kept.

    Example::

        >>> torch.save({"model": model.state_dict(), "epoch": 3}, "ckpt.safetensors")
    """
    encoder = _Encoder()
    structure = encoder.encode(obj)
    header, arrays = _layout(encoder.arrays, structure)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), header, arrays)
    elif hasattr(f, "write"):
        _write_file(f, header, arrays)
    else:
        raise AttributeError(f"dist_torch.save: expected a path or a binary file object, got "
                             f"{type(f).__name__}")


# --------------------------------------------------------------------------- decoding

def _refuse_foreign(prefix: bytes, name: str) -> None:
    if prefix[:4] == b"PK\x03\x04":
        raise RuntimeError(f"{name} is a PyTorch checkpoint written by torch.save (a zip "
                           f"archive of pickles). {_CONVERT_HINT}")
    if len(prefix) >= 2 and prefix[0] == 0x80 and 2 <= prefix[1] <= 5:
        raise RuntimeError(f"{name} is a Python pickle (protocol {prefix[1]}), e.g. a legacy "
                           f"torch.save file. {_CONVERT_HINT}")
    if prefix[:6] == b"\x93NUMPY":
        raise RuntimeError(f"{name} is a NumPy .npy file: read it with numpy.load and wrap it "
                           "with torch.from_numpy.")


def _read_exact(fh, n: int, name: str, what: str) -> bytes:
    data = fh.read(n)
    if data is None or len(data) != n:
        got = 0 if data is None else len(data)
        raise RuntimeError(f"{name} is truncated: expected {n} bytes of {what}, found {got}")
    return data


def _parse_header(fh, name: str) -> tuple[int, dict]:
    prefix = fh.read(8)
    if not prefix:
        raise RuntimeError(f"{name} is empty: not a safetensors checkpoint")
    _refuse_foreign(prefix, name)
    if len(prefix) < 8:
        raise RuntimeError(f"{name} is not a safetensors checkpoint ({len(prefix)} bytes)")
    (size,) = struct.unpack("<Q", prefix)
    if size > _MAX_HEADER:
        raise RuntimeError(f"{name} is not a safetensors checkpoint: its first 8 bytes give a "
                           f"header of {size} bytes (more than {_MAX_HEADER})")
    raw = _read_exact(fh, size, name, "header")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise RuntimeError(f"{name} is not a safetensors checkpoint: its header is not valid "
                           f"JSON ({err})") from None
    if not isinstance(header, dict):
        raise RuntimeError(f"{name} is not a safetensors checkpoint: its header is not a JSON "
                           "object")
    return 8 + size, header


def _check_entries(header: dict, name: str) -> tuple[dict, int]:
    """Validate the tensor entries; returns {key: (dtype, shape, begin, end)} and the data
    length the offsets cover."""
    entries = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        where = f"{name}: tensor {key!r}"
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise RuntimeError(f"{where} lacks dtype/shape/data_offsets in the header")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if code not in _BY_CODE:
            if code in _UNSUPPORTED_CODES:
                raise TypeError(f"{where} has dtype {code}, which dist_torch does not "
                                f"support (supported: {', '.join(_BY_CODE)})")
            raise RuntimeError(f"{where} has an unknown dtype {code!r}")
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
            raise RuntimeError(f"{where} has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and
                all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1]):
            raise RuntimeError(f"{where} has invalid data_offsets {offsets!r}")
        dt = _BY_CODE[code]
        nbytes = math.prod(shape) * dt.itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise RuntimeError(f"{where} of shape {shape} and dtype {code} needs {nbytes} "
                               f"bytes but its data_offsets {offsets} span "
                               f"{offsets[1] - offsets[0]}")
        entries[key] = (dt, tuple(shape), offsets[0], offsets[1])
    pos = 0
    for key, (_, _, begin, end) in sorted(entries.items(), key=lambda kv: kv[1][2:]):
        if begin != pos:
            raise RuntimeError(f"{name}: the data of tensor {key!r} starts at byte {begin}, "
                               f"expected {pos} (tensors must tile the data without gaps or "
                               "overlaps)")
        pos = end
    return entries, pos


def _metadata(header: dict, name: str):
    meta = header.get("__metadata__")
    if meta is None:
        return None
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise RuntimeError(f"{name}: __metadata__ must map strings to strings")
    if _META_KEY not in meta:
        return None
    try:
        payload = json.loads(meta[_META_KEY])
        version, structure = payload["version"], payload["obj"]
    except (ValueError, KeyError, TypeError) as err:
        raise RuntimeError(f"{name}: corrupt dist_torch metadata ({err})") from None
    if not isinstance(version, int) or version > _FORMAT_VERSION:
        raise RuntimeError(f"{name} was written by a newer dist_torch (format {version}; this "
                           f"one reads up to {_FORMAT_VERSION})")
    return structure


def _readinto_exact(fh, buffer, name: str) -> None:
    view = memoryview(buffer)
    got = 0
    readinto = getattr(fh, "readinto", None)
    while got < len(view):
        if readinto is not None:
            n = readinto(view[got:])
        else:
            chunk = fh.read(len(view) - got)
            n = len(chunk) if chunk else 0
            view[got:got + n] = chunk or b""
        if not n:
            raise RuntimeError(f"{name} is truncated: expected {len(view)} bytes of tensor "
                               f"data, found {got}")
        got += n


_CUDA_MISSING = ("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                 "is False. If you are running on a CPU-only machine, please use torch.load with "
                 "map_location=torch.device('cpu') to map your storages to the CPU.")


def _place(t: Tensor, loc) -> Tensor:
    target = as_device(loc)
    if target.type == "cpu":
        return t
    if not cuda_available():
        raise RuntimeError(_CUDA_MISSING)
    return _wrap(to_device(t._data, target))


def _placer(map_location):
    """A function (cpu tensor, saved location string) -> tensor on its target device."""
    if map_location is None:
        return _place
    if isinstance(map_location, (str, device)):
        target = as_device(map_location)
        return lambda t, loc: _place(t, target)
    if isinstance(map_location, dict):
        return lambda t, loc: _place(t, map_location.get(loc, loc))
    if callable(map_location):
        def call(t, loc):
            out = map_location(t, loc)
            return _place(t, loc) if out is None else out
        return call
    raise TypeError(f"map_location should be a string, a torch.device, a dict or a callable, "
                    f"got {type(map_location).__name__}")


class _Decoder:
    def __init__(self, arrays: dict, placer, name: str):
        self.arrays, self.placer, self.name = arrays, placer, name

    def _array(self, key):
        try:
            return self.arrays[key]
        except (KeyError, TypeError):
            raise RuntimeError(f"{self.name}: the metadata refers to a tensor {key!r} that the "
                               "file does not hold") from None

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) < 1:
            raise RuntimeError(f"{self.name}: corrupt dist_torch metadata near {node!r}")
        if "tensor" in node:
            return self._tensor(node)
        ((tag, value),) = node.items()
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in value}
        if tag == "odict":
            return OrderedDict((self.decode(k), self.decode(v)) for k, v in value)
        if tag == "tuple":
            return tuple(self.decode(v) for v in value)
        if tag == "float":
            return float(value)
        if tag == "size":
            return Size(value)
        if tag == "dtype":
            return getattr(_dtype, value)
        if tag == "device":
            return device(value)
        if tag == "ndarray":
            return self._array(value)
        if tag == "bytes":
            return base64.b64decode(value)
        if tag == "set":
            return {self.decode(v) for v in value}
        if tag == "frozenset":
            return frozenset(self.decode(v) for v in value)
        raise RuntimeError(f"{self.name}: unknown type tag {tag!r} in the dist_torch metadata")

    def _tensor(self, node):
        t = self.placer(_wrap(self._array(node["tensor"])), node.get("device", "cpu"))
        if node.get("parameter"):
            from dist_torch.nn.parameter import Parameter
            return Parameter(t, requires_grad=bool(node.get("requires_grad")))
        if node.get("requires_grad"):
            t.requires_grad_(True)
        return t


def _load_stream(fh, name, placer, mapped=None):
    start, header = _parse_header(fh, name)
    entries, total = _check_entries(header, name)
    if mapped is not None:
        if len(mapped) != start + total:
            raise RuntimeError(f"{name} holds {len(mapped) - start} bytes of tensor data but "
                               f"its header describes {total}")
        buffer, base = mapped, start
    else:
        buffer, base = bytearray(total), 0
        _readinto_exact(fh, buffer, name)
    arrays = {}
    for key, (dt, shape, begin, end) in entries.items():
        np_dtype = dt.numpy_dtype.newbyteorder("<")
        count = (end - begin) // dt.itemsize
        array = np.frombuffer(buffer, dtype=np_dtype, count=count, offset=base + begin) \
            if count else np.empty(0, dtype=np_dtype)
        if not np.little_endian:
            array = array.astype(dt.numpy_dtype)
        arrays[key] = array.reshape(shape)
    structure = _metadata(header, name)
    if structure is None:  # a plain safetensors file: its tensors by key, in file order
        return {k: placer(_wrap(arrays[k]), "cpu") for k in entries}
    return _Decoder(arrays, placer, name).decode(structure)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load an object saved by :func:`save`, or any safetensors file (as a dict of tensors).

    Args:
        f: a path (str or ``os.PathLike``) or a binary file object.
        map_location: where tensors go: ``None`` (where they were saved), ``'cpu'``, a device,
            a dict from saved location (``'cuda:0'``) to target, or a callable
            ``(cpu_tensor, location) -> tensor or None``, as in ``torch.load``.
        weights_only: accepted for compatibility; loading never runs code from the file.
        mmap: map the file instead of reading it (copy-on-write: writes to the loaded tensors
            do not reach the file); needs a path.

    Pickle files and ``torch.save`` zip archives raise ``RuntimeError`` explaining how to
    convert them; nothing in them is executed.

    Example::

        >>> ckpt = torch.load("ckpt.safetensors", map_location="cpu")
        >>> model.load_state_dict(ckpt["model"])
    """
    placer = _placer(map_location)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        name = repr(path)
        with open(path, "rb") as fh:
            if mmap:
                if os.fstat(fh.fileno()).st_size == 0:
                    raise RuntimeError(f"{name} is empty: not a safetensors checkpoint")
                mapped = _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)
                return _load_stream(fh, name, placer, mapped)
            result = _load_stream(fh, name, placer)
            if fh.read(1):
                raise RuntimeError(f"{name} has bytes past the tensor data its header "
                                   "describes: not a valid safetensors file")
            return result
    if mmap:
        raise ValueError("f must be a file path in order to use the mmap argument")
    if isinstance(f, (bytes, bytearray, memoryview)):
        raise TypeError("dist_torch.load expects a path or a binary file object; wrap bytes "
                        "in io.BytesIO")
    if not hasattr(f, "read"):
        raise AttributeError(f"dist_torch.load: expected a path or a binary file object, got "
                             f"{type(f).__name__}")
    name = getattr(f, "name", None)
    name = repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"
    return _load_stream(f, name, placer)
