"""Activation functions and layers against torch: values and gradients (float64) for every
option, in-place variants, layers with their parameters, reprs, dtypes, grad_fn names,
warnings and errors."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from dist_torch.ops import activation as dt_activation
from tests.oracle.compare import assert_same_error, check, check_module

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4, 5)) * 3
# points on every kink of the piecewise functions, and far tails
KINKS = np.array([-30.0, -6.0, -3.0, -1.0, -0.5, -0.01, 0.0, 0.01, 0.5, 1.0, 3.0, 6.0, 30.0])

ELEMENTWISE = [
    ("relu", {}), ("relu6", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
    ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {}), ("celu", {"alpha": 2.0}),
    ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}), ("mish", {}),
    ("sigmoid", {}), ("tanh", {}), ("hardtanh", {}), ("hardtanh", {"min_val": -2, "max_val": 3}),
    ("hardsigmoid", {}), ("hardswish", {}), ("softplus", {}),
    ("softplus", {"beta": 2, "threshold": 5}), ("softplus", {"beta": 0.5}), ("softsign", {}),
    ("tanhshrink", {}), ("logsigmoid", {}), ("hardshrink", {}), ("hardshrink", {"lambd": 1.5}),
    ("softshrink", {}), ("softshrink", {"lambd": 1.5}), ("rrelu", {}),
    ("rrelu", {"lower": 0.1, "upper": 0.5}), ("threshold", {"threshold": 0.5, "value": -2.0}),
]
INPLACE = ["relu", "relu6", "leaky_relu", "elu", "selu", "celu", "silu", "mish", "hardtanh",
           "hardsigmoid", "hardswish", "threshold", "rrelu"]


def _call(lib, name, x, kwargs):
    fn = getattr(lib.nn.functional, name)
    if name == "threshold":
        return fn(x, kwargs["threshold"], kwargs["value"])
    return fn(x, **kwargs)


@pytest.mark.parametrize("name,kwargs", ELEMENTWISE)
def test_functional(name, kwargs):
    check(lambda lib, x: _call(lib, name, x, kwargs), X)


@pytest.mark.parametrize("name,kwargs", ELEMENTWISE)
def test_functional_at_kinks(name, kwargs):
    check(lambda lib, x: _call(lib, name, x, kwargs), KINKS)


@pytest.mark.parametrize("name", INPLACE)
def test_inplace(name):
    kwargs = {"threshold": 0.1, "value": 2.0} if name == "threshold" else {}

    def fn(lib, x):
        y = x * 1.0
        fn_ = getattr(lib.nn.functional, name)
        out = fn_(y, *kwargs.values(), inplace=True) if kwargs else fn_(y, inplace=True)
        assert out is y
        return y
    check(fn, X)


@pytest.mark.parametrize("name", ["relu_", "elu_", "leaky_relu_", "selu_", "celu_", "hardtanh_",
                                  "rrelu_", "threshold_"])
def test_underscore_functions(name):
    args = (0.1, 2.0) if name == "threshold_" else ()
    check(lambda lib, x: getattr(lib.nn.functional, name)(x * 1.0, *args), X)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family(name, dim):
    check(lambda lib, x: getattr(lib.nn.functional, name)(x, dim), X)
    check(lambda lib, x: getattr(lib.nn.functional, name)(x, dim=dim, dtype=lib.float32), X,
          rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_implicit_dim(name, shape):
    x = RNG.standard_normal(shape)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        check(lambda lib, t: getattr(lib.nn.functional, name)(t), x)
    messages = {str(w.message) for w in ours}
    assert f"Implicit dimension choice for {name} has been deprecated. Change the call to " \
           "include dim=X as an argument." in messages


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_glu(dim):
    check(lambda lib, x: lib.nn.functional.glu(x, dim), RNG.standard_normal((4, 6, 2)))


def _top(lib):
    """torch-level names (torch.selu, ...): dist_torch defines them in ops.activation."""
    return dt_activation if lib is dt else torch


def test_prelu_functional():
    x = RNG.standard_normal((2, 3, 4))
    check(lambda lib, t, w: lib.nn.functional.prelu(t, w), x, np.array([0.1, -0.3, 0.5]))
    check(lambda lib, t, w: lib.nn.functional.prelu(t, w), x, np.array([0.25]))
    check(lambda lib, t, w: _top(lib).prelu(t, w), x[0, 0], np.array(0.3))
    check(lambda lib, t, w: t.prelu(w), x, np.array([0.1, -0.3, 0.5]))


def test_torch_level_functions():
    check(lambda lib, x: _top(lib).selu(x), X)
    check(lambda lib, x: _top(lib).celu(x, 0.7), X)
    check(lambda lib, x: _top(lib).threshold(x, 0.2, 9.0), X)
    check(lambda lib, x: _top(lib).hardshrink(x, 0.7), X)
    check(lambda lib, x: x.hardshrink(), X)
    check(lambda lib, x: _top(lib).rrelu(x), X)


MODULES = [
    ("ReLU", ()), ("ReLU", (True,)), ("ReLU6", ()), ("ReLU6", (True,)), ("Sigmoid", ()),
    ("Tanh", ()), ("SiLU", ()), ("SiLU", (True,)), ("Mish", ()), ("Mish", (True,)),
    ("Hardswish", ()), ("Hardswish", (True,)), ("Hardsigmoid", ()), ("Hardsigmoid", (True,)),
    ("ELU", ()), ("ELU", (0.5, True)), ("CELU", ()), ("CELU", (2.0, True)), ("SELU", ()),
    ("SELU", (True,)), ("GLU", ()), ("GLU", (1,)), ("GELU", ()), ("GELU", ("tanh",)),
    ("Hardshrink", ()), ("Hardshrink", (0.3,)), ("Softshrink", ()), ("Softshrink", (0.3,)),
    ("LeakyReLU", ()), ("LeakyReLU", (0.2, True)), ("LogSigmoid", ()), ("Softplus", ()),
    ("Softplus", (2, 10)), ("Softsign", ()), ("Tanhshrink", ()), ("Threshold", (0.1, 20)),
    ("Threshold", (0.1, 20, True)), ("Hardtanh", ()), ("Hardtanh", (-2, 2, True)),
    ("RReLU", ()), ("RReLU", (0.1, 0.3, True)), ("Softmax", (1,)), ("Softmax", (-1,)),
    ("LogSoftmax", (1,)), ("Softmin", (0,)), ("Softmax2d", ()), ("PReLU", ()),
    ("PReLU", (4, 0.1)),
]


@pytest.mark.parametrize("name,args", MODULES)
def test_modules(name, args):
    ours, theirs = getattr(dt.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert sorted(n for n, _ in ours.named_parameters()) == \
        sorted(n for n, _ in theirs.named_parameters())
    inplace = bool(getattr(theirs, "inplace", False))
    x = RNG.standard_normal((2, 4, 3, 2))
    if inplace:  # in-place layers may not run on a leaf: give them a computed input
        class Wrap(dt.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, t):
                return self.m(t * 1.0)

        class TorchWrap(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, t):
                return self.m(t * 1.0)
        ours, theirs = Wrap(ours), TorchWrap(theirs)
    check_module(ours, theirs, x, train=False)


@pytest.mark.parametrize("args", [(), (None,)])
def test_softmax_module_without_dim(args):
    assert repr(dt.nn.Softmax(*args)) == repr(torch.nn.Softmax(*args)) == "Softmax(dim=None)"
    x = RNG.standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        check_module(dt.nn.Softmax(), torch.nn.Softmax(), x)
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        check_module(dt.nn.LogSoftmax(), torch.nn.LogSoftmax(), x)


def test_prelu_default_init():
    ours, theirs = dt.nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    assert ours.init == theirs.init and ours.num_parameters == theirs.num_parameters


GRAD_FN_CASES = [
    ("relu", "ReluBackward0"), ("relu6", "HardtanhBackward0"), ("leaky_relu", None),
    ("elu", None), ("selu", "EluBackward0"), ("celu", None), ("gelu", None), ("silu", None),
    ("mish", None), ("hardtanh", None), ("hardsigmoid", None), ("hardswish", None),
    ("softplus", None), ("logsigmoid", None), ("glu", None), ("hardshrink", None),
    ("softshrink", None), ("rrelu", None), ("softsign", None), ("tanhshrink", None),
]


@pytest.mark.parametrize("name,_", GRAD_FN_CASES)
def test_grad_fn_names(name, _):
    x = RNG.standard_normal((2, 4))
    ours = getattr(dt.nn.functional, name)(dt.tensor(x, requires_grad=True))
    theirs = getattr(torch.nn.functional, name)(torch.tensor(x, requires_grad=True))
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("name,kwargs", [e for e in ELEMENTWISE if e[0] != "rrelu"])
def test_dtypes(name, kwargs, dtype):
    x = np.array([-3.5, -1.0, -0.25, 0.0, 0.3, 2.0, 7.0])
    ours = _call(dt, name, dt.tensor(x).to(getattr(dt, dtype)), kwargs)
    theirs = _call(torch, name, torch.tensor(x).to(getattr(torch, dtype)), kwargs)
    assert str(ours.dtype) == str(theirs.dtype)
    tol = {"float16": 2e-3, "bfloat16": 1e-2}.get(dtype, 1e-6)
    np.testing.assert_allclose(np.asarray(ours.float()), theirs.float().numpy(), rtol=tol,
                               atol=tol)


ERRORS = {
    "int_gelu": lambda lib: lib.nn.functional.gelu(lib.tensor([1, 2])),
    "int_silu": lambda lib: lib.nn.functional.silu(lib.tensor([1, 2])),
    "int_elu": lambda lib: lib.nn.functional.elu(lib.tensor([1, 2])),
    "int_selu": lambda lib: lib.nn.functional.selu(lib.tensor([1, 2])),
    "int_leaky": lambda lib: lib.nn.functional.leaky_relu(lib.tensor([1, 2])),
    "int_softplus": lambda lib: lib.nn.functional.softplus(lib.tensor([1, 2])),
    "int_mish": lambda lib: lib.nn.functional.mish(lib.tensor([1, 2])),
    "int_logsigmoid": lambda lib: lib.nn.functional.logsigmoid(lib.tensor([1, 2])),
    "int_hardswish": lambda lib: lib.nn.functional.hardswish(lib.tensor([1, 2])),
    "int_hardsigmoid": lambda lib: lib.nn.functional.hardsigmoid(lib.tensor([1, 2])),
    "int_hardshrink": lambda lib: lib.nn.functional.hardshrink(lib.tensor([1, 2])),
    "int_softshrink": lambda lib: lib.nn.functional.softshrink(lib.tensor([1, 2])),
    "int_rrelu": lambda lib: lib.nn.functional.rrelu(lib.tensor([1, 2])),
    "int_prelu": lambda lib: lib.nn.functional.prelu(lib.tensor([1, 2]), lib.tensor([1])),
    "int_softmax": lambda lib: lib.nn.functional.softmax(lib.tensor([1, 2]), 0),
    "bool_relu": lambda lib: lib.nn.functional.relu(lib.tensor([True])),
    "bool_hardtanh": lambda lib: lib.nn.functional.hardtanh(lib.tensor([True])),
    "gelu_mode": lambda lib: lib.nn.functional.gelu(lib.zeros(2), approximate="foo"),
    "hardtanh_range": lambda lib: lib.nn.functional.hardtanh(lib.zeros(2), 2.0, 1.0),
    "glu_odd": lambda lib: lib.nn.functional.glu(lib.zeros(2, 3)),
    "glu_scalar": lambda lib: lib.nn.functional.glu(lib.tensor(1.0)),
    "prelu_channels": lambda lib: lib.nn.functional.prelu(lib.zeros(2, 3), lib.ones(2)),
    "prelu_1d": lambda lib: lib.nn.functional.prelu(lib.zeros(3), lib.ones(3)),
    "prelu_2d_weight": lambda lib: lib.nn.functional.prelu(lib.zeros(2, 3), lib.ones(3, 1)),
    "prelu_dtype": lambda lib: lib.nn.functional.prelu(lib.zeros(2, 3),
                                                       lib.ones(3, dtype=lib.float64)),
    "softmax2d_rank": lambda lib: lib.nn.Softmax2d()(lib.zeros(2, 3)),
    "inplace_leaf": lambda lib: lib.nn.functional.elu(lib.zeros(2, requires_grad=True),
                                                      inplace=True),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors(case):
    assert_same_error(ERRORS[case])


@pytest.mark.parametrize("name,kwargs", [("elu", {}), ("selu", {}), ("celu", {"alpha": 0.5}),
                                         ("softplus", {}), ("softplus", {"beta": 3.0}),
                                         ("logsigmoid", {}), ("mish", {}), ("silu", {})])
def test_float32_accuracy(name, kwargs):
    """The float32 fast paths (expm1, log1p) stay within a few ulps of torch, tails included."""
    x = np.concatenate([np.linspace(-30, 30, 601), [-1e-7, -1e-4, 1e-7, -60.0, -100.0, 80.0]])
    x = x.astype(np.float32)
    results = []
    for lib in (dt, torch):
        t = lib.tensor(x, requires_grad=True)
        y = _call(lib, name, t, kwargs)
        y.sum().backward()
        results.append((np.asarray(y.detach()), np.asarray(t.grad)))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=4e-6, atol=1e-7 if name == "mish" else 1e-30)
