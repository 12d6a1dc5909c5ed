"""dist_torch.save / dist_torch.load: safetensors checkpoints, never pickle."""

from __future__ import annotations

import io
import json
import math
import os
import pathlib
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import dist_torch as dt
from dist_torch import serialization
from tests.helpers import assert_close


def _roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    dt.save(obj, buf)
    buf.seek(0)
    return dt.load(buf, **load_kwargs)


def _header(raw: bytes) -> dict:
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n])


def _assert_same(a, b):
    """Deep equality that also checks container types, tensor dtypes and float identity."""
    assert type(a) is type(b), f"{type(a)} != {type(b)}"
    if isinstance(a, dt.Tensor):
        assert a.dtype is b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(np.asarray(a.detach()).reshape(-1).view(np.uint8),
                                      np.asarray(b.detach()).reshape(-1).view(np.uint8))
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert type(k) is type(next(x for x in b if x == k))
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


# --------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("dtype", [dt.bool, dt.uint8, dt.int8, dt.int16, dt.int32, dt.int64,
                                   dt.float16, dt.bfloat16, dt.float32, dt.float64])
@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3, 4), (0, 3)])
def test_tensor_roundtrip_every_dtype(dtype, shape):
    rng = np.random.default_rng(0)
    values = rng.normal(scale=50, size=shape)
    t = dt.tensor(values).to(dtype)
    out = _roundtrip(t)
    _assert_same(out, t)


def test_bfloat16_bits_survive():
    t = dt.tensor([1.0, -0.0, 3.140625, 1e30, float("inf"), float("nan")]).to(dt.bfloat16)
    out = _roundtrip({"x": t})["x"]
    assert out.dtype is dt.bfloat16
    np.testing.assert_array_equal(np.asarray(out).view(np.uint16), np.asarray(t).view(np.uint16))


@pytest.mark.parametrize("make", [
    lambda: dt.arange(24.0).reshape(4, 6).t(),
    lambda: dt.arange(24.0).reshape(4, 6)[:, ::2],
    lambda: dt.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1)[1],
    lambda: dt.arange(10)[3:7],
])
def test_views_and_noncontiguous_saved_by_value(make):
    t = make()
    out = _roundtrip(t)
    assert out.shape == t.shape and out.is_contiguous()
    assert_close(out, t)


def test_nested_checkpoint_roundtrip_keeps_types():
    sd = OrderedDict([("fc.weight", dt.randn(3, 4)), ("fc.bias", dt.zeros(3))])
    ckpt = {
        "model": sd,
        "optimizer": {"state": {0: {"step": dt.tensor(3.0), "exp_avg": dt.ones(3, 4)},
                                1: {"step": dt.tensor(3.0), "exp_avg": dt.ones(3)}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                        "weight_decay": 0, "amsgrad": False,
                                        "params": [0, 1], "foreach": None}]},
        "scheduler": {"step_size": 1, "gamma": 0.7, "last_epoch": 2, "_last_lr": [0.00049]},
        "epoch": 7,
        "best": float("inf"), "worst": float("-inf"), "undefined": float("nan"),
        "huge": 2 ** 70, "neg": -5, "flag": True, "one": 1, "one_float": 1.0,
        "name": "résumé ✓", "nothing": None,
        "size": dt.Size([2, 3]), "dtype": dt.bfloat16, "device": dt.device("cpu"),
        "blob": b"\x00\xffbytes", "tags": {"a", "b"}, "frozen": frozenset({1, 2}),
        (1, "pair"): [1, (2, 3), [None]], 2.5: "float key", None: "none key", False: 0,
        "array": np.arange(6, dtype=np.int16).reshape(2, 3),
        "rng": dt.get_rng_state(),
        "empty": {}, "empty_list": [], "empty_tuple": (),
    }
    out = _roundtrip(ckpt)
    _assert_same(out, ckpt)
    assert isinstance(out["model"], OrderedDict) and type(out["optimizer"]) is dict
    assert out[False] == 0 and type(out[False]) is int
    assert out["flag"] is True and out["one"] == 1 and type(out["one"]) is int


def test_numpy_scalars_become_python_numbers():
    out = _roundtrip({"a": np.int64(3), "b": np.float32(0.5), "c": np.bool_(True)})
    assert out == {"a": 3, "b": 0.5, "c": True}
    assert type(out["a"]) is int and type(out["b"]) is float and type(out["c"]) is bool


def test_parameter_and_requires_grad_are_kept():
    p = dt.nn.Parameter(dt.randn(2, 2))
    frozen = dt.nn.Parameter(dt.randn(2), requires_grad=False)
    leaf = dt.randn(3, requires_grad=True)
    nonleaf = leaf * 2
    out = _roundtrip({"p": p, "frozen": frozen, "leaf": leaf, "nonleaf": nonleaf})
    assert isinstance(out["p"], dt.nn.Parameter) and out["p"].requires_grad
    assert isinstance(out["frozen"], dt.nn.Parameter) and not out["frozen"].requires_grad
    assert type(out["leaf"]) is dt.Tensor and out["leaf"].requires_grad
    assert out["nonleaf"].is_leaf and out["nonleaf"].requires_grad  # as torch.load
    assert_close(out["nonleaf"], nonleaf.detach())


def test_loaded_tensors_are_writable_and_independent():
    a, b = dt.arange(4.0), dt.arange(4.0) + 10
    out = _roundtrip({"a": a, "b": b})
    out["a"].add_(1)
    assert_close(out["a"], [1.0, 2.0, 3.0, 4.0])
    assert_close(out["b"], [10.0, 11.0, 12.0, 13.0])


def test_shared_tensor_is_stored_by_value_in_each_place():
    t = dt.arange(3.0)
    out = _roundtrip([t, t])
    assert_close(out[0], t)
    assert_close(out[1], t)


def test_path_and_pathlike(tmp_path):
    obj = {"w": dt.randn(4, 4), "step": 10}
    dt.save(obj, str(tmp_path / "a.safetensors"))
    dt.save(obj, tmp_path / "b.safetensors")
    for name in ("a.safetensors", "b.safetensors"):
        _assert_same(dt.load(tmp_path / name), obj)
        _assert_same(dt.load(str(tmp_path / name)), obj)


def test_real_file_object(tmp_path):
    path = tmp_path / "c.st"
    with open(path, "wb") as fh:
        dt.save({"x": dt.ones(2)}, fh)
    with open(path, "rb") as fh:
        out = dt.load(fh)
    assert_close(out["x"], [1.0, 1.0])


def test_model_state_dict_loads_into_a_fresh_model(tmp_path):
    dt.manual_seed(0)
    model = dt.nn.Sequential(dt.nn.Linear(4, 8), dt.nn.Linear(8, 2))
    dt.save(model.state_dict(), tmp_path / "m.st")
    fresh = dt.nn.Sequential(dt.nn.Linear(4, 8), dt.nn.Linear(8, 2))
    fresh.load_state_dict(dt.load(tmp_path / "m.st"))
    x = dt.randn(5, 4)
    assert_close(fresh(x), model(x))


def test_rng_state_roundtrip_reproduces_draws():
    state = _roundtrip({"rng": dt.get_rng_state()})["rng"]
    first = dt.rand(5)
    dt.set_rng_state(state)
    assert_close(dt.rand(5), first)


# --------------------------------------------------------------------------- file format

def test_file_is_safetensors_with_state_dict_keys():
    sd = OrderedDict([("conv.weight", dt.randn(2, 3)), ("conv.bias", dt.zeros(2)),
                      ("bn.num_batches_tracked", dt.tensor(0))])
    buf = io.BytesIO()
    dt.save(sd, buf)
    raw = buf.getvalue()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0
    header = _header(raw)
    assert set(header) == {"__metadata__", "conv.weight", "conv.bias",
                           "bn.num_batches_tracked"}
    assert header["conv.weight"] == {"dtype": "F32", "shape": [2, 3],
                                     "data_offsets": header["conv.weight"]["data_offsets"]}
    assert header["bn.num_batches_tracked"]["dtype"] == "I64"
    assert list(header["__metadata__"]) == ["dist_torch"]
    spans = sorted(v["data_offsets"] for k, v in header.items() if k != "__metadata__")
    assert spans[0][0] == 0 and spans[-1][1] == len(raw) - 8 - n
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    for key, info in header.items():  # each tensor is aligned to its element size
        if key != "__metadata__":
            assert info["data_offsets"][0] % np.dtype(np.asarray(sd[key]).dtype).itemsize == 0
    begin, end = header["conv.weight"]["data_offsets"]
    data = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype="<f4").reshape(2, 3)
    np.testing.assert_array_equal(data, np.asarray(sd["conv.weight"]))


def test_nested_tensor_keys_are_paths():
    buf = io.BytesIO()
    dt.save({"model": {"fc.weight": dt.ones(1)}, "opt": {"state": {0: {"m": dt.ones(1)}}},
             "hist": [dt.ones(1), dt.ones(1)], "t": dt.ones(1)}, buf)
    keys = set(_header(buf.getvalue())) - {"__metadata__"}
    assert keys == {"model.fc.weight", "opt.state.0.m", "hist.0", "hist.1", "t"}


def test_colliding_paths_get_unique_keys():
    obj = {"a.b": dt.ones(1), "a": {"b": dt.zeros(1)}}
    out = _roundtrip(obj)
    assert_close(out["a.b"], [1.0])
    assert_close(out["a"]["b"], [0.0])


def test_bare_tensor_key():
    buf = io.BytesIO()
    dt.save(dt.ones(2), buf)
    assert set(_header(buf.getvalue())) == {"__metadata__", "tensor"}


def _write_safetensors(path, tensors: dict, metadata=None, order=None):
    """A safetensors file written by hand from the spec (independent of our writer)."""
    header, blobs, pos = {}, [], 0
    codes = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.uint8): "U8",
             np.dtype(np.float64): "F64"}
    for key in order or tensors:
        a = np.ascontiguousarray(tensors[key])
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[key] = {"dtype": codes[a.dtype], "shape": list(a.shape),
                       "data_offsets": [pos, pos + len(raw)]}
        blobs.append(raw)
        pos += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_foreign_safetensors_loads_as_dict_of_tensors(tmp_path):
    tensors = {"b": np.arange(6, dtype=np.float32).reshape(2, 3),
               "a": np.array([7, 8], dtype=np.int64), "z": np.zeros((0,), np.uint8)}
    _write_safetensors(tmp_path / "f.st", tensors, metadata={"format": "pt"})
    out = dt.load(tmp_path / "f.st")
    assert type(out) is dict and list(out) == ["b", "a", "z"]
    for k, v in tensors.items():
        assert isinstance(out[k], dt.Tensor)
        assert_close(out[k], v)
        assert np.asarray(out[k]).dtype == v.dtype


def test_safetensors_numpy_reads_our_files_and_we_read_theirs(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    sd = {"w": dt.randn(3, 2), "i": dt.arange(4), "h": dt.ones(2, dtype=dt.float16),
          "m": dt.tensor([True, False])}
    dt.save({"model": sd, "epoch": 1}, tmp_path / "ours.st")
    loaded = st.load_file(str(tmp_path / "ours.st"))
    assert set(loaded) == {"model.w", "model.i", "model.h", "model.m"}
    for k, v in sd.items():
        np.testing.assert_array_equal(loaded["model." + k], np.asarray(v))
        assert loaded["model." + k].dtype == np.asarray(v).dtype
    theirs = {"x": np.arange(5, dtype=np.float64), "y": np.ones((2, 2), np.int32)}
    st.save_file(theirs, str(tmp_path / "theirs.st"))
    out = dt.load(tmp_path / "theirs.st")
    assert set(out) == {"x", "y"}
    assert out["y"].dtype is dt.int32
    assert_close(out["x"], theirs["x"])


# --------------------------------------------------------------------------- refusals

class _Payload:
    """Unpickling this creates a directory: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (self.marker,)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_malicious_pickle_is_refused_without_running_code(tmp_path, protocol):
    marker = str(tmp_path / "pwned")
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(_Payload(marker), protocol=protocol))
    with pytest.raises(RuntimeError, match="pickle.*never unpickles"):
        dt.load(path)
    with pytest.raises(RuntimeError, match="pickle"):
        dt.load(io.BytesIO(path.read_bytes()))
    assert not os.path.exists(marker)
    pickle.loads(path.read_bytes())  # the payload is live: loading it for real runs it
    assert os.path.isdir(marker)


def test_torch_zip_checkpoint_is_refused_with_conversion_hint(tmp_path):
    marker = str(tmp_path / "pwned")
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(_Payload(marker)))
        z.writestr("archive/version", "3\n")
    with pytest.raises(RuntimeError, match=r"torch\.save.*safetensors\.torch import save_file"):
        dt.load(path)
    assert not os.path.exists(marker)


def test_npy_file_is_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(RuntimeError, match="numpy.load"):
        dt.load(tmp_path / "a.npy")


def _valid_bytes():
    buf = io.BytesIO()
    dt.save({"w": dt.arange(4.0)}, buf)
    return buf.getvalue()


def _with_header(header: dict, data: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize("raw,match", [
    (b"", "empty"),
    (b"\x01\x02", "not a safetensors"),
    (struct.pack("<Q", 1 << 40) + b"{}", "header of"),
    (struct.pack("<Q", 100) + b"{}", "truncated"),
    (struct.pack("<Q", 4) + b"{x}}", "not valid JSON"),
    (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
    (_with_header({"w": {"dtype": "F32", "shape": [2]}}), "data_offsets"),
    (_with_header({"w": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
     "unknown dtype"),
    (_with_header({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, bytes(4)),
     "invalid shape"),
    (_with_header({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, bytes(4)),
     "needs 8 bytes"),
    (_with_header({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)),
     "starts at byte 4"),
    (_with_header({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(4)),
     "truncated"),
    (_with_header({"__metadata__": {"dist_torch": "{not json"}}), "corrupt dist_torch"),
    (_with_header({"__metadata__": {"dist_torch": json.dumps({"version": 99, "obj": 1})}}),
     "newer dist_torch"),
    (_with_header({"__metadata__": {"dist_torch": json.dumps(
        {"version": 1, "obj": {"tensor": "missing"}})}}), "does not hold"),
    (_with_header({"__metadata__": {"dist_torch": json.dumps(
        {"version": 1, "obj": {"weird": 1}})}}), "unknown type tag"),
    (_with_header({"__metadata__": {"a": 1}}), "strings to strings"),
])
def test_corrupt_files_raise_clear_errors(tmp_path, raw, match):
    path = tmp_path / "bad.st"
    path.write_bytes(raw)
    with pytest.raises(RuntimeError, match=match):
        dt.load(path)


def test_trailing_bytes_are_rejected(tmp_path):
    path = tmp_path / "t.st"
    path.write_bytes(_valid_bytes() + b"junk")
    with pytest.raises(RuntimeError, match="past the tensor data"):
        dt.load(path)


@pytest.mark.parametrize("code", ["U16", "F8_E4M3", "C64"])
def test_unsupported_safetensors_dtypes_raise_type_error(tmp_path, code):
    path = tmp_path / "u.st"
    path.write_bytes(_with_header({"w": {"dtype": code, "shape": [0], "data_offsets": [0, 0]}}))
    with pytest.raises(TypeError, match=f"dtype {code}"):
        dt.load(path)


class _Custom:
    pass


@pytest.mark.parametrize("obj,where,match", [
    ({"a": [1, lambda x: x]}, r"obj\['a'\]\[1\]", "function"),
    ({"opt": {"state": {0: _Custom()}}}, r"obj\['opt'\]\['state'\]\[0\]", "_Custom"),
    ({"model": dt.nn.Linear(2, 2)}, r"obj\['model'\]", "state_dict"),
    ([1.0, 2j], r"obj\[1\]", "complex"),
    ({"x": np.array(["a"])}, r"obj\['x'\]", "dtype <U1"),
    ({"x": np.zeros(2, np.uint16)}, r"obj\['x'\]", "uint16"),
])
def test_unsupported_values_raise_type_error_naming_the_path(obj, where, match):
    with pytest.raises(TypeError, match=where) as info:
        dt.save(obj, io.BytesIO())
    assert match in str(info.value)


def test_tensor_dict_key_is_refused():
    with pytest.raises(TypeError, match="dict key of type Tensor"):
        dt.save({dt.ones(1): 1}, io.BytesIO())


def test_self_containing_list_is_refused():
    a = [1]
    a.append(a)
    with pytest.raises(ValueError, match=r"contains itself \(at obj\[1\]\)"):
        dt.save(a, io.BytesIO())


def test_bad_file_arguments():
    with pytest.raises(TypeError, match="BytesIO"):
        dt.load(_valid_bytes())
    with pytest.raises(AttributeError, match="path or a binary file object"):
        dt.load(3.5)
    with pytest.raises(AttributeError, match="path or a binary file object"):
        dt.save({}, 3.5)
    with pytest.raises(FileNotFoundError):
        dt.load("/nonexistent/dir/ckpt.st")


# --------------------------------------------------------------------------- atomic writes

def _leftovers(directory):
    return sorted(p.name for p in pathlib.Path(directory).iterdir())


def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.st"
    dt.save({"epoch": 1, "w": dt.zeros(1000)}, path)
    before = path.read_bytes()
    real_write = serialization._write_array

    def write_half_then_fail(fh, array):
        raw = serialization._array_bytes(array)
        fh.write(raw[: raw.size // 2])
        fh.flush()
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(serialization, "_write_array", write_half_then_fail)
    with pytest.raises(OSError, match="simulated"):
        dt.save({"epoch": 2, "w": dt.ones(1000)}, path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == ["ckpt.st"]
    assert dt.load(path)["epoch"] == 1
    monkeypatch.setattr(serialization, "_write_array", real_write)
    dt.save({"epoch": 2, "w": dt.ones(1000)}, path)
    assert dt.load(path)["epoch"] == 2
    assert _leftovers(tmp_path) == ["ckpt.st"]


def test_failed_first_save_creates_nothing(tmp_path, monkeypatch):
    def fail(fh, array):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization, "_write_array", fail)
    with pytest.raises(KeyboardInterrupt):
        dt.save({"w": dt.ones(3)}, tmp_path / "new.st")
    assert _leftovers(tmp_path) == []


def test_unsupported_value_fails_before_touching_the_file(tmp_path):
    path = tmp_path / "ckpt.st"
    dt.save({"epoch": 1}, path)
    with pytest.raises(TypeError):
        dt.save({"epoch": 2, "bad": object()}, path)
    assert dt.load(path) == {"epoch": 1}
    assert _leftovers(tmp_path) == ["ckpt.st"]


def test_save_fsyncs_file_and_directory(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}") if os.path.exists("/proc")
                      else fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    dt.save({"w": dt.ones(2)}, tmp_path / "s.st")
    assert len(synced) == 2
    if os.path.exists("/proc"):
        assert synced[1] == os.path.realpath(tmp_path)


def test_replacing_keeps_file_mode(tmp_path):
    path = tmp_path / "m.st"
    dt.save({"a": 1}, path)
    os.chmod(path, 0o640)
    dt.save({"a": 2}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640


# --------------------------------------------------------------------------- map_location

def _cuda_file(tmp_path):
    """A checkpoint whose tensor was saved from cuda:0 (written by hand: no GPU here)."""
    meta = json.dumps({"version": 1, "obj": {"dict": [["x", {"tensor": "x",
                                                             "device": "cuda:0"}]]}})
    path = tmp_path / "cuda.st"
    data = np.arange(3, dtype="<f4").tobytes()
    path.write_bytes(_with_header({"__metadata__": {"dist_torch": meta},
                                   "x": {"dtype": "F32", "shape": [3],
                                         "data_offsets": [0, 12]}}, data))
    return path


@pytest.mark.parametrize("map_location", ["cpu", dt.device("cpu"), {"cuda:0": "cpu"}])
def test_map_location_to_cpu(tmp_path, map_location):
    out = dt.load(_cuda_file(tmp_path), map_location=map_location)
    assert out["x"].device == dt.device("cpu")
    assert_close(out["x"], [0.0, 1.0, 2.0])


def test_cuda_tensor_without_cuda_raises_clear_error(tmp_path):
    if dt.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(RuntimeError, match="CUDA device but torch.cuda.is_available"):
        dt.load(_cuda_file(tmp_path))
    with pytest.raises(RuntimeError, match="map_location=torch.device\\('cpu'\\)"):
        _roundtrip({"w": dt.ones(1)}, map_location="cuda")
    with pytest.raises(RuntimeError, match="CUDA device"):
        _roundtrip({"w": dt.ones(1)}, map_location={"cpu": "cuda:0"})


def test_map_location_callable(tmp_path):
    seen = []

    def hook(t, loc):
        seen.append(loc)
        return t * 2

    out = dt.load(_cuda_file(tmp_path), map_location=hook)
    assert seen == ["cuda:0"]
    assert_close(out["x"], [0.0, 2.0, 4.0])
    out = _roundtrip({"a": dt.ones(2)}, map_location=lambda t, loc: None)
    assert_close(out["a"], [1.0, 1.0])


def test_map_location_bad_type():
    with pytest.raises(TypeError, match="map_location"):
        _roundtrip({"a": 1}, map_location=3)


@pytest.mark.parametrize("weights_only", [True, False, None])
def test_weights_only_accepted(weights_only):
    assert _roundtrip({"a": 1}, weights_only=weights_only) == {"a": 1}


# --------------------------------------------------------------------------- mmap

def test_mmap_load_is_copy_on_write(tmp_path):
    path = tmp_path / "big.st"
    obj = {"w": dt.arange(1000.0), "b": dt.arange(10), "e": dt.zeros(0), "n": 3}
    dt.save(obj, path)
    before = path.read_bytes()
    out = dt.load(path, mmap=True)
    _assert_same(out, obj)
    out["w"].mul_(2)
    assert_close(out["w"][:3], [0.0, 2.0, 4.0])
    del out
    assert path.read_bytes() == before


def test_mmap_needs_a_path():
    with pytest.raises(ValueError, match="file path"):
        dt.load(io.BytesIO(_valid_bytes()), mmap=True)


def test_mmap_empty_file(tmp_path):
    (tmp_path / "e.st").write_bytes(b"")
    with pytest.raises(RuntimeError, match="empty"):
        dt.load(tmp_path / "e.st", mmap=True)
