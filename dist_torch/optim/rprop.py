"""optim.Rprop: resilient backpropagation (per-element step sizes driven by gradient signs)."""

from __future__ import annotations

from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _bump_versions,
    _check_flags,
    _check_lr,
    _effective_grad,
    _to_scalar,
)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop, as ``torch.optim.Rprop``.

    Each element has its own step size (state ``step_size``, starting at ``lr``): multiplied
    by ``etaplus`` when the gradient keeps its sign, by ``etaminus`` when it flips (that
    element then skips the step and forgets its gradient), clamped to ``step_sizes``; the
    parameter moves by ``-sign(g) * step_size``. ``prev`` holds the last gradient used.

    Args:
        params: parameters or parameter groups to optimize.
        lr: initial step size (default 1e-2).
        etas: ``(etaminus, etaplus)``, the decrease and increase factors (default (0.5, 1.2)).
        step_sizes: minimal and maximal step sizes (default (1e-6, 50)).
        maximize: maximize the objective instead of minimizing it.
        capturable: keeps ``step`` on the parameter's device, as torch; the update is the
            same.
        foreach: accepted for compatibility; the update is the same.
        differentiable: not supported (raises NotImplementedError when True).
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        _check_flags(foreach, None, differentiable)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(foreach=None, maximize=False, differentiable=False,
                              capturable=False)

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        self._cuda_graph_capture_health_check()
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            prevs, step_sizes, steps = self._lazy_state(
                params, step_on_device=group["capturable"], prev=0,
                step_size=_to_scalar(group["lr"]))
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            _single_tensor_rprop([p._data for p in params], [p._grad._data for p in params],
                                 prevs, step_sizes, steps, step_size_min=step_size_min,
                                 step_size_max=step_size_max, etaminus=etaminus,
                                 etaplus=etaplus, maximize=group["maximize"])
            _bump_versions(params)
        return loss


def _single_tensor_rprop(params, grads, prevs, step_sizes, steps, *, step_size_min,
                         step_size_max, etaminus, etaplus, maximize):
    """Rprop's update on arrays, in place, as torch's (NaN products keep their NaN)."""
    for i, param in enumerate(params):
        xp = array_module(param)
        steps[i] += 1
        g, _ = _effective_grad(xp, param, grads[i], 0, maximize)
        prev, step_size = prevs[i], step_sizes[i]
        product = xp.multiply(g, prev, out=xp.empty_like(param))
        flipped = product < 0
        factor = xp.sign(product, out=product)
        factor = xp.where(factor > 0, factor.dtype.type(etaplus), factor)
        factor = xp.where(flipped, factor.dtype.type(etaminus), factor)
        factor = xp.where(factor == 0, factor.dtype.type(1), factor)
        step_size *= factor
        xp.clip(step_size, step_size_min, step_size_max, out=step_size)
        # elements whose gradient flipped sign skip this step and forget their gradient
        xp.copyto(prev, g)
        xp.copyto(prev, 0, where=flipped)
        xp.sign(prev, out=factor)
        factor *= step_size
        param -= factor
