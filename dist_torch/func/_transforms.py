"""torch.func gradient transforms: grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian.

Built on dist_torch's reverse-mode engine. Its backward runs on arrays, so results are not
differentiable again: nesting transforms (grad of grad, hessian) and ``create_graph=True``
raise NotImplementedError. ``jvp`` and ``jacfwd`` take the Jacobian from one reverse pass per
output element (torch uses forward-mode AD); the values are the same.
"""

from __future__ import annotations

import functools

import dist_torch as _dt
from dist_torch._tensor import Tensor
from dist_torch.autograd.api import grad as _grad
from dist_torch.autograd.functional import contract_rows, jacobian_rows
from dist_torch.func._pytree import spec_str, tree_flatten, tree_map, tree_unflatten

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]


def _differentiable(x):
    """A new tensor object to differentiate against; stays attached to an outer graph."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    if x.requires_grad and _dt.is_grad_enabled():
        return x.view_as(x)
    return x.detach().requires_grad_(True)


def _check_argnums(argnums, num_args):
    def one(a):
        if not isinstance(a, int) or isinstance(a, bool):
            raise RuntimeError(f"argnum must be int, got: {type(a)}")
        if -num_args <= a < num_args:
            return a % num_args
        raise RuntimeError(f"Got argnum={a}, but only {num_args} positional inputs")
    if isinstance(argnums, int):
        return one(argnums)
    if isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        fixed = tuple(one(a) for a in argnums)
        if len(set(fixed)) != len(fixed):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        return fixed
    raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")


def _prepare(args, argnums):
    """``(new_args, diff_tree, connected)``: args with the argnums entries made differentiable."""
    idx = _check_argnums(argnums, len(args))
    picked = (idx,) if isinstance(idx, int) else idx
    args = list(args)
    connected = False
    for i in picked:
        connected |= any(isinstance(x, Tensor) and x.requires_grad
                         for x in tree_flatten(args[i])[0])
        args[i] = tree_map(_differentiable, args[i])
    diff = args[idx] if isinstance(idx, int) else tuple(args[i] for i in idx)
    return tuple(args), diff, connected and _dt.is_grad_enabled()


def _split_aux(out, has_aux, api):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if "
                           "has_aux is True")
    return out


def _detach_tree(tree, keep):
    if keep:
        return tree
    return tree_map(lambda x: x.detach() if isinstance(x, Tensor) else x, tree)


def _zeros_for_none(grads, refs):
    return [_dt.zeros_like(r) if g is None else g for g, r in zip(grads, refs)]


def _grads_of(outputs, grad_outputs, inputs, retain_graph):
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs or not inputs:
        return [None] * len(inputs)
    outs, gouts = zip(*pairs)
    return list(_grad(outs, inputs, gouts, retain_graph=retain_graph, allow_unused=True))


def grad_and_value(func, argnums=0, has_aux=False):
    """Like :func:`grad`, but the wrapped function returns ``(gradient, value)`` (or
    ``(gradient, (value, aux))`` with ``has_aux``)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _dt.enable_grad():
            args, diff, connected = _prepare(args, argnums)
            output = func(*args, **kwargs)
            output, aux = _split_aux(output, has_aux, "grad_and_value(f)(*args)")
            if not isinstance(output, Tensor):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(output)}")
            if output.dim() != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got tensor with {output.dim()} dims. Maybe "
                                   "you wanted to use the vjp or jacrev APIs instead?")
            flat, spec = tree_flatten(diff)
            grads = _grads_of((output,), (None,), flat, retain_graph=connected)
        grads = tree_unflatten([g.detach() for g in _zeros_for_none(grads, flat)], spec)
        output = _detach_tree(output, connected)
        if has_aux:
            return grads, (output, _detach_tree(aux, connected))
        return grads, output
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """Gradient transform: ``grad(f)(*args)`` is d f(*args) / d args[argnums].

    ``f`` must return a scalar Tensor (or ``(scalar, aux)`` with ``has_aux``). ``argnums`` is
    an int or a tuple of ints; an argument may be a nest of tuples/lists/dicts of Tensors and
    its gradient has the same structure. Unused inputs get zero gradients.

    Example::

        >>> torch.func.grad(lambda x: x.sin().sum())(x)   # == x.cos()
    """
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def _check_outputs(flat, api):
    if not flat:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output "
                           f"(got output = {flat})")
    for o in flat:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {type(o)}")


def vjp(func, *primals, has_aux=False):
    """``(output, vjp_fn)`` (plus ``aux`` with ``has_aux``): ``vjp_fn(cotangents)`` returns the
    vector-Jacobian products as a tuple with one entry per primal. ``vjp_fn`` may be called
    several times."""
    with _dt.enable_grad():
        connected = _dt.is_grad_enabled() and any(
            isinstance(x, Tensor) and x.requires_grad for x in tree_flatten(primals)[0])
        diff = tree_map(_differentiable, primals)
        out = func(*diff)
        out, aux = _split_aux(out, has_aux, "vjp(f, *primals)")
        flat_out, out_spec = tree_flatten(out)
        _check_outputs(flat_out, "vjp(f, *primals)")
        for o in flat_out:
            if not o.dtype.is_floating_point:
                raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or "
                                   f"complex Tensors, got Tensor with dtype {o.dtype}")
    flat_in, in_spec = tree_flatten(diff)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        if create_graph:
            raise NotImplementedError("double backward (create_graph=True) is not supported by "
                                      "dist_torch yet")
        flat_ct, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree "
                               "structure of outputs to the function. cotangents: "
                               f"{spec_str(ct_spec)}, primal output: {spec_str(out_spec)}")
        grads = _grads_of(flat_out, flat_ct, flat_in, retain_graph=retain_graph)
        return tree_unflatten([g.detach() for g in _zeros_for_none(grads, flat_in)], in_spec)

    result = (_detach_tree(out, connected), vjp_fn)
    return result + (_detach_tree(aux, connected),) if has_aux else result


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(output, jvp_out)`` (plus ``aux``): the Jacobian of ``func`` at ``primals`` applied to
    ``tangents`` (same structure as ``primals``). Computed from reverse-mode Jacobian rows."""
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    flat_p, p_spec = tree_flatten(primals)
    flat_t, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{api}: Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, "
                           "tangents also must be. Got primals with structure "
                           f"{spec_str(p_spec)} and tangents with structure {spec_str(t_spec)}")
    for name, flat in (("primals", flat_p), ("tangents", flat_t)):
        if not flat:
            raise RuntimeError(f"{api}: Expected {name} to contain at least one Tensor.")
        for x in flat:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"{api}: Expected {name} to only contain Tensors, got "
                                   f"{type(x)}")
    with _dt.enable_grad():
        diff = [x.detach().requires_grad_(True) for x in flat_p]
        out = func(*tree_unflatten(diff, p_spec))
        out, aux = _split_aux(out, has_aux, api)
        flat_out, out_spec = tree_flatten(out)
        _check_outputs(flat_out, api)
        rows = jacobian_rows(flat_out, diff)
    if strict and any(all(j is None for j in row) for row in rows):
        raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is "
                           "independent of the inputs. This is not allowed with strict=True.")
    results = contract_rows(flat_out, rows, flat_t)
    out = tree_unflatten([o.detach() for o in flat_out], out_spec)
    res = (out, tree_unflatten(results, out_spec))
    return res + (_detach_tree(aux, False),) if has_aux else res


def _jacobian_transform(func, argnums, has_aux, api, forward):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _dt.enable_grad():
            idx = _check_argnums(argnums, len(args))
            picked = (idx,) if isinstance(idx, int) else idx
            args = list(args)
            for i in picked:
                args[i] = tree_map(lambda x: x.detach().requires_grad_(True)
                                   if isinstance(x, Tensor) else _differentiable(x), args[i])
            diff = args[idx] if isinstance(idx, int) else tuple(args[i] for i in idx)
            out = func(*args, **kwargs)
            out, aux = _split_aux(out, has_aux, api)
            flat_out, out_spec = tree_flatten(out)
            _check_outputs(flat_out, api)
            flat_in, in_spec = tree_flatten(diff)
            rows = jacobian_rows(flat_out, flat_in)
        jacs = []
        for o, row in zip(flat_out, rows):
            leaves = []
            for x, jac in zip(flat_in, row):
                dtype = o.dtype if forward else x.dtype
                if jac is None:
                    jac = _dt.zeros(tuple(o.shape) + tuple(x.shape), dtype=dtype,
                                    device=x.device)
                leaves.append(jac.detach().to(dtype))
            jacs.append(tree_unflatten(leaves, in_spec))
        result = tree_unflatten(jacs, out_spec)
        if has_aux:
            return result, _detach_tree(aux, False)
        return result
    return wrapper


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """Jacobian transform by reverse-mode AD: ``jacrev(f)(*args)`` has, for each output
    Tensor, shape ``output.shape + input.shape`` (nested like ``args[argnums]``).

    ``chunk_size`` is accepted; rows are computed one at a time.
    """
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    return _jacobian_transform(func, argnums, has_aux, "jacrev(f, ...)(*args)", forward=False)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """Jacobian transform with torch's ``jacfwd`` signature and results (dtype of the
    output). dist_torch has no forward-mode AD: the rows come from reverse passes."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    return _jacobian_transform(func, argnums, has_aux, "jacfwd(f, ...)(*args)", forward=True)


def hessian(func, argnums=0):
    """Hessian transform. Not available: it needs double backward."""
    raise NotImplementedError("torch.func.hessian needs double backward (create_graph=True), "
                              "which dist_torch does not support yet")
