"""nn.utils: total norm, weight/spectral norm (hooks and parametrizations), parametrize,
BatchNorm fusion, skip_init and stateless.functional_call, against torch."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import assert_same_error, check, load_torch_weights

RNG = np.random.default_rng(0)


def _linear_pair(cls="Linear", *args):
    args = args or (3, 4)
    theirs = getattr(torch.nn, cls)(*args).double()
    ours = getattr(dt.nn, cls)(*args).double()
    load_torch_weights(ours, theirs)
    return ours, theirs


def _forward_backward(ours, theirs, x, rtol=1e-10, atol=1e-12):
    """Same input through both; compare outputs, input grads and parameter grads by name."""
    a = dt.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ya, yb = ours(a), theirs(b)
    assert_close(ya, yb, rtol=rtol, atol=atol)
    w = RNG.standard_normal(tuple(yb.shape))
    (ya * dt.tensor(w)).sum().backward()
    (yb * torch.tensor(w)).sum().backward()
    assert_close(a.grad, b.grad, rtol=rtol, atol=atol)
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert_close(mine[name].grad, p.grad, rtol=rtol, atol=atol)


# ------------------------------------------------------------------------------ norms

@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_get_total_norm(norm_type):
    arrays = [RNG.standard_normal((3, 2)), RNG.standard_normal(4), RNG.standard_normal(())]
    check(lambda lib, *t: lib.nn.utils.get_total_norm(list(t), norm_type), *arrays)


def test_get_total_norm_empty_float32_and_error():
    for lib in (dt, torch):
        assert lib.nn.utils.get_total_norm([]).item() == 0.0
    x = RNG.standard_normal(5).astype(np.float32)
    a = dt.nn.utils.get_total_norm(dt.tensor(x))
    assert a.dtype == dt.float32
    assert_close(a, torch.nn.utils.get_total_norm(torch.tensor(x)), check_dtype=False)
    assert_same_error(lambda lib: lib.nn.utils.get_total_norm(
        [lib.tensor([1.0, float("inf")])], error_if_nonfinite=True))


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grads_with_norm(max_norm):
    grads = [RNG.standard_normal((2, 3)), RNG.standard_normal(3)]
    out = []
    for lib in (dt, torch):
        params = [lib.zeros(g.shape, dtype=lib.float64, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        total = lib.nn.utils.get_total_norm([p.grad for p in params])
        assert lib.nn.utils.clip_grads_with_norm_(params, max_norm, total) is None
        out.append([p.grad for p in params])
    for a, b in zip(*out):
        assert_close(a, b, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- hook-style weight norm

@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_hooks(dim):
    ours, theirs = _linear_pair()
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        dt.nn.utils.weight_norm(ours, dim=dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.nn.utils.weight_norm(theirs, dim=dim)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert tuple(ours.weight_g.shape) == tuple(theirs.weight_g.shape)
    assert_close(ours.weight_g, theirs.weight_g.detach(), rtol=1e-12, atol=1e-12)
    _forward_backward(ours, theirs, RNG.standard_normal((2, 3)))
    dt.nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert_close(ours.weight, theirs.weight.detach(), rtol=1e-12, atol=1e-12)
    assert isinstance(ours.weight, dt.nn.Parameter)


def test_weight_norm_conv_and_errors():
    ours, theirs = _linear_pair("Conv2d", 2, 3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dt.nn.utils.weight_norm(ours)
        torch.nn.utils.weight_norm(theirs)
    _forward_backward(ours, theirs, RNG.standard_normal((1, 2, 5, 5)))
    assert_same_error(lambda lib: lib.nn.utils.remove_weight_norm(lib.nn.Linear(2, 2)))
    assert_same_error(lambda lib: lib.nn.utils.remove_spectral_norm(lib.nn.Linear(2, 2)))


# -------------------------------------------------------------- hook-style spectral norm

def _copy_buffers(ours, theirs, names):
    for name in names:
        getattr(ours, name).copy_(dt.tensor(getattr(theirs, name).detach().numpy().copy()))


@pytest.mark.parametrize("cls,args,x_shape", [("Linear", (3, 4), (2, 3)),
                                              ("Conv1d", (2, 3, 2), (1, 2, 5)),
                                              ("ConvTranspose1d", (2, 3, 2), (1, 2, 5))])
def test_spectral_norm_hooks(cls, args, x_shape):
    ours, theirs = _linear_pair(cls, *args)
    dt.nn.utils.spectral_norm(ours, n_power_iterations=2)
    torch.nn.utils.spectral_norm(theirs, n_power_iterations=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert tuple(ours.weight_u.shape) == tuple(theirs.weight_u.shape)
    _copy_buffers(ours, theirs, ["weight_u", "weight_v"])
    for _ in range(2):  # training: power iteration updates u and v each call
        _forward_backward(ours, theirs, RNG.standard_normal(x_shape))
        assert_close(ours.weight_u, theirs.weight_u, rtol=1e-10, atol=1e-12)
        assert_close(ours.weight_v, theirs.weight_v, rtol=1e-10, atol=1e-12)
    ours.eval()
    theirs.eval()
    _forward_backward(ours, theirs, RNG.standard_normal(x_shape))
    dt.nn.utils.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert_close(ours.weight, theirs.weight.detach(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ parametrize

def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(0, 1)

        def right_inverse(self, a):
            return a.triu()
    return Symmetric()


def _scale(lib):
    class Scale(lib.nn.Module):
        def forward(self, x):
            return x * 2.0
    return Scale()


def test_register_parametrization_values_keys_repr_and_grads():
    ours, theirs = _linear_pair("Linear", 4, 4)
    for lib, m in ((dt, ours), (torch, theirs)):
        P = lib.nn.utils.parametrize
        P.register_parametrization(m, "weight", _symmetric(lib))
        P.register_parametrization(m, "weight", _scale(lib))
        assert P.is_parametrized(m) and P.is_parametrized(m, "weight")
        assert not P.is_parametrized(m, "bias")
        assert type(m).__name__ == "ParametrizedLinear"
        assert P.type_before_parametrizations(m) is lib.nn.Linear
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == \
        [n for n, _ in theirs.named_parameters()]
    assert_close(ours.weight, theirs.weight.detach(), rtol=1e-12, atol=1e-12)
    _forward_backward(ours, theirs, RNG.standard_normal((3, 4)))


def test_parametrization_assignment_cached_and_remove():
    value = RNG.standard_normal((4, 4))
    results = []
    for lib in (dt, torch):
        m = lib.nn.Linear(4, 4).double()
        original_param = m.weight
        P = lib.nn.utils.parametrize
        P.register_parametrization(m, "weight", _symmetric(lib))
        assert m.parametrizations.weight.original is original_param
        m.weight = lib.tensor(value)  # right_inverse keeps the upper triangle
        with P.cached():
            assert m.weight is m.weight
        assert m.weight is not m.weight
        kept = m.weight.detach().clone()
        P.remove_parametrizations(m, "weight", leave_parametrized=True)
        assert type(m).__name__ == "Linear" and not hasattr(m, "parametrizations")
        assert m.weight is original_param
        results.append((kept, m.weight.detach().clone()))
        m2 = lib.nn.Linear(4, 4).double()
        P.register_parametrization(m2, "weight", _symmetric(lib))
        m2.weight = lib.tensor(value)
        P.remove_parametrizations(m2, "weight", leave_parametrized=False)
        results[-1] += (m2.weight.detach().clone(),)
    for a, b in zip(*results):
        assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_parametrize_errors():
    P = "parametrize"
    assert_same_error(lambda lib: getattr(lib.nn.utils, P).register_parametrization(
        lib.nn.Linear(2, 2), "foo", lib.nn.Identity()))
    assert_same_error(lambda lib: getattr(lib.nn.utils, P).remove_parametrizations(
        lib.nn.Linear(2, 2), "weight"))

    def leave_false(lib):
        m = lib.nn.Linear(2, 2)
        lib.nn.utils.parametrizations.weight_norm(m)
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
    assert_same_error(leave_false)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrizations_weight_norm(dim):
    ours, theirs = _linear_pair()
    dt.nn.utils.parametrizations.weight_norm(ours, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(theirs, dim=dim)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert_close(ours.state_dict()[k], v, rtol=1e-12, atol=1e-12)
    _forward_backward(ours, theirs, RNG.standard_normal((2, 3)))
    dt.nn.utils.parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert_close(ours.weight, theirs.weight.detach(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls,args,x_shape", [("Linear", (3, 4), (2, 3)),
                                              ("Conv2d", (2, 3, 2), (1, 2, 4, 4)),
                                              ("ConvTranspose2d", (2, 3, 2), (1, 2, 3, 3))])
def test_parametrizations_spectral_norm(cls, args, x_shape):
    ours, theirs = _linear_pair(cls, *args)
    dt.nn.utils.parametrizations.spectral_norm(ours)
    torch.nn.utils.parametrizations.spectral_norm(theirs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    # the random start vectors differ; after torch's 15 warm-up iterations copy its state
    load_torch_weights(ours, theirs)
    for _ in range(2):
        _forward_backward(ours, theirs, RNG.standard_normal(x_shape))
        for k, v in theirs.state_dict().items():
            assert_close(ours.state_dict()[k], v, rtol=1e-9, atol=1e-12)
    ours.eval()
    theirs.eval()
    _forward_backward(ours, theirs, RNG.standard_normal(x_shape))


def test_spectral_norm_of_a_vector_and_estimate():
    m = dt.nn.Linear(5, 6).double()
    dt.nn.utils.parametrizations.spectral_norm(m)
    sigma = np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)[0]
    assert 1.0 <= sigma < 1.05  # 15 warm-up power iterations nearly converge (from below)
    check(lambda lib, b: lib.nn.utils.parametrizations.spectral_norm(
        lib.nn.Linear(2, 3).double(), name="bias").parametrizations.bias[0](b),
        RNG.standard_normal(3))


# ------------------------------------------------------------------------------ fusion

@pytest.mark.parametrize("conv,transpose", [("Conv2d", False), ("ConvTranspose2d", True),
                                            ("Conv1d", False)])
@pytest.mark.parametrize("bias", [True, False])
def test_fuse_conv_bn(conv, transpose, bias):
    fused = []
    nd = 2 if conv.endswith("2d") else 1
    x = RNG.standard_normal((2, 3) + (5,) * nd)
    for lib in (dt, torch):
        c = getattr(lib.nn, conv)(3, 4, 3, bias=bias).double()
        bn = getattr(lib.nn, f"BatchNorm{nd}d")(4).double()
        fused.append((c, bn))
    load_torch_weights(fused[0][0], fused[1][0])
    stats = {"running_mean": RNG.standard_normal(4), "running_var": RNG.random(4) + 0.5,
             "weight": RNG.standard_normal(4), "bias": RNG.standard_normal(4)}
    outs = []
    for lib, (c, bn) in zip((dt, torch), fused):
        bn.load_state_dict({**{k: lib.tensor(v) for k, v in stats.items()},
                            "num_batches_tracked": lib.tensor(0)})
        c.eval()
        bn.eval()
        f = lib.nn.utils.fuse_conv_bn_eval(c, bn, transpose=transpose)
        assert isinstance(f.weight, lib.nn.Parameter) and f is not c
        xt = lib.tensor(x)
        assert_close(f(xt), bn(c(xt)).detach(), rtol=1e-10, atol=1e-10)
        outs.append((f.weight, f.bias))
    for a, b in zip(*outs):
        assert_close(a, b.detach(), rtol=1e-12, atol=1e-12)


def test_fuse_linear_bn_and_weights_functions():
    lin_w, lin_b = RNG.standard_normal((4, 3)), RNG.standard_normal(4)
    rm, rv, w, b = (RNG.standard_normal(4), RNG.random(4) + 0.5, RNG.standard_normal(4),
                    RNG.standard_normal(4))
    check(lambda lib, *a: lib.nn.utils.fuse_linear_bn_weights(a[0], a[1], a[2], a[3], 1e-5,
                                                              a[4], a[5]),
          lin_w, lin_b, rm, rv, w, b)
    check(lambda lib, *a: lib.nn.utils.fuse_conv_bn_weights(a[0], None, a[1], a[2], 1e-3,
                                                            None, None),
          RNG.standard_normal((4, 2, 3, 3)), rm, rv)
    res = []
    for lib in (dt, torch):
        lin = lib.nn.Linear(3, 4).double()
        lin.load_state_dict({"weight": lib.tensor(lin_w), "bias": lib.tensor(lin_b)})
        bn = lib.nn.BatchNorm1d(4).double()
        bn.running_mean.copy_(lib.tensor(rm))
        bn.running_var.copy_(lib.tensor(rv))
        lin.eval()
        bn.eval()
        f = lib.nn.utils.fuse_linear_bn_eval(lin, bn)
        res.append(f(lib.tensor(lin_w[:2, :3])))
        with pytest.raises(AssertionError, match="Fusion only for eval!"):
            lib.nn.utils.fuse_linear_bn_eval(lin.train(), bn)
    assert_close(res[0], res[1].detach(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------- skip_init, stateless

def test_skip_init():
    m = dt.nn.utils.skip_init(dt.nn.Linear, 3, 5, bias=False)
    assert isinstance(m, dt.nn.Linear) and tuple(m.weight.shape) == (5, 3) and m.bias is None
    assert_same_error(lambda lib: lib.nn.utils.skip_init(lib.nn.Identity))


def test_functional_call():
    ours, theirs = _linear_pair()
    w, b, x = RNG.standard_normal((4, 3)), RNG.standard_normal(4), RNG.standard_normal((2, 3))

    def fn(lib, w, b, x):
        model = ours if lib is dt else theirs
        before = model.weight.detach().clone()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = lib.nn.utils.stateless.functional_call(model, {"weight": w, "bias": b}, x)
            only_w = lib.nn.utils.stateless.functional_call(model, {"weight": w}, (x,))
        assert model.weight.detach().equal(before) and isinstance(model.weight,
                                                                  lib.nn.Parameter)
        return out, only_w
    check(fn, w, b, x)
    with pytest.warns(FutureWarning, match="torch.func.functional_call"):
        dt.nn.utils.stateless.functional_call(ours, {}, dt.tensor(x))
    assert_same_error(lambda lib: lib.nn.utils.stateless.functional_call(
        lib.nn.Linear(2, 2), {"weight": lib.zeros(2, 2), "foo": lib.zeros(1)},
        (lib.zeros(1, 2),), strict=True))


def test_functional_call_tied_weights():
    outs = []
    for lib in (dt, torch):
        a, b = lib.nn.Linear(2, 2, bias=False), lib.nn.Linear(2, 2, bias=False)
        b.weight = a.weight
        seq = lib.nn.Sequential(a, b).double()
        w = lib.tensor(np.eye(2) * 3.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs.append(lib.nn.utils.stateless.functional_call(seq, {"0.weight": w},
                                                               (lib.ones(1, 2).double(),)))
    assert_close(outs[0], outs[1].detach())
    assert outs[0].tolist() == [[9.0, 9.0]]
