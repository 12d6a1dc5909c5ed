"""optim.Adafactor: Adam-like steps with a factored (row x column) second moment."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import _wrap
from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _bump_versions,
    _check_flags,
    _effective_grad,
    _scalar_dtype,
    _to_scalar,
)

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor, as ``torch.optim.Adafactor``.

    For parameters with 2 or more dims, the second moment of the last two dims is kept as a
    row factor (``row_var``, last dim reduced) and a column factor (``col_var``, second to
    last dim reduced); vectors and scalars keep a full ``variance``. The running averages
    use ``beta2_t = 1 - t ** beta2_decay``; the step is ``max(eps2, RMS(p)) *
    min(lr, 1/sqrt(t))`` times the update clipped to RMS ``d``.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate, an upper bound of the relative step (default 1e-2).
        beta2_decay: decay rate of the second moment's coefficient (default -0.8).
        eps: ``(eps1, eps2)``: added to the variances (None: the parameter dtype's machine
            epsilon) and lower bound of the parameter's RMS (default (None, 1e-3)).
        d: clipping threshold of the update's RMS (default 1.0).
        weight_decay: decoupled weight decay coefficient (default 0.0).
        foreach: accepted for compatibility; the update is the same.
        maximize: maximize the objective instead of minimizing it.
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        if getattr(lr, "numel", None) is not None and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        _check_flags(foreach, None, False)
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(foreach=None)

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            row_vars, col_vars, variances, steps = [], [], [], []
            for p in params:
                if p.is_complex():
                    raise RuntimeError("Adafactor does not support complex parameters")
                state = self.state[p]
                if len(state) == 0:
                    grad = p._grad._data
                    xp = array_module(grad)
                    state["step"] = _wrap(np.zeros((), dtype=_scalar_dtype()))
                    if grad.ndim > 1:
                        state["row_var"] = _wrap(xp.zeros(grad.shape[:-1] + (1,), grad.dtype))
                        state["col_var"] = _wrap(xp.zeros(
                            grad.shape[:-2] + (1,) + grad.shape[-1:], grad.dtype))
                    else:
                        state["variance"] = _wrap(xp.zeros_like(grad))
                row_vars.append(state["row_var"]._data if "row_var" in state else None)
                col_vars.append(state["col_var"]._data if "col_var" in state else None)
                variances.append(state["variance"]._data if "variance" in state else None)
                steps.append(state["step"]._data)
            eps1, eps2 = group["eps"]
            _single_tensor_adafactor([p._data for p in params],
                                     [p._grad._data for p in params], row_vars, col_vars,
                                     variances, steps, d=group["d"],
                                     lr=_to_scalar(group["lr"]),
                                     beta2_decay=group["beta2_decay"],
                                     weight_decay=group["weight_decay"], eps1=eps1, eps2=eps2,
                                     maximize=group["maximize"])
            _bump_versions(params)
        return loss


def _mean_square(xp, grad, axis):
    """``torch.norm(grad, dim=axis, keepdim=True).square_().div_(grad.size(axis))``."""
    out = xp.sqrt(xp.sum(grad * grad, axis=axis, keepdims=True))
    out *= out
    out /= grad.shape[axis]
    return out


def _lerp_to(xp, start, end, weight) -> None:
    """``start.lerp_(end, weight)`` (torch's two formulas) for arrays that may broadcast."""
    diff = end - start
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1 - weight
        xp.subtract(end, diff, out=start)


def _single_tensor_adafactor(params, grads, row_vars, col_vars, variances, steps, *, d, lr,
                             beta2_decay, weight_decay, eps1, eps2, maximize):
    """Adafactor's update on arrays, in place, in torch's order of operations."""
    for i, param in enumerate(params):
        xp = array_module(param)
        grad, _ = _effective_grad(xp, param, grads[i], 0, maximize)
        if eps1 is None:  # as torch: fixed by the first parameter of the group
            eps1 = float(np.finfo(param.dtype).eps)
        step_t = steps[i]
        step_t += 1
        step = float(step_t)
        one_minus_beta2_t = step ** beta2_decay
        rho_t = min(lr, 1 / (step ** 0.5))
        rms = float(xp.sqrt(xp.sum(param * param))) / (param.size ** 0.5)
        alpha = max(eps2, rms) * rho_t
        if weight_decay != 0:
            param *= 1 - lr * weight_decay
        if grad.ndim > 1:
            row_var, col_var = row_vars[i], col_vars[i]
            _lerp_to(xp, row_var, _mean_square(xp, grad, -1), one_minus_beta2_t)
            _lerp_to(xp, col_var, _mean_square(xp, grad, -2), one_minus_beta2_t)
            var_estimate = xp.matmul(row_var, col_var)
            row_mean = xp.mean(row_var, axis=-2, keepdims=True)
            xp.maximum(row_mean, eps1, out=row_mean)
            var_estimate /= row_mean
        else:
            variance = variances[i]
            _lerp_to(xp, variance, grad * grad, one_minus_beta2_t)
            var_estimate = variance.copy()
        xp.maximum(var_estimate, eps1 * eps1, out=var_estimate)
        update = xp.sqrt(var_estimate, out=var_estimate)
        xp.reciprocal(update, out=update)
        update *= grad
        denom = max(1.0, float(xp.sqrt(xp.sum(update * update)))
                    / ((update.size ** 0.5) * d))
        update *= -alpha / denom
        param += update

