"""einsum, tensordot and inner: contractions written as labelled subscripts.

The equation is parsed and checked here (with torch's messages), each ellipsis is expanded into
explicit labels, and one ``Einsum`` primitive does the work. A contraction of two operands is
one batched GEMM (transpose + reshape + ``@``), which is what attention-shaped equations such
as ``bhqd,bhkd->bhqk`` need; other cases go to ``xp.einsum`` (``optimize=True``).

The gradient of operand ``i`` is itself an einsum of the output gradient with the other
operands, producing operand ``i``'s labels; labels that only operand ``i`` sums over are
broadcast back, and repeated labels (diagonals such as ``ii->i``) are written into the diagonal
of a zero array.
"""

from __future__ import annotations

import functools
import math
import string

import numpy as np

from dist_torch._dtype import from_numpy_dtype
from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive
from dist_torch.backend import array_module
from dist_torch.ops._pointwise import write_out
from dist_torch.ops._util import cast, check_same_device, wrap_dim

__all__ = ["einsum", "tensordot", "inner"]

# Sublist subscripts 0..51 map to these, in an order that keeps implicit outputs sorted.
_LETTERS = string.ascii_uppercase + string.ascii_lowercase
_INT64 = np.dtype(np.int64)


def _name(array) -> str:
    return _LEGACY_TYPE_NAMES[from_numpy_dtype(array.dtype).name]


# --------------------------------------------------------------------------- contraction

def _equation(subs, out) -> str:
    return ",".join("".join(s) for s in subs) + "->" + "".join(out)


def contract(subs, out, arrays, copy=False):
    """Evaluate the einsum ``subs -> out`` (tuples of single-letter labels) on arrays.

    ``copy=True`` guarantees a result that does not share memory with an input.
    """
    first = arrays[0]
    xp = array_module(first)
    low = type(first) is np.ndarray and first.itemsize == 2 and first.dtype.kind != "i"
    if low:  # NumPy has no bfloat16 einsum and no fast float16 GEMM
        arrays = [a.astype(np.float32) for a in arrays]
    if len(arrays) == 2 and len(set(subs[0])) == len(subs[0]) and \
            len(set(subs[1])) == len(subs[1]):
        a, b = arrays
        plan = _pair_plan(tuple(subs[0]), tuple(subs[1]), tuple(out), a.shape, b.shape)
        result = xp.asarray(_run_pair(xp, plan, a, b))
    else:
        optimize = len(arrays) > 2
        result = xp.asarray(xp.einsum(_equation(subs, out), *arrays, optimize=optimize))
        if copy and result.base is not None:
            result = result.copy()
    return result.astype(first.dtype) if low else result


def _perm_or_none(perm):
    return None if list(perm) == list(range(len(perm))) else tuple(perm)


@functools.lru_cache(maxsize=1024)
def _pair_plan(sa, sb, so, shape_a, shape_b):
    """How to contract two operands without repeated labels (cached per labels and shapes).

    Labels only one operand has and the output lacks are summed first. Then, with nothing left
    to contract, the result is an elementwise product of the operands aligned to the output;
    otherwise one matmul of ``(batch, left, summed)`` by ``(batch, summed, right)`` with the
    batch dims broadcasting.
    """
    set_o = set(so)
    sum_a = tuple(i for i, label in enumerate(sa) if label not in sb and label not in set_o)
    sum_b = tuple(i for i, label in enumerate(sb) if label not in sa and label not in set_o)
    size_a = {label: n for i, (label, n) in enumerate(zip(sa, shape_a)) if i not in sum_a}
    size_b = {label: n for i, (label, n) in enumerate(zip(sb, shape_b)) if i not in sum_b}
    ia = {label: i for i, label in enumerate(label for label in sa if label in size_a)}
    ib = {label: i for i, label in enumerate(label for label in sb if label in size_b)}
    summed = [label for label in ia if label in ib and label not in set_o]
    if not summed:  # no contraction: an elementwise product of aligned operands
        return sum_a, sum_b, "mul", (_align_plan(ia, size_a, so), _align_plan(ib, size_b, so))
    batch = [label for label in so if label in ia and label in ib]
    left = [label for label in so if label in ia and label not in ib]
    right = [label for label in so if label in ib and label not in ia]
    if any(size_a[label] != size_b[label] for label in summed) or not (left or right):
        # a size-1 summed dim broadcasts (matmul cannot), or a batch of dot products (einsum's
        # own loop beats a batch of 1x1 GEMMs)
        return sum_a, sum_b, "einsum", _equation([list(ia), list(ib)], so)
    out_shape = tuple(size_a[label] if size_b[label] == 1 else size_b[label]
                      for label in batch)
    out_shape += tuple(size_a[label] for label in left) + tuple(size_b[label] for label in right)
    order = batch + left + right
    return sum_a, sum_b, "mm", (
        _matrix_plan(ia, size_a, batch, left, summed),
        _matrix_plan(ib, size_b, batch, right, summed, rows_summed=True),
        out_shape, _perm_or_none([order.index(label) for label in so]))


def _matrix_plan(index, size, batch, free, summed, rows_summed=False):
    """(perm, shape, swap) making an operand a batch of ``free x summed`` matrices (or
    ``summed x free`` with ``rows_summed``). When the operand's memory already runs the other
    way round, it is reshaped as it lies and its last two axes swapped: a transposed view,
    which BLAS takes without a copy."""
    rows, cols = (summed, free) if rows_summed else (free, summed)
    batch_shape = tuple(size[label] for label in batch)
    n_rows = math.prod(size[label] for label in rows)
    n_cols = math.prod(size[label] for label in cols)
    straight = _perm_or_none([index[label] for label in batch + rows + cols])
    if straight is not None and \
            _perm_or_none([index[label] for label in batch + cols + rows]) is None:
        return None, batch_shape + (n_cols, n_rows), True
    return straight, batch_shape + (n_rows, n_cols), False


def _align_plan(index, size, so):
    """(perm, shape) taking an operand to the output's label order with size-1 dims for the
    labels it lacks; None where a step is not needed."""
    present = [label for label in so if label in index]
    shape = tuple(size.get(label, 1) for label in so)
    return (_perm_or_none([index[label] for label in present]),
            None if len(present) == len(so) else shape)


def _run_pair(xp, plan, a, b):
    sum_a, sum_b, kind, steps = plan
    if sum_a:
        a = a.sum(axis=sum_a, dtype=a.dtype)
    if sum_b:
        b = b.sum(axis=sum_b, dtype=b.dtype)
    if kind == "mul":
        (perm_a, shape_a), (perm_b, shape_b) = steps
        if perm_a is not None:
            a = a.transpose(perm_a)
        if shape_a is not None:
            a = a.reshape(shape_a)
        if perm_b is not None:
            b = b.transpose(perm_b)
        if shape_b is not None:
            b = b.reshape(shape_b)
        return a * b
    if kind == "einsum":
        return xp.einsum(steps, a, b)
    plan_a, plan_b, out_shape, out_perm = steps
    result = (_as_matrices(a, *plan_a) @ _as_matrices(b, *plan_b)).reshape(out_shape)
    return result if out_perm is None else result.transpose(out_perm)


def _as_matrices(a, perm, shape, swap):
    if perm is not None:
        a = a.transpose(perm)
    a = a.reshape(shape)
    return a.swapaxes(-1, -2) if swap else a


class Einsum(Primitive):
    """``einsum(subs -> out)`` over any number of operands, with explicit labels only."""

    def forward(ctx, *arrays, subs, out):
        ctx.subs, ctx.out = subs, out
        ctx.shapes = [a.shape for a in arrays]
        needs = ctx.needs_input_grad
        wanted = sum(needs)
        if len(arrays) > 1 and wanted:  # operand j is needed by the other operands' gradients
            ctx.save_for_backward(*(a if wanted > needs[j] else None
                                    for j, a in enumerate(arrays)))
        return contract(subs, out, arrays, copy=True)

    def backward(ctx, grad):
        arrays = ctx.saved_tensors
        grads = []
        for i, need in enumerate(ctx.needs_input_grad):
            grads.append(_operand_grad(ctx, i, grad, arrays) if need else None)
        return tuple(grads)


def _operand_grad(ctx, i, grad, arrays):
    subs, shape = ctx.subs, ctx.shapes[i]
    own = subs[i]
    others = [ctx.out] + [s for j, s in enumerate(subs) if j != i]
    operands = [grad] + [a for j, a in enumerate(arrays) if j != i]
    available = set().union(*others)
    unique = list(dict.fromkeys(own))
    size = {label: shape[k] for k, label in enumerate(own)}
    target = [label for label in unique if label in available]
    g = contract(others, target, operands)
    # dims this operand broadcast (size 1 here, larger elsewhere): sum them back
    reduce = tuple(k for k, label in enumerate(target) if size[label] == 1 and g.shape[k] != 1)
    if reduce:
        g = g.sum(axis=reduce, keepdims=True)
    xp = array_module(g)
    missing = tuple(k for k, label in enumerate(unique) if label not in available)
    if missing:  # summed by this operand alone: d(sum)/dx is 1 everywhere
        g = xp.expand_dims(g, missing)
    want = tuple(size[label] for label in unique)
    if g.shape != want:  # the missing labels, and size-1 dims of the other operands
        g = xp.broadcast_to(g, want)
    if len(unique) == len(own):
        return g
    full = xp.zeros(shape, dtype=g.dtype)
    strides = [sum(full.strides[k] for k, other in enumerate(own) if other == label)
               for label in unique]
    diagonal = xp.lib.stride_tricks.as_strided(full, shape=g.shape, strides=strides)
    diagonal[...] = g
    return full


# --------------------------------------------------------------------------- equation parsing

def _error(message):
    return RuntimeError("einsum(): " + message)


def _tokens(text, offset, who):
    """Labels of one operand (or the output) with '...' as one token; ``offset`` locates
    ``text`` in the equation for error messages."""
    labels = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == " ":
            i += 1
            continue
        if c == ".":
            if "..." in labels:
                raise _error(f"found '.' for {who} but an ellipsis (...) was already found"
                             if who == "output" else
                             f"found '.' for {who} for which an ellipsis was already found")
            if text[i:i + 3] != "...":
                raise _error(f"found '.' for {who} that is not part of any ellipsis"
                             + (" (...)" if who == "output" else ""))
            labels.append("...")
            i += 3
            continue
        if not ("a" <= c <= "z" or "A" <= c <= "Z"):
            raise _error(f"invalid subscript given at index {offset + i} in the equation "
                         "string, subscripts must be in [a-zA-Z]")
        labels.append(c)
        i += 1
    return labels


@functools.lru_cache(maxsize=512)
def parse(equation: str, shapes: tuple):
    """Check ``equation`` against operand shapes; return (input labels, output labels) with
    every ellipsis expanded into explicit labels (tuples; cached, as models repeat them)."""
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    parts = lhs.split(",")
    if len(parts) > len(shapes):
        raise _error("fewer operands were provided than specified in the equation")
    if len(parts) < len(shapes):
        raise _error("more operands were provided than specified in the equation")
    inputs, offset = [], 0
    for k, part in enumerate(parts):
        inputs.append(_tokens(part, offset, f"operand {k}"))
        offset += len(part) + 1
    output = None if arrow < 0 else _tokens(equation[arrow + 2:], arrow + 2, "output")

    used = {label for labels in inputs for label in labels} | set(output or ())
    fresh = [c for c in _LETTERS if c not in used]
    ell_rank = 0
    for k, (labels, shape) in enumerate(zip(inputs, shapes)):
        n = len(labels) - ("..." in labels)
        if "..." in labels:
            if n > len(shape):
                raise _error(f"the number of subscripts in the equation ({n}) is more than the "
                             f"number of dimensions ({len(shape)}) for operand {k}")
            ell_rank = max(ell_rank, len(shape) - n)
        elif n != len(shape):
            raise _error(f"the number of subscripts in the equation ({n}) does not match the "
                         f"number of dimensions ({len(shape)}) for operand {k} and no ellipsis "
                         "was given")
    if ell_rank > len(fresh):
        raise _error("too many dimensions covered by an ellipsis")
    ell = fresh[:ell_rank]

    sizes, expanded = {}, []
    for k, (labels, shape) in enumerate(zip(inputs, shapes)):
        flat, local = [], []  # local: index inside this operand's ellipsis (None: a letter)
        for label in labels:
            if label == "...":
                count = len(shape) - (len(labels) - 1)
                flat.extend(ell[ell_rank - count:])
                local.extend(range(count))
            else:
                flat.append(label)
                local.append(None)
        own = {}
        for label, index, n in zip(flat, local, shape):
            if label in own and own[label] != n:
                raise _error(f"subscript {label} is repeated for operand {k} but the sizes "
                             f"don't match, {n} != {own[label]}")
            own[label] = n
            seen = sizes.get(label)
            if seen is not None and n != seen and n != 1 and seen != 1:
                if index is not None:
                    raise _error(f"dimension {index} covered by ellipsis in operand {k}has size "
                                 f"{n} which does not broadcast with previously seen ellipsis "
                                 f"with size {seen} for the respective dimension")
                raise _error(f"subscript {label} has size {n} for operand {k} which does not "
                             f"broadcast with previously seen size {seen}")
            if seen is None or seen == 1:
                sizes[label] = n
        expanded.append(tuple(flat))

    if output is None:  # implicit: ellipsis dims, then labels seen once, sorted
        counts = {}
        for labels in inputs:
            for label in labels:
                if label != "...":
                    counts[label] = counts.get(label, 0) + 1
        out = ell + sorted(label for label, n in counts.items() if n == 1)
        return tuple(expanded), tuple(out)
    out = []
    for label in output:
        if label == "...":
            out.extend(ell)
            continue
        if label not in sizes:
            raise _error(f"output subscript {label} does not appear in the equation for any "
                         "input operand")
        if label in out:
            raise _error(f"output subscript {label} appears more than once in the output")
        out.append(label)
    return tuple(expanded), tuple(out)


def _sublist_equation(args):
    """einsum(op0, sub0, op1, sub1, ..., [out]): the operands and an equation string."""
    operands, pieces = [], []

    def letters(sublist):
        text = ""
        for s in sublist:
            if s is Ellipsis:
                text += "..."
            elif isinstance(s, int) and 0 <= s < 52:
                text += _LETTERS[s]
            else:
                raise ValueError("einsum(): subscript in subscript list is not within the valid "
                                 "range [0, 52)")
        return text

    for k in range(0, len(args) - 1, 2):
        operands.append(args[k])
        pieces.append(letters(args[k + 1]))
    equation = ",".join(pieces)
    if len(args) % 2:
        equation += "->" + letters(args[-1])
    return equation, operands


# --------------------------------------------------------------------------- public functions

@autocast_op("einsum")
def einsum(*args) -> Tensor:
    """Sum of products over labelled dimensions, as torch.einsum.

    Call as ``einsum(equation, *operands)``, ``einsum(equation, [operands])`` or in sublist
    form ``einsum(op0, [0, 1], op1, [1, 2], [0, 2])``. Labels are letters; ``...`` stands for
    broadcast dims; without ``->`` the output holds the labels seen once, sorted. Size-1 dims
    broadcast. All operands must share a dtype. Differentiable in every operand.

    Example::

        >>> torch.einsum("bhqd,bhkd->bhqk", q, k).shape  # attention scores
        torch.Size([2, 4, 5, 5])
    """
    if not args:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    elif isinstance(args[0], Tensor):
        equation, operands = _sublist_equation(args)
    else:
        raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not "
                        f"{type(args[0]).__name__}")
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    for k, op in enumerate(operands):
        if not isinstance(op, Tensor):
            raise TypeError(f"expected Tensor as element {k} in argument 1, but got "
                            f"{type(op).__name__}")
    subs, out = parse(equation, tuple(op._data.shape for op in operands))
    return apply_einsum(operands, subs, out)


def apply_einsum(operands, subs, out) -> Tensor:
    """Run a checked einsum (explicit labels) after torch's dtype rules."""
    first = operands[0]._data.dtype
    for op in operands[1:]:
        if type(op._data) is not np.ndarray or type(operands[0]._data) is not np.ndarray:
            check_same_device(operands[0], op)
    for op in operands[1:]:
        if op._data.dtype != first:
            raise RuntimeError(f"expected scalar type {_name(operands[0]._data)} but found "
                               f"{_name(op._data)}")
    if first.kind in "biu":
        keep = set(out)
        summed = {label for labels in subs for label in labels if label not in keep}
        if len(operands) == 1:
            if summed:  # a reduction: integers sum in int64, as torch.sum does
                operands = [cast(operands[0], _INT64)]
        elif first.kind == "b" and summed:
            if any(sum(label in labels for labels in subs) > 1 for label in summed):
                raise NotImplementedError('"bmm" not implemented for \'Bool\'')
            operands = [cast(op, _INT64) for op in operands]
    return Einsum.apply(*operands, subs=subs, out=out)


def _dims_list(value, argname, position):
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, int) or not all(isinstance(d, int) for d in value):
        raise TypeError(f"tensordot(): argument '{argname}' (position {position}) must be tuple "
                        f"of ints, not {type(value).__name__}")
    return list(value)


@autocast_op("tensordot")
def tensordot(a: Tensor, b: Tensor, dims=2, out=None) -> Tensor:
    """Contract dims of ``a`` with dims of ``b``: the result has ``a``'s remaining dims, then
    ``b``'s.

    Args:
        dims: an int ``d`` (the last ``d`` dims of ``a`` with the first ``d`` of ``b``), or two
            lists ``(dims_a, dims_b)`` of dims to pair up.

    Example::

        >>> torch.tensordot(torch.ones(2, 3, 4), torch.ones(4, 3, 5), dims=([1, 2], [1, 0]))
        tensor of shape (2, 5), every entry 12
    """
    for position, (argname, t) in enumerate((("a", a), ("b", b)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"tensordot(): argument '{argname}' (position {position}) must be "
                            f"Tensor, not {type(t).__name__}")
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, Tensor) and dims._data.ndim == 0:
        dims = dims.item()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > na or dims > nb:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims_a, dims_b = list(range(na - dims, na)), list(range(dims))
    else:
        if isinstance(dims, Tensor):
            dims = dims.tolist()
        dims_a = _dims_list(dims[0], "dims_self", 3)
        dims_b = _dims_list(dims[1], "dims_other", 4)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    dims_a = _unique_dims(dims_a, na)
    dims_b = _unique_dims(dims_b, nb)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    for da, db in zip(dims_a, dims_b):
        sa, sb = a._data.shape[da], b._data.shape[db]
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sa} "
                               f"in dim {da} and second has size {sb} in dim {db}")
    labels_a = list(_LETTERS[:na])
    spare = iter(_LETTERS[na:])
    labels_b = [None] * nb
    for da, db in zip(dims_a, dims_b):
        labels_b[db] = labels_a[da]
    labels_b = [label if label is not None else next(spare) for label in labels_b]
    contracted = set(dims_a)
    out_labels = [label for d, label in enumerate(labels_a) if d not in contracted]
    out_labels += [label for d, label in enumerate(labels_b) if d not in set(dims_b)]
    result = apply_einsum([a, b], [labels_a, labels_b], out_labels)
    return result if out is None else write_out(out, result, "tensordot")


def _unique_dims(dims, ndim):
    out = [wrap_dim(d, ndim) for d in dims]
    for d in out:
        if out.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return out


@autocast_op("inner")
def inner(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Inner product over the last dim: the result has shape ``a.shape[:-1] + b.shape[:-1]``
    (a plain product when either operand is 0-dim)."""
    for position, (argname, t) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"inner(): argument '{argname}' (position {position}) must be "
                            f"Tensor, not {type(t).__name__}")
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        from dist_torch.ops.elementwise import mul
        return mul(input, other, out=out)
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError("inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(a.shape)} and {list(b.shape)}")
    labels_a = list(_LETTERS[:a.ndim])
    labels_b = list(_LETTERS[a.ndim:a.ndim + b.ndim - 1]) + [labels_a[-1]]
    result = apply_einsum([input, other], [labels_a, labels_b], labels_a[:-1] + labels_b[:-1])
    return result if out is None else write_out(out, result, "inner")
