"""NumPy twins of the multi-tensor optimizer kernel wrappers (SGD, Adam/AdamW), and the
chunk table the CUDA wrappers launch from.

Same contract as :mod:`dist_torch.backend.kernel_twins` (which re-exports these names): the
signatures and outputs of the wrappers in :mod:`dist_torch.backend.cuda_kernels`, on NumPy
arrays, updating the parameters in place. Loops run over parameters, never over elements.
"""

from __future__ import annotations

import numpy as np

__all__ = ["multi_tensor_chunks", "sgd_step", "adam_step"]


def multi_tensor_chunks(sizes, chunk_size: int):
    """``(chunk_tensor int32, chunk_start int64)``: every chunk of every tensor, in order."""
    sizes = np.asarray(sizes, dtype=np.int64)
    counts = -(-sizes // chunk_size)
    tensor = np.repeat(np.arange(len(sizes), dtype=np.int32), counts)
    first = np.cumsum(counts) - counts
    start = (np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first, counts)) * chunk_size
    return tensor, start


def sgd_step(params, grads, momentum_buffers, *, lr, momentum=0.0, dampening=0.0,
             weight_decay=0.0, nesterov=False, maximize=False):
    """SGD as torch's foreach implementation, updating ``params`` in place.

    ``momentum_buffers`` holds each parameter's buffer or None (first step: the buffer becomes
    the gradient); the list is updated in place and returned. Unused when ``momentum == 0``.
    """
    for i, p in enumerate(params):
        t = p.dtype.type
        g = -grads[i] if maximize else grads[i]
        if weight_decay != 0:
            g = g + t(weight_decay) * p
        if momentum != 0:
            buf = momentum_buffers[i]
            if buf is None:
                buf = momentum_buffers[i] = g.copy()
            else:
                np.copyto(buf, buf * t(momentum) + t(1.0 - dampening) * g)
            g = g + t(momentum) * buf if nesterov else buf
        np.copyto(p, p + t(-lr) * g)
    return momentum_buffers


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *, lr, beta1,
              beta2, eps, weight_decay=0.0, amsgrad=False, maximize=False,
              decoupled_weight_decay=False):
    """Adam (AdamW with ``decoupled_weight_decay``) as torch's foreach implementation, in
    place. ``steps`` holds each parameter's step number counting this step (1 on the first);
    ``max_exp_avg_sqs`` is used only with ``amsgrad``."""
    for i, p in enumerate(params):
        t = p.dtype.type
        step = float(steps[i])
        step_size = t(-(lr / (1 - beta1 ** step)))
        bc2_sqrt = t((1 - beta2 ** step) ** 0.5)
        g = -grads[i] if maximize else grads[i]
        if weight_decay != 0:
            if decoupled_weight_decay:
                np.copyto(p, p * t(1.0 - lr * weight_decay))
            else:
                g = g + t(weight_decay) * p
        m, v = exp_avgs[i], exp_avg_sqs[i]
        w1 = t(1.0 - beta1)
        diff = g - m
        np.copyto(m, m + w1 * diff if w1 < 0.5 else g - diff * (t(1) - w1))
        np.copyto(v, v * t(beta2) + t(1.0 - beta2) * g * g)
        s = v
        if amsgrad:
            vmax = max_exp_avg_sqs[i]
            np.copyto(vmax, np.where(np.isnan(vmax) | (vmax > v), vmax, v))
            s = vmax
        denom = np.sqrt(s) / bc2_sqrt + t(eps)
        np.copyto(p, p + step_size * (m / denom))
