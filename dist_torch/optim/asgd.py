"""optim.ASGD: averaged stochastic gradient descent."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import _wrap
from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _bump_versions,
    _check_flags,
    _check_lr,
    _effective_grad,
    _scalar_dtype,
    _to_scalar,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged SGD, as ``torch.optim.ASGD``.

    Steps ``p = p * (1 - lambd * eta) - eta * g`` and keeps the running average ``ax`` of the
    iterates (from step ``t0`` on); ``eta = lr / (1 + lambd * lr * t) ** alpha`` and the
    averaging weight ``mu = 1 / max(1, t - t0)`` are 0-dim state tensors.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        lambd: decay term (default 1e-4).
        alpha: power for the ``eta`` update (default 0.75).
        t0: step at which averaging starts (default 1e6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for compatibility; the update is the same (``step``,
            ``eta`` and ``mu`` live on the parameter's device, as in torch).
        differentiable: not supported (raises NotImplementedError when True).
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_flags(foreach, None, differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(foreach=None, maximize=False, differentiable=False,
                              capturable=False)
        for p_state in self.state.values():
            if not isinstance(p_state, dict):
                continue
            for key in ("eta", "mu"):
                value = p_state.get(key)
                if value is not None and not hasattr(value, "_data"):
                    p_state[key] = _wrap(np.asarray(float(value), dtype=_scalar_dtype()))

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        self._cuda_graph_capture_health_check()
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            axs, etas, mus, steps = self._lazy_state(
                params, step_on_device=True, scalars={"eta": _to_scalar(group["lr"]), "mu": 1},
                ax=0)
            _single_tensor_asgd([p._data for p in params], [p._grad._data for p in params],
                                axs, mus, etas, steps, lambd=group["lambd"],
                                lr=_to_scalar(group["lr"]), t0=group["t0"],
                                alpha=group["alpha"], weight_decay=group["weight_decay"],
                                maximize=group["maximize"])
            _bump_versions(params)
        return loss


def _single_tensor_asgd(params, grads, axs, mus, etas, steps, *, lambd, lr, t0, alpha,
                        weight_decay, maximize):
    """ASGD's update on arrays, in place, in torch's order of operations (``mus``, ``etas``
    and ``steps`` are 0-dim arrays, updated here)."""
    for i, param in enumerate(params):
        xp = array_module(param)
        step_t = steps[i]
        step_t += 1
        d, _ = _effective_grad(xp, param, grads[i], weight_decay, maximize)
        eta = float(etas[i])
        param *= 1 - lambd * eta
        scratch = xp.empty_like(param)
        xp.multiply(d, -eta, out=scratch)  # param.add_(grad, alpha=-eta)
        param += scratch
        ax, mu = axs[i], mus[i]
        mu_value = float(mu)
        if mu_value != 1:
            # ax.add_(param.sub(ax).mul_(mu)); torch multiplies by the 0-dim ``mu`` as by a
            # scalar in the parameter's dtype
            xp.subtract(param, ax, out=scratch)
            scratch *= mu_value
            ax += scratch
        else:
            ax[...] = param
        step = float(step_t)
        # torch goes through torch.as_tensor(value): rounded to the default dtype first
        dtype = _scalar_dtype()
        etas[i][...] = dtype(lr / ((1 + lambd * lr * step) ** alpha))
        mus[i][...] = dtype(1 / max(1, step - t0))
