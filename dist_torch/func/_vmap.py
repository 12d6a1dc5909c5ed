"""torch.func.vmap as a per-sample loop (a transform for convenience, not a fast path)."""

from __future__ import annotations

import functools

import dist_torch as _dt
from dist_torch._tensor import Tensor
from dist_torch.func._pytree import broadcast_prefix, spec_str, tree_flatten, tree_unflatten

__all__ = ["vmap"]


def _name(func):
    return getattr(func, "__name__", repr(func))


def _flat_in_dims(func, in_dims, args):
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): expected "
                         "`in_dims` to be int or a (potentially nested) tuple matching the "
                         f"structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to "
                         "add inputs, or you are trying to vmap over a function with no inputs. "
                         "The latter is unsupported.")
    flat, spec = tree_flatten(args)
    dims = broadcast_prefix(in_dims, spec)
    head = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): "
    if dims is None:
        raise ValueError(f"{head}in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {spec_str(tree_flatten(in_dims)[1])} but "
                         f"inputs has structure {spec_str(spec)}.")
    for i, (arg, d) in enumerate(zip(flat, dims)):
        if d is not None and not isinstance(d, int):
            raise ValueError(f"{head}Got in_dim={d} for an input but in_dim must be either an "
                             "integer dimension or None.")
        if d is None:
            continue
        if not isinstance(arg, Tensor):
            raise ValueError(f"{head}Got in_dim={d} for an input but the input is of type "
                             f"{type(arg)}. We cannot vmap over non-Tensor arguments, please "
                             "use None as the respective in_dim")
        nd = arg.dim()
        if not -nd <= d < nd:
            raise ValueError(f"{head}Got in_dim={d} for some input, but that input is a Tensor "
                             f"of dimensionality {nd} so expected in_dim to satisfy -{nd} <= "
                             f"in_dim < {nd}.")
        dims[i] = d % nd
    sizes = [a.shape[d] for a, d in zip(flat, dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return flat, spec, dims, sizes[0]


def _flat_out_dims(func, out_dims, outputs):
    flat, spec = tree_flatten(outputs)
    if isinstance(outputs, Tensor) and isinstance(out_dims, tuple) and len(out_dims) == 1:
        dims = list(out_dims)
    else:
        dims = broadcast_prefix(out_dims, spec)
    if dims is None:
        raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims "
                         "is not compatible with the structure of `outputs`. out_dims has "
                         f"structure {spec_str(tree_flatten(out_dims)[1])} but outputs has "
                         f"structure {spec_str(spec)}.")
    for d in dims:
        if d is not None and not isinstance(d, int):
            raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be "
                             "an int, None or a python collection of ints representing where in "
                             "the outputs the vmapped dimension should appear.")
    return flat, spec, dims


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Map ``func`` over a dimension of its inputs: ``vmap(f)(x)[i] == f(x[i])``.

    dist_torch runs ``func`` once per sample in a Python loop and stacks the results along
    ``out_dims``; it is a convenience transform, not a vectorized kernel. ``in_dims`` /
    ``out_dims`` are ints, None (not mapped) or nests matching the inputs / outputs.
    ``randomness``: ``'error'`` raises if ``func`` draws from the default generator,
    ``'same'`` replays the same random numbers for every sample, ``'different'`` lets them
    differ. ``chunk_size`` is checked and otherwise has no effect.
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        flat, spec, dims, size = _flat_in_dims(func, in_dims, args)
        start = _dt.get_rng_state()
        per_sample = []
        for i in range(size):
            if randomness == "same":
                _dt.set_rng_state(start)
            sample = [a if d is None else a.select(d, i) for a, d in zip(flat, dims)]
            before = _dt.get_rng_state() if randomness == "error" else None
            out = func(*tree_unflatten(sample, spec), **kwargs)
            if before is not None and not _dt.equal(before, _dt.get_rng_state()):
                raise RuntimeError("vmap: called random operation while in randomness error "
                                   "mode. Please either use the 'same' or 'different' "
                                   "randomness flags on vmap or perform the randomness "
                                   "operation out of vmap")
            per_sample.append(out)
        if not per_sample:
            raise ValueError("vmap: the mapped dimension has size 0; dist_torch's looping vmap "
                             "cannot infer the output shape")
        first, out_spec, odims = _flat_out_dims(func, out_dims, per_sample[0])
        columns = [tree_flatten(o)[0] for o in per_sample]
        result = []
        for k, (leaf, d) in enumerate(zip(first, odims)):
            if d is None:
                result.append(leaf)
                continue
            if not isinstance(leaf, Tensor):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                                 f"Tensors, got type {type(leaf)}. Did you mean to set "
                                 "out_dims= to None for output?")
            nd = leaf.dim() + 1
            if not -nd <= d < nd:
                raise IndexError(f"Dimension out of range (expected to be in range of "
                                 f"[{-nd}, {nd - 1}], but got {d})")
            result.append(_dt.stack([c[k] for c in columns], dim=d))
        return tree_unflatten(result, out_spec)
    return wrapper
