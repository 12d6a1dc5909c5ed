"""torch.amp.GradScaler on CPU: scaling, inf/NaN detection, skipping, dynamic scale, state."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.amp.grad_scaler import _amp_update_scale_, _non_finite_check_and_unscale_


def _model(dtype=dt.float32):
    w = dt.nn.Parameter(dt.ones(3, dtype=dtype))
    return w, dt.optim.SGD([w], lr=0.5)


def test_scale_multiplies_tensors_and_nested_containers():
    s = dt.amp.GradScaler("cpu", init_scale=8.0)
    t = dt.ones(2)
    assert s.scale(t).tolist() == [8.0, 8.0]
    out = s.scale([t, (t, t)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    assert out[1][0].tolist() == [8.0, 8.0]
    assert s.scale(t.bfloat16()).dtype is dt.bfloat16
    with pytest.raises(ValueError, match="outputs must be a Tensor"):
        dt.amp.GradScaler("cpu").scale([t, 3])


def test_step_unscales_then_steps_and_update_grows_after_interval():
    w, opt = _model()
    s = dt.amp.GradScaler("cpu", init_scale=4.0, growth_interval=2)
    for i in range(2):
        opt.zero_grad()
        s.scale((w * 2).sum()).backward()
        assert w.grad.tolist() == [8.0] * 3          # scaled
        s.step(opt)
        assert w.grad.tolist() == [2.0] * 3          # unscaled in place
        s.update()
        assert s._get_growth_tracker() == (1 if i == 0 else 0)
    assert s.get_scale() == 8.0
    np.testing.assert_allclose(w.detach().numpy(), np.full(3, -1.0))


def test_inf_or_nan_skips_the_step_and_backs_off():
    for bad in (float("inf"), float("nan")):
        w, opt = _model()
        s = dt.amp.GradScaler("cpu", init_scale=4.0)
        with np.errstate(invalid="ignore"):
            s.scale((w * bad).sum()).backward()
            assert s.step(opt) is None
        s.update()
        assert w.tolist() == [1.0] * 3 and s.get_scale() == 2.0
        assert s._get_growth_tracker() == 0


def test_unscale_then_clip_then_step():
    w, opt = _model()
    s = dt.amp.GradScaler("cpu", init_scale=2.0**10)
    s.scale((w * 3).sum()).backward()
    s.unscale_(opt)
    dt.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    s.step(opt)                                      # does not unscale again
    s.update()
    np.testing.assert_allclose(np.linalg.norm(1.0 - w.detach().numpy()) / 0.5, 1.0, rtol=1e-5)


def test_low_precision_grads_are_unscaled_in_float32_and_rounded_once():
    g = dt.tensor([3.0, 5.0], dtype=dt.bfloat16)
    found = dt.zeros(())
    _non_finite_check_and_unscale_([g], found, dt.tensor(0.25))
    assert g.dtype is dt.bfloat16 and g.tolist() == [0.75, 1.25] and found.item() == 0.0
    h = dt.tensor([1.0, float("inf")], dtype=dt.float16)
    _non_finite_check_and_unscale_([h], found, dt.tensor(1.0))
    assert found.item() == 1.0


def test_fp16_gradients_are_refused():
    w, opt = _model(dt.float16)
    s = dt.amp.GradScaler("cpu")
    with np.errstate(over="ignore"):
        s.scale((w.float() * 2).sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        s.unscale_(opt)


def test_update_rules_match_torch_kernel():
    scale, tracker = dt.tensor(4.0), dt.tensor(0, dtype=dt.int32)
    _amp_update_scale_(scale, tracker, dt.tensor(0.0), 2.0, 0.5, 1)
    assert (scale.item(), tracker.item()) == (8.0, 0)
    big = dt.tensor(3e38)
    _amp_update_scale_(big, tracker, dt.tensor(0.0), 2.0, 0.5, 1)
    assert big.item() == pytest.approx(3e38, rel=1e-6)          # growth to inf is refused
    _amp_update_scale_(scale, tracker, dt.tensor(1.0), 2.0, 0.5, 1)
    assert scale.item() == 4.0


def test_update_with_new_scale():
    w, opt = _model()
    s = dt.amp.GradScaler("cpu")
    s.scale(w.sum())
    s.update(128.0)
    assert s.get_scale() == 128.0
    s.update(dt.tensor(64.0))
    assert s.get_scale() == 64.0
    with pytest.raises(AssertionError, match="new_scale should be a float"):
        s.update(dt.ones(2))


def test_disabled_scaler_is_a_pass_through():
    w, opt = _model()
    s = dt.amp.GradScaler("cpu", enabled=False)
    t = dt.ones(2)
    assert s.scale(t) is t
    (w * 2).sum().backward()
    s.step(opt)
    s.update()
    assert s.get_scale() == 1.0 and s.state_dict() == {} and not s.is_enabled()
    assert w.tolist() == [0.0] * 3


def test_bad_factors_and_pickling():
    with pytest.raises(AssertionError, match="growth factor must be > 1.0"):
        dt.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(AssertionError, match="backoff factor must be < 1.0"):
        dt.amp.GradScaler("cpu", backoff_factor=1.0)
    s = dt.amp.GradScaler("cpu", init_scale=32.0)
    s.scale(dt.ones(1))
    copy = pickle.loads(pickle.dumps(s))
    assert copy.get_scale() == 32.0 and copy._scale is None


def test_optimizers_that_handle_scaling_get_grad_scale_and_found_inf():
    w, opt = _model()
    seen = {}

    def step(*args, **kwargs):
        seen["grad_scale"] = opt.grad_scale.item()
        seen["found_inf"] = opt.found_inf.item()
    opt._step_supports_amp_scaling = True
    opt.step = step
    s = dt.amp.GradScaler("cpu", init_scale=16.0)
    s.scale(w.sum()).backward()
    s.step(opt)
    assert seen == {"grad_scale": 16.0, "found_inf": 0.0}
    assert not hasattr(opt, "grad_scale")
    s.update()


def test_cuda_aliases_warn_future_warning():
    from dist_torch.cuda import amp as cuda_amp
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        cuda_amp.GradScaler()
        cuda_amp.autocast(enabled=False)
    kinds = [x.category for x in w]
    assert kinds.count(FutureWarning) == 2
