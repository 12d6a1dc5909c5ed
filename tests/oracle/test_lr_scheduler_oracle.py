"""Learning-rate schedulers against torch: the lr (and momentum) sequences over 60 steps must
be identical, also across state-dict round trips; ReduceLROnPlateau on metric sequences."""

import copy
import math
import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt

STEPS = 60
LRS = (0.1, 0.05)


def make_optimizer(lib, name="SGD", **kwargs):
    params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
    kwargs.setdefault("lr", LRS[0])
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": LRS[1]}]
    return getattr(lib.optim, name)(groups, **kwargs)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _record(opt, sched):
    return (list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], _momenta(opt))


def run(lib, factory, steps=STEPS, optimizer="SGD", opt_kwargs=None, resume_at=None,
        epochs=None):
    """Step ``factory(lib, opt)``'s scheduler ``steps`` times; record lrs and momenta.

    With ``resume_at``, the optimizer and scheduler are rebuilt from their state dicts at
    that step. ``epochs`` passes explicit epochs to ``step``.
    """
    opt = make_optimizer(lib, optimizer, **(opt_kwargs or {}))
    sched = factory(lib, opt)
    records = [_record(opt, sched)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(steps):
            if resume_at is not None and i == resume_at:
                opt_state = copy.deepcopy(opt.state_dict())
                sched_state = copy.deepcopy(sched.state_dict())
                opt = make_optimizer(lib, optimizer, **(opt_kwargs or {}))
                sched = factory(lib, opt)
                opt.load_state_dict(opt_state)
                sched.load_state_dict(sched_state)
            opt.step()
            if epochs is None:
                sched.step()
            else:
                sched.step(epochs[i])
            records.append(_record(opt, sched))
    return records


def assert_same(factory, **kwargs):
    ours, theirs = run(dt, factory, **kwargs), run(torch, factory, **kwargs)
    assert len(ours) == len(theirs)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o == t, f"step {i}: {o} vs torch {t}"
    return ours


def _lambda(epoch):
    return 0.97 ** epoch


class Scale:
    """A callable object: LambdaLR saves its attributes in the state dict."""

    def __init__(self, base):
        self.base = base

    def __call__(self, epoch):
        return self.base ** epoch


S = "lr_scheduler"
FACTORIES = {
    "StepLR": lambda lib, o: getattr(lib.optim, S).StepLR(o, step_size=7, gamma=0.5),
    "StepLR-default": lambda lib, o: getattr(lib.optim, S).StepLR(o, 10),
    "MultiStepLR": lambda lib, o: getattr(lib.optim, S).MultiStepLR(o, [5, 12, 12, 40], 0.3),
    "ConstantLR": lambda lib, o: getattr(lib.optim, S).ConstantLR(o),
    "ConstantLR-args": lambda lib, o: getattr(lib.optim, S).ConstantLR(o, 0.2, 13),
    "LinearLR": lambda lib, o: getattr(lib.optim, S).LinearLR(o),
    "LinearLR-down": lambda lib, o: getattr(lib.optim, S).LinearLR(o, 1.0, 0.05, 30),
    "ExponentialLR": lambda lib, o: getattr(lib.optim, S).ExponentialLR(o, 0.93),
    "CosineAnnealingLR": lambda lib, o: getattr(lib.optim, S).CosineAnnealingLR(o, 20),
    "CosineAnnealingLR-eta": lambda lib, o: getattr(lib.optim, S).CosineAnnealingLR(
        o, T_max=13, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda lib, o: getattr(
        lib.optim, S).CosineAnnealingWarmRestarts(o, T_0=7),
    "CosineAnnealingWarmRestarts-mult": lambda lib, o: getattr(
        lib.optim, S).CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.002),
    "LambdaLR": lambda lib, o: getattr(lib.optim, S).LambdaLR(o, _lambda),
    "LambdaLR-list": lambda lib, o: getattr(lib.optim, S).LambdaLR(
        o, [_lambda, lambda e: 1.0 / (1 + e)]),
    "LambdaLR-object": lambda lib, o: getattr(lib.optim, S).LambdaLR(o, Scale(0.95)),
    "MultiplicativeLR": lambda lib, o: getattr(lib.optim, S).MultiplicativeLR(
        o, lambda e: 0.95),
    "PolynomialLR": lambda lib, o: getattr(lib.optim, S).PolynomialLR(o),
    "PolynomialLR-args": lambda lib, o: getattr(lib.optim, S).PolynomialLR(o, 40, 2.5),
    "OneCycleLR": lambda lib, o: getattr(lib.optim, S).OneCycleLR(o, 0.5, total_steps=61),
    "OneCycleLR-linear": lambda lib, o: getattr(lib.optim, S).OneCycleLR(
        o, [0.4, 0.2], epochs=6, steps_per_epoch=11, anneal_strategy="linear",
        pct_start=0.25),
    "OneCycleLR-three-phase": lambda lib, o: getattr(lib.optim, S).OneCycleLR(
        o, 1.0, total_steps=70, three_phase=True, div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-no-momentum": lambda lib, o: getattr(lib.optim, S).OneCycleLR(
        o, 0.3, total_steps=60, cycle_momentum=False),
    "CyclicLR": lambda lib, o: getattr(lib.optim, S).CyclicLR(o, 0.01, 0.1, step_size_up=7),
    "CyclicLR-triangular2": lambda lib, o: getattr(lib.optim, S).CyclicLR(
        o, [0.01, 0.02], 0.1, step_size_up=5, step_size_down=8, mode="triangular2"),
    "CyclicLR-exp-range": lambda lib, o: getattr(lib.optim, S).CyclicLR(
        o, 0.01, 0.1, step_size_up=6, mode="exp_range", gamma=0.97),
    "SequentialLR": lambda lib, o: getattr(lib.optim, S).SequentialLR(
        o, [getattr(lib.optim, S).LinearLR(o, 0.1, total_iters=5),
            getattr(lib.optim, S).ExponentialLR(o, 0.9)], milestones=[5]),
    "SequentialLR-three": lambda lib, o: getattr(lib.optim, S).SequentialLR(
        o, [getattr(lib.optim, S).ConstantLR(o, 0.5, 4),
            getattr(lib.optim, S).CosineAnnealingLR(o, 10),
            getattr(lib.optim, S).StepLR(o, 5, 0.5)], milestones=[8, 25]),
    "ChainedScheduler": lambda lib, o: getattr(lib.optim, S).ChainedScheduler(
        [getattr(lib.optim, S).ConstantLR(o, 0.1, 4),
         getattr(lib.optim, S).ExponentialLR(o, 0.95)]),
    "ChainedScheduler-cosine": lambda lib, o: getattr(lib.optim, S).ChainedScheduler(
        [getattr(lib.optim, S).LinearLR(o, 0.2, total_iters=6),
         getattr(lib.optim, S).CosineAnnealingLR(o, 15, 0.001)], o),
}
NOT_RESUMABLE = {"LambdaLR", "LambdaLR-list", "MultiplicativeLR"}  # plain functions


@pytest.mark.parametrize("name", list(FACTORIES))
def test_sequence(name):
    assert_same(FACTORIES[name])


@pytest.mark.parametrize("name", [n for n in FACTORIES if n not in NOT_RESUMABLE])
def test_state_dict_round_trip(name):
    resumed = assert_same(FACTORIES[name], resume_at=25)
    straight = run(dt, FACTORIES[name])
    assert resumed == straight


@pytest.mark.parametrize("name", ["OneCycleLR", "CyclicLR", "OneCycleLR-three-phase"])
def test_cycles_adam_betas(name):
    assert_same(FACTORIES[name], optimizer="Adam")


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ConstantLR-args", "LinearLR-down",
                                  "ExponentialLR", "CosineAnnealingLR-eta", "PolynomialLR-args"])
def test_closed_form_with_epochs(name):
    epochs = [0, 1, 2, 5, 9, 14, 14, 20, 27, 31, 40, 41, 35, 50]
    assert_same(FACTORIES[name], steps=len(epochs), epochs=epochs)


def test_warm_restarts_fractional_epochs():
    epochs = [i / 4 for i in range(60)] + [30.5, 2.25, 45.0, 6.0, 0.0]
    assert_same(FACTORIES["CosineAnnealingWarmRestarts-mult"], steps=len(epochs),
                epochs=epochs)
    assert_same(FACTORIES["CosineAnnealingWarmRestarts"], steps=len(epochs), epochs=epochs)


def test_scheduler_state_dict_contents():
    for name in ("StepLR", "CosineAnnealingLR", "OneCycleLR", "SequentialLR", "LambdaLR-object"):
        results = []
        for lib in (dt, torch):
            opt = make_optimizer(lib)
            sched = FACTORIES[name](lib, opt)
            opt.step()
            sched.step()
            results.append(sched.state_dict())
        assert results[0] == results[1], name


def test_resume_with_last_epoch():
    results = []
    for lib in (dt, torch):
        opt = make_optimizer(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        sched = lib.optim.lr_scheduler.StepLR(opt, 3, last_epoch=7)
        lrs = []
        for _ in range(6):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        results.append(lrs)
    assert results[0] == results[1]


METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.81,
           0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]


@pytest.mark.parametrize("kwargs", [
    {}, dict(patience=2), dict(patience=0, factor=0.5), dict(mode="max", patience=1),
    dict(patience=1, threshold=0.05, threshold_mode="abs"),
    dict(mode="max", patience=1, threshold=0.01, threshold_mode="abs", cooldown=2),
    dict(patience=1, cooldown=3, min_lr=0.02), dict(patience=1, min_lr=[0.03, 0.001]),
    dict(patience=0, factor=0.9, eps=0.006),
])
def test_reduce_on_plateau(kwargs):
    results = []
    for lib in (dt, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        lrs = [sched.get_last_lr()]
        for i, m in enumerate(METRICS + METRICS[::-1]):
            opt.step()
            sched.step(lib.tensor(m) if i % 3 == 0 else m)
            lrs.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups],
                        sched.num_bad_epochs, sched.cooldown_counter, sched.best))
            if i == 20:
                state = copy.deepcopy(sched.state_dict())
                sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt)
                sched.load_state_dict(state)
        results.append(lrs)
    assert results[0] == results[1]


def _error(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as exc:  # noqa: BLE001 - comparing whatever both libraries raise
        return type(exc).__name__, str(exc)
    return None


L = "lr_scheduler"


def _step_times(sched, n):
    for _ in range(n):
        sched.step()


@pytest.mark.parametrize("case", [
    lambda lib, o: getattr(lib.optim, L).StepLR("not an optimizer", 3),
    lambda lib, o: getattr(lib.optim, L).StepLR(o, 3, last_epoch=4),
    lambda lib, o: getattr(lib.optim, L).LambdaLR(o, [lambda e: 1.0]),
    lambda lib, o: getattr(lib.optim, L).MultiplicativeLR(o, [1.0, 2.0]),
    lambda lib, o: getattr(lib.optim, L).ConstantLR(o, factor=1.5),
    lambda lib, o: getattr(lib.optim, L).LinearLR(o, start_factor=0),
    lambda lib, o: getattr(lib.optim, L).LinearLR(o, end_factor=1.5),
    lambda lib, o: getattr(lib.optim, L).CosineAnnealingWarmRestarts(o, 0),
    lambda lib, o: getattr(lib.optim, L).CosineAnnealingWarmRestarts(o, 2, T_mult=0),
    lambda lib, o: getattr(lib.optim, L).CosineAnnealingWarmRestarts(o, 2, eta_min="0"),
    lambda lib, o: getattr(lib.optim, L).CosineAnnealingWarmRestarts(o, 2).step(-1),
    lambda lib, o: getattr(lib.optim, L).OneCycleLR(o, 0.1),
    lambda lib, o: getattr(lib.optim, L).OneCycleLR(o, 0.1, total_steps=0),
    lambda lib, o: getattr(lib.optim, L).OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3),
    lambda lib, o: getattr(lib.optim, L).OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=-1),
    lambda lib, o: getattr(lib.optim, L).OneCycleLR(o, 0.1, total_steps=5, pct_start=1.5),
    lambda lib, o: getattr(lib.optim, L).OneCycleLR(o, 0.1, total_steps=5,
                                                    anneal_strategy="exp"),
    lambda lib, o: getattr(lib.optim, L).OneCycleLR(o, [0.1], total_steps=5),
    lambda lib, o: _step_times(getattr(lib.optim, L).OneCycleLR(o, 0.1, total_steps=2), 3),
    lambda lib, o: getattr(lib.optim, L).CyclicLR(o, 0.01, 0.1, mode="sawtooth"),
    lambda lib, o: getattr(lib.optim, L).SequentialLR(o, [], []),
    lambda lib, o: getattr(lib.optim, L).SequentialLR(
        o, [getattr(lib.optim, L).StepLR(o, 2)], [3]),
    lambda lib, o: getattr(lib.optim, L).SequentialLR(
        o, [getattr(lib.optim, L).ReduceLROnPlateau(o)], []),
    lambda lib, o: getattr(lib.optim, L).ChainedScheduler([]),
    lambda lib, o: getattr(lib.optim, L).ReduceLROnPlateau(o, factor=1.0),
    lambda lib, o: getattr(lib.optim, L).ReduceLROnPlateau(o, mode="avg"),
    lambda lib, o: getattr(lib.optim, L).ReduceLROnPlateau(o, threshold_mode="pct"),
    lambda lib, o: getattr(lib.optim, L).ReduceLROnPlateau(o, min_lr=[0.1]),
])
def test_errors_match_torch(case):
    ours = _error(lambda: case(dt, make_optimizer(dt)))
    theirs = _error(lambda: case(torch, make_optimizer(torch)))
    assert theirs is not None
    assert ours == theirs


def test_cycle_momentum_needs_momentum():
    for lib in (dt, torch):
        opt = make_optimizer(lib, "Adagrad")
        with pytest.raises(ValueError, match="optimizer must support momentum"):
            lib.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=5)


@pytest.mark.parametrize("order", ["scheduler-first", "optimizer-first"])
def test_step_order_warning(order):
    caught = []
    for lib in (dt, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, 2)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            if order == "optimizer-first":
                opt.step()
            sched.step()
        caught.append([str(w.message) for w in record])
    assert caught[0] == caught[1]


def test_cosine_matches_closed_form_approximately():
    """The recursive form tracks the closed form (and torch's) closely over many periods."""
    lrs = assert_same(FACTORIES["CosineAnnealingLR"], steps=100)
    closed = [0.1 * (1 + math.cos(math.pi * e / 20)) / 2 for e in range(101)]
    np.testing.assert_allclose([r[0][0] for r in lrs], closed, atol=1e-12)
