"""Adam/AdamW with ``capturable=True`` (step counters on the parameter's device, bias
corrections computed as arrays) and the CUDA-graph capture guards of optimizer steps, checked
on the CPU: against the non-capturable update and against PyTorch. The capturing state is
faked by patching the backend predicate."""

import warnings

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.backend import cuda as cuda_backend

SHAPES = [(5, 3), (7,), (2, 2, 2)]
CONFIGS = [
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=3e-3, betas=(0.8, 0.95), maximize=True, eps=1e-6)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.3, amsgrad=True)),
]


def _arrays(seed, steps):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(steps)]
    return params, grads


def _run_dt(name, kwargs, params, grads, capturable):
    ps = [dt.tensor(p.copy(), requires_grad=True) for p in params]
    opt = getattr(dt.optim, name)(ps, capturable=capturable, **kwargs)
    for step_grads in grads:
        for p, g in zip(ps, step_grads):
            p.grad = dt.tensor(g)
        opt.step()
    return ps, opt


def _run_torch(torch, name, kwargs, params, grads):
    ps = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = getattr(torch.optim, name)(ps, **kwargs)
    for step_grads in grads:
        for p, g in zip(ps, step_grads):
            p.grad = torch.tensor(g)
        opt.step()
    return [p.detach().numpy() for p in ps]


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_capturable_matches_plain_and_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    params, grads = _arrays(0, 6)
    got, opt = _run_dt(name, kwargs, params, grads, capturable=True)
    plain, _ = _run_dt(name, kwargs, params, grads, capturable=False)
    want = _run_torch(torch, name, kwargs, params, grads)
    for g, p, w in zip(got, plain, want):
        # float32 bias corrections (torch's capturable arithmetic) against double ones
        np.testing.assert_allclose(g.detach().numpy(), p.detach().numpy(), rtol=2e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(g.detach().numpy(), w, rtol=2e-5, atol=1e-6)
    for p in got:
        step = opt.state[p]["step"]
        assert isinstance(step, dt.Tensor) and step.device == p.device
        assert step.dtype == dt.float32 and step.shape == () and step.item() == 6.0


def test_capturable_update_moves_the_parameters_as_hand_computed():
    # one Adam step from zero moments: p -= lr * g / (|g| + eps * sqrt(1 - beta2))
    # (bias corrections 1 - 0.9 and sqrt(1 - 0.999) cancel the moments' scale)
    p = dt.tensor([1.0, -2.0, 0.5], requires_grad=True)
    p.grad = dt.tensor([0.5, -4.0, 0.0])
    opt = dt.optim.Adam([p], lr=0.1, capturable=True)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [0.9, -1.9, 0.5], rtol=1e-6)


def test_state_dict_round_trip_with_tensor_steps():
    params, grads = _arrays(1, 5)
    full, _ = _run_dt("Adam", dict(lr=1e-2, amsgrad=True), params, grads, capturable=True)
    first, opt = _run_dt("Adam", dict(lr=1e-2, amsgrad=True), params, grads[:3],
                         capturable=True)
    sd = opt.state_dict()
    assert all(isinstance(s["step"], dt.Tensor) and s["step"].item() == 3.0
               for s in sd["state"].values())
    assert sd["param_groups"][0]["capturable"] is True
    resumed = [dt.tensor(p.detach().numpy().copy(), requires_grad=True) for p in first]
    opt2 = dt.optim.Adam(resumed, lr=1e-2, amsgrad=True, capturable=True)
    opt2.load_state_dict(sd)
    for p in resumed:
        step = opt2.state[p]["step"]
        assert step.dtype == dt.float32 and step.item() == 3.0
    for step_grads in grads[3:]:
        for p, g in zip(resumed, step_grads):
            p.grad = dt.tensor(g)
        opt2.step()
    for a, b in zip(resumed, full):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert opt2.state[resumed[0]]["step"].item() == 5.0


def test_step_loaded_into_plain_adam_keeps_counting():
    params, grads = _arrays(2, 4)
    full, _ = _run_dt("AdamW", dict(lr=1e-2), params, grads, capturable=False)
    first, opt = _run_dt("AdamW", dict(lr=1e-2), params, grads[:2], capturable=True)
    resumed = [dt.tensor(p.detach().numpy().copy(), requires_grad=True) for p in first]
    opt2 = dt.optim.AdamW(resumed, lr=1e-2)
    sd = opt.state_dict()
    sd["param_groups"][0]["capturable"] = False
    opt2.load_state_dict(sd)
    for step_grads in grads[2:]:
        for p, g in zip(resumed, step_grads):
            p.grad = dt.tensor(g)
        opt2.step()
    for a, b in zip(resumed, full):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=2e-5,
                                   atol=1e-6)


# --------------------------------------------------------------------------- capture guards

@pytest.fixture
def fake_capture(monkeypatch):
    """The backend says this thread is capturing a CUDA graph (on a CPU-only machine)."""
    monkeypatch.setattr(cuda_backend, "capturing", lambda: True)
    monkeypatch.setattr(cuda_backend, "available", lambda: True)


def _one_param():
    p = dt.tensor([1.0, 2.0], requires_grad=True)
    p.grad = dt.tensor([0.5, -0.5])
    return p


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_plain_adam_refuses_capture(fake_capture, name):
    p = _one_param()
    opt = getattr(dt.optim, name)([p], lr=0.1)
    with pytest.raises(RuntimeError, match=f"Attempting CUDA graph capture of step\\(\\) for an "
                                           f"instance of {name} but param_groups' capturable "
                                           "is False."):
        opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), [1.0, 2.0])  # nothing was updated


def test_one_plain_group_is_enough_to_refuse(fake_capture):
    a, b = _one_param(), _one_param()
    opt = dt.optim.Adam([{"params": [a]}, {"params": [b], "capturable": False}],
                        capturable=True)
    with pytest.raises(RuntimeError, match="capturable is False"):
        opt.step()


def test_capturable_adam_and_sgd_step_under_capture(fake_capture):
    p, q = _one_param(), _one_param()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # capturing: no 'running without capture' warning
        dt.optim.Adam([p], lr=0.1, capturable=True).step()
        dt.optim.SGD([q], lr=0.1, momentum=0.9).step()
    np.testing.assert_allclose(p.detach().numpy(), [0.9, 2.1], rtol=1e-6)
    np.testing.assert_allclose(q.detach().numpy(), [0.95, 2.05], rtol=1e-6)


def test_capturable_without_capture_warns_once(monkeypatch):
    monkeypatch.setattr(cuda_backend, "available", lambda: True)
    p = _one_param()
    opt = dt.optim.Adam([p], capturable=True)
    with pytest.warns(UserWarning, match="running without CUDA graph capture"):
        opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()


def test_capturable_without_cuda_does_not_warn(monkeypatch):
    monkeypatch.setattr(cuda_backend, "available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dt.optim.Adam([_one_param()], capturable=True).step()


def test_grad_scaler_step_and_anomaly_check_refuse_capture(monkeypatch):
    p = _one_param()
    scaler = dt.amp.GradScaler("cpu")
    opt = dt.optim.SGD([p], lr=0.1)
    scaler.scale((p * 2).sum())
    monkeypatch.setattr(cuda_backend, "_captures", 1)
    monkeypatch.setattr(cuda_backend._tls, "stream", object(), raising=False)
    with pytest.raises(RuntimeError, match="operation not permitted.*GradScaler.step"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="operation not permitted.*GradScaler.update"):
        scaler.update()
    x = dt.tensor([1.0, 2.0], requires_grad=True)
    with dt.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="anomaly detection"):
            (x * 2).sum().backward()
