"""torch.utils.checkpoint against torch and against the same model run without checkpointing."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import load_torch_weights

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))


def _model(lib, dropout=0.0):
    layers = [lib.nn.Linear(4, 6), lib.nn.Tanh()]
    if dropout:
        layers.append(lib.nn.Dropout(dropout))
    layers += [lib.nn.Linear(6, 2)]
    return lib.nn.Sequential(*layers).double()


def _pair(dropout=0.0):
    theirs = _model(torch, dropout)
    ours = _model(dt, dropout)
    load_torch_weights(ours, theirs)
    return ours, theirs


def _run(lib, model, x_array, reentrant, checkpointed=True):
    x = lib.tensor(x_array, requires_grad=True)
    if checkpointed:
        y = lib.utils.checkpoint.checkpoint(model, x, use_reentrant=reentrant)
    else:
        y = model(x)
    (y * y).sum().backward()
    return y, x.grad, [p.grad for p in model.parameters()]


@pytest.mark.parametrize("reentrant", [True, False])
def test_values_and_grads_match_torch(reentrant):
    ours, theirs = _pair()
    y1, gx1, gp1 = _run(dt, ours, X, reentrant)
    y2, gx2, gp2 = _run(torch, theirs, X, reentrant)
    assert_close(y1, y2, rtol=1e-12, atol=1e-12)
    assert_close(gx1, gx2, rtol=1e-12, atol=1e-12)
    for a, b in zip(gp1, gp2):
        assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert y1.grad_fn is not None and y1.requires_grad


@pytest.mark.parametrize("reentrant", [True, False])
def test_dropout_is_replayed_and_grads_equal_uncheckpointed(reentrant):
    model = _model(dt, dropout=0.5)
    state = dt.get_rng_state()
    y1, gx1, gp1 = _run(dt, model, X, reentrant)
    after = dt.get_rng_state()
    model.zero_grad()
    dt.set_rng_state(state)
    y2, gx2, gp2 = _run(dt, model, X, reentrant, checkpointed=False)
    # backward's recomputation must not advance the global generator
    assert np.array_equal(dt.get_rng_state().numpy(), after.numpy())
    assert np.array_equal(y1.detach().numpy(), y2.detach().numpy())
    assert np.array_equal(gx1.numpy(), gx2.numpy())
    for a, b in zip(gp1, gp2):
        assert np.array_equal(a.numpy(), b.numpy())


def test_preserve_rng_state_false_draws_a_new_mask():
    model = _model(dt, dropout=0.5)
    x = dt.tensor(np.ones((64, 4)), requires_grad=True)
    dt.manual_seed(3)
    y = dt.utils.checkpoint.checkpoint(model, x, use_reentrant=False, preserve_rng_state=False)
    y.sum().backward()
    g_free = x.grad.clone()
    x.grad = None
    model.zero_grad()
    dt.manual_seed(3)
    model(x).sum().backward()
    assert not np.array_equal(g_free.numpy(), x.grad.numpy())


W = RNG.standard_normal((4, 4))
OUTER = RNG.standard_normal((3, 4))


def _closure_grads(lib):
    """Non-reentrant checkpoint with autograd.grad, a kwarg, two outputs, a parameter and
    a non-leaf tensor from outside the region."""
    w = lib.tensor(W, requires_grad=True)
    outer = lib.tensor(OUTER, requires_grad=True)
    shifted = outer * 2.0  # a non-leaf tensor from outside the region

    def fn(x, *, scale):
        return (x @ w + shifted).sin() * scale, x.sum()

    x = lib.tensor(X, requires_grad=True)
    a, b = lib.utils.checkpoint.checkpoint(fn, x, use_reentrant=False, scale=3.0)
    gx, gw, go = lib.autograd.grad((a * a).sum() + b, (x, w, outer))
    return [gx, gw, go]


def test_non_reentrant_closures_match_torch():
    ours = _closure_grads(dt)
    theirs = _closure_grads(torch)
    for a, b in zip(ours, theirs):
        assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_parameters_get_grads_when_no_input_requires_grad():
    ours, theirs = _pair()
    for lib, model in ((dt, ours), (torch, theirs)):
        y = lib.utils.checkpoint.checkpoint(model, lib.tensor(X), use_reentrant=False)
        y.sum().backward()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12)


def test_reentrant_without_grad_inputs_warns_and_gives_no_graph():
    for lib in (dt, torch):
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
            y = lib.utils.checkpoint.checkpoint(_model(lib), lib.tensor(X), use_reentrant=True)
        assert not y.requires_grad


def test_retain_graph_allows_a_second_backward():
    model = _model(dt)
    x = dt.tensor(X, requires_grad=True)
    y = dt.utils.checkpoint.checkpoint(model, x, use_reentrant=False).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    assert_close(x.grad, first * 2, rtol=1e-12, atol=1e-12)


def test_under_no_grad_returns_plain_outputs():
    with dt.no_grad():
        y = dt.utils.checkpoint.checkpoint(_model(dt), dt.tensor(X, requires_grad=True),
                                           use_reentrant=False)
    assert y.grad_fn is None and not y.requires_grad


def test_float32_input():
    ours, theirs = _pair()
    ours.float()
    theirs.float()
    x = X.astype(np.float32)
    y1, gx1, _ = _run(dt, ours, x, False)
    y2, gx2, _ = _run(torch, theirs, x, False)
    assert y1.dtype == dt.float32 and gx1.dtype == dt.float32
    assert_close(gx1, gx2, rtol=1e-5, atol=1e-6, check_dtype=False)


@pytest.mark.parametrize("reentrant", [True, False])
@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential(reentrant, segments):
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 5),
                                 torch.nn.Sigmoid(), torch.nn.Linear(5, 2)).double()
    ours = dt.nn.Sequential(dt.nn.Linear(4, 5), dt.nn.ReLU(), dt.nn.Linear(5, 5),
                            dt.nn.Sigmoid(), dt.nn.Linear(5, 2)).double()
    load_torch_weights(ours, theirs)
    grads = []
    for lib, model in ((dt, ours), (torch, theirs)):
        x = lib.tensor(X, requires_grad=True)
        y = lib.utils.checkpoint.checkpoint_sequential(model, segments, x,
                                                       use_reentrant=reentrant)
        (y ** 2).sum().backward()
        grads.append([y, x.grad] + [p.grad for p in model.parameters()])
    for a, b in zip(*grads):
        assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_use_reentrant_warning_and_errors():
    for lib in (dt, torch):
        x = lib.tensor(X, requires_grad=True)
        with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
            lib.utils.checkpoint.checkpoint(lib.sin, x)
        with pytest.warns(UserWarning, match="checkpoint_sequential: the use_reentrant"):
            lib.utils.checkpoint.checkpoint_sequential([lib.sin, lib.cos], 2, x)
        with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
            lib.utils.checkpoint.checkpoint(lib.sin, x, use_reentrant=True, foo=1)
        with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
            lib.utils.checkpoint.checkpoint_sequential([lib.sin], 1, x, use_reentrant=False,
                                                       foo=1)
        with pytest.raises(ValueError, match="`context_fn` or `debug` is only supported"):
            lib.utils.checkpoint.checkpoint(lib.sin, x, use_reentrant=True, debug=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dt.utils.checkpoint.checkpoint(dt.sin, dt.tensor(X, requires_grad=True),
                                       use_reentrant=False)
