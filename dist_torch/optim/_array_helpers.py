"""Array helpers shared by the optimizers added after the first six (0-dim safe)."""

from __future__ import annotations


def grad_with_decay(xp, param, grad, weight_decay, maximize):
    """``(d, owned)``: ``-grad`` if maximize, plus ``weight_decay * param`` (torch's
    ``grad.add(param, alpha=weight_decay)``). ``owned`` is True when ``d`` is a fresh array
    the caller may overwrite. Always an array (also for 0-dim parameters)."""
    if weight_decay == 0 and not maximize:
        return grad, False
    d = xp.empty_like(param)
    if weight_decay != 0:
        xp.multiply(param, weight_decay, out=d)
        if maximize:
            xp.subtract(d, grad, out=d)  # -g + wd * p
        else:
            d += grad
    else:
        xp.negative(grad, out=d)
    return d, True


def addcdiv_(xp, param, tensor1, tensor2, value, scratch) -> None:
    """``param.addcdiv_(tensor1, tensor2, value=value)``: ``param += (value * t1) / t2``."""
    xp.multiply(tensor1, value, out=scratch)
    scratch /= tensor2
    param += scratch
