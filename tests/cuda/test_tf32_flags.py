"""TF32 flags: ``torch.backends.cuda.matmul.allow_tf32``, ``torch.backends.cudnn.allow_tf32``
and ``set/get_float32_matmul_precision`` against PyTorch (CPU, in process), and their effect
on CuPy's float32 GEMM compute type (GPU only)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dist_torch
from dist_torch.backend import cuda_flags

SCENARIOS = [
    [],
    [("allow", True)],
    [("allow", True), ("allow", False)],
    [("prec", "high")],
    [("prec", "medium")],
    [("prec", "medium"), ("prec", "highest")],
    [("allow", True), ("prec", "medium")],
    [("prec", "high"), ("prec", "bogus")],
    [("prec", "medium"), ("prec", "HIGH")],
    [("cudnn", False)],
    [("cudnn", False), ("prec", "high")],
    [("allow", True), ("cudnn", False), ("allow", False)],
]


def _run(lib, steps):
    m, c = lib.backends.cuda.matmul, lib.backends.cudnn
    warned = 0
    for kind, value in steps:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if kind == "allow":
                m.allow_tf32 = value
            elif kind == "prec":
                lib.set_float32_matmul_precision(value)
            else:
                c.allow_tf32 = value
        warned += sum(issubclass(w.category, UserWarning) for w in caught)
    return lib.get_float32_matmul_precision(), m.allow_tf32, c.allow_tf32, warned


def _reset(lib):
    lib.set_float32_matmul_precision("highest")
    lib.backends.cudnn.allow_tf32 = True


@pytest.fixture
def fresh():
    _reset(dist_torch)
    yield
    _reset(dist_torch)


@pytest.fixture
def torch_ref():
    torch = pytest.importorskip("torch")
    _reset(torch)
    yield torch
    _reset(torch)


def test_defaults(fresh):
    assert dist_torch.get_float32_matmul_precision() == "highest"
    assert dist_torch.backends.cuda.matmul.allow_tf32 is False
    assert dist_torch.backends.cudnn.allow_tf32 is True


@pytest.mark.parametrize("steps", SCENARIOS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s)
                         or "defaults")
def test_flags_follow_torch(fresh, torch_ref, steps):
    assert _run(dist_torch, steps) == _run(torch_ref, steps)


@pytest.mark.parametrize("setter", [
    lambda lib: setattr(lib.backends.cuda.matmul, "allow_tf32", 1),
    lambda lib: setattr(lib.backends.cuda.matmul, "allow_tf32", "yes"),
    lambda lib: setattr(lib.backends.cudnn, "allow_tf32", 0),
    lambda lib: lib.set_float32_matmul_precision(3),
])
def test_wrong_types_raise_runtime_error_like_torch(fresh, torch_ref, setter):
    for lib in (torch_ref, dist_torch):
        with pytest.raises(RuntimeError):
            setter(lib)
    assert _run(dist_torch, []) == ("highest", False, True, 0)


def test_matmul_flags_object(fresh, torch_ref):
    for lib in (torch_ref, dist_torch):
        m = lib.backends.cuda.matmul
        with pytest.raises(AttributeError, match="Unknown attribute nope"):
            _ = m.nope
        with pytest.raises(AttributeError, match="Unknown attribute nope"):
            m.nope = 1
        assert m.allow_fp16_reduced_precision_reduction is True
        assert m.allow_bf16_reduced_precision_reduction is True
        with pytest.raises(TypeError):
            m.allow_fp16_reduced_precision_reduction = 1
    m = dist_torch.backends.cuda.matmul
    m.allow_fp16_reduced_precision_reduction = False
    assert m.allow_fp16_reduced_precision_reduction is False
    m.allow_fp16_reduced_precision_reduction = True


def test_flags_reach_the_cupy_setter_without_a_gpu(fresh, monkeypatch):
    seen = []
    monkeypatch.setattr(cuda_flags, "apply_matmul_tf32", seen.append)
    dist_torch.backends.cuda.matmul.allow_tf32 = True
    dist_torch.set_float32_matmul_precision("medium")
    dist_torch.set_float32_matmul_precision("highest")
    with pytest.warns(UserWarning):
        dist_torch.set_float32_matmul_precision("fast")   # no effect, nothing applied
    dist_torch.backends.cuda.matmul.allow_tf32 = False
    assert seen == [True, True, False, False]


# --------------------------------------------------------------------------- GPU

@pytest.fixture
def gpu_fresh(cp, fresh):
    yield cp
    cuda_flags.apply_matmul_tf32(False)


@pytest.mark.cuda
def test_cupy_compute_type_follows_the_flags(gpu_fresh):
    tf32 = "COMPUTE_TYPE_TF32" if cuda_flags.tf32_supported() else "COMPUTE_TYPE_DEFAULT"
    dist_torch.backends.cuda.matmul.allow_tf32 = True
    assert cuda_flags.current_compute_type() == tf32
    dist_torch.set_float32_matmul_precision("highest")
    assert cuda_flags.current_compute_type() == "COMPUTE_TYPE_DEFAULT"
    dist_torch.set_float32_matmul_precision("medium")
    assert cuda_flags.current_compute_type() == tf32
    dist_torch.backends.cuda.matmul.allow_tf32 = False
    # convolutions follow cudnn.allow_tf32 (default True) inside conv_gemm, then restore
    with cuda_flags.conv_gemm():
        assert cuda_flags.current_compute_type() == tf32
    assert cuda_flags.current_compute_type() == "COMPUTE_TYPE_DEFAULT"
    dist_torch.backends.cudnn.allow_tf32 = False
    dist_torch.backends.cuda.matmul.allow_tf32 = True
    with cuda_flags.conv_gemm():
        assert cuda_flags.current_compute_type() == "COMPUTE_TYPE_DEFAULT"
    assert cuda_flags.current_compute_type() == tf32


@pytest.mark.cuda
def test_tf32_changes_float32_matmul_results(gpu_fresh):
    if not cuda_flags.tf32_supported():
        pytest.skip("TF32 needs compute capability 8.0+")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 512)).astype(np.float32)
    b = rng.standard_normal((512, 128)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    ta = dist_torch.tensor(a, device="cuda")
    tb = dist_torch.tensor(b, device="cuda")

    def rel_err():
        out = (ta @ tb).numpy(force=True).astype(np.float64)
        return np.abs(out - exact).max() / np.abs(exact).max()

    dist_torch.backends.cuda.matmul.allow_tf32 = False
    full = rel_err()
    dist_torch.backends.cuda.matmul.allow_tf32 = True
    reduced = rel_err()
    assert full < 1e-5          # float32 accumulation over 512 terms
    assert reduced > 1e-4       # TF32 keeps 10 mantissa bits of each input
    assert reduced < 1e-2
