"""torch.nn.utils.stateless.functional_call: run a module with substituted tensors."""

from __future__ import annotations

import contextlib
import warnings

__all__ = ["functional_call"]


def _tied_names(module):
    """``{name: [every name of the same tensor]}`` for parameters/buffers shared by names."""
    groups = {}
    for registry in ("_parameters", "_buffers"):
        for name, value in module._named_members(registry, "", True, False):
            groups.setdefault(id(value), []).append(name)
    return {n: names for names in groups.values() if len(names) > 1 for n in names}


def _owner(module, name):
    *path, leaf = name.split(".")
    for part in path:
        module = getattr(module, part)
    return module, leaf


def _swap(module, name, value):
    """Put ``value`` in place of ``module.<name>``; return a function undoing it."""
    owner, leaf = _owner(module, name)
    for registry in (owner._parameters, owner._buffers):
        if leaf in registry:
            old = registry[leaf]
            registry[leaf] = value

            def undo(registry=registry, leaf=leaf, old=old):
                registry[leaf] = old
            return undo
    had = leaf in owner.__dict__
    old = owner.__dict__.get(leaf)
    object.__setattr__(owner, leaf, value)

    def undo_attr():
        if had:
            object.__setattr__(owner, leaf, old)
        else:
            object.__delattr__(owner, leaf)
    return undo_attr


@contextlib.contextmanager
def _reparametrize_module(module, tensors, tie_weights=True, strict=False):
    tensors = dict(tensors)
    if tie_weights:
        tied = _tied_names(module)
        for name in list(tensors):
            group = tied.get(name, ())
            values = {id(tensors[n]) for n in group if n in tensors}
            if len(values) > 1:
                raise ValueError(f"functional_call got multiple values for keys "
                                 f"{sorted(n for n in group if n in tensors)}, which are tied. "
                                 "Consider using tie_weights=False")
            for other in group:
                tensors.setdefault(other, tensors[name])
    if strict:
        names = {n for n, _ in module._named_members("_parameters", "", True, False)}
        names |= {n for n, _ in module._named_members("_buffers", "", True, False)}
        missing = sorted(names - set(tensors))
        unexpected = sorted(set(tensors) - names)
        if missing or unexpected:
            lines = []
            if unexpected:
                lines.append("Unexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected)
                             + ".")
            if missing:
                lines.append("Missing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t"
                               + "\n\t".join(lines))
    undo = []
    try:
        for name, value in tensors.items():
            undo.append(_swap(module, name, value))
        yield
    finally:
        for fn in reversed(undo):
            fn()


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """Call ``module(*args, **kwargs)`` with its parameters and buffers replaced by the
    tensors of ``parameters_and_buffers`` (dotted names), restoring them afterwards.

    Gradients flow to the given tensors. Example::

        >>> out = functional_call(model, {"weight": w, "bias": b}, (x,))
    """
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights, strict)


def _functional_call(module, tensors, args, kwargs, tie_weights, strict):
    """``module(*args, **kwargs)`` under :func:`_reparametrize_module` (shared with
    ``torch.func.functional_call``); ``args`` may be one non-tuple argument."""
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, tensors, tie_weights, strict):
        return module(*args, **kwargs)
