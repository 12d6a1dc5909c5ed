"""Collectives on every rank of an MPI job, checked against hand-computed values.

Run by tests/distributed/test_mpi_suites.py as ``mpiexec -n 2`` and ``-n 3`` (and as a plain
``python`` singleton: world size 1, where every collective is the identity):

    mpiexec -n 3 python -m pytest --with-mpi -q tests/distributed/mpi/test_collectives.py

Rank r contributes values built from r + 1, so each expectation is a closed formula in the
world size n.
"""

import functools
import time

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.distributed as dist
from dist_torch.distributed import ReduceOp

pytestmark = pytest.mark.mpi

BASE = np.array([1.0, -2.0, 3.0, 0.5])
FLOATS = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
INTS = [torch.int64, torch.int32, torch.int8, torch.uint8]


def rank():
    return dist.get_rank()


def size():
    return dist.get_world_size()


def contribution(r, dtype):
    """Rank r's tensor: (r + 1) * BASE (non-negative BASE for unsigned types)."""
    base = np.abs(BASE) * 2 if dtype in (torch.uint8,) else BASE * 2
    return torch.tensor((r + 1) * base, dtype=torch.float64).to(dtype)


def expected_reduction(op, dtype, n):
    """The reduction over ranks, in the dtype's own arithmetic for integers (wrapping)."""
    values = np.stack([np.asarray(contribution(r, dtype)) for r in range(n)])
    if dtype.is_floating_point:
        values = values.astype(np.float64)
    kind = values.dtype
    if op is ReduceOp.SUM:
        return values.sum(0, dtype=kind)
    if op is ReduceOp.AVG:
        return values.sum(0) / n
    if op is ReduceOp.PRODUCT:
        return values.prod(0, dtype=kind)
    if op is ReduceOp.MIN:
        return values.min(0)
    return values.max(0)


def assert_values(t, expected, dtype):
    assert t.dtype == dtype, f"dtype changed to {t.dtype}"
    if not dtype.is_floating_point:
        np.testing.assert_array_equal(np.asarray(t), expected)
        return
    tol = 2e-2 if dtype in (torch.float16, torch.bfloat16) else 1e-12
    np.testing.assert_allclose(np.asarray(t.double()), expected, rtol=tol, atol=tol)


# ---------------------------------------------------------------------------- all_reduce

ARITH = [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX]


@pytest.mark.parametrize("op", ARITH, ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", FLOATS + INTS, ids=str)
def test_all_reduce_arithmetic(op, dtype):
    if op is ReduceOp.AVG and not dtype.is_floating_point:
        t = contribution(rank(), dtype)
        with pytest.raises(RuntimeError, match="AVG"):
            dist.all_reduce(t, op=op)
        return
    t = contribution(rank(), dtype)
    version = t._version
    assert dist.all_reduce(t, op=op) is None
    assert t._version > version  # written in place
    assert_values(t, expected_reduction(op, dtype, size()), dtype)


def bits(r):
    return np.array([1 << r, 0b1000 | r, 7, r], dtype=np.int64)


@pytest.mark.parametrize("op", [ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR],
                         ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8], ids=str)
def test_all_reduce_bitwise_integers(op, dtype):
    t = torch.tensor(bits(rank())).to(dtype)
    dist.all_reduce(t, op=op)
    fn = {ReduceOp.BAND: np.bitwise_and, ReduceOp.BOR: np.bitwise_or,
          ReduceOp.BXOR: np.bitwise_xor}[op]
    expected = functools.reduce(fn, [bits(r) for r in range(size())])
    np.testing.assert_array_equal(np.asarray(t), expected.astype(np.asarray(t).dtype))


@pytest.mark.parametrize("op", [ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR],
                         ids=lambda o: o.name)
def test_bitwise_ops_refuse_floats(op):
    with pytest.raises(RuntimeError, match=f"Cannot use ReduceOp.{op.name} with non-integral"):
        dist.all_reduce(torch.ones(2), op=op)


def flags(r):
    return np.array([r == 0, True, False, r % 2 == 1])


@pytest.mark.parametrize("op", [ReduceOp.SUM, ReduceOp.MAX, ReduceOp.BOR, ReduceOp.MIN,
                                ReduceOp.PRODUCT, ReduceOp.BAND, ReduceOp.BXOR],
                         ids=lambda o: o.name)
def test_all_reduce_bool(op):
    t = torch.tensor(flags(rank()))
    dist.all_reduce(t, op=op)
    everyone = np.stack([flags(r) for r in range(size())])
    if op in (ReduceOp.SUM, ReduceOp.MAX, ReduceOp.BOR):
        expected = everyone.any(0)
    elif op is ReduceOp.BXOR:
        expected = everyone.sum(0) % 2 == 1
    else:
        expected = everyone.all(0)
    assert t.dtype == torch.bool
    np.testing.assert_array_equal(np.asarray(t), expected)


def test_all_reduce_non_contiguous_view_writes_through():
    base = torch.tensor(np.arange(12.0).reshape(3, 4) * (rank() + 1))
    view = base.t()  # not contiguous
    dist.all_reduce(view)
    total = size() * (size() + 1) / 2
    np.testing.assert_allclose(np.asarray(base), np.arange(12.0).reshape(3, 4) * total)


def test_all_reduce_scalar_tensor():
    t = torch.tensor(float(rank() + 1))
    dist.all_reduce(t, op=ReduceOp.MAX)
    assert t.item() == size()


# ---------------------------------------------------------------------------- rooted ops

@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.bfloat16, torch.bool],
                         ids=str)
def test_broadcast_from_every_root(dtype):
    for src in range(size()):
        t = contribution(rank(), torch.float64).to(dtype) if dtype != torch.bool else \
            torch.tensor(flags(rank()))
        dist.broadcast(t, src=src)
        want = contribution(src, torch.float64).to(dtype) if dtype != torch.bool else \
            torch.tensor(flags(src))
        np.testing.assert_array_equal(np.asarray(t), np.asarray(want))


@pytest.mark.parametrize("op", [ReduceOp.SUM, ReduceOp.PRODUCT, ReduceOp.MAX, ReduceOp.AVG],
                         ids=lambda o: o.name)
def test_reduce_to_every_root(op):
    for dst in range(size()):
        t = contribution(rank(), torch.float64)
        dist.reduce(t, dst=dst, op=op)
        if rank() == dst:
            assert_values(t, expected_reduction(op, torch.float64, size()), torch.float64)
        else:  # others keep their input
            assert_values(t, np.asarray(contribution(rank(), torch.float64)), torch.float64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.bool], ids=str)
def test_all_gather(dtype):
    mine = torch.full((2, 3), rank() + 1, dtype=dtype) if dtype != torch.bool else \
        torch.tensor(flags(rank()))
    outputs = [torch.zeros_like(mine) for _ in range(size())]
    dist.all_gather(outputs, mine)
    for r, out in enumerate(outputs):
        want = torch.full((2, 3), r + 1, dtype=dtype) if dtype != torch.bool else \
            torch.tensor(flags(r))
        np.testing.assert_array_equal(np.asarray(out), np.asarray(want))


@pytest.mark.parametrize("stacked", [False, True])
def test_all_gather_into_tensor(stacked):
    mine = torch.tensor([rank() + 1.0, -(rank() + 1.0)])
    out = torch.zeros(size(), 2) if stacked else torch.zeros(2 * size())
    dist.all_gather_into_tensor(out, mine)
    want = np.array([[r + 1.0, -(r + 1.0)] for r in range(size())])
    np.testing.assert_array_equal(np.asarray(out), want if stacked else want.reshape(-1))


def test_gather_to_every_root():
    for dst in range(size()):
        mine = torch.full((3,), float(rank() * 10 + dst))
        gather_list = [torch.zeros(3) for _ in range(size())] if rank() == dst else None
        dist.gather(mine, gather_list, dst=dst)
        if rank() == dst:
            for r, t in enumerate(gather_list):
                np.testing.assert_array_equal(np.asarray(t), np.full(3, r * 10.0 + dst))


def test_scatter_from_every_root():
    for src in range(size()):
        out = torch.zeros(2, dtype=torch.int64)
        inputs = [torch.tensor([src, r]) for r in range(size())] if rank() == src else None
        dist.scatter(out, inputs, src=src)
        assert out.tolist() == [src, rank()]


@pytest.mark.parametrize("op", [ReduceOp.SUM, ReduceOp.MAX, ReduceOp.AVG],
                         ids=lambda o: o.name)
def test_reduce_scatter(op):
    # rank r's block b is (r + 1) * (b + 1) * [1, 2]
    inputs = [torch.tensor([1.0, 2.0]) * (rank() + 1) * (b + 1) for b in range(size())]
    out = torch.zeros(2)
    dist.reduce_scatter(out, inputs, op=op)
    per_rank = np.array([(r + 1) * (rank() + 1) * np.array([1.0, 2.0])
                         for r in range(size())])
    want = {ReduceOp.SUM: per_rank.sum(0), ReduceOp.MAX: per_rank.max(0),
            ReduceOp.AVG: per_rank.mean(0)}[op]
    np.testing.assert_allclose(np.asarray(out), want)


@pytest.mark.parametrize("dtype", [torch.float64, torch.int64], ids=str)
def test_reduce_scatter_tensor(dtype):
    n = size()
    full = torch.tensor(np.arange(2 * n) * (rank() + 1)).to(dtype)
    out = torch.zeros(2, dtype=dtype)
    dist.reduce_scatter_tensor(out, full)
    total = n * (n + 1) // 2
    want = np.arange(2 * n)[2 * rank():2 * rank() + 2] * total
    np.testing.assert_array_equal(np.asarray(out), want)


def test_all_to_all_with_uneven_shapes():
    # rank r sends to rank q a block of q + 1 values r * 100 + q
    inputs = [torch.full((q + 1,), float(rank() * 100 + q)) for q in range(size())]
    outputs = [torch.zeros(rank() + 1) for _ in range(size())]
    dist.all_to_all(outputs, inputs)
    for r, out in enumerate(outputs):
        np.testing.assert_array_equal(np.asarray(out), np.full(rank() + 1, r * 100.0 + rank()))


def test_all_to_all_single_with_split_sizes():
    n = size()
    # rank r sends q + 1 rows to rank q; receives rank() + 1 rows from each rank
    input_splits = [q + 1 for q in range(n)]
    rows = np.concatenate([np.full(q + 1, rank() * 10 + q) for q in range(n)])
    inp = torch.tensor(np.stack([rows, -rows], 1))
    out = torch.zeros(n * (rank() + 1), 2, dtype=torch.int64)
    dist.all_to_all_single(out, inp, [rank() + 1] * n, input_splits)
    want = np.concatenate([np.full(rank() + 1, r * 10 + rank()) for r in range(n)])
    np.testing.assert_array_equal(np.asarray(out), np.stack([want, -want], 1))


def test_all_to_all_single_even():
    n = size()
    inp = torch.tensor(np.arange(n) + rank() * n)
    out = torch.zeros(n, dtype=torch.int64)
    dist.all_to_all_single(out, inp)
    assert out.tolist() == [r * n + rank() for r in range(n)]


def test_barrier_waits_for_everyone():
    stamp = np.array([time.time()])
    if rank() == 0:
        time.sleep(0.2)
        stamp[0] = time.time()
    dist.barrier()
    left = time.time()
    dist.broadcast(t := torch.tensor(stamp), src=0)
    assert left >= t.item()  # nobody left before rank 0 entered


# ---------------------------------------------------------------------------- async

def test_async_work_wait_and_is_completed():
    t = contribution(rank(), torch.float64)
    work = dist.all_reduce(t, async_op=True)
    assert isinstance(work, dist.Work)
    assert work.wait() is True
    assert work.is_completed() and work.is_success() and work.exception() is None
    assert_values(t, expected_reduction(ReduceOp.SUM, torch.float64, size()), torch.float64)


def test_async_ops_complete_in_issue_order():
    tensors = [torch.full((1000,), float(rank() + i)) for i in range(4)]
    works = [dist.all_reduce(t, async_op=True) for t in tensors]
    for work in reversed(works):
        work.wait()
    n = size()
    for i, t in enumerate(tensors):
        assert t[0].item() == n * (n - 1) / 2 + n * i
    finished = [w.finished for w in works]
    assert finished == sorted(finished)


def test_async_all_reduce_overlaps_with_compute():
    """The all-reduce progresses in the communication thread while NumPy computes here: it
    has finished (by its own timestamp) before ``wait`` is called."""
    t = torch.ones(250_000)
    dist.barrier()
    issued = time.monotonic()
    work = dist.all_reduce(t, async_op=True)
    a = np.random.default_rng(0).standard_normal((300, 300))
    while time.monotonic() - issued < 0.3:  # ~0.3 s of compute in the main thread
        a = np.tanh(a @ a.T / 300)
    before_wait = time.monotonic()
    assert work.is_completed(), "the all-reduce did not progress during the computation"
    work.wait()
    assert work.finished < before_wait
    assert work.finished - issued < 0.25, f"took {work.finished - issued:.3f} s"
    assert t[0].item() == size()


def test_get_future_value():
    t = torch.full((3,), float(rank() + 1))
    fut = dist.all_reduce(t, async_op=True).get_future()
    value = fut.wait()
    assert value[0] is t._data and t.tolist() == [size() * (size() + 1) / 2] * 3


# ---------------------------------------------------------------------------- objects

def test_object_collectives():
    n = size()
    gathered = [None] * n
    dist.all_gather_object(gathered, {"rank": rank(), "text": "x" * rank()})
    assert gathered == [{"rank": r, "text": "x" * r} for r in range(n)]

    objects = [("from", rank()), None] if rank() == n - 1 else [None, None]
    dist.broadcast_object_list(objects, src=n - 1)
    assert objects == [("from", n - 1), None]

    out = [None] * n if rank() == 0 else None
    dist.gather_object([rank()] * 2, out, dst=0)
    if rank() == 0:
        assert out == [[r] * 2 for r in range(n)]

    mine = [None]
    dist.scatter_object_list(mine, [f"item {r}" for r in range(n)] if rank() == 0 else None,
                             src=0)
    assert mine == [f"item {rank()}"]


# ---------------------------------------------------------------------------- groups

def test_new_group_of_a_subset():
    n = size()
    members = [r for r in range(n) if r != 1] if n > 1 else [0]
    group = dist.new_group(members)
    if rank() not in members:
        assert group == dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(group) == -1 and dist.get_world_size(group) == -1
        t = torch.ones(2)
        with pytest.warns(UserWarning, match="does not belong to the given group"):
            assert dist.all_reduce(t, group=group) is None
        assert t.tolist() == [1.0, 1.0]
        return
    assert dist.get_world_size(group) == len(members)
    assert dist.get_rank(group) == members.index(rank())
    assert dist.get_process_group_ranks(group) == members
    assert dist.get_global_rank(group, len(members) - 1) == members[-1]
    assert dist.get_group_rank(group, rank()) == members.index(rank())
    t = torch.full((2,), float(rank() + 1))
    dist.all_reduce(t, group=group)
    assert t.tolist() == [float(sum(r + 1 for r in members))] * 2
    # src is a global rank; group_src a rank within the group
    b = torch.tensor([float(rank())])
    dist.broadcast(b, src=members[-1], group=group)
    assert b.item() == members[-1]
    b = torch.tensor([float(rank())])
    dist.broadcast(b, group=group, group_src=0)
    assert b.item() == members[0]
    objs = [None] * len(members)
    dist.all_gather_object(objs, rank(), group=group)
    assert objs == members
    with pytest.raises(ValueError, match="not part of group"):
        dist.get_group_rank(group, 1 if n > 1 else 5)
    if n > 1:
        with pytest.raises(ValueError, match="Global rank 1 is not part of group"):
            dist.broadcast(torch.ones(1), src=1, group=group)
    dist.destroy_process_group(group)


def test_new_group_of_everyone_matches_world():
    group = dist.new_group()
    t = torch.tensor([rank() + 1])
    dist.all_reduce(t, group=group)
    assert t.item() == size() * (size() + 1) // 2
    assert dist.get_backend(group) == "mpi"


# ---------------------------------------------------------------------------- send/recv

def test_send_recv_ring():
    n = size()
    if n < 2:
        pytest.skip("needs two ranks")
    out = torch.tensor([float(rank())] * 3)
    got = torch.zeros(3)
    works = [dist.isend(out, (rank() + 1) % n), dist.irecv(got, (rank() - 1) % n)]
    for w in works:
        w.wait()
    assert got.tolist() == [float((rank() - 1) % n)] * 3


def test_recv_from_any_source_returns_the_sender():
    n = size()
    if n < 2:
        pytest.skip("needs two ranks")
    if rank() == 0:
        senders = []
        for _ in range(n - 1):
            t = torch.zeros(2, dtype=torch.int64)
            sender = dist.recv(t)
            assert t.tolist() == [sender, sender * 10]
            senders.append(sender)
        assert sorted(senders) == list(range(1, n))
    else:
        dist.send(torch.tensor([rank(), rank() * 10]), dst=0)


def test_send_recv_tags_and_batch():
    n = size()
    if n < 2:
        pytest.skip("needs two ranks")
    if rank() == 0:
        ops = [dist.P2POp(dist.isend, torch.tensor([7.0]), 1, tag=7),
               dist.P2POp(dist.isend, torch.tensor([3.0]), 1, tag=3)]
        for w in dist.batch_isend_irecv(ops):
            w.wait()
    elif rank() == 1:
        a, b = torch.zeros(1), torch.zeros(1)
        assert dist.recv(b, src=0, tag=3) == 0  # matched by tag, not order
        assert dist.recv(a, src=0, tag=7) == 0
        assert (a.item(), b.item()) == (7.0, 3.0)


# ---------------------------------------------------------------------------- errors

def test_errors_name_shapes_dtypes_and_ranks():
    n = size()
    with pytest.raises(RuntimeError, match=rf"has {n + 1} tensors but the process group has "
                                           rf"{n} rank"):
        dist.all_gather([torch.zeros(2)] * (n + 1), torch.zeros(2))
    with pytest.raises(RuntimeError, match=r"invalid tensor size at index 0 .*expected \(3\).*"
                                           r"got \(2\)"):
        dist.all_gather([torch.zeros(2)] * n, torch.zeros(3))
    with pytest.raises(ValueError, match="expected dtype float32.*got float64"):
        dist.all_gather([torch.zeros(2, dtype=torch.float64)] * n, torch.zeros(2))
    with pytest.raises(RuntimeError, match=rf"invalid root rank: {n} \(the group has {n}"):
        dist.broadcast(torch.zeros(1), src=n)
    with pytest.raises(RuntimeError, match=r"invalid root rank: -1"):
        dist.reduce(torch.zeros(1), dst=-1)
    with pytest.raises(RuntimeError, match=r"output tensor of shape \(5\) must have"):
        dist.all_gather_into_tensor(torch.zeros(5), torch.zeros(2))
    with pytest.raises(ValueError, match="gather_list`` must be specified on destination"):
        dist.gather(torch.zeros(1), None, dst=rank())
    with pytest.raises(TypeError, match="Expected parameter `tensor` of type Tensor"):
        dist.all_reduce([torch.zeros(1)])
    with pytest.raises(TypeError, match="op must be a dist.ReduceOp"):
        dist.all_reduce(torch.zeros(1), op="sum")
    if n > 1:
        with pytest.raises(ValueError, match="rank should not be the same"):
            dist.send(torch.zeros(1), dst=rank())
    # the group is still usable after argument errors
    t = torch.ones(1)
    dist.all_reduce(t)
    assert t.item() == n


def test_init_twice_is_refused():
    with pytest.raises(ValueError, match="initialize the default process group twice"):
        dist.init_process_group("mpi")
    assert dist.get_backend() == "mpi"
    assert dist.is_initialized()
