"""torch.distributed's collectives on Tensors: checks, group and rank resolution, in-place writes.

Each function hands the tensors' arrays to the group's backend (which validates shapes and
dtypes and names them in its errors) and returns None, or the backend's Work with
``async_op=True``. Tensors written in place have their version counter bumped when the
operation is issued. ``src``/``dst``/peers are global ranks (``group_src``/``group_dst``:
ranks within ``group``), as in torch.
"""

from __future__ import annotations

from dist_torch._tensor import Tensor
from dist_torch.distributed._world import (
    _group_rank,
    _not_member,
    _resolve_group,
    _warn_not_in_group,
)
from dist_torch.distributed.process_group import ReduceOp

__all__ = ["all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor",
           "gather", "scatter", "reduce_scatter", "reduce_scatter_tensor", "all_to_all",
           "all_to_all_single", "barrier", "monitored_barrier", "send", "recv", "isend",
           "irecv", "P2POp", "batch_isend_irecv"]


def _tensor(value, name: str = "tensor") -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"Tensor but got {type(value)} instead.")
    return value


def _tensors(values, name: str) -> list:
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, Tensor) for v in values):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[Tensor] but got {type(values)} instead.")
    return list(values)


def _written(*tensors) -> None:
    for t in tensors:
        t._bump_version()


def _group(group, op_name: str):
    """The backend group, or None (after a warning) on a rank outside ``group``."""
    if _not_member(group):
        _warn_not_in_group(op_name)
        return None
    return _resolve_group(group)


def _done(work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the ranks of ``group`` in place; every rank gets the result.

    Args:
        tensor: input and output of the collective.
        op: a ``ReduceOp`` (SUM, AVG, PRODUCT, MIN, MAX; BAND/BOR/BXOR for integers/bool).
        async_op: return a Work to ``wait()`` on instead of blocking.

    Example::

        t = torch.tensor([float(dist.get_rank() + 1)])
        dist.all_reduce(t)            # on 2 ranks: tensor([3.])
    """
    _tensor(tensor)
    pg = _group(group, "all_reduce")
    if pg is None:
        return None
    work = pg.allreduce([tensor._data], op)
    _written(tensor)
    return _done(work, async_op)


def broadcast(tensor, src=None, group=None, async_op: bool = False, group_src=None):
    """Overwrite ``tensor`` on every rank with rank ``src``'s."""
    _tensor(tensor)
    pg = _group(group, "broadcast")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, "src")
    work = pg.broadcast([tensor._data], root)
    if pg.rank() != root:
        _written(tensor)
    return _done(work, async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst=None):
    """Reduce ``tensor`` across ranks into rank ``dst``'s ``tensor`` (others keep theirs)."""
    _tensor(tensor)
    pg = _group(group, "reduce")
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, "dst")
    work = pg.reduce([tensor._data], root, op)
    if pg.rank() == root:
        _written(tensor)
    return _done(work, async_op)


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """``tensor_list[r]`` receives rank r's ``tensor`` (one tensor per rank, same shapes)."""
    outputs = _tensors(tensor_list, "tensor_list")
    _tensor(tensor)
    pg = _group(group, "all_gather")
    if pg is None:
        return None
    work = pg.allgather([t._data for t in outputs], tensor._data)
    _written(*outputs)
    return _done(work, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """``output_tensor`` receives every rank's ``input_tensor`` concatenated (or stacked)."""
    _tensor(output_tensor, "output_tensor")
    _tensor(input_tensor, "input_tensor")
    pg = _group(group, "all_gather_into_tensor")
    if pg is None:
        return None
    work = pg.allgather_into(output_tensor._data, input_tensor._data)
    _written(output_tensor)
    return _done(work, async_op)


def _root_only(pg, root: int, values, arg: str, role: str):
    """``values`` as tensors on the root rank, where they are required; refused elsewhere."""
    if pg.rank() == root:
        if not values:
            raise ValueError(f"Argument ``{arg}`` must be specified on {role} rank.")
        return _tensors(values, arg)
    if values:
        raise ValueError(f"Argument ``{arg}`` must NOT be specified on non-{role} ranks.")
    return None


def gather(tensor, gather_list=None, dst=None, group=None, async_op: bool = False,
           group_dst=None):
    """On rank ``dst``, ``gather_list[r]`` receives rank r's ``tensor``."""
    _tensor(tensor)
    pg = _group(group, "gather")
    if pg is None:
        return None
    root = _group_rank(pg, dst, group_dst, "dst")
    outputs = _root_only(pg, root, gather_list, "gather_list", "destination")
    work = pg.gather(None if outputs is None else [t._data for t in outputs], tensor._data,
                     root)
    if outputs:
        _written(*outputs)
    return _done(work, async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op: bool = False,
            group_src=None):
    """``tensor`` receives rank ``src``'s ``scatter_list[rank]``."""
    _tensor(tensor)
    pg = _group(group, "scatter")
    if pg is None:
        return None
    root = _group_rank(pg, src, group_src, "src")
    inputs = _root_only(pg, root, scatter_list, "scatter_list", "source")
    work = pg.scatter(tensor._data, None if inputs is None else [t._data for t in inputs], root)
    _written(tensor)
    return _done(work, async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """``output`` receives the reduction over ranks of their ``input_list[rank]``."""
    _tensor(output, "output")
    inputs = _tensors(input_list, "input_list")
    pg = _group(group, "reduce_scatter")
    if pg is None:
        return None
    work = pg.reduce_scatter(output._data, [t._data for t in inputs], op)
    _written(output)
    return _done(work, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """``output`` receives this rank's block (along dim 0) of the reduction of ``input``."""
    _tensor(output, "output")
    _tensor(input, "input")
    pg = _group(group, "reduce_scatter_tensor")
    if pg is None:
        return None
    work = pg.reduce_scatter_into(output._data, input._data, op)
    _written(output)
    return _done(work, async_op)


def all_to_all(output_tensor_list, input_tensor_list, group=None, async_op: bool = False):
    """``output_tensor_list[r]`` receives rank r's ``input_tensor_list[rank]``."""
    outputs = _tensors(output_tensor_list, "output_tensor_list")
    inputs = _tensors(input_tensor_list, "input_tensor_list")
    pg = _group(group, "all_to_all")
    if pg is None:
        return None
    work = pg.alltoall([t._data for t in outputs], [t._data for t in inputs])
    _written(*outputs)
    return _done(work, async_op)


def _splits(tensor, sizes, n: int, what: str) -> list:
    rows = tensor.shape[0] if tensor.dim() else 1
    if sizes is None or len(sizes) == 0:
        if rows % n:
            raise ValueError(f"all_to_all_single: {what} tensor of shape {list(tensor.shape)} "
                             f"cannot be split evenly along dim 0 into {n} parts")
        sizes = [rows // n] * n
    sizes = [int(s) for s in sizes]
    if len(sizes) != n or sum(sizes) != rows:
        raise ValueError(f"all_to_all_single: {what}_split_sizes {sizes} must have {n} entries "
                         f"summing to {rows} (dim 0 of the {what} tensor of shape "
                         f"{list(tensor.shape)})")
    array = tensor._data.reshape((rows,) + tuple(tensor.shape[1:]))
    out, start = [], 0
    for s in sizes:
        out.append(array[start:start + s])
        start += s
    return out


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None,
                      group=None, async_op: bool = False):
    """Split ``input`` along dim 0, send block r to rank r, concatenate what arrives."""
    _tensor(output, "output")
    _tensor(input, "input")
    pg = _group(group, "all_to_all_single")
    if pg is None:
        return None
    if not output._data.flags.c_contiguous:
        raise ValueError("all_to_all_single: the output tensor must be contiguous")
    n = pg.size()
    outs = _splits(output, output_split_sizes, n, "output")
    ins = _splits(input, input_split_sizes, n, "input")
    work = pg.alltoall(outs, ins)
    _written(output)
    return _done(work, async_op)


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Block until every rank of ``group`` has entered the barrier."""
    pg = _group(group, "barrier")
    if pg is None:
        return None
    work = pg.barrier()
    if async_op:
        return work
    work.wait(timeout)
    return None


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False):
    """A barrier that, after ``timeout``, names the ranks that did not arrive (the group is
    unusable afterwards)."""
    return barrier(group, timeout=timeout)


# ---- point to point ------------------------------------------------------------------------

def isend(tensor, dst=None, group=None, tag: int = 0, group_dst=None):
    """Start sending ``tensor`` to rank ``dst``; returns a Work."""
    _tensor(tensor)
    pg = _group(group, "isend")
    if pg is None:
        return None
    return pg.send(tensor._data, _group_rank(pg, dst, group_dst, "dst"), tag)


def irecv(tensor, src=None, group=None, tag: int = 0, group_src=None):
    """Start receiving into ``tensor`` from rank ``src`` (None: any rank); returns a Work."""
    _tensor(tensor)
    pg = _group(group, "irecv")
    if pg is None:
        return None
    peer = None if src is None and group_src is None else \
        _group_rank(pg, src, group_src, "src")
    work = pg.recv(tensor._data, peer, tag)
    _written(tensor)
    return work


def send(tensor, dst=None, group=None, tag: int = 0, group_dst=None) -> None:
    """Send ``tensor`` to rank ``dst`` (blocks until the buffer may be reused)."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag: int = 0, group_src=None) -> int:
    """Receive into ``tensor`` from rank ``src`` (None: any rank); returns the sender's rank
    (global rank; -1 on a rank outside ``group``)."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    pg = _resolve_group(group)
    return pg.global_ranks[work.source_rank()]


class P2POp:
    """One point-to-point operation for :func:`batch_isend_irecv`: ``P2POp(dist.isend, t, 1)``."""

    def __init__(self, op, tensor, peer=None, group=None, tag: int = 0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``dist.isend`` or "
                             "``dist.irecv``.")
        self.op, self.tensor, self.peer = op, _tensor(tensor), peer
        self.group, self.tag, self.group_peer = group, tag, group_peer


def batch_isend_irecv(p2p_op_list) -> list:
    """Start every operation of ``p2p_op_list``; returns their Works."""
    if not p2p_op_list or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    works = []
    for p in p2p_op_list:
        works.append(p.op(p.tensor, p.peer, p.group, p.tag, p.group_peer))
    return works
