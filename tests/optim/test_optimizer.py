"""Optimizers: hand-computed first steps, param groups, state, state dicts, hooks, errors."""

import copy
import math
import pickle

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import optim
from tests.helpers import assert_close


def quadratic_steps(opt, p, steps):
    """Take ``steps`` steps on ``sum(p**2) / 2`` (whose gradient is ``p``)."""
    for _ in range(steps):
        opt.zero_grad()
        (p ** 2).sum().div(2).backward()
        opt.step()
    return p.detach().numpy().copy()


def param(values=(1.0, -2.0)):
    return torch.tensor(list(values), dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("kwargs,expected", [
    (dict(lr=0.1), [[0.9, -1.8], [0.81, -1.62]]),
    (dict(lr=0.1, momentum=0.9), [[0.9, -1.8], [0.72, -1.44]]),
    (dict(lr=0.1, momentum=0.9, nesterov=True), [[0.81, -1.62], [0.5751, -1.1502]]),
    (dict(lr=0.1, momentum=0.9, dampening=0.5), [[0.9, -1.8], [0.765, -1.53]]),
    (dict(lr=0.1, weight_decay=1.0), [[0.8, -1.6], [0.64, -1.28]]),
])
def test_sgd_first_two_steps(kwargs, expected):
    p = param()
    opt = optim.SGD([p], **kwargs)
    assert_close(quadratic_steps(opt, p, 1), np.array(expected[0]), rtol=1e-14)
    assert_close(quadratic_steps(opt, p, 1), np.array(expected[1]), rtol=1e-14)


def test_sgd_maximize_goes_uphill():
    p = param()
    opt = optim.SGD([p], lr=0.1, momentum=0.9, maximize=True)
    assert_close(quadratic_steps(opt, p, 2), np.array([1.3, -2.6]), rtol=1e-14)


def _adam_by_hand(p0, steps, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False):
    p, m, v, vmax = p0, 0.0, 0.0, 0.0
    out = []
    for t in range(1, steps + 1):
        g = p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        vmax = max(vmax, v)
        second = vmax if amsgrad else v
        denom = math.sqrt(second) / math.sqrt(1 - beta2 ** t) + eps
        p = p - lr / (1 - beta1 ** t) * m / denom
        out.append(p)
    return out


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_first_two_steps(amsgrad):
    p = param()
    opt = optim.Adam([p], lr=0.1, amsgrad=amsgrad)
    first = quadratic_steps(opt, p, 1)
    # the first Adam step moves each coordinate by lr against the gradient's sign
    np.testing.assert_allclose(first, [0.9, -1.9], rtol=1e-7)
    second = quadratic_steps(opt, p, 1)
    for i, x0 in enumerate([1.0, -2.0]):
        expected = _adam_by_hand(x0, 2, amsgrad=amsgrad)
        assert first[i] == pytest.approx(expected[0], rel=1e-14)
        assert second[i] == pytest.approx(expected[1], rel=1e-14)
    state = opt.state[p]
    assert list(state) == ["step", "exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if amsgrad
                                                              else [])
    assert state["step"].dtype == torch.float32 and state["step"].shape == ()
    assert state["step"].item() == 2.0


def test_adamw_decays_weights_before_the_step():
    p = param()
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    first = quadratic_steps(opt, p, 1)
    decayed = np.array([1.0, -2.0]) * (1 - 0.1 * 0.5)
    np.testing.assert_allclose(first, decayed - 0.1 * np.sign(decayed), rtol=1e-7)


@pytest.mark.parametrize("name,kwargs,step_of", [
    # one step from p = g = [1, -2], as each algorithm's formula gives it
    ("RMSprop", dict(lr=0.01), lambda g: 0.01 * g / (math.sqrt(0.01 * g * g) + 1e-8)),
    ("Adagrad", dict(lr=0.1), lambda g: 0.1 * g / (abs(g) + 1e-10)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=3.0),
     lambda g: 0.1 * g / (math.sqrt(3 + g * g) + 1e-10)),
    ("Adadelta", dict(lr=1.0), lambda g: math.sqrt(1e-6) / math.sqrt(0.1 * g * g + 1e-6) * g),
])
def test_first_step_by_hand(name, kwargs, step_of):
    p = param()
    opt = getattr(optim, name)([p], **kwargs)
    result = quadratic_steps(opt, p, 1)
    np.testing.assert_allclose(result, [1.0 - step_of(1.0), -2.0 - step_of(-2.0)], rtol=1e-14)


def test_rmsprop_centered_and_momentum_state():
    p = param()
    opt = optim.RMSprop([p], centered=True, momentum=0.5)
    quadratic_steps(opt, p, 2)
    assert list(opt.state[p]) == ["step", "square_avg", "momentum_buffer", "grad_avg"]


def test_default_dtype_float64_step_counter():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        p = param()
        opt = optim.Adam([p])
        quadratic_steps(opt, p, 1)
        assert opt.state[p]["step"].dtype == torch.float64
    finally:
        torch.set_default_dtype(previous)


def test_float32_params_keep_dtype():
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.RMSprop, optim.Adagrad, optim.Adadelta):
        opt = cls([p], lr=0.01) if cls is not optim.SGD else cls([p], lr=0.1, momentum=0.9)
        quadratic_steps(opt, p, 2)
        assert p.dtype == torch.float32
        assert all(v.dtype == torch.float32 for v in opt.state[p].values())


# ---------------------------------------------------------------- groups and options

def test_param_groups_and_defaults():
    a, b = param(), param((3.0,))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["params"] == [b]
    quadratic_steps(opt, a, 0)
    (a.sum() + b.sum()).backward()
    opt.step()
    assert a.tolist() == pytest.approx([0.9, -2.1])
    assert b.tolist() == pytest.approx([2.5])


def test_add_param_group():
    a, b = param(), param()
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "betas": (0.5, 0.9)})
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["betas"] == (0.5, 0.9)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([b])
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {param()}})


def test_named_parameters():
    model = torch.nn.Linear(2, 1)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [param()]})


@pytest.mark.parametrize("params,exc,match", [
    (lambda: param(), TypeError, "should be an iterable of Tensors or dicts, but got "
                                 "torch.DoubleTensor"),
    (lambda: [], ValueError, "optimizer got an empty parameter list"),
    (lambda: ["w"], TypeError, "optimizer can only optimize Tensors, but one of the params is "
                               "str"),
    (lambda: [param() * 2], ValueError, "can't optimize a non-leaf Tensor"),
])
def test_bad_params(params, exc, match):
    with pytest.raises(exc, match=match):
        optim.SGD(params())


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD([p], lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.SGD([p], momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD([p], weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD([p], nesterov=True), "Nesterov momentum requires a momentum and zero "
                                              "dampening"),
    (lambda p: optim.Adam([p], betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (lambda p: optim.Adam([p], eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda p: optim.AdamW([p], lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.RMSprop([p], alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda p: optim.Adagrad([p], lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Adadelta([p], rho=2.0), "Invalid rho value: 2.0"),
    (lambda p: optim.SGD([p], lr=torch.tensor([0.1, 0.2])), "Tensor lr must be 1-element"),
])
def test_invalid_options(make, match):
    with pytest.raises(ValueError, match=match):
        make(param())


def test_fused_and_foreach_flags():
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
        optim.Adam([param()], fused=True, foreach=True)
    with pytest.raises(NotImplementedError, match="differentiable"):
        optim.SGD([param()], differentiable=True)
    for flags in (dict(foreach=True), dict(fused=True)):  # accepted; same update
        p, q = param(), param()
        a = quadratic_steps(optim.Adam([p], lr=0.1, **flags), p, 3)
        b = quadratic_steps(optim.Adam([q], lr=0.1), q, 3)
        assert np.array_equal(a, b)


def test_tensor_lr():
    p, q = param(), param()
    lr = torch.tensor(0.1, dtype=torch.float64)
    a = quadratic_steps(optim.SGD([p], lr=lr, momentum=0.9), p, 3)
    b = quadratic_steps(optim.SGD([q], lr=0.1, momentum=0.9), q, 3)
    assert np.array_equal(a, b)


# ---------------------------------------------------------------- step, zero_grad, closure

def test_zero_grad():
    p = param()
    opt = optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_closure_returns_loss_and_runs_with_grad():
    p = param()
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    assert p.tolist() == pytest.approx([0.8, -1.6])
    assert opt.step() is None


def test_params_without_grad_are_skipped():
    a, b = param(), param()
    opt = optim.Adam([a, b], lr=0.1)
    a.sum().backward()
    opt.step()
    assert b.tolist() == [1.0, -2.0] and len(opt.state[b]) == 0 and len(opt.state[a]) == 3


def test_step_bumps_version_and_checks_saved_values():
    p = param()
    opt = optim.SGD([p], lr=0.1)
    loss = (p * p).sum()  # saves p for backward
    (p * 1.0).sum().backward()
    version = p._version
    opt.step()
    assert p._version > version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_step_hooks():
    p = param()
    opt = optim.SGD([p], lr=0.1)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    post = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", args)))
    glob = optim.optimizer.register_optimizer_step_pre_hook(
        lambda o, args, kwargs: calls.append(("global", type(o).__name__)))
    p.sum().backward()
    opt.step()
    assert calls == [("global", "SGD"), ("pre", True), ("post", (opt,))]
    for handle in (pre, post, glob):
        handle.remove()
    opt.step()
    assert len(calls) == 3


def test_step_pre_hook_can_replace_arguments():
    p = param()
    opt = optim.SGD([p], lr=0.1)
    seen = []
    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": lambda: seen.append(1)
                                                                or 7}))
    assert opt.step() == 7 and seen == [1]


# ---------------------------------------------------------------- state dicts

def test_state_dict_format():
    a, b, c = param(), param((3.0,)), param((4.0, 5.0))
    opt = optim.SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    (a.sum() + c.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 2]
    assert list(sd["state"][0]) == ["momentum_buffer"]
    assert sd["state"][0]["momentum_buffer"] is opt.state[a]["momentum_buffer"]
    assert sd["param_groups"][0]["params"] == [0, 1] and sd["param_groups"][1]["params"] == [2]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][1]["momentum"] == 0.9
    assert "params" in opt.param_groups[0] and opt.param_groups[0]["params"] == [a, b]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_state_dict_round_trip(name):
    kwargs = dict(lr=0.05, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.05)
    p = param()
    opt = getattr(optim, name)([p], **kwargs)
    quadratic_steps(opt, p, 10)
    saved = copy.deepcopy(opt.state_dict())
    q = param(p.tolist())
    straight = quadratic_steps(opt, p, 10)
    resumed = getattr(optim, name)([q])
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == 0.05
    assert np.array_equal(quadratic_steps(resumed, q, 10), straight)


def test_load_state_dict_errors():
    opt = optim.SGD([param()], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]})


def test_load_state_dict_casts_state_but_not_step():
    p64 = param()
    opt = optim.Adam([p64])
    quadratic_steps(opt, p64, 2)
    p32 = torch.tensor([1.0, 2.0], requires_grad=True)
    other = optim.Adam([p32])
    other.load_state_dict(opt.state_dict())
    state = other.state[p32]
    assert state["exp_avg"].dtype == torch.float32
    assert state["step"] is opt.state[p64]["step"]  # not cast, not copied
    assert other.param_groups[0]["params"] == [p32]


def test_load_old_state_dict_without_new_options():
    p = param()
    opt = optim.Adam([p])
    quadratic_steps(opt, p, 1)
    sd = opt.state_dict()
    for key in ("amsgrad", "maximize", "foreach", "decoupled_weight_decay"):
        del sd["param_groups"][0][key]
    sd["state"][0]["step"] = 1  # older torch stored a plain number
    other = optim.Adam([param()])
    other.load_state_dict(sd)
    assert other.param_groups[0]["amsgrad"] is False
    assert other.param_groups[0]["decoupled_weight_decay"] is False
    assert isinstance(other.state[other.param_groups[0]["params"][0]]["step"], torch.Tensor)


def test_state_dict_hooks():
    opt = optim.SGD([param()], lr=0.1)
    events = []
    opt.register_state_dict_pre_hook(lambda o: events.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: dict(sd, extra=1))
    opt.register_load_state_dict_pre_hook(lambda o, sd: events.append("load-pre"))
    opt.register_load_state_dict_post_hook(lambda o: events.append("load-post"))
    sd = opt.state_dict()
    assert sd["extra"] == 1
    opt.load_state_dict(sd)
    assert events == ["pre", "load-pre", "load-post"]


def test_repr():
    opt = optim.SGD([param()], lr=0.1, momentum=0.9)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n"
                         "    foreach: None\n    fused: None\n    lr: 0.1\n    maximize: False\n"
                         "    momentum: 0.9\n    nesterov: False\n    weight_decay: 0\n)")


def test_deepcopy_and_pickle():
    p = param()
    opt = optim.Adam([p], lr=0.1)
    quadratic_steps(opt, p, 2)
    clones = [copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))]
    expected = quadratic_steps(opt, p, 3)
    for clone in clones:
        q = clone.param_groups[0]["params"][0]
        assert q is not p and clone.state[q]["step"].item() == 2
        assert np.array_equal(quadratic_steps(clone, q, 3), expected)


def test_adagrad_state_at_construction_and_added_group():
    a = param()
    opt = optim.Adagrad([a], initial_accumulator_value=0.5)
    assert opt.state[a]["sum"].tolist() == [0.5, 0.5] and opt.state[a]["step"].item() == 0
    b = param()
    opt.add_param_group({"params": [b]})
    (a.sum() + b.sum()).backward()
    opt.step()
    assert opt.state[b]["sum"].tolist() == [1.5, 1.5]


def test_trains_a_model():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    for cls, kwargs in ((optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, dict(lr=0.05)),
                        (optim.AdamW, dict(lr=0.05)), (optim.RMSprop, dict(lr=0.03)),
                        (optim.Adagrad, dict(lr=0.5)), (optim.Adadelta, dict(lr=10.0))):
        model = torch.nn.Linear(3, 1)
        opt = cls(model.parameters(), **kwargs)
        for _ in range(150):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
        assert loss.item() < 0.02, (cls.__name__, loss.item())
