"""torch.autocast: state, regions, op policies (CPU lists, and the CUDA lists applied through
the policy machinery to CPU tensors), the weight-cast cache, custom_fwd / custom_bwd."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import dist_torch as dt
import dist_torch.nn.functional as F
from dist_torch.amp import _policy


def _ones(*shape, dtype=dt.float32, requires_grad=False):
    return dt.ones(*shape, dtype=dtype, requires_grad=requires_grad)


def test_defaults_and_state_outside_regions():
    assert dt.get_autocast_dtype("cpu") is dt.bfloat16
    assert dt.get_autocast_dtype("cuda") is dt.float16
    assert not dt.is_autocast_enabled("cpu") and not dt.is_autocast_enabled()
    assert dt.is_autocast_cache_enabled()
    assert dt.amp.is_autocast_available("cpu") and not dt.amp.is_autocast_available("meta")


def test_lower_precision_ops_and_fp32_ops_inside_a_region():
    a, b = _ones(3, 4), _ones(4, 2)
    with dt.autocast("cpu"):
        assert dt.is_autocast_enabled("cpu")
        assert dt.mm(a, b).dtype is dt.bfloat16
        assert (a @ b).dtype is dt.bfloat16
        assert dt.prod(a.bfloat16()).dtype is dt.float32
        assert dt.cat([a, a.bfloat16()]).dtype is dt.float32
        assert dt.cat([a.bfloat16(), a.bfloat16()]).dtype is dt.bfloat16
        assert dt.mm(a.double(), b.double()).dtype is dt.float64      # float64 is left alone
        assert dt.mm(a.long(), b.long()).dtype is dt.int64           # so are integers
        assert F.relu(a).dtype is dt.float32                        # not listed: unchanged
    assert dt.mm(a, b).dtype is dt.float32


def test_fp16_in_a_promote_op_under_bf16_autocast_raises_as_torch():
    with dt.autocast("cpu"), pytest.raises(RuntimeError, match="Unexpected floating ScalarType"):
        dt.cat([_ones(2, dtype=dt.float16), _ones(2)])


def test_out_variants_and_in_place_ops_are_not_autocast():
    a = _ones(2, 2)
    with dt.autocast("cpu"):
        out = dt.empty(2, 2)
        assert dt.mm(a, a, out=out).dtype is dt.float32
        c = _ones(2, 2)
        c.addmm_(a, a)
        assert c.dtype is dt.float32
        np.testing.assert_array_equal(c.numpy(), np.full((2, 2), 3.0, np.float32))


def test_nested_regions_restore_state():
    with dt.autocast("cpu", dtype=dt.float16):
        with dt.autocast("cpu", enabled=False):
            assert not dt.is_autocast_enabled("cpu")
            assert dt.mm(_ones(2, 2), _ones(2, 2)).dtype is dt.float32
        assert dt.get_autocast_dtype("cpu") is dt.float16
        assert dt.mm(_ones(2, 2), _ones(2, 2)).dtype is dt.float16
    assert dt.get_autocast_dtype("cpu") is dt.bfloat16
    assert not dt.is_autocast_enabled("cpu")


def test_decorator_form_and_generator_of_exceptions():
    @dt.autocast("cpu")
    def f(x):
        return dt.mm(x, x)
    assert f(_ones(2, 2)).dtype is dt.bfloat16
    assert not dt.is_autocast_enabled("cpu")
    with pytest.raises(TypeError, match="requires a callable"):
        dt.autocast("cpu")(3)
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        dt.autocast(dt.device("cpu"))


def test_state_is_restored_when_the_region_raises():
    with pytest.raises(KeyError), dt.autocast("cpu"):
        raise KeyError("x")
    assert not dt.is_autocast_enabled("cpu") and _policy.state.nesting == 0


def test_state_is_thread_local():
    seen = []
    with dt.autocast("cpu"):
        t = threading.Thread(target=lambda: seen.append(
            (dt.is_autocast_enabled("cpu"), dt.mm(_ones(2, 2), _ones(2, 2)).dtype)))
        t.start()
        t.join()
    assert seen == [(False, dt.float32)]


def test_cuda_region_without_cuda_warns_and_disables():
    if dt.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        region = dt.autocast("cuda")
    with region:
        assert not dt.is_autocast_enabled("cuda")


def test_weight_cast_cache_lives_until_the_outermost_region_exits():
    w = dt.nn.Parameter(_ones(3, 4))
    x = _ones(2, 4)
    with dt.autocast("cpu"):
        with dt.autocast("cpu"):
            F.linear(x, w)
            first = _policy._cache[id(w)][1]
        assert _policy._cache[id(w)][1] is first          # inner exit keeps the cache
        F.linear(x, w)
        assert _policy._cache[id(w)][1] is first          # reused, not recast
    assert not _policy._cache
    with dt.autocast("cpu", cache_enabled=False):
        F.linear(x, w)
        assert not _policy._cache
    with dt.autocast("cpu"), dt.no_grad():
        F.linear(x, w)
        assert not _policy._cache                        # no caching in no_grad


def test_gradients_flow_through_cached_casts_to_float32_leaves():
    w = dt.nn.Parameter(dt.tensor(np.arange(12, dtype=np.float32).reshape(3, 4) / 10))
    x = dt.tensor(np.ones((2, 4), np.float32))
    with dt.autocast("cpu"):
        y = F.linear(x, w).sum() + dt.matmul(x, w.t()).sum()
    y.backward()
    assert w.grad.dtype is dt.float32
    np.testing.assert_allclose(w.grad.numpy(), np.full((3, 4), 4.0))


def test_backward_uses_the_dtypes_forward_recorded():
    a = dt.tensor(np.eye(3, dtype=np.float32), requires_grad=True)
    with dt.autocast("cpu"):
        out = dt.mm(a, a)
    assert out.dtype is dt.bfloat16
    out.float().sum().backward()
    assert a.grad.dtype is dt.float32
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 3), 2.0))


def test_custom_fwd_casts_inputs_and_custom_bwd_restores_state():
    seen = {}

    class Scale(dt.autograd.Function):
        @staticmethod
        @dt.amp.custom_fwd(device_type="cpu", cast_inputs=dt.float32)
        def forward(ctx, x):
            seen["fwd"] = (x.dtype, dt.is_autocast_enabled("cpu"))
            return x * 2

        @staticmethod
        @dt.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["bwd"] = dt.is_autocast_enabled("cpu")
            return g * 2

    x = dt.tensor([1.0, 2.0], dtype=dt.bfloat16, requires_grad=True)
    with dt.autocast("cpu"):
        y = Scale.apply(x)
    y.sum().backward()
    assert seen == {"fwd": (dt.float32, False), "bwd": False}
    with pytest.raises(ValueError, match="device_type"):
        dt.amp.custom_fwd(device_type=None)


def test_unsupported_dtype_warns_and_disables():
    with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes of torch.bfloat16, "
                                         "torch.float16 currently."):
        region = dt.autocast("cpu", dtype=dt.float32)
    with region:
        assert not dt.is_autocast_enabled("cpu")
        assert dt.get_autocast_dtype("cpu") is dt.float32


def test_deprecated_state_functions_warn():
    with pytest.warns(DeprecationWarning, match=r"is_autocast_cpu_enabled\(\) is deprecated"):
        assert not dt.is_autocast_cpu_enabled()
    with pytest.warns(DeprecationWarning, match=r"get_autocast_gpu_dtype"):
        assert dt.get_autocast_gpu_dtype() is dt.float16


# --------------------------------------------------------------------------- CUDA policies
# No CUDA tensors here: run the CUDA table's policies on CPU tensors directly.

def _cuda(op, fn, *args, **kwargs):
    policy = _policy.POLICIES["cuda"][op]
    _policy.set_autocast_enabled("cpu", True)
    _policy.set_autocast_dtype("cpu", dt.float16)
    try:
        raw = getattr(fn, "__wrapped__", fn)
        return _policy.apply_policy(policy, "cpu", raw, args, kwargs,
                                    _policy.positional_index(raw, "dtype"))
    finally:
        _policy.set_autocast_enabled("cpu", False)
        _policy.set_autocast_dtype("cpu", dt.bfloat16)


def test_cuda_fp32_set_opt_dtype_policy():
    h = _ones(2, 3, dtype=dt.float16)
    assert _cuda("softmax", dt.softmax, h, 1).dtype is dt.float32
    assert _cuda("softmax", dt.softmax, h, 1, dt.float16).dtype is dt.float16
    assert _cuda("sum", dt.sum, h).dtype is dt.float32
    assert _cuda("sum", dt.sum, h.long()).dtype is dt.int64
    assert _cuda("cumsum", dt.cumsum, h, 0).dtype is dt.float32


def test_cuda_fp32_promote_and_banned_policies():
    h = _ones(3, dtype=dt.float16)
    assert _cuda("exp", dt.exp, h).dtype is dt.float32
    assert _cuda("layer_norm", F.layer_norm, _ones(2, 3, dtype=dt.float16), (3,)).dtype \
        is dt.float32
    assert _cuda("addcmul", dt.addcmul, h, h.float(), h).dtype is dt.float32
    assert _cuda("addcmul", dt.addcmul, h, h, h).dtype is dt.float16
    with pytest.raises(RuntimeError, match="unsafe to autocast"):
        _cuda("binary_cross_entropy", F.binary_cross_entropy, h, h)


def test_every_decorated_op_names_a_listed_op():
    names = set().union(*_policy.POLICIES.values())
    decorated = set()
    for mod in (dt, F, dt.linalg):
        for value in vars(mod).values():
            op = getattr(value, "__autocast_op__", None)
            if op is not None:
                decorated.add(op)
    resolved = {"pad", "interpolate", "max_pool3d"}
    assert decorated - resolved <= names


# --------------------------------------------------------------------------- fast path

def test_disabled_fast_path_skips_the_policy(monkeypatch):
    """Outside every autocast region a decorated op calls straight through: the policy
    dispatch (which inspects arguments and casts) is never reached. Its cost is measured in
    benchmarks/bench_overhead.py, not here."""
    def refuse(*args, **kwargs):
        raise AssertionError("policy dispatch reached outside autocast")
    monkeypatch.setattr(_policy, "_dispatch", refuse)
    out = dt.mm(_ones(2, 2), _ones(2, 2))
    assert out.dtype == dt.float32 and np.asarray(out).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    with pytest.raises(AssertionError, match="policy dispatch reached"):
        with dt.autocast("cpu"):
            dt.mm(_ones(2, 2), _ones(2, 2))


def test_no_warning_noise_from_plain_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with dt.autocast("cpu"):
            dt.mm(_ones(2, 2), _ones(2, 2))
