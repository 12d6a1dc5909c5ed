"""Checkpoints against PyTorch: safetensors files move both ways, torch.save files are refused,
and a checkpoint comes back with the same Python types that torch.load gives."""

from __future__ import annotations

import io
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close

st_torch = pytest.importorskip("safetensors.torch")


def _to_dt(value):
    """A torch object tree with its tensors turned into dist_torch tensors."""
    if isinstance(value, torch.Tensor):
        if value.dtype is torch.bfloat16:
            return dt.tensor(value.float().numpy()).to(dt.bfloat16)
        return dt.tensor(value.detach().numpy().copy())
    if isinstance(value, torch.Size):
        return dt.Size(value)
    if isinstance(value, OrderedDict):
        return OrderedDict((k, _to_dt(v)) for k, v in value.items())
    if isinstance(value, dict):
        return {k: _to_dt(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_dt(v) for v in value)
    return value


def _mlp_pair():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    ours = dt.nn.Sequential(dt.nn.Linear(6, 5), dt.nn.Identity(), dt.nn.Linear(5, 3))
    return ours, theirs


def test_torch_safetensors_state_dict_loads_into_our_model(tmp_path):
    ours, theirs = _mlp_pair()
    path = str(tmp_path / "torch.safetensors")
    st_torch.save_file(theirs.state_dict(), path)
    loaded = dt.load(path)
    assert set(loaded) == set(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert isinstance(loaded[key], dt.Tensor) and loaded[key].dtype is dt.float32
        assert_close(loaded[key], value, check_dtype=False)
    ours.load_state_dict(loaded)
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    ours_out = ours[2](ours[0](dt.tensor(x)).tanh())
    theirs_out = theirs(torch.tensor(x))
    assert_close(ours_out, theirs_out.detach(), rtol=1e-6, atol=1e-6, check_dtype=False)


@pytest.mark.skipif(not hasattr(dt.nn, "Conv2d") or not hasattr(dt.nn, "BatchNorm2d"),
                    reason="dist_torch.nn.Conv2d/BatchNorm2d not available yet")
def test_torch_conv_bn_state_dict_loads_into_our_model(tmp_path):
    torch.manual_seed(1)
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
    theirs.train()(torch.randn(8, 1, 6, 6))  # move the running statistics
    theirs.eval()
    path = str(tmp_path / "cbn.safetensors")
    st_torch.save_file(theirs.state_dict(), path)
    ours = dt.nn.Sequential(dt.nn.Conv2d(1, 4, 3), dt.nn.BatchNorm2d(4)).eval()
    ours.load_state_dict(dt.load(path))
    assert ours[1].num_batches_tracked.dtype is dt.int64
    assert int(ours[1].num_batches_tracked) == 1
    x = np.random.default_rng(1).normal(size=(2, 1, 6, 6)).astype(np.float32)
    assert_close(ours(dt.tensor(x)), theirs(torch.tensor(x)).detach(), rtol=1e-5, atol=1e-5,
                 check_dtype=False)


@pytest.mark.parametrize("dtype", [dt.float32, dt.float64, dt.float16, dt.bfloat16, dt.int64,
                                   dt.int32, dt.int16, dt.int8, dt.uint8, dt.bool])
def test_our_files_load_with_safetensors_torch(tmp_path, dtype):
    values = np.random.default_rng(2).normal(scale=20, size=(3, 4))
    t = dt.tensor(values).to(dtype)
    path = tmp_path / "ours.safetensors"
    dt.save({"model": {"w": t, "scalar": dt.tensor(5).to(dtype)}, "epoch": 1}, path)
    loaded = st_torch.load_file(str(path))
    assert set(loaded) == {"model.w", "model.scalar"}
    w = loaded["model.w"]
    assert str(w.dtype) == str(dtype) and tuple(w.shape) == (3, 4)
    assert tuple(loaded["model.scalar"].shape) == ()
    if dtype is dt.bfloat16:
        np.testing.assert_array_equal(w.view(torch.int16).numpy(),
                                      np.asarray(t).view(np.int16))
    else:
        np.testing.assert_array_equal(w.numpy(), np.asarray(t))


def test_our_state_dict_loads_into_torch_model(tmp_path):
    ours, theirs = _mlp_pair()
    path = str(tmp_path / "ours.safetensors")
    dt.save(ours.state_dict(), path)
    theirs.load_state_dict(st_torch.load_file(path))
    for key, value in ours.state_dict().items():
        assert_close(value, theirs.state_dict()[key], check_dtype=False)


def test_torch_zip_checkpoint_refused_without_running_code(tmp_path):
    marker = str(tmp_path / "pwned")

    class Payload:
        def __reduce__(self):
            return os.makedirs, (marker,)

    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(RuntimeError, match="written by torch.save"):
        dt.load(path)
    evil = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(2), "x": Payload()}, evil)
    with pytest.raises(RuntimeError, match="never unpickles"):
        dt.load(evil)
    legacy = tmp_path / "legacy.pt"
    torch.save({"x": Payload()}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="pickle"):
        dt.load(legacy)
    buf = io.BytesIO()
    torch.save({"x": Payload()}, buf)
    with pytest.raises(RuntimeError, match="torch.save"):
        dt.load(io.BytesIO(buf.getvalue()))
    assert not os.path.exists(marker)
    with pytest.raises(pickle.UnpicklingError):  # torch itself refuses too, by default
        torch.load(evil)
    assert not os.path.exists(marker)


def _types(value):
    """The tree of Python types in a checkpoint (tensors collapse to 'tensor')."""
    if isinstance(value, (torch.Tensor, dt.Tensor)):
        return "tensor"
    if isinstance(value, dict):
        return (type(value).__name__, [(type(k).__name__, k, _types(v))
                                       for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        kind = "Size" if type(value).__name__ == "Size" else type(value).__name__
        return (kind, [_types(v) for v in value])
    return type(value).__name__


def test_checkpoint_types_match_torch_load(tmp_path):
    torch.manual_seed(3)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    opt.step()
    sched.step()
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "epoch": 4, "best_acc": 0.981,
            "loss": float("nan"), "shape": torch.Size([2, 3]), "note": None,
            "flags": (True, 1, 1.0)}
    path = tmp_path / "torch.pt"
    torch.save(ckpt, path)
    theirs = torch.load(path, weights_only=True)
    dt.save(_to_dt(ckpt), tmp_path / "ours.st")
    ours = dt.load(tmp_path / "ours.st")
    assert _types(ours) == _types(theirs)
    assert isinstance(ours["optimizer"]["state"], dict) and 0 in ours["optimizer"]["state"]
    assert ours["optimizer"]["param_groups"][0]["params"] == [0, 1]
    assert ours["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    for k in ("exp_avg", "exp_avg_sq", "step"):
        assert_close(ours["optimizer"]["state"][1][k], theirs["optimizer"]["state"][1][k],
                     check_dtype=False)
    assert ours["scheduler"] == {k: v for k, v in theirs["scheduler"].items()}
    assert np.isnan(ours["loss"]) and ours["shape"] == dt.Size([2, 3])


def test_map_location_semantics_match_torch(tmp_path):
    path = tmp_path / "m.st"
    dt.save({"w": dt.ones(2)}, path)
    torch.save({"w": torch.ones(2)}, tmp_path / "m.pt")
    seen_ours, seen_theirs = [], []
    dt.load(path, map_location=lambda s, loc: seen_ours.append(loc))
    torch.load(tmp_path / "m.pt", map_location=lambda s, loc: seen_theirs.append(loc))
    assert seen_ours == seen_theirs == ["cpu"]
