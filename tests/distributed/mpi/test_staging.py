"""The MPI backend on device arrays, staged through host memory, checked without a GPU.

A :class:`FakeDeviceArray` stands in for a CUDA array: neither NumPy nor mpi4py can read it
(no buffer protocol, no ``__array__``), so an MPI call that is handed one without staging
fails. Writes to it can be queued on a pretend stream (like a kernel not yet run): they land
only when a staging mark taken after them is waited on, so staging that skips the mark reads
stale data. The twins of ``dist_torch.backend.staging`` below replace the CuPy code; the MPI
collectives themselves are real (this suite runs under ``mpiexec -n 2`` and ``-n 3``).
"""

import threading

import numpy as np
import pytest

import dist_torch.distributed as dist
from dist_torch.backend import staging
from dist_torch.distributed import ReduceOp

pytestmark = pytest.mark.mpi

BASE = np.array([1.0, -2.0, 3.0, 0.5])


class FakeStream:
    """Operations queued on a pretend device, run only when a mark covering them is waited."""

    def __init__(self):
        self.pending = []

    def enqueue(self, fn):
        self.pending.append(fn)

    def run(self, ops):
        for op in ops:
            if op in self.pending:
                self.pending.remove(op)
                op()


class FakeDeviceArray:
    """A device array that only the staging twins can read or write."""

    def __init__(self, values, device="cuda:0"):
        self._memory = np.array(values)
        self.device = device
        self.dtype = self._memory.dtype
        self.shape = self._memory.shape
        self.size = self._memory.size
        self.nbytes = self._memory.nbytes
        self.ndim = self._memory.ndim

    def peek(self):
        return self._memory.copy()


@pytest.fixture
def fake(monkeypatch):
    """Installs the staging twins; yields the pretend stream and the twins' call log."""
    stream = FakeStream()
    log = {"ready": 0, "download": 0, "upload": 0, "empty": 0}
    main = threading.get_ident()

    def ready(arrays):
        assert threading.get_ident() == main, "mark taken outside the issuing thread"
        devices = [a for a in arrays if isinstance(a, FakeDeviceArray)]
        assert devices, "ready() called without device arrays"
        log["ready"] += 1
        return tuple(stream.pending)

    def download(array, mark=None):
        if not isinstance(array, FakeDeviceArray):
            return array
        stream.run(mark or ())
        log["download"] += 1
        return array._memory.copy()

    def host_empty(array):
        log["empty"] += 1
        return np.full(array.shape, 99, dtype=array.dtype)  # garbage, as np.empty may hold

    def upload(target, host, mark=None):
        assert isinstance(target, FakeDeviceArray) and isinstance(host, np.ndarray)
        assert host.shape == target.shape and host.dtype == target.dtype
        stream.run(mark or ())  # queued work on the target finishes before the copy lands
        log["upload"] += 1
        target._memory[...] = host

    monkeypatch.setattr(staging, "is_device_array", lambda a: isinstance(a, FakeDeviceArray))
    monkeypatch.setattr(staging, "device_name",
                        lambda a: a.device if isinstance(a, FakeDeviceArray) else "cpu")
    monkeypatch.setattr(staging, "ready", ready)
    monkeypatch.setattr(staging, "download", download)
    monkeypatch.setattr(staging, "host_empty", host_empty)
    monkeypatch.setattr(staging, "upload", upload)
    return stream, log


def pg():
    return dist._resolve_group(None)


def rank():
    return dist.get_rank()


def size():
    return dist.get_world_size()


def queued(stream, values, dtype=np.float64):
    """A fake array whose contents are written by an operation still queued on ``stream``."""
    a = FakeDeviceArray(np.zeros(np.shape(values), dtype=dtype))

    def write():
        a._memory[...] = values
    stream.enqueue(write)
    return a


def test_the_fake_cannot_be_read_without_staging():
    a = FakeDeviceArray(BASE)
    from dist_torch.distributed.mpi import mpi
    with pytest.raises((TypeError, BufferError, ValueError)):
        mpi().COMM_SELF.Allreduce(mpi().IN_PLACE, a, mpi().SUM)
    assert np.asarray(a).dtype == object


@pytest.mark.parametrize("op", [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX])
def test_all_reduce_waits_for_queued_writes(fake, op):
    stream, log = fake
    a = queued(stream, (rank() + 1) * BASE)
    pg().allreduce([a], op).wait()
    n = size()
    everyone = np.stack([(r + 1) * BASE for r in range(n)])
    expected = {ReduceOp.SUM: everyone.sum(0), ReduceOp.AVG: everyone.sum(0) / n,
                ReduceOp.MAX: everyone.max(0)}[op]
    np.testing.assert_allclose(a.peek(), expected, rtol=1e-12)
    assert not stream.pending
    assert log["ready"] == 1 and log["download"] == 1 and log["upload"] == 1


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.bool_])
def test_all_reduce_dtypes_through_the_host(fake, dtype):
    values = np.array([rank() + 1, 0, 2, rank() % 2]).astype(dtype)
    a = FakeDeviceArray(values)
    pg().allreduce([a], ReduceOp.SUM).wait()
    everyone = [np.array([r + 1, 0, 2, r % 2]).astype(dtype) for r in range(size())]
    expected = np.any(everyone, 0) if dtype is np.bool_ else np.sum(everyone, 0).astype(dtype)
    assert a.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(a.peek(), expected)


def test_broadcast_only_writes_receivers(fake):
    stream, log = fake
    src = size() - 1
    arrays = [queued(stream, (rank() + 1) * BASE), FakeDeviceArray(np.arange(3) * rank())]
    pg().broadcast(arrays, src).wait()
    np.testing.assert_array_equal(arrays[0].peek(), size() * BASE)
    np.testing.assert_array_equal(arrays[1].peek(), np.arange(3) * src)
    is_root = rank() == src
    assert log["download"] == (2 if is_root else 0)
    assert log["upload"] == (0 if is_root else 2)


def test_reduce_writes_the_root_only(fake):
    stream, log = fake
    a = queued(stream, (rank() + 1) * BASE)
    pg().reduce([a], 0, ReduceOp.SUM).wait()
    n = size()
    mine = n * (n + 1) / 2 * BASE if rank() == 0 else (rank() + 1) * BASE
    np.testing.assert_allclose(a.peek(), mine)
    assert log["upload"] == (1 if rank() == 0 else 0)


def test_all_gather_and_into(fake):
    stream, log = fake
    n = size()
    x = queued(stream, np.full(3, rank() + 1.0))
    outs = [FakeDeviceArray(np.zeros(3)) for _ in range(n)]
    pg().allgather(outs, x).wait()
    for r, out in enumerate(outs):
        np.testing.assert_array_equal(out.peek(), np.full(3, r + 1.0))
    assert log["empty"] == n  # outputs are not downloaded, only written
    flat = FakeDeviceArray(np.zeros(3 * n))
    pg().allgather_into(flat, x).wait()
    np.testing.assert_array_equal(flat.peek(), np.repeat(np.arange(1.0, n + 1), 3))


def test_all_gather_into_its_own_input(fake):
    n = size()
    x = FakeDeviceArray(np.full(2, rank() + 1.0))
    outs = [FakeDeviceArray(np.zeros(2)) for _ in range(n)]
    outs[rank()] = x  # the input is also this rank's output slot
    pg().allgather(outs, x).wait()
    for r, out in enumerate(outs):
        np.testing.assert_array_equal(out.peek(), np.full(2, r + 1.0))


def test_gather_and_scatter(fake):
    n, root = size(), size() - 1
    x = FakeDeviceArray(np.array([rank(), 10 * rank()], dtype=np.int64))
    outs = [FakeDeviceArray(np.zeros(2, dtype=np.int64)) for _ in range(n)] \
        if rank() == root else None
    pg().gather(outs, x, root).wait()
    if rank() == root:
        for r, out in enumerate(outs):
            assert out.peek().tolist() == [r, 10 * r]
    got = FakeDeviceArray(np.zeros(2, dtype=np.int64))
    ins = [FakeDeviceArray(np.array([r, -r], dtype=np.int64)) for r in range(n)] \
        if rank() == root else None
    pg().scatter(got, ins, root).wait()
    assert got.peek().tolist() == [rank(), -rank()]


@pytest.mark.parametrize("op", [ReduceOp.SUM, ReduceOp.AVG])
def test_reduce_scatter_list_and_tensor(fake, op):
    stream, _ = fake
    n = size()
    ins = [queued(stream, (rank() + 1) * (q + 1) * BASE) for q in range(n)]
    out = FakeDeviceArray(np.zeros(4))
    pg().reduce_scatter(out, ins, op).wait()
    total = n * (n + 1) / 2 * (rank() + 1) * BASE
    np.testing.assert_allclose(out.peek(), total / n if op is ReduceOp.AVG else total)
    flat = queued(stream, np.concatenate([(rank() + 1) * (q + 1) * BASE for q in range(n)]))
    out2 = FakeDeviceArray(np.zeros(4))
    pg().reduce_scatter_into(out2, flat, op).wait()
    np.testing.assert_allclose(out2.peek(), out.peek())


def test_all_to_all(fake):
    n = size()
    ins = [FakeDeviceArray(np.full(q + 1, 100.0 * rank() + q)) for q in range(n)]
    outs = [FakeDeviceArray(np.zeros(rank() + 1)) for _ in range(n)]
    pg().alltoall(outs, ins).wait()
    for r, out in enumerate(outs):
        np.testing.assert_array_equal(out.peek(), np.full(rank() + 1, 100.0 * r + rank()))


def test_send_recv_ring(fake):
    stream, log = fake
    n = size()
    if n == 1:
        pytest.skip("needs two ranks")
    out = queued(stream, np.array([rank(), rank() * 10.0]))
    got = FakeDeviceArray(np.zeros(2))
    works = [pg().send(out, (rank() + 1) % n), pg().recv(got, (rank() - 1) % n)]
    for w in works:
        w.wait()
    peer = (rank() - 1) % n
    assert got.peek().tolist() == [peer, peer * 10.0]
    assert log["upload"] == 1


def test_outputs_are_written_after_work_queued_on_them(fake):
    """A write queued on a write-only output (nothing is downloaded first) must not land after
    the operation's result: the copy back waits for the mark too."""
    stream, _ = fake
    n = size()
    mine = np.full(2, 5.0) if rank() == 0 else np.full(2, -7.0)
    t = queued(stream, mine) if rank() else FakeDeviceArray(mine)
    pg().broadcast([t], 0).wait()
    if n > 1:
        got = queued(stream, np.full(2, -7.0))
        work = pg().recv(got, (rank() - 1) % n)
        pg().send(np.full(2, float(rank())), (rank() + 1) % n).wait()  # host: flushes nothing
        work.wait()
    stream.run(list(stream.pending))  # the pretend device finishes whatever is still queued
    np.testing.assert_array_equal(t.peek(), np.full(2, 5.0))
    if n > 1:
        np.testing.assert_array_equal(got.peek(), np.full(2, float((rank() - 1) % n)))


def test_async_work_result_is_the_device_array(fake):
    a = FakeDeviceArray((rank() + 1) * BASE)
    work = pg().allreduce([a], ReduceOp.SUM)
    assert work.wait()
    assert work.result() == [a]
    np.testing.assert_allclose(a.peek(), size() * (size() + 1) / 2 * BASE)


def test_mixed_devices_are_refused_naming_them(fake):
    x = FakeDeviceArray(np.zeros(2))
    outs = [np.zeros(2) for _ in range(size())]
    with pytest.raises(RuntimeError, match=r"allgather: .*same device.*cpu and cuda:0"):
        pg().allgather(outs, x)
    with pytest.raises(RuntimeError, match=r"cuda:0 and cuda:1"):
        pg().allreduce([x, FakeDeviceArray(np.zeros(2), device="cuda:1")])
    pg().barrier().wait()  # nothing was issued: the group still works


def test_host_arrays_are_not_staged(fake):
    _, log = fake
    a = np.full(2, rank() + 1.0)
    pg().allreduce([a]).wait()
    np.testing.assert_array_equal(a, np.full(2, size() * (size() + 1) / 2))
    assert log == {"ready": 0, "download": 0, "upload": 0, "empty": 0}
