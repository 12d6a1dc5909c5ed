"""torch.autograd.functional: vjp, jvp, jacobian (and hessian, hvp, vhp, which need double
backward).

dist_torch's backward runs on arrays, so gradients are never themselves differentiable:
``create_graph=True`` raises NotImplementedError, as ``torch.autograd.grad`` does here. For the
same reason ``jvp`` cannot use torch's double-backward trick: it contracts the Jacobian, built
one reverse-mode row per output element, with ``v``. Values equal torch's; the cost is one
backward pass per output element.
"""

from __future__ import annotations

import dist_torch as _dt
from dist_torch._tensor import Tensor
from dist_torch.autograd.api import grad as _grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_DOUBLE_BACKWARD = ("{} needs double backward (create_graph=True), which dist_torch does not "
                    "support yet")


def _as_tuple(inp, arg_name, fn_name):
    """``(was_tuple, tuple_of_tensors)`` with torch's TypeError for anything else."""
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but {where} has type {type(el)}.")
    return is_tuple, items


def _unpack(res, to_unpack):
    """Undo ``_as_tuple`` on results: one flag, or (outputs_flag, inputs_flag) for nesting."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _fresh_inputs(inputs, create_graph):
    """New tensor objects that require grad, so captured copies of the same data stay apart."""
    if create_graph:
        raise NotImplementedError("double backward (create_graph=True) is not supported by "
                                  "dist_torch yet")
    return tuple(inp.detach().requires_grad_(True) for inp in inputs)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but "
                               f"got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but "
                               f"got {el_v.size()}.")


def _check_outputs_require_grad(outputs, strict):
    if not strict:
        return
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"Output {i} of the user-provided function does not require "
                               "gradients. The outputs must be computed in a differentiable "
                               "manner from the input when running in strict mode.")


def _grads(outputs, inputs, grad_outputs=None, retain_graph=None):
    """autograd.grad over the outputs that require grad; ``None`` for unreached inputs."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, gouts = zip(*pairs)
    return _grad(outs, inputs, gouts, retain_graph=retain_graph, allow_unused=True)


def contract_rows(outputs, rows, vectors) -> list:
    """``J @ v`` per output, from the Jacobian blocks ``rows[i][j]`` (None: zero) of output i
    with respect to input j and the tangent vectors ``vectors[j]``; no graph is recorded."""
    result = []
    with _dt.no_grad():
        for out, row in zip(outputs, rows):
            acc = _dt.zeros(out.numel(), dtype=out.dtype, device=out.device)
            for jac, vec in zip(row, vectors):
                if jac is not None:
                    flat = jac.reshape(out.numel(), vec.numel())
                    acc = acc + (flat @ vec.reshape(-1).to(flat.dtype)).to(out.dtype)
            result.append(acc.reshape(out.shape))
    return result


def jacobian_rows(outputs, inputs):
    """``rows[i][j]``: Jacobian of ``outputs[i]`` w.r.t. ``inputs[j]`` shaped
    ``out.shape + in.shape`` (``None`` where outputs[i] does not reach inputs[j]).

    One reverse-mode pass per element of each output; the graph is kept between passes.
    """
    rows = []
    for out in outputs:
        n = out.numel()
        per_input = [[] for _ in inputs]
        if out.requires_grad and n:
            for k in range(n):
                # a fresh one-hot each time: a returned gradient may alias grad_outputs
                basis = _dt.zeros(n, dtype=out.dtype, device=out.device)
                basis[k] = 1
                vj = _grad((out,), inputs, (basis.reshape(out.shape),), retain_graph=True,
                           allow_unused=True)
                for acc, g in zip(per_input, vj):
                    acc.append(g)
        jac = []
        for inp, acc in zip(inputs, per_input):
            if not acc or all(g is None for g in acc):
                jac.append(None)
                continue
            filled = [_dt.zeros_like(inp) if g is None else g for g in acc]
            jac.append(_dt.stack(filled).reshape(tuple(out.shape) + tuple(inp.shape)))
        rows.append(jac)
    return rows


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """Vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Returns ``(func_output, vjp)``; ``vjp`` has the structure of ``inputs``. ``v`` may be
    omitted when ``func`` returns a single one-element tensor.

    Example::

        >>> out, vjp_val = torch.autograd.functional.vjp(lambda x: x ** 2, x, torch.ones(3))
    """
    with _dt.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _fresh_inputs(inputs, create_graph)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                              "vjp")
        _check_outputs_require_grad(outputs, strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = tuple(el.detach() for el in v)
            _validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
        grads = _grads(outputs, inputs, v)
    result = []
    for i, (g, inp) in enumerate(zip(grads, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent "
                                   f"of input {i}. This is not allowed in strict mode.")
            g = _dt.zeros_like(inp)
        result.append(g.detach())
    outputs = tuple(o.detach() for o in outputs)
    return _unpack(outputs, is_outputs_tuple), _unpack(tuple(result), is_inputs_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """Jacobian-vector product ``J v`` of ``func`` at ``inputs``.

    Returns ``(func_output, jvp)``; ``jvp`` has the structure of the output. ``v`` may be
    omitted when the input is a single one-element tensor. Computed as the contraction of the
    reverse-mode Jacobian with ``v`` (one backward pass per output element), not with torch's
    double-backward trick; the values are the same.
    """
    with _dt.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _fresh_inputs(inputs, create_graph)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = tuple(el.detach() for el in v)
            _validate_v(v, inputs, is_inputs_tuple)
        elif len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        else:
            v = (_dt.ones_like(inputs[0]),)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                              "jvp")
        _check_outputs_require_grad(outputs, strict)
        rows = jacobian_rows(outputs, inputs)
    if strict:
        for j in range(len(inputs)):
            if all(row[j] is None for row in rows):
                raise RuntimeError(f"The output of the user-provided function is independent "
                                   f"of input {j}. This is not allowed in strict mode.")
        for i, row in enumerate(rows):
            if all(jac is None for jac in row):
                raise RuntimeError(
                    f"The gradient with respect to the input is independent of entry {i} in the "
                    "grad_outputs when using the double backward trick to compute forward mode "
                    "gradients. This is not allowed in strict mode.")
    result = contract_rows(outputs, rows, v)
    outputs = tuple(o.detach() for o in outputs)
    return _unpack(outputs, is_outputs_tuple), _unpack(tuple(result), is_outputs_tuple)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """Jacobian of ``func`` at ``inputs``.

    A single Tensor for one input and one output; a tuple when either is a tuple;
    ``J[i][j]`` (shape ``out_i.shape + in_j.shape``) when both are. ``vectorize=True`` and
    ``strategy="forward-mode"`` give the same values from the same per-row reverse passes.

    Example::

        >>> torch.autograd.functional.jacobian(lambda x: x.exp(), torch.zeros(2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, '
                             '"forward-mode" tends to be more performant. Otherwise, prefer to '
                             'use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either set '
                '`create_graph=False` or `strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError(
                "torch.autograd.functional.jacobian: `strict=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either set '
                '`strict=False` or `strategy="reverse-mode"`.')
        _as_tuple(inputs, "inputs", "jacobian")
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                      "Hessian isonly implemented for `vectorize=True`.")
    with _dt.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _fresh_inputs(inputs, create_graph)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function",
                                              "jacobian")
        _check_outputs_require_grad(outputs, strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either set "
                               "`strict=False` or `vectorize=False`.")
        rows = jacobian_rows(outputs, inputs)
    result = []
    for i, (out, row) in enumerate(zip(outputs, rows)):
        jacs = []
        for j, (inp, jac) in enumerate(zip(inputs, row)):
            if jac is None:
                if strict and out.numel():
                    raise RuntimeError(f"Output {i} of the user-provided function is independent "
                                       f"of input {j}. This is not allowed in strict mode.")
                dtype = out.dtype if strategy == "forward-mode" else inp.dtype
                jac = _dt.zeros(tuple(out.shape) + tuple(inp.shape), dtype=dtype,
                                device=inp.device)
            elif strategy == "forward-mode":
                jac = jac.to(out.dtype)
            jacs.append(jac.detach())
        result.append(jacs if strategy == "forward-mode" else tuple(jacs))
    # torch's forward-mode returns lists where reverse-mode returns tuples
    result = result if strategy == "forward-mode" else tuple(result)
    return _unpack(result, (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """Hessian of a scalar function. Not available: it needs double backward."""
    raise NotImplementedError(_DOUBLE_BACKWARD.format("torch.autograd.functional.hessian"))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """Hessian-vector product. Not available: it needs double backward."""
    raise NotImplementedError(_DOUBLE_BACKWARD.format("torch.autograd.functional.hvp"))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """Vector-Hessian product. Not available: it needs double backward."""
    raise NotImplementedError(_DOUBLE_BACKWARD.format("torch.autograd.functional.vhp"))
