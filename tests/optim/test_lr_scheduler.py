"""Learning-rate schedulers: hand-computed schedules, state dicts, warnings and errors."""

import math
import warnings

import pytest

import dist_torch as torch
from dist_torch import optim
from dist_torch.optim import lr_scheduler as sched_mod


def make_opt(lr=1.0, cls=optim.SGD, **kwargs):
    return cls([torch.zeros(2, requires_grad=True)], lr=lr, **kwargs)


def schedule(opt, sched, steps):
    """The lr at epoch 0 followed by the lr after each of ``steps`` steps."""
    lrs = [sched.get_last_lr()[0]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        assert opt.param_groups[0]["lr"] == lrs[-1]
    return lrs


@pytest.mark.parametrize("make,expected", [
    (lambda o: sched_mod.StepLR(o, step_size=2, gamma=0.5), [1, 1, 0.5, 0.5, 0.25, 0.25]),
    (lambda o: sched_mod.MultiStepLR(o, [2, 4], gamma=0.1), [1, 1, 0.1, 0.1, 0.01, 0.01]),
    (lambda o: sched_mod.ConstantLR(o, factor=0.5, total_iters=3), [0.5, 0.5, 0.5, 1, 1, 1]),
    (lambda o: sched_mod.LinearLR(o, start_factor=0.5, total_iters=2),
     [0.5, 0.75, 1, 1, 1, 1]),
    (lambda o: sched_mod.ExponentialLR(o, gamma=0.5), [1, 0.5, 0.25, 0.125, 0.0625, 0.03125]),
    (lambda o: sched_mod.PolynomialLR(o, total_iters=4, power=2.0),
     [1, 0.5625, 0.25, 0.0625, 0, 0]),
    (lambda o: sched_mod.CosineAnnealingLR(o, T_max=4),
     [1, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 - math.cos(math.pi / 4)) / 2, 0,
      (1 - math.cos(math.pi / 4)) / 2]),
    (lambda o: sched_mod.LambdaLR(o, lambda e: 1 / (e + 1)), [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5,
                                                             1 / 6]),
    (lambda o: sched_mod.MultiplicativeLR(o, lambda e: 0.5), [1, 0.5, 0.25, 0.125, 0.0625,
                                                              0.03125]),
    (lambda o: sched_mod.CosineAnnealingWarmRestarts(o, T_0=2),
     [1, 0.5, 1, 0.5, 1, 0.5]),
    (lambda o: sched_mod.CyclicLR(o, 0.0, 1.0, step_size_up=2, cycle_momentum=False),
     [0, 0.5, 1, 0.5, 0, 0.5]),
])
def test_schedules_by_hand(make, expected):
    opt = make_opt()
    lrs = schedule(opt, make(opt), len(expected) - 1)
    assert lrs == pytest.approx(expected, abs=1e-15)


def test_one_cycle_shape():
    opt = make_opt(cls=optim.SGD, momentum=0.9)
    sched = sched_mod.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3)
    lrs = schedule(opt, sched, 9)
    assert lrs[0] == pytest.approx(1 / 25)
    assert max(lrs) == pytest.approx(1.0) and lrs.index(max(lrs)) == 2  # 0.3 * 10 - 1
    assert lrs[-1] == pytest.approx(1 / 25 / 1e4)
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.95)  # back to max at the end
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched.step()
            sched.step()


def test_one_cycle_cycles_adam_beta1():
    opt = make_opt(cls=optim.Adam)
    sched = sched_mod.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    assert opt.param_groups[0]["betas"] == (0.95, 0.999)
    schedule(opt, sched, 1)
    assert 0.85 < opt.param_groups[0]["betas"][0] < 0.95
    schedule(opt, sched, 1)
    assert opt.param_groups[0]["betas"] == (pytest.approx(0.85), 0.999)


def test_warm_restarts_fractional_epochs():
    opt = make_opt()
    sched = sched_mod.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched.step(2.5)  # second period (length 4), 0.5 epochs in
    assert sched.T_i == 4 and sched.T_cur == 0.5 and sched.last_epoch == 2
    assert sched.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * 0.5 / 4)) / 2)


def test_sequential_and_chained():
    opt = make_opt()
    warm = sched_mod.LinearLR(opt, start_factor=0.5, total_iters=2)
    decay = sched_mod.ExponentialLR(opt, gamma=0.5)
    seq = sched_mod.SequentialLR(opt, [warm, decay], milestones=[2])
    assert schedule(opt, seq, 5) == pytest.approx([0.5, 0.75, 1.0, 0.5, 0.25, 0.125])

    opt = make_opt()
    chain = sched_mod.ChainedScheduler([sched_mod.ConstantLR(opt, 0.5, 2),
                                        sched_mod.ExponentialLR(opt, 0.5)])
    assert schedule(opt, chain, 3) == pytest.approx([0.5, 0.25, 0.25, 0.125])


def test_reduce_on_plateau():
    opt = make_opt()
    sched = sched_mod.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]:
        sched.step(metric)
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2]
    sched.step(torch.tensor(0.1))  # a one-element tensor is a metric too
    assert sched.best == pytest.approx(0.1)


def test_reduce_on_plateau_max_mode_abs_threshold():
    opt = make_opt()
    sched = sched_mod.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.1,
                                        threshold_mode="abs")
    for metric, expected in [(1.0, 1.0), (1.05, 0.1), (1.2, 0.1), (1.25, 0.01)]:
        sched.step(metric)
        assert sched.get_last_lr()[0] == pytest.approx(expected)


def test_initial_lr_and_base_lrs():
    opt = optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1},
                     {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.2}])
    sched = sched_mod.StepLR(opt, 1, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2]
    assert sched.base_lrs == [0.1, 0.2] and sched.last_epoch == 0
    schedule(opt, sched, 2)
    assert sched.get_last_lr() == pytest.approx([0.025, 0.05])


def test_resume_needs_initial_lr():
    opt = make_opt()
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in "
                                       r"param_groups\[0\]"):
        sched_mod.StepLR(opt, 2, last_epoch=3)


def test_state_dict_round_trip():
    opt = make_opt()
    sched = sched_mod.CosineAnnealingLR(opt, T_max=10)
    schedule(opt, sched, 4)
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 4 and state["T_max"] == 10
    rest = schedule(opt, sched, 6)
    opt2 = make_opt()
    opt2.param_groups[0]["lr"] = rest[0]
    sched2 = sched_mod.CosineAnnealingLR(opt2, T_max=99)
    sched2.load_state_dict(state)
    opt2.param_groups[0]["lr"] = rest[0]
    assert sched2.T_max == 10 and schedule(opt2, sched2, 6)[1:] == rest[1:]


def test_lambda_state_dict_keeps_callable_objects_only():
    class Factor:
        def __init__(self):
            self.k = 0.5

        def __call__(self, epoch):
            return self.k ** epoch

    fn = Factor()
    opt = optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                     {"params": [torch.zeros(1, requires_grad=True)]}], lr=1.0)
    sched = sched_mod.LambdaLR(opt, [fn, lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"k": 0.5}, None]
    state["lr_lambdas"][0]["k"] = 0.25
    sched.load_state_dict(state)
    assert fn.k == 0.25 and "lr_lambdas" in state


def test_warnings():
    opt = make_opt()
    sched = sched_mod.StepLR(opt, 2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before "
                                         r"`optimizer.step\(\)`"):
        sched.step()
    with pytest.warns(UserWarning, match=r"please use `get_last_lr\(\)`"):
        sched.get_lr()
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
        sched.step(5)
    opt = make_opt()
    sched = sched_mod.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()


@pytest.mark.parametrize("make,exc,match", [
    (lambda o: sched_mod.StepLR(None, 2), TypeError, "NoneType is not an Optimizer"),
    (lambda o: sched_mod.ConstantLR(o, factor=2.0), ValueError, "between 0 and 1"),
    (lambda o: sched_mod.LinearLR(o, start_factor=0.0), ValueError, "greater than 0"),
    (lambda o: sched_mod.LambdaLR(o, [None, None]), ValueError, "Expected 1 lr_lambdas, but "
                                                                "got 2"),
    (lambda o: sched_mod.MultiplicativeLR(o, 0.5), TypeError, "lr_lambda should be a function"),
    (lambda o: sched_mod.CosineAnnealingWarmRestarts(o, T_0=1.5), ValueError,
     "Expected positive integer T_0"),
    (lambda o: sched_mod.OneCycleLR(o, 1.0), ValueError, "You must define either total_steps"),
    (lambda o: sched_mod.OneCycleLR(o, 1.0, total_steps=5, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear'"),
    (lambda o: sched_mod.SequentialLR(o, [sched_mod.StepLR(o, 2)], [1]), ValueError,
     "number of milestones to be equal to 1"),
    (lambda o: sched_mod.ChainedScheduler([sched_mod.ReduceLROnPlateau(o)]), ValueError,
     "does not support `ReduceLROnPlateau`"),
    (lambda o: sched_mod.ReduceLROnPlateau(o, factor=1.5), ValueError, "Factor should be < 1.0"),
    (lambda o: sched_mod.ReduceLROnPlateau(o, mode="avg"), ValueError, "mode avg is unknown!"),
])
def test_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make(make_opt())


def test_one_cycle_needs_momentum():
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        sched_mod.OneCycleLR(make_opt(cls=optim.Adagrad), 1.0, total_steps=5)


def test_module_exports():
    for name in sched_mod.__all__:
        assert hasattr(sched_mod, name)
    assert issubclass(sched_mod.ReduceLROnPlateau, sched_mod.LRScheduler)


def test_checkpoint_through_save_and_load(tmp_path):
    """Optimizer and scheduler state survive torch.save/torch.load and resume exactly."""
    model = torch.nn.Linear(3, 2)
    x = torch.randn(8, 3)

    def train(opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()
            sched.step()

    opt = optim.Adam(model.parameters(), lr=0.1, amsgrad=True)
    sched = sched_mod.MultiStepLR(opt, [3, 6, 6], gamma=0.5)
    train(opt, sched, 4)
    path = tmp_path / "ckpt.safetensors"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict()}, path)
    train(opt, sched, 4)
    expected = [p.detach().clone() for p in model.parameters()]

    ckpt = torch.load(path)
    model.load_state_dict(ckpt["model"])
    opt = optim.Adam(model.parameters())
    opt.load_state_dict(ckpt["opt"])
    sched = sched_mod.MultiStepLR(opt, [1])
    sched.load_state_dict(ckpt["sched"])
    train(opt, sched, 4)
    for p, e in zip(model.parameters(), expected):
        assert p.tolist() == e.tolist()
    assert sched._get_closed_form_lr() == [0.1 * 0.5 ** 3]
