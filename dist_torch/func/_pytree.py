"""A minimal pytree (tuple / list / dict nests with leaves) for the torch.func transforms."""

from __future__ import annotations

_LEAF = None


def _children(tree):
    """``(kind, keys, children)`` for a container, ``None`` for a leaf."""
    if isinstance(tree, dict):
        keys = list(tree)
        return dict, keys, [tree[k] for k in keys]
    if isinstance(tree, list):
        return list, None, list(tree)
    if isinstance(tree, tuple) and not hasattr(tree, "_fields"):
        return tuple, None, list(tree)
    return None


def tree_flatten(tree):
    """``(leaves, spec)``: leaves in order; ``spec`` rebuilds the structure."""
    node = _children(tree)
    if node is None:
        return [tree], _LEAF
    kind, keys, children = node
    leaves, specs = [], []
    for child in children:
        sub_leaves, sub_spec = tree_flatten(child)
        leaves.extend(sub_leaves)
        specs.append(sub_spec)
    return leaves, (kind, keys, tuple(specs))


def _count(spec):
    return 1 if spec is _LEAF else sum(_count(s) for s in spec[2])


def tree_unflatten(leaves, spec):
    """Inverse of ``tree_flatten``."""
    leaves = list(leaves)
    out, used = _build(leaves, 0, spec)
    if used != len(leaves):
        raise ValueError(f"expected {used} leaves, got {len(leaves)}")
    return out


def _build(leaves, pos, spec):
    if spec is _LEAF:
        return leaves[pos], pos + 1
    kind, keys, specs = spec
    children = []
    for s in specs:
        child, pos = _build(leaves, pos, s)
        children.append(child)
    if kind is dict:
        return dict(zip(keys, children)), pos
    return kind(children), pos


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_prefix(prefix, spec):
    """Flat list giving each leaf of ``spec`` its value from the prefix tree ``prefix`` (a
    leaf of ``prefix`` covers a whole subtree), or ``None`` when the structures clash."""
    if _children(prefix) is None:
        return [prefix] * _count(spec)
    if spec is _LEAF:
        return None
    kind, keys, children = _children(prefix)
    s_kind, s_keys, s_specs = spec
    if kind is not s_kind or len(children) != len(s_specs):
        return None
    if kind is dict:
        if set(keys) != set(s_keys):
            return None
        children = [prefix[k] for k in s_keys]
    out = []
    for child, s in zip(children, s_specs):
        sub = broadcast_prefix(child, s)
        if sub is None:
            return None
        out.extend(sub)
    return out


def spec_str(spec):
    """Readable structure, e.g. ``(*, [*, *])``."""
    if spec is _LEAF:
        return "*"
    kind, keys, specs = spec
    inner = [spec_str(s) for s in specs]
    if kind is dict:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(keys, inner)) + "}"
    if kind is list:
        return "[" + ", ".join(inner) + "]"
    return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
