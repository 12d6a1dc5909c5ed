"""torch.distributed's object collectives: picklable Python objects between ranks (IPC only;
checkpoints never use pickle)."""

from __future__ import annotations

from dist_torch.distributed._world import (
    _group_rank,
    _not_member,
    _resolve_group,
    _warn_not_in_group,
)

__all__ = ["broadcast_object_list", "all_gather_object", "gather_object",
           "scatter_object_list"]


def _group(group, op_name: str):
    if _not_member(group):
        _warn_not_in_group(op_name)
        return None
    return _resolve_group(group)


def _list(value, name: str) -> list:
    if not isinstance(value, list):
        raise TypeError(f"{name} must be a list, got {type(value).__name__}")
    return value


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Replace ``object_list``'s items on every rank with rank ``src``'s (same length)."""
    _list(object_list, "object_list")
    pg = _group(group, "broadcast_object_list")
    if pg is None:
        return
    root = _group_rank(pg, src, group_src, "src")
    received = pg.broadcast_object(list(object_list) if pg.rank() == root else None, root)
    if pg.rank() != root:
        if len(received) != len(object_list):
            raise RuntimeError(f"broadcast_object_list: rank {src} sent {len(received)} objects "
                               f"but this rank's object_list has {len(object_list)}")
        object_list[:] = received


def all_gather_object(object_list, obj, group=None):
    """``object_list[r]`` receives rank r's ``obj`` (``object_list`` has world-size items)."""
    _list(object_list, "object_list")
    pg = _group(group, "all_gather_object")
    if pg is None:
        return
    everyone = pg.allgather_object(obj)
    if len(object_list) < len(everyone):
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} items but the "
                         f"group has {len(everyone)} ranks")
    object_list[:len(everyone)] = everyone


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """On rank ``dst``, ``object_gather_list[r]`` receives rank r's ``obj``."""
    pg = _group(group, "gather_object")
    if pg is None:
        return
    root = _group_rank(pg, dst, group_dst, "dst")
    if pg.rank() == root:
        if object_gather_list is None:
            raise ValueError("Argument ``object_gather_list`` must be specified on destination "
                             "rank.")
        _list(object_gather_list, "object_gather_list")
        if len(object_gather_list) < pg.size():
            raise ValueError(f"gather_object: object_gather_list has {len(object_gather_list)} "
                             f"items but the group has {pg.size()} ranks")
    elif object_gather_list is not None:
        raise ValueError("Argument ``object_gather_list`` must NOT be specified on "
                         "non-destination ranks.")
    everyone = pg.gather_object(obj, root)
    if pg.rank() == root:
        object_gather_list[:pg.size()] = everyone


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None,
                        group=None, group_src=None):
    """``scatter_object_output_list[0]`` receives rank ``src``'s
    ``scatter_object_input_list[rank]``."""
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    pg = _group(group, "scatter_object_list")
    if pg is None:
        return
    root = _group_rank(pg, src, group_src, "src")
    items = None
    if pg.rank() == root:
        if scatter_object_input_list is None or \
                len(scatter_object_input_list) != pg.size():
            n = None if scatter_object_input_list is None else len(scatter_object_input_list)
            raise ValueError(f"scatter_object_list: the source rank needs "
                             f"scatter_object_input_list with {pg.size()} items (got {n})")
        items = list(scatter_object_input_list)
    if hasattr(pg, "scatter_object"):
        mine = pg.scatter_object(items, root)
    else:
        mine = pg.broadcast_object(items, root)[pg.rank()]
    scatter_object_output_list[0] = mine
