"""Normalization: gradients of the fused primitives, hand values, running stats, errors."""

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn.functional as F
from dist_torch import nn
from tests.helpers import assert_close, gradcheck, rand


def _np(t):
    return np.asarray(t.detach())


# --------------------------------------------------------------------------- gradcheck

@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_batch_norm_training(shape, affine):
    c = shape[1]
    w = rand(c, seed=1, low=0.5, high=1.5) if affine else None
    b = rand(c, seed=2) if affine else None
    x = rand(*shape, seed=3, low=-2, high=2)
    args = (x, w, b) if affine else (x,)

    def fn(x, w=None, b=None):
        rm, rv = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
        return F.batch_norm(x, rm, rv, w, b, training=True)
    gradcheck(fn, *args)


@pytest.mark.parametrize("shape", [(4, 3), (3, 3, 4)])
def test_gradcheck_batch_norm_eval(shape):
    c = shape[1]
    rm = rand(c, seed=4, requires_grad=False)
    rv = rand(c, seed=5, low=0.5, high=2, requires_grad=False)
    gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3),
              rand(*shape, seed=6), rand(c, seed=7), rand(c, seed=8))


@pytest.mark.parametrize("shape,normalized", [((3, 4), (4,)), ((2, 3, 4), (3, 4)),
                                              ((5,), (5,))])
def test_gradcheck_layer_norm(shape, normalized):
    gradcheck(lambda x, w, b: F.layer_norm(x, normalized, w, b), rand(*shape, seed=9),
              rand(*normalized, seed=10), rand(*normalized, seed=11))
    gradcheck(lambda x: F.layer_norm(x, normalized, eps=0.1), rand(*shape, seed=12))


@pytest.mark.parametrize("shape,groups", [((2, 4, 3), 2), ((3, 6), 3), ((2, 4, 2, 2), 1),
                                          ((2, 4, 3), 4)])
def test_gradcheck_group_norm(shape, groups):
    c = shape[1]
    gradcheck(lambda x, w, b: F.group_norm(x, groups, w, b), rand(*shape, seed=13),
              rand(c, seed=14), rand(c, seed=15))
    gradcheck(lambda x: F.group_norm(x, groups), rand(*shape, seed=16))


def test_gradcheck_composites():
    gradcheck(lambda x, w: F.rms_norm(x, (4,), w), rand(3, 4, seed=17), rand(4, seed=18))
    gradcheck(lambda x: F.instance_norm(x), rand(2, 3, 4, seed=19))
    gradcheck(lambda x: F.local_response_norm(x, 3, alpha=0.5), rand(2, 5, 3, seed=20))


# --------------------------------------------------------------------------- values

def test_batch_norm_values_and_running_stats():
    data = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 60.0]])
    x = torch.tensor(data)
    rm, rv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    y = F.batch_norm(x, rm, rv, training=True, momentum=0.5, eps=0.0)
    expected = (data - data.mean(0)) / data.std(0)
    assert_close(y, torch.tensor(expected), rtol=1e-12)
    assert_close(rm, torch.tensor(0.5 * data.mean(0)), rtol=1e-12)
    assert_close(rv, torch.tensor(0.5 + 0.5 * data.var(0, ddof=1)), rtol=1e-12)
    # eval uses the running statistics
    z = F.batch_norm(x, rm, rv, torch.tensor([2.0, 1.0], dtype=torch.float64),
                     torch.tensor([1.0, 0.0], dtype=torch.float64), eps=0.0)
    scale = np.array([2.0, 1.0]) / np.sqrt(_np(rv))
    assert_close(z, torch.tensor((data - _np(rm)) * scale + [1.0, 0.0]), rtol=1e-12)


def test_layer_and_group_norm_values():
    data = np.arange(12, dtype=np.float64).reshape(2, 6) ** 1.5
    y = F.layer_norm(torch.tensor(data), (6,), eps=0.0)
    expected = (data - data.mean(1, keepdims=True)) / data.std(1, keepdims=True)
    assert_close(y, torch.tensor(expected), rtol=1e-12)
    g = F.group_norm(torch.tensor(data), 2, eps=0.0)
    parts = data.reshape(2, 2, 3)
    expected = (parts - parts.mean(2, keepdims=True)) / parts.std(2, keepdims=True)
    assert_close(g, torch.tensor(expected.reshape(2, 6)), rtol=1e-12)


def test_rms_norm_values_and_default_eps():
    data = np.array([[3.0, 4.0], [1.0, -1.0]])
    y = F.rms_norm(torch.tensor(data), (2,))
    rms = np.sqrt((data ** 2).mean(1, keepdims=True) + np.finfo(np.float64).eps)
    assert_close(y, torch.tensor(data / rms), rtol=1e-12)
    assert y.dtype == torch.float64


def test_float32_keeps_dtype_and_large_offset_is_stable():
    x = torch.tensor([[1e4 + 1, 1e4 - 1], [1e4 + 3, 1e4 - 3]], dtype=torch.float32)
    y = F.layer_norm(x, (2,))
    assert y.dtype == torch.float32
    assert_close(y, torch.tensor([[1.0, -1.0], [1.0, -1.0]]), rtol=1e-4)
    assert F.batch_norm(x, None, None, training=True).dtype == torch.float32
    assert F.group_norm(x, 1).dtype == torch.float32


def test_float32_long_rows_match_float64():
    data = np.random.default_rng(3).standard_normal((2, 4, 10000)) * 3 + 1
    for fn in (lambda t: F.group_norm(t, 2), lambda t: F.layer_norm(t, (4, 10000))):
        x64 = torch.tensor(data, requires_grad=True)
        x32 = torch.tensor(data.astype(np.float32), requires_grad=True)
        w = torch.tensor(np.random.default_rng(4).standard_normal(data.shape))
        (fn(x64) * w).sum().backward()
        (fn(x32) * w.float()).sum().backward()
        assert_close(fn(x32), fn(x64).float(), rtol=1e-4, atol=2e-5)
        assert_close(x32.grad, x64.grad.float(), rtol=1e-3, atol=2e-5)


def test_float16_input_with_float32_parameters():
    x = torch.randn(4, 3).half()
    bn = nn.BatchNorm1d(3)
    y = bn(x)
    assert y.dtype == torch.float16
    assert bn.running_mean.dtype == torch.float32


# --------------------------------------------------------------------------- modules

def test_batch_norm_module_buffers_and_momentum_none():
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(3, momentum=None)
    batches = [torch.randn(5, 3) * (i + 1) for i in range(3)]
    for b in batches:
        bn(b)
    assert bn.num_batches_tracked.item() == 3
    assert bn.num_batches_tracked.dtype == torch.int64
    means = np.stack([_np(b).mean(0) for b in batches])
    variances = np.stack([_np(b).var(0, ddof=1) for b in batches])
    assert_close(bn.running_mean, torch.tensor(means.mean(0), dtype=torch.float32), rtol=1e-5)
    assert_close(bn.running_var, torch.tensor(variances.mean(0), dtype=torch.float32),
                 rtol=1e-5)
    bn.eval()
    x = torch.randn(4, 3)
    expected = (_np(x) - _np(bn.running_mean)) / np.sqrt(_np(bn.running_var) + 1e-5)
    assert_close(bn(x), torch.tensor(expected, dtype=torch.float32), rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.item() == 3


def test_batch_norm_without_running_stats_uses_batch_stats_in_eval():
    bn = nn.BatchNorm2d(2, track_running_stats=False, affine=False).eval()
    assert bn.running_mean is None and list(bn.state_dict()) == []
    x = torch.randn(3, 2, 2, 2)
    y = bn(x)
    assert_close(y.mean((0, 2, 3)), torch.zeros(2), atol=1e-6)


def test_batch_norm_state_dict_names_and_old_checkpoints():
    bn = nn.BatchNorm1d(3)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    bn.num_batches_tracked.fill_(7)
    state = dict(bn.state_dict())
    del state["num_batches_tracked"]
    state["running_mean"] = torch.ones(3)
    other = nn.BatchNorm1d(3)
    assert repr(other.load_state_dict(state)) == "<All keys matched successfully>"
    assert_close(other.running_mean, torch.ones(3))
    assert other.num_batches_tracked.item() == 0
    with pytest.raises(RuntimeError, match="Missing key"):
        nn.LayerNorm(3).load_state_dict({"weight": torch.ones(3)})


def test_default_init():
    bn = nn.BatchNorm3d(4, bias=False)
    assert bn.bias is None and _np(bn.weight).tolist() == [1.0] * 4
    ln = nn.LayerNorm((2, 3))
    assert tuple(ln.weight.shape) == (2, 3) and not _np(ln.bias).any()
    gn = nn.GroupNorm(2, 4)
    assert _np(gn.weight).tolist() == [1.0] * 4 and not _np(gn.bias).any()
    assert nn.RMSNorm(3, elementwise_affine=False).weight is None
    assert nn.LayerNorm(3, dtype=torch.float64).weight.dtype == torch.float64


@pytest.mark.parametrize("module,text", [
    (nn.BatchNorm1d(3), "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                        "track_running_stats=True)"),
    (nn.BatchNorm2d(4, eps=1e-3, momentum=None, affine=False),
     "BatchNorm2d(4, eps=0.001, momentum=None, affine=False, bias=False, "
     "track_running_stats=True)"),
    (nn.LayerNorm(3), "LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True)"),
    (nn.LayerNorm([2, 3], bias=False), "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, "
                                       "bias=False)"),
    (nn.GroupNorm(2, 4), "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"),
    (nn.RMSNorm(3), "RMSNorm((3,), eps=None, elementwise_affine=True)"),
    (nn.LocalResponseNorm(2), "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"),
])
def test_repr(module, text):
    assert repr(module) == text


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("cls,shape,dims", [(nn.BatchNorm1d, (2, 3, 4, 5), "2D or 3D"),
                                            (nn.BatchNorm1d, (3,), "2D or 3D"),
                                            (nn.BatchNorm2d, (2, 3, 4), "4D"),
                                            (nn.BatchNorm3d, (2, 3, 4, 4), "5D")])
def test_batch_norm_rank_error(cls, shape, dims):
    with pytest.raises(ValueError, match=rf"expected {dims} input \(got {len(shape)}D input\)"):
        cls(3)(torch.randn(*shape))


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when "
                                         r"training, got input size torch.Size\(\[1, 3\]\)"):
        nn.BatchNorm1d(3)(torch.randn(1, 3))
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        nn.BatchNorm1d(3)(torch.randn(2, 4))
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(torch.randn(2, 3), None, None)
    with pytest.raises(RuntimeError, match="weight should contain 3 elements not 4"):
        F.batch_norm(torch.randn(2, 3), None, None, torch.ones(4), training=True)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.batch_norm(torch.ones(2, 3, dtype=torch.int64), None, None, training=True)
    with pytest.raises(RuntimeError, match="mixed dtype"):
        F.batch_norm(torch.randn(2, 3).double(), None, None, torch.ones(3), training=True)


def test_layer_norm_errors():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[5\], expected input with "
                                           r"shape \[\*, 5\], but got input of size\[2, 3, 4\]"):
        nn.LayerNorm(5)(torch.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match=r"Expected weight to be of same shape as "
                                           r"normalized_shape, but got weight of shape \[5\]"):
        F.layer_norm(torch.randn(2, 4), (4,), torch.ones(5))
    with pytest.raises(TypeError, match="must be tuple of ints, not int"):
        F.layer_norm(torch.randn(2, 4), 4)


def test_group_norm_errors():
    with pytest.raises(ValueError, match=r"num_channels \(3\) must be divisible by "
                                         r"num_groups \(2\)"):
        nn.GroupNorm(2, 3)
    with pytest.raises(RuntimeError, match=r"divisible by num_groups, but got input of shape "
                                           r"\[2, 6, 5\] and num_groups=4"):
        F.group_norm(torch.randn(2, 6, 5), 4)
    with pytest.raises(RuntimeError, match="Expected at least 2 dimensions"):
        F.group_norm(torch.randn(6), 3)


def test_saved_input_modified_in_place_is_detected():
    y = rand(3, 2) * 1
    w = rand(2, seed=1)
    out = F.batch_norm(y, torch.zeros(2, dtype=torch.float64),
                       torch.ones(2, dtype=torch.float64), w, training=False)
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
