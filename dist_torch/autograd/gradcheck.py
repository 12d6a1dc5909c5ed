"""gradcheck: compare autograd's Jacobian with central finite differences."""

from __future__ import annotations

import warnings

import numpy as np

from dist_torch._tensor import Tensor, _wrap
from dist_torch.autograd import grad_mode
from dist_torch.backend import array_module


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients differ."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _differentiable_outputs(outputs):
    return [o for o in outputs if isinstance(o, Tensor) and o.requires_grad]


def _numerical_jacobians(func, inputs, targets, outputs_numel, eps):
    """For each target input: a (numel(input), sum of output numels) matrix by central diffs."""
    jacobians = []
    for t in targets:
        flat = t._data.reshape(-1)  # a view for contiguous inputs; checked below
        if not array_module(flat).shares_memory(flat, t._data):
            raise ValueError("gradcheck needs contiguous inputs")
        jac = np.zeros((flat.size, outputs_numel), dtype=np.float64)
        for i in range(flat.size):
            orig = flat[i].item()
            flat[i] = orig + eps
            plus = _flat_outputs(func, inputs)
            flat[i] = orig - eps
            minus = _flat_outputs(func, inputs)
            flat[i] = orig
            jac[i] = (plus - minus) / (2 * eps)
        jacobians.append(jac)
    return jacobians


def _flat_outputs(func, inputs):
    with grad_mode.no_grad():
        outs = _as_tuple(func(*inputs))
    parts = [np.asarray(o.detach().numpy(force=True), dtype=np.float64).reshape(-1) for o in outs
             if isinstance(o, Tensor) and o.is_floating_point()]
    return np.concatenate(parts) if parts else np.zeros(0)


def _analytical_jacobians(outputs, targets):
    from dist_torch.autograd.api import grad
    jacobians = [np.zeros((t.numel(), sum(o.numel() for o in outputs))) for t in targets]
    col = 0
    for out in outputs:
        xp = array_module(out._data)
        for j in range(out.numel()):
            seed = xp.zeros(out._data.size, dtype=out._data.dtype)
            seed[j] = 1
            grads = grad(out, targets, grad_outputs=_wrap(
                seed.reshape(out._data.shape)), retain_graph=True, allow_unused=True)
            for jac, g in zip(jacobians, grads):
                if g is not None:
                    host = g.detach().numpy(force=True)
                    jac[:, col] = np.asarray(host, dtype=np.float64).reshape(-1)
            col += 1
    return jacobians


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """Check that ``func``'s gradients match finite differences for every input requiring grad.

    Inputs should be float64 tensors (a warning is given otherwise). Returns True, or raises
    :class:`GradcheckError` naming the input and output whose Jacobians differ (returns False
    instead when ``raise_exception=False``).
    """
    inputs = _as_tuple(inputs)
    targets = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not targets:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of the them have requires_grad=True.")
    for i, t in enumerate(targets):
        if t.dtype.name != "float64":
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. This check will likely fail if all the inputs are not of "
                          "double precision floating point.", UserWarning, stacklevel=2)
    outputs = _differentiable_outputs(_as_tuple(func(*inputs)))
    if not outputs:
        raise GradcheckError("gradcheck: none of the outputs requires grad")
    numel = sum(o.numel() for o in outputs)
    analytical = _analytical_jacobians(outputs, targets)
    numerical = _numerical_jacobians(func, inputs, targets, numel, eps)
    for i, (a, n) in enumerate(zip(analytical, numerical)):
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            where = np.unravel_index(np.argmax(np.abs(a - n)), a.shape)
            message = (f"Jacobian mismatch for output 0 with respect to input {i},\n"
                       f"numerical:{n}\nanalytical:{a}\n"
                       f"largest difference at (input element, output element) {where}: "
                       f"numerical {n[where]:.6g} vs analytical {a[where]:.6g}")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(*args, **kwargs):
    raise NotImplementedError("gradgradcheck needs double backward, which dist_torch does not "
                              "support yet")
