"""NAdam, RAdam, Adamax, ASGD, Rprop, Adafactor and LBFGS against torch: float64 trajectories
(parameters and state after every step, with a 0-dim parameter, a 3-dim one and one without a
gradient) for the option combinations that change the math, state-dict round trips and
loading torch's state, LBFGS on a Rosenbrock closure (both line searches), errors, reprs."""

import copy
import itertools

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close

RTOL, ATOL = 1e-12, 1e-13
STEPS = 22

_rng = np.random.default_rng(1)
INIT = [_rng.standard_normal((4, 5)) * 0.5, _rng.standard_normal(5) * 0.1,
        _rng.standard_normal((5, 2)) * 0.5, np.array(0.7), _rng.standard_normal((2, 3, 2)),
        _rng.standard_normal(3)]
X = _rng.standard_normal((8, 4))
Y = _rng.standard_normal((8, 2))
NO_GRAD = 5  # INIT[5] takes no part in the loss: it never gets a gradient


def make_params(lib, dtype="float64"):
    return [lib.tensor(a.astype(dtype), requires_grad=True) for a in INIT]


def loss_of(lib, params, sign=1.0):
    """A small bounded loss over all parameters but the last; ``sign=-1`` makes it a
    quantity to maximize."""
    w1, b1, w2, s, w3 = params[:NO_GRAD]
    x, y = lib.tensor(X, dtype=w1.dtype), lib.tensor(Y, dtype=w1.dtype)
    out = (x @ w1 + b1).tanh() @ w2 * s.tanh()
    loss = ((out - y) ** 2).mean() + 0.01 * (w1 ** 4).sum() + 0.1 * ((w3 - 0.3).tanh() ** 2).sum()
    return loss * sign


def compare_values(ours, theirs, where, rtol=RTOL, atol=ATOL):
    """Recursively: tensors (dtype, shape, values), lists, numbers (type and value)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, dt.Tensor), f"{where}: a {type(ours).__name__}, not a Tensor"
        assert str(ours.dtype) == str(theirs.dtype), f"{where}: {ours.dtype} vs {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), where
        assert_close(ours, theirs, rtol=rtol, atol=atol, check_dtype=False)
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            compare_values(a, b, f"{where}[{i}]", rtol, atol)
    elif theirs is None or isinstance(theirs, (bool, int, str)):
        assert type(ours) is type(theirs) and ours == theirs, f"{where}: {ours!r} vs {theirs!r}"
    else:
        assert isinstance(ours, float) and isinstance(theirs, float), where
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=where)


def compare_state(ours, theirs, ours_params, theirs_params, rtol=RTOL, atol=ATOL):
    assert len(ours.state) == len(theirs.state)
    for i, (p_o, p_t) in enumerate(zip(ours_params, theirs_params)):
        assert (p_o in ours.state) == (p_t in theirs.state), f"param {i}"
        if p_t not in theirs.state:
            continue
        s_o, s_t = ours.state[p_o], theirs.state[p_t]
        assert list(s_o) == list(s_t), f"state keys {list(s_o)} vs torch {list(s_t)}"
        for key, v_t in s_t.items():
            compare_values(s_o[key], v_t, f"param {i} {key}", rtol, atol)


def compare_params(ours_params, theirs_params, rtol=RTOL, atol=ATOL):
    for p_o, p_t in zip(ours_params, theirs_params):
        assert_close(p_o, p_t, rtol=rtol, atol=atol, check_dtype=False)


def _continue(opt, lib, params, steps, sign=1.0):
    for _ in range(steps):
        opt.zero_grad()
        loss_of(lib, params, sign).backward()
        opt.step()


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
        _continue(ours, dt, ours_params, 1, sign)
        _continue(theirs, torch, theirs_params, 1, sign)
        compare_params(ours_params, theirs_params)
        compare_state(ours, theirs, ours_params, theirs_params)
    assert len(ours.state) == NO_GRAD  # the parameter without a gradient has no state
    return ours, theirs, ours_params, theirs_params


def _decay_cases(**extra):
    for weight_decay, maximize in itertools.product([0, 0.1], [False, True]):
        yield dict(extra, weight_decay=weight_decay, maximize=maximize)


def _cases():
    for decoupled in (False, True):
        for kw in _decay_cases(lr=0.01, decoupled_weight_decay=decoupled):
            yield "NAdam", kw
            yield "RAdam", kw
    yield "NAdam", dict(lr=0.02, betas=(0.3, 0.5), eps=1e-3, momentum_decay=0.1)
    yield "RAdam", dict(lr=0.02, betas=(0.3, 0.8), eps=1e-3)  # rectified from step 7 on
    for kw in _decay_cases(lr=0.01):
        yield "Adamax", kw
    yield "Adamax", dict(lr=0.05, betas=(0.3, 0.5), eps=1e-2)
    for t0 in (1e6, 5):
        for kw in _decay_cases(lr=0.05, t0=t0):
            yield "ASGD", kw
    yield "ASGD", dict(lr=0.1, lambd=0.05, alpha=0.5, t0=0)
    for maximize in (False, True):
        yield "Rprop", dict(lr=0.01, maximize=maximize)
    yield "Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.08))  # clamps
    for kw in _decay_cases(lr=0.01):
        yield "Adafactor", kw
    yield "Adafactor", dict(lr=0.5, eps=(1e-20, 0.05), d=1.5, beta2_decay=-0.5)
    yield "Adafactor", dict(lr=0.3, eps=(0.01, 1e-3), d=1.0, weight_decay=0.05)
    # foreach=True: torch's multi-tensor code, which agrees with its per-tensor one here
    # (not for ASGD, whose multi-tensor eta is not rounded through the default dtype)
    yield "NAdam", dict(lr=0.01, weight_decay=0.1, foreach=True)
    yield "RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, foreach=True)
    yield "Adamax", dict(lr=0.01, maximize=True, foreach=True)
    yield "Rprop", dict(lr=0.01, foreach=True)
    yield "Adafactor", dict(lr=0.01, weight_decay=0.1, foreach=True)


CASES = list(_cases())


@pytest.mark.parametrize("name,kwargs", CASES,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                              for n, kw in CASES])
def test_trajectory(name, kwargs):
    # maximize a negated loss, so that both directions follow the same (bounded) path
    train_pair(name, kwargs, sign=-1.0 if kwargs.get("maximize") else 1.0)


NAMES = ["NAdam", "RAdam", "Adamax", "ASGD", "Rprop", "Adafactor"]


@pytest.mark.parametrize("name", NAMES)
def test_default_options(name):
    train_pair(name, {}, steps=10)


@pytest.mark.parametrize("name", NAMES)
def test_float32_trajectory(name):
    ours_params, theirs_params = make_params(dt, "float32"), make_params(torch, "float32")
    ours = getattr(dt.optim, name)(ours_params, lr=0.01)
    theirs = getattr(torch.optim, name)(theirs_params, lr=0.01)
    for _ in range(10):
        _continue(ours, dt, ours_params, 1)
        _continue(theirs, torch, theirs_params, 1)
        compare_params(ours_params, theirs_params, rtol=1e-5, atol=1e-6)
    compare_state(ours, theirs, ours_params, theirs_params, rtol=1e-4, atol=1e-6)


GROUPS = [dict(params=[0, 1, 3]), dict(params=[2, 4, 5], lr=0.005)]
GROUP_CASES = [("NAdam", dict(lr=0.01, weight_decay=0.1)), ("RAdam", dict(lr=0.01)),
               ("Adamax", dict(lr=0.01)), ("ASGD", dict(lr=0.05, t0=3)),
               ("Rprop", dict(lr=0.01)), ("Adafactor", dict(lr=0.02))]


@pytest.mark.parametrize("name,kwargs", GROUP_CASES)
def test_param_groups(name, kwargs):
    ours, theirs, _, _ = train_pair(name, kwargs, groups=GROUPS, steps=12)
    assert repr(ours) == repr(theirs)
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    assert sd_o["param_groups"] == sd_t["param_groups"]
    assert list(sd_o["state"]) == list(sd_t["state"])


@pytest.mark.parametrize("name,kwargs", GROUP_CASES)
def test_state_dict_round_trip(name, kwargs):
    """Save at step 8 into a fresh optimizer (on fresh parameters), continue: same path."""
    results = []
    for lib in (dt, torch):
        params = make_params(lib)
        spec = [dict(g, params=[params[i] for i in g["params"]]) for g in GROUPS]
        opt = getattr(lib.optim, name)(spec, **kwargs)
        _continue(opt, lib, params, 8)
        saved = copy.deepcopy(opt.state_dict())
        values = [p.detach().clone() for p in params]
        _continue(opt, lib, params, 8)
        fresh = [v.clone().requires_grad_(True) for v in values]
        spec = [dict(g, params=[fresh[i] for i in g["params"]]) for g in GROUPS]
        resumed = getattr(lib.optim, name)(spec, lr=123.0)
        resumed.load_state_dict(saved)
        assert resumed.param_groups[1]["lr"] == 0.005  # options come from the state dict
        _continue(resumed, lib, fresh, 8)
        # resuming reproduces the uninterrupted run exactly, except where loading casts the
        # 0-dim float32 state scalars (mu_product, eta, mu) to the float64 parameter dtype
        if name not in ("NAdam", "ASGD"):
            for p, q in zip(params, fresh):
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
        if isinstance(value, list):
            return [convert(v) for v in value]
        return copy.deepcopy(value)
    return convert(state_dict)


@pytest.mark.parametrize("name,kwargs", GROUP_CASES)
def test_load_torch_state_dict(name, kwargs):
    """torch's state dict (tensors converted) loads into ours as into torch's optimizer (the
    same casts), and both continue the same way."""
    source_params = make_params(torch)
    spec = [dict(g, params=[source_params[i] for i in g["params"]]) for g in GROUPS]
    source = getattr(torch.optim, name)(spec, **kwargs)
    _continue(source, torch, source_params, 6)
    saved = source.state_dict()
    theirs_params = [p.detach().clone().requires_grad_(True) for p in source_params]
    ours_params = [dt.tensor(p.detach().numpy().copy(), requires_grad=True)
                   for p in source_params]
    optimizers = []
    for lib, params, state in ((dt, ours_params, _torch_state_to_ours(saved)),
                               (torch, theirs_params, copy.deepcopy(saved))):
        spec = [dict(g, params=[params[i] for i in g["params"]]) for g in GROUPS]
        opt = getattr(lib.optim, name)(spec, **kwargs)
        opt.load_state_dict(state)
        optimizers.append(opt)
    ours, theirs = optimizers
    compare_state(ours, theirs, ours_params, theirs_params)
    _continue(theirs, torch, theirs_params, 6)
    _continue(ours, dt, ours_params, 6)
    compare_params(ours_params, theirs_params)
    compare_state(ours, theirs, ours_params, theirs_params)


# --------------------------------------------------------------------------- LBFGS

ROSEN_INIT = [np.array([-1.2, 1.0, -0.5]), np.array(0.8), np.array([0.3, -0.2])]


def rosenbrock(lib, params):
    """Rosenbrock over the first two parameters; the third never gets a gradient."""
    x = lib.cat([params[0], params[1].reshape(1)])
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def run_lbfgs(lib, kwargs, steps, state_dict=None):
    params = [lib.tensor(a, requires_grad=True) for a in ROSEN_INIT]
    opt = lib.optim.LBFGS(params, **kwargs)
    if state_dict is not None:
        opt.load_state_dict(state_dict)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(lib, params)
        loss.backward()
        return loss

    for _ in range(steps):
        yield opt, params, opt.step(closure)


LBFGS_CASES = [  # (options, steps): lr=1 without a line search is the most chaotic
    (dict(), 2),
    (dict(line_search_fn="strong_wolfe"), 5),
    (dict(lr=0.5, max_iter=4, history_size=3), 5),
    (dict(max_iter=7, history_size=2, line_search_fn="strong_wolfe"), 5),
    (dict(max_iter=50, max_eval=30, tolerance_change=1e-6, line_search_fn="strong_wolfe"), 5),
    (dict(lr=0.1, max_iter=3, tolerance_grad=1e-3), 5),
]


# Rosenbrock is ill-conditioned: last-bit differences in the loss and gradient (summation
# order) grow over the iterations. The first step agrees to 1e-12; later ones to 1e-6, with
# the evaluation and iteration counts (and the state's structure) exactly torch's.
LATER_RTOL = 1e-6


@pytest.mark.parametrize("kwargs,steps", LBFGS_CASES, ids=[str(kw) for kw, _ in LBFGS_CASES])
def test_lbfgs_rosenbrock(kwargs, steps):
    losses = []
    for step, ((ours, o_params, o_loss), (theirs, t_params, t_loss)) in enumerate(zip(
            run_lbfgs(dt, kwargs, steps), run_lbfgs(torch, kwargs, steps))):
        rtol, atol = (RTOL, ATOL) if step == 0 else (LATER_RTOL, 1e-9)
        assert isinstance(o_loss, dt.Tensor)
        np.testing.assert_allclose(o_loss.item(), t_loss.item(), rtol=rtol, atol=atol)
        compare_params(o_params, t_params, rtol=rtol, atol=atol)
        compare_state(ours, theirs, o_params, t_params, rtol=rtol, atol=atol)
        losses.append(o_loss.item())
    assert losses[-1] < losses[0]
    assert o_params[2].tolist() == ROSEN_INIT[2].tolist()  # no gradient: never moved


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_load_torch_state(line_search_fn):
    """torch's LBFGS state after 2 steps (tensors converted) continues as torch does."""
    kwargs = dict(max_iter=3, history_size=4, line_search_fn=line_search_fn)
    theirs_run = run_lbfgs(torch, kwargs, 5)
    for _ in range(2):
        theirs, t_params, _ = next(theirs_run)
    o_params = [dt.tensor(p.detach().numpy().copy(), requires_grad=True) for p in t_params]
    ours = dt.optim.LBFGS(o_params, **kwargs)
    ours.load_state_dict(_torch_state_to_ours(copy.deepcopy(theirs.state_dict())))
    compare_state(ours, theirs, o_params, t_params)

    def closure():
        ours.zero_grad()
        loss = rosenbrock(dt, o_params)
        loss.backward()
        return loss

    for theirs, t_params, t_loss in theirs_run:
        o_loss = ours.step(closure)
        np.testing.assert_allclose(o_loss.item(), t_loss.item(), rtol=LATER_RTOL)
        compare_params(o_params, t_params, rtol=LATER_RTOL, atol=1e-9)
        compare_state(ours, theirs, o_params, t_params, rtol=LATER_RTOL, atol=1e-9)


def test_lbfgs_state_dict_round_trip():
    kwargs = dict(max_iter=4, history_size=3, line_search_fn="strong_wolfe")
    *_, (ours, o_params, _) = run_lbfgs(dt, kwargs, 2)
    saved = copy.deepcopy(ours.state_dict())
    *_, (theirs, _, _) = run_lbfgs(torch, kwargs, 2)
    sd_t = theirs.state_dict()
    assert list(saved["state"]) == list(sd_t["state"]) == [0]
    assert list(saved["state"][0]) == list(sd_t["state"][0])
    assert saved["param_groups"] == sd_t["param_groups"]
    fresh = [p.detach().clone().requires_grad_(True) for p in o_params]
    resumed = dt.optim.LBFGS(fresh, **kwargs)
    resumed.load_state_dict(saved)

    def closure(opt, params):
        opt.zero_grad()
        loss = rosenbrock(dt, params)
        loss.backward()
        return loss

    ours.step(lambda: closure(ours, o_params))
    resumed.step(lambda: closure(resumed, fresh))
    for p, q in zip(o_params, fresh):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())


# --------------------------------------------------------------------------- errors, reprs

def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - comparing whatever both libraries raise
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("case", [
    lambda lib, p: lib.optim.NAdam([p], lr=-1),
    lambda lib, p: lib.optim.NAdam([p], eps=-1),
    lambda lib, p: lib.optim.NAdam([p], betas=(1.0, 0.9)),
    lambda lib, p: lib.optim.NAdam([p], betas=(0.9, -0.1)),
    lambda lib, p: lib.optim.NAdam([p], weight_decay=-1),
    lambda lib, p: lib.optim.NAdam([p], momentum_decay=-1),
    lambda lib, p: lib.optim.NAdam([p], lr=lib.tensor([0.1, 0.2])),
    lambda lib, p: lib.optim.RAdam([p], lr=-1),
    lambda lib, p: lib.optim.RAdam([p], eps=-1),
    lambda lib, p: lib.optim.RAdam([p], betas=(0.9, 1.0)),
    lambda lib, p: lib.optim.RAdam([p], weight_decay=-1),
    lambda lib, p: lib.optim.Adamax([p], lr=-1),
    lambda lib, p: lib.optim.Adamax([p], eps=-1),
    lambda lib, p: lib.optim.Adamax([p], betas=(-0.1, 0.9)),
    lambda lib, p: lib.optim.Adamax([p], betas=(0.9, 1.5)),
    lambda lib, p: lib.optim.Adamax([p], weight_decay=-1),
    lambda lib, p: lib.optim.ASGD([p], lr=-1),
    lambda lib, p: lib.optim.ASGD([p], weight_decay=-1),
    lambda lib, p: lib.optim.Rprop([p], lr=-1),
    lambda lib, p: lib.optim.Rprop([p], etas=(1.0, 1.2)),
    lambda lib, p: lib.optim.Rprop([p], etas=(0.5, 1.0)),
    lambda lib, p: lib.optim.Rprop([p], etas=(0.0, 1.2)),
    lambda lib, p: lib.optim.Adafactor([p], lr=-1),
    lambda lib, p: lib.optim.Adafactor([p], beta2_decay=0.1),
    lambda lib, p: lib.optim.Adafactor([p], eps=(-1, 1e-3)),
    lambda lib, p: lib.optim.Adafactor([p], eps=(None, -1)),
    lambda lib, p: lib.optim.Adafactor([p], d=0.5),
    lambda lib, p: lib.optim.Adafactor([p], weight_decay=-1),
    lambda lib, p: lib.optim.LBFGS([p], lr=-1),
    lambda lib, p: lib.optim.LBFGS([{"params": [p]}, {"params": [p * 1]}]),
    lambda lib, p: lib.optim.LBFGS([{"params": [p]}, {"params": [p.detach().clone()]}]),
    lambda lib, p: lib.optim.LBFGS([p], line_search_fn="armijo").step(lambda: (p ** 2).sum()),
    lambda lib, p: lib.optim.ASGD([p * 2]),
    lambda lib, p: lib.optim.Rprop([]),
])
def test_errors_match_torch(case):
    def prepared(lib):
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        p.grad = lib.tensor([0.5, -0.5])
        return lambda: case(lib, p)

    theirs = _error(prepared(torch))
    assert theirs is not None
    assert _error(prepared(dt)) == theirs


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "ASGD", "Rprop"])
def test_differentiable_not_supported(name):
    """A documented deviation: torch accepts differentiable=True, dist_torch refuses it."""
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        getattr(dt.optim, name)([dt.zeros(2, requires_grad=True)], differentiable=True)


def test_lbfgs_step_needs_closure():
    ours = _error(lambda: dt.optim.LBFGS([dt.zeros(2, requires_grad=True)]).step())
    theirs = _error(lambda: torch.optim.LBFGS([torch.zeros(2, requires_grad=True)]).step())
    assert ours[0] == theirs[0] == "TypeError"
    assert "closure" in ours[1]


@pytest.mark.parametrize("name,kwargs", [
    ("NAdam", {}), ("NAdam", dict(decoupled_weight_decay=True, momentum_decay=0.01)),
    ("RAdam", {}), ("RAdam", dict(decoupled_weight_decay=True, maximize=True)),
    ("Adamax", {}), ("ASGD", {}), ("ASGD", dict(t0=10, lambd=0.1)), ("Rprop", {}),
    ("Rprop", dict(etas=(0.2, 2.0), step_sizes=(1e-4, 1))), ("Adafactor", {}),
    ("Adafactor", dict(eps=(1e-30, 1e-2), d=2.0)), ("LBFGS", {}),
    ("LBFGS", dict(max_iter=10, line_search_fn="strong_wolfe")),
])
def test_repr_and_defaults(name, kwargs):
    ours = getattr(dt.optim, name)([dt.zeros(2, requires_grad=True)], **kwargs)
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.defaults == theirs.defaults
    assert list(ours.defaults) == list(theirs.defaults)


@pytest.mark.parametrize("name", NAMES)
def test_state_layout_after_one_step(name):
    """Every state entry has torch's key, dtype (``step`` float32 by default) and shape."""
    layouts = []
    for lib in (dt, torch):
        params = [lib.zeros(3, 4, requires_grad=True), lib.zeros((), requires_grad=True),
                  lib.zeros(2, requires_grad=True)]
        opt = getattr(lib.optim, name)(params)
        for p in params[:2]:
            p.grad = lib.ones_like(p)
        opt.step()
        layouts.append({i: [(k, str(v.dtype).split(".")[-1], tuple(v.shape))
                            for k, v in s.items()]
                        for i, s in opt.state_dict()["state"].items()})
    assert layouts[0] == layouts[1]


def test_step_counter_is_float64_with_float64_default():
    layouts = []
    for lib in (dt, torch):
        previous = lib.get_default_dtype()
        lib.set_default_dtype(lib.float64)
        try:
            p = lib.zeros(2, requires_grad=True)
            opt = lib.optim.NAdam([p])
            p.grad = lib.ones_like(p)
            opt.step()
            layouts.append({k: str(v.dtype) for k, v in opt.state[p].items()})
        finally:
            lib.set_default_dtype(previous)
    assert layouts[0] == layouts[1]
    assert layouts[0]["step"] == layouts[0]["mu_product"] == "torch.float64"
