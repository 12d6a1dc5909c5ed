"""Optimizers against torch: 25-step float64 trajectories (parameters and state after every
step) for every option combination, param groups, state-dict round trips and interchange,
errors and reprs."""

import copy
import itertools

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close

RTOL, ATOL = 1e-12, 1e-13
STEPS = 25

_rng = np.random.default_rng(0)
INIT = [_rng.standard_normal((4, 5)) * 0.5, _rng.standard_normal(5) * 0.1,
        _rng.standard_normal((5, 2)) * 0.5]
X = _rng.standard_normal((8, 4))
Y = _rng.standard_normal((8, 2))


def make_params(lib, dtype="float64"):
    return [lib.tensor(a.astype(dtype), requires_grad=True) for a in INIT]


def loss_of(lib, params, sign=1.0):
    """A small bounded regression loss (an MLP with an L4 penalty); ``sign=-1`` makes it a
    quantity to maximize."""
    w1, b1, w2 = params
    x, y = lib.tensor(X, dtype=w1.dtype), lib.tensor(Y, dtype=w1.dtype)
    out = (x @ w1 + b1).tanh() @ w2
    loss = ((out - y) ** 2).mean() + 0.01 * (w1 ** 4).sum()
    return loss * sign


def compare_state(ours, theirs, ours_params, theirs_params):
    assert len(ours.state) == len(theirs.state)
    for p_o, p_t in zip(ours_params, theirs_params):
        s_o, s_t = ours.state[p_o], theirs.state[p_t]
        assert list(s_o) == list(s_t), f"state keys {list(s_o)} vs torch {list(s_t)}"
        for key, v_t in s_t.items():
            v_o = s_o[key]
            assert isinstance(v_o, dt.Tensor), f"{key} is a {type(v_o).__name__}"
            assert str(v_o.dtype) == str(v_t.dtype), f"{key}: {v_o.dtype} vs {v_t.dtype}"
            assert tuple(v_o.shape) == tuple(v_t.shape)
            assert_close(v_o, v_t, rtol=RTOL, atol=ATOL, check_dtype=False)


def compare_params(ours_params, theirs_params, rtol=RTOL, atol=ATOL):
    for p_o, p_t in zip(ours_params, theirs_params):
        assert_close(p_o, p_t, rtol=rtol, atol=atol, check_dtype=False)


def train_pair(name, kwargs, groups=None, steps=STEPS, sign=1.0):
    """Run the optimizer ``name`` in both libraries, comparing after every step."""
    ours_params, theirs_params = make_params(dt), make_params(torch)

    def build(lib, params):
        if groups is None:
            return getattr(lib.optim, name)(params, **kwargs)
        spec = [dict(g, params=[params[i] for i in g["params"]]) for g in groups]
        return getattr(lib.optim, name)(spec, **kwargs)

    ours, theirs = build(dt, ours_params), build(torch, theirs_params)
    for _ in range(steps):
        for opt, lib, params in ((ours, dt, ours_params), (theirs, torch, theirs_params)):
            opt.zero_grad()
            loss_of(lib, params, sign).backward()
            opt.step()
        compare_params(ours_params, theirs_params)
        compare_state(ours, theirs, ours_params, theirs_params)
    return ours, theirs, ours_params, theirs_params


def _sgd_cases():
    for momentum, dampening, nesterov in [(0, 0, False), (0.9, 0, False), (0.9, 0, True),
                                          (0.9, 0.3, False)]:
        for weight_decay, maximize in itertools.product([0, 0.05], [False, True]):
            yield dict(lr=0.05, momentum=momentum, dampening=dampening, nesterov=nesterov,
                       weight_decay=weight_decay, maximize=maximize)


def _adam_cases():
    for amsgrad, weight_decay, maximize in itertools.product([False, True], [0, 0.1],
                                                             [False, True]):
        yield dict(lr=0.02, amsgrad=amsgrad, weight_decay=weight_decay, maximize=maximize)
    yield dict(lr=0.02, betas=(0.3, 0.5), eps=1e-3)  # lerp's other branch (weight >= 0.5)


def _rmsprop_cases():
    for centered, momentum, weight_decay, maximize in itertools.product(
            [False, True], [0, 0.9], [0, 0.1], [False, True]):
        yield dict(lr=0.01, centered=centered, momentum=momentum, weight_decay=weight_decay,
                   maximize=maximize)
    yield dict(lr=0.01, alpha=0.3, eps=1e-2, centered=True)  # lerp weight >= 0.5


def _adagrad_cases():
    for lr_decay, initial, weight_decay, maximize in itertools.product(
            [0, 0.05], [0, 0.1], [0, 0.1], [False, True]):
        yield dict(lr=0.1, lr_decay=lr_decay, initial_accumulator_value=initial,
                   weight_decay=weight_decay, maximize=maximize)


def _adadelta_cases():
    for rho, weight_decay, maximize in itertools.product([0.9, 0.5], [0, 0.1], [False, True]):
        yield dict(lr=0.5, rho=rho, weight_decay=weight_decay, maximize=maximize)


CASES = ([("SGD", kw) for kw in _sgd_cases()]
         + [(name, kw) for name in ("Adam", "AdamW") for kw in _adam_cases()]
         + [("RMSprop", kw) for kw in _rmsprop_cases()]
         + [("Adagrad", kw) for kw in _adagrad_cases()]
         + [("Adadelta", kw) for kw in _adadelta_cases()])


@pytest.mark.parametrize("name,kwargs", CASES,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                              for n, kw in CASES])
def test_trajectory(name, kwargs):
    # maximize a negated loss, so that both directions follow the same (bounded) path
    sign = -1.0 if kwargs.get("maximize") else 1.0
    train_pair(name, kwargs, sign=sign)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_default_options(name):
    train_pair(name, {}, steps=10)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.01, momentum=0.9)), ("Adam", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5)), ("Adagrad", dict(lr=0.05)),
])
def test_float32_trajectory(name, kwargs):
    ours_params, theirs_params = make_params(dt, "float32"), make_params(torch, "float32")
    ours = getattr(dt.optim, name)(ours_params, **kwargs)
    theirs = getattr(torch.optim, name)(theirs_params, **kwargs)
    for _ in range(10):
        for opt, lib, params in ((ours, dt, ours_params), (theirs, torch, theirs_params)):
            opt.zero_grad()
            loss_of(lib, params).backward()
            opt.step()
        compare_params(ours_params, theirs_params, rtol=1e-5, atol=1e-6)
    for p in ours_params:
        assert p.dtype == dt.float32
        for key, value in ours.state[p].items():
            assert value.dtype == dt.float32, key


GROUPS = [dict(params=[0, 1]), dict(params=[2], lr=0.005, weight_decay=0.1)]
GROUP_CASES = [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.02)),
               ("AdamW", dict(lr=0.02, amsgrad=True)), ("RMSprop", dict(centered=True)),
               ("Adagrad", dict(lr=0.1)), ("Adadelta", dict())]


@pytest.mark.parametrize("name,kwargs", GROUP_CASES)
def test_param_groups(name, kwargs):
    ours, theirs, _, _ = train_pair(name, kwargs, groups=GROUPS, steps=15)
    assert repr(ours) == repr(theirs)
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert sd_o["param_groups"] == sd_t["param_groups"]
    assert list(sd_o["state"]) == list(sd_t["state"])


def _continue(opt, lib, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss_of(lib, params).backward()
        opt.step()


@pytest.mark.parametrize("name,kwargs", GROUP_CASES + [("Adam", dict(amsgrad=True)),
                                                       ("RMSprop", dict(momentum=0.9))])
def test_state_dict_round_trip(name, kwargs):
    """Save at step 10 into a fresh optimizer (on fresh parameters), continue: same path."""
    results = []
    for lib in (dt, torch):
        params = make_params(lib)
        spec = [dict(g, params=[params[i] for i in g["params"]]) for g in GROUPS]
        opt = getattr(lib.optim, name)(spec, **kwargs)
        _continue(opt, lib, params, 10)
        saved = copy.deepcopy(opt.state_dict())
        values = [p.detach().clone() for p in params]
        _continue(opt, lib, params, 15)
        fresh = [v.clone().requires_grad_(True) for v in values]
        spec = [dict(g, params=[fresh[i] for i in g["params"]]) for g in GROUPS]
        resumed = getattr(lib.optim, name)(spec, lr=123.0)
        resumed.load_state_dict(saved)
        assert resumed.param_groups[1]["lr"] == 0.005  # options come from the state dict
        _continue(resumed, lib, fresh, 15)
        for p, q in zip(params, fresh):  # resuming reproduces the uninterrupted run exactly
            assert np.array_equal(np.asarray(p.detach()), np.asarray(q.detach()))
        results.append((resumed, fresh))
    (ours, ours_params), (theirs, theirs_params) = results
    compare_params(ours_params, theirs_params)
    compare_state(ours, theirs, ours_params, theirs_params)


def _torch_state_to_ours(state_dict):
    def convert(value):
        if isinstance(value, torch.Tensor):
            return dt.tensor(value.numpy().copy())
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return copy.deepcopy(value)
    return convert(state_dict)


@pytest.mark.parametrize("name,kwargs", GROUP_CASES)
def test_load_torch_state_dict(name, kwargs):
    """torch's state dict (tensors converted) loads into ours and continues as torch does."""
    theirs_params = make_params(torch)
    spec = [dict(g, params=[theirs_params[i] for i in g["params"]]) for g in GROUPS]
    theirs = getattr(torch.optim, name)(spec, **kwargs)
    _continue(theirs, torch, theirs_params, 8)
    ours_params = [dt.tensor(p.detach().numpy().copy(), requires_grad=True)
                   for p in theirs_params]
    spec = [dict(g, params=[ours_params[i] for i in g["params"]]) for g in GROUPS]
    ours = getattr(dt.optim, name)(spec, **kwargs)
    ours.load_state_dict(_torch_state_to_ours(theirs.state_dict()))
    compare_state(ours, theirs, ours_params, theirs_params)
    _continue(theirs, torch, theirs_params, 8)
    _continue(ours, dt, ours_params, 8)
    compare_params(ours_params, theirs_params)
    compare_state(ours, theirs, ours_params, theirs_params)


def test_state_dict_format_matches_torch():
    results = []
    for lib in (dt, torch):
        params = make_params(lib)
        opt = lib.optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.1}],
                            lr=0.01, momentum=0.9)
        params[0].grad = lib.ones_like(params[0])
        params[2].grad = lib.ones_like(params[2])
        opt.step()
        results.append(opt.state_dict())
    ours, theirs = results
    assert ours["param_groups"] == theirs["param_groups"]
    assert sorted(ours["state"]) == sorted(theirs["state"]) == [0, 2]
    for k in theirs["state"]:
        assert list(ours["state"][k]) == list(theirs["state"][k])


def test_load_casts_to_param_dtype_but_keeps_step():
    results = []
    for lib in (dt, torch):
        p64 = lib.tensor(INIT[1], requires_grad=True)
        opt = lib.optim.Adam([p64])
        p64.grad = lib.ones_like(p64)
        opt.step()
        p32 = lib.tensor(INIT[1].astype("float32"), requires_grad=True)
        other = lib.optim.Adam([p32])
        other.load_state_dict(opt.state_dict())
        state = other.state[p32]
        results.append({k: (str(v.dtype), v is opt.state[p64][k]) for k, v in state.items()})
    assert results[0] == results[1]
    assert results[0]["step"] == ("torch.float32", True)
    assert results[0]["exp_avg"] == ("torch.float32", False)


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - comparing whatever both libraries raise
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("case", [
    lambda lib, p: lib.optim.SGD([p]).load_state_dict({"state": {}, "param_groups": []}),
    lambda lib, p: lib.optim.SGD([p]).load_state_dict(
        {"state": {}, "param_groups": [{"params": [0, 1]}]}),
    lambda lib, p: lib.optim.SGD([{"params": [p]}, {"params": [p]}]),
    lambda lib, p: lib.optim.SGD([p]).add_param_group({"params": [p]}),
    lambda lib, p: lib.optim.SGD([p]).add_param_group([p]),
    lambda lib, p: lib.optim.SGD([p]).add_param_group({"params": {p}}),
    lambda lib, p: lib.optim.SGD(p),
    lambda lib, p: lib.optim.SGD([]),
    lambda lib, p: lib.optim.SGD([1.0]),
    lambda lib, p: lib.optim.SGD([p * 2]),
    lambda lib, p: lib.optim.SGD([p], lr=-0.1),
    lambda lib, p: lib.optim.SGD([p], momentum=-0.1),
    lambda lib, p: lib.optim.SGD([p], weight_decay=-0.1),
    lambda lib, p: lib.optim.SGD([p], nesterov=True),
    lambda lib, p: lib.optim.SGD([p], momentum=0.9, dampening=0.1, nesterov=True),
    lambda lib, p: lib.optim.SGD([p], foreach=True, fused=True),
    lambda lib, p: lib.optim.Adam([p], eps=-1.0),
    lambda lib, p: lib.optim.Adam([p], betas=(1.0, 0.9)),
    lambda lib, p: lib.optim.Adam([p], betas=(0.9, -0.1)),
    lambda lib, p: lib.optim.AdamW([p], weight_decay=-1),
    lambda lib, p: lib.optim.RMSprop([p], alpha=-1),
    lambda lib, p: lib.optim.RMSprop([p], momentum=-1),
    lambda lib, p: lib.optim.Adagrad([p], lr_decay=-1),
    lambda lib, p: lib.optim.Adagrad([p], initial_accumulator_value=-1),
    lambda lib, p: lib.optim.Adagrad([p], eps=-1),
    lambda lib, p: lib.optim.Adadelta([p], rho=1.5),
    lambda lib, p: lib.optim.Adadelta([p], eps=-1),
])
def test_errors_match_torch(case):
    ours = _error(lambda: case(dt, dt.tensor([1.0, 2.0], requires_grad=True)))
    theirs = _error(lambda: case(torch, torch.tensor([1.0, 2.0], requires_grad=True)))
    assert theirs is not None
    assert ours == theirs


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {}), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("Adam", {}),
    ("Adam", dict(amsgrad=True, decoupled_weight_decay=True)), ("AdamW", {}),
    ("RMSprop", dict(centered=True)), ("Adagrad", dict(lr_decay=0.1)), ("Adadelta", {}),
])
def test_repr_and_defaults(name, kwargs):
    ours = getattr(dt.optim, name)([dt.zeros(2, requires_grad=True)], **kwargs)
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.defaults == theirs.defaults
    assert list(ours.defaults) == list(theirs.defaults)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta"])
def test_state_after_construction(name):
    """Adagrad fills its state at construction; the others on the first step."""
    ours = getattr(dt.optim, name)([dt.zeros(2, requires_grad=True)])
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
    assert len(ours.state) == len(theirs.state)
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert {k: list(v) for k, v in sd_o["state"].items()} == \
        {k: list(v) for k, v in sd_t["state"].items()}


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    results = []
    for lib in (dt, torch):
        params = make_params(lib)
        opt = lib.optim.SGD(params)
        loss_of(lib, params).backward()
        opt.zero_grad(set_to_none=set_to_none)
        results.append([None if p.grad is None else np.asarray(p.grad).tolist()
                        for p in params])
    assert results[0] == results[1]


def _closure_run(lib):
    params = make_params(lib)
    extra = lib.tensor([1.0, 2.0], requires_grad=True)
    opt = lib.optim.Adam(params + [extra], lr=0.01)

    def closure():
        opt.zero_grad()
        loss = loss_of(lib, params)
        loss.backward()
        return loss

    values = [opt.step(closure).item() for _ in range(5)]
    assert extra.tolist() == [1.0, 2.0] and len(opt.state[extra]) == 0
    return values, [np.asarray(p.detach()).copy() for p in params]


def test_closure_and_skipped_params():
    """step(closure) returns the closure's loss; parameters without grads are left alone."""
    (ours_losses, ours_params), (theirs_losses, theirs_params) = map(_closure_run, (dt, torch))
    np.testing.assert_allclose(ours_losses, theirs_losses, rtol=1e-12)
    for a, b in zip(ours_params, theirs_params):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def test_model_training_matches():
    """An nn model trained with SGD+momentum agrees with torch's parameter by parameter."""
    models = []
    for lib in (dt, torch):
        lib.manual_seed(0)
        models.append(lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.Tanh(),
                                        lib.nn.Linear(6, 2)).double())
    ours_model, theirs_model = models
    ours_model.load_state_dict({k: dt.tensor(v.detach().numpy().copy())
                                for k, v in theirs_model.state_dict().items()})
    ours = dt.optim.SGD(ours_model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    theirs = torch.optim.SGD(theirs_model.parameters(), lr=0.1, momentum=0.9,
                             weight_decay=1e-3)
    for _ in range(STEPS):
        for opt, lib, model in ((ours, dt, ours_model), (theirs, torch, theirs_model)):
            opt.zero_grad()
            out = model(lib.tensor(X))
            ((out - lib.tensor(Y)) ** 2).mean().backward()
            opt.step()
        compare_params(list(ours_model.parameters()), list(theirs_model.parameters()),
                       rtol=1e-11, atol=1e-12)


def test_step_hook_arguments():
    seen = []
    for lib in (dt, torch):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)])
        calls = []
        opt.register_step_pre_hook(
            lambda o, args, kwargs, calls=calls: calls.append(("pre", args[0] is o, kwargs)))
        opt.register_step_post_hook(
            lambda o, args, kwargs, calls=calls: calls.append(("post", len(args), kwargs)))
        opt.step()
        opt.step(closure=None)
        other = lib.optim.SGD([lib.zeros(1, requires_grad=True)])
        other.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": lambda: 7}))
        seen.append((calls, other.step()))
    assert seen[0] == seen[1]


_ZERO_DIM_CASES = [(name, kw) for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
                                           "Adadelta", "NAdam", "RAdam", "Adamax", "ASGD",
                                           "Adafactor")
                   for kw in ({"maximize": True}, {"weight_decay": 0.1},
                              {"weight_decay": 0.1, "maximize": True})]
_ZERO_DIM_CASES += [("SGD", {"momentum": 0.9, "nesterov": True}), ("Rprop", {"maximize": True}),
                    ("RMSprop", {"momentum": 0.9, "centered": True}),
                    ("Adam", {"amsgrad": True, "weight_decay": 0.1})]


@pytest.mark.parametrize("name, kw", _ZERO_DIM_CASES,
                         ids=[f"{n}-{'-'.join(k)}" for n, k in _ZERO_DIM_CASES])
def test_zero_dim_parameters_follow_torch(name, kw):
    """A 0-dim parameter with decay or maximize (NumPy returns scalars for 0-dim arithmetic:
    every temporary must still be an array)."""
    if name == "SGD":
        kw = dict(kw, lr=0.1)
    trajectories = []
    for lib in (dt, torch):
        p = lib.nn.Parameter(lib.tensor(1.0, dtype=lib.float64))
        opt = getattr(lib.optim, name)([p], **kw)
        values = []
        for g in (0.5, -0.25, 0.125):
            p.grad = lib.tensor(g, dtype=lib.float64)
            opt.step()
            values.append(p.item())
        trajectories.append(values)
    np.testing.assert_allclose(trajectories[0], trajectories[1], rtol=1e-13, atol=1e-15)
