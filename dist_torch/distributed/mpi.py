"""The MPI backend: collectives over mpi4py, run in order by one communication thread per group.

MPICH progresses a non-blocking collective only while some thread is inside MPI, so instead
of ``MPI_Iallreduce`` each group owns a thread that runs its collectives, one after the other
in the order they were issued (the same on every rank), with blocking mpi4py calls; those
release the GIL, so NumPy work in the main thread (DDP's backward) overlaps with the
communication. Every collective returns a :class:`MPIWork` at once; ``wait()`` blocks until
the thread has run it, or raises :class:`DistTimeoutError` naming the collective, its
sequence number and the ranks that did not arrive (read from each rank's arrival counter,
see ``_arrival.py``). Point-to-point operations are posted directly as ``Isend``/``Irecv``.

Reductions on float16/bfloat16 run in float32; bool arrays reduce as bytes (SUM and MAX are
OR, PRODUCT and MIN are AND); data movement (broadcast, gathers, scatters, all-to-all, send)
moves raw bytes, so every dtype is supported.

CUDA (CuPy) arrays are staged through host memory around each MPI call (the mpich wheel is not
CUDA-aware; see ``_staging.py``), so ranks may share a GPU; one call may not mix devices.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
import weakref

import numpy as np

from dist_torch.distributed import _arrival, _checks, _debug, _progress, _staging
from dist_torch.distributed._mpi_buffers import _as_array, _bytes, _displacements, _reduce_buffer
from dist_torch.distributed.process_group import (
    DistBackendError,
    DistTimeoutError,
    ProcessGroup,
    ReduceOp,
    Work,
)

__all__ = ["MPIProcessGroup", "MPIWork", "mpi", "is_available"]

DEFAULT_TIMEOUT = 1800.0
_MPI = None


def is_available() -> bool:
    """True when mpi4py (and an MPI library behind it) can be imported."""
    try:
        mpi()
    except (ImportError, RuntimeError):
        return False
    return True


def mpi():
    """mpi4py's ``MPI`` module, initialised with MPI_THREAD_MULTIPLE (checked)."""
    global _MPI
    if _MPI is None:
        try:
            import mpi4py
        except ImportError as err:
            raise ImportError("the MPI backend needs mpi4py and an MPI library "
                              "(pip install mpi4py mpich)") from err
        mpi4py.rc.thread_level = "multiple"  # only effective if MPI is not initialised yet
        from mpi4py import MPI
        provided = MPI.Query_thread()
        if provided < MPI.THREAD_MULTIPLE:
            names = {MPI.THREAD_SINGLE: "MPI_THREAD_SINGLE", MPI.THREAD_FUNNELED:
                     "MPI_THREAD_FUNNELED", MPI.THREAD_SERIALIZED: "MPI_THREAD_SERIALIZED"}
            raise DistBackendError(
                f"the MPI backend needs MPI_THREAD_MULTIPLE (it runs collectives in a "
                f"communication thread) but MPI provides {names.get(provided, provided)}; do "
                "not set mpi4py.rc.thread_level, or use an MPI library built with thread "
                "support")
        _MPI = MPI
    return _MPI


# ---------------------------------------------------------------------------- buffers

_OPS: dict = {}


def _mpi_op(op: ReduceOp, array):
    """The MPI reduction for ``op`` on ``array`` (bool arrays reduce as bytes 0/1)."""
    if not _OPS:
        m = mpi()
        _OPS.update({ReduceOp.SUM: m.SUM, ReduceOp.AVG: m.SUM, ReduceOp.PRODUCT: m.PROD,
                     ReduceOp.MIN: m.MIN, ReduceOp.MAX: m.MAX, ReduceOp.BAND: m.BAND,
                     ReduceOp.BOR: m.BOR, ReduceOp.BXOR: m.BXOR})
        _OPS.update({("b", ReduceOp.SUM): m.MAX, ("b", ReduceOp.PRODUCT): m.MIN})
    if array.dtype.kind == "b":
        return _OPS.get(("b", op)) or _OPS[op]
    return _OPS[op]


def _seconds(timeout) -> float:
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)


# ---------------------------------------------------------------------------- work

class MPIWork(Work):
    """A collective queued on (or run by) a group's communication thread."""

    def __init__(self, group, name: str, seq: int, outputs, sig):
        self._group = group
        self.name = name
        self.seq = seq
        self._outputs = outputs
        self._sig = sig
        self._done = threading.Event()
        self._error = None
        self._value = None
        self.started = self.finished = None  # time.monotonic() stamps, for tests/benchmarks

    def wait(self, timeout=None) -> bool:
        """Block until the collective has run; raise its error, or DistTimeoutError."""
        if not self._done.is_set():
            limit = self._group.timeout if timeout is None else _seconds(timeout)
            if not self._done.wait(limit):
                self._group._timed_out(self, limit)
        if self._error is not None:
            raise self._error
        return True

    def is_completed(self) -> bool:
        return self._done.is_set()

    def exception(self):
        return self._error if self._done.is_set() else None

    def result(self):
        return list(self._outputs)

    def value(self):
        """What an object collective returned (after ``wait``)."""
        self.wait()
        return self._value

    def __repr__(self):
        state = "completed" if self._done.is_set() else "pending"
        return f"<MPIWork {self.name} #{self.seq} {state}>"


class MPIP2PWork(Work):
    """A posted ``Isend``/``Irecv``; ``wait`` polls it (so it honours the timeout)."""

    def __init__(self, group, name: str, peer, request, keep, write_back=None):
        self._group = group
        self.name = name
        self.peer = peer
        self._request = request
        self._keep = keep  # the buffer MPI reads or writes must outlive the request
        self._write_back = write_back
        self._status = mpi().Status()
        self._lock = threading.Lock()
        self._done = False
        self._error = None

    def _test(self) -> bool:
        with self._lock:
            if self._done:
                return True
            try:
                if not self._request.Test(self._status):
                    return False
                if self._write_back is not None:
                    self._write_back()
            except mpi().Exception as err:
                self._error = DistBackendError(
                    f"{self.name} with rank {self.peer} failed: {err.Get_error_string()}"
                    + (" (the message is larger than the receiving tensor)"
                       if err.Get_error_class() == mpi().ERR_TRUNCATE else ""))
            self._done = True
            self._keep = None
            return True

    def wait(self, timeout=None) -> bool:
        limit = self._group.timeout if timeout is None else _seconds(timeout)
        deadline = time.monotonic() + limit
        pause = 0.0
        while not self._test():
            if time.monotonic() > deadline:
                peer = "any rank" if self.peer is None else f"rank {self.peer}"
                raise DistTimeoutError(
                    f"[rank {mpi().COMM_WORLD.Get_rank()}] Timed out after {limit:g} s waiting "
                    f"for {self.name} with {peer} (group rank) in a process group of size "
                    f"{self._group.size()}: the other side did not post the matching "
                    f"{'recv' if self.name == 'send' else 'send'}")
            time.sleep(pause)
            pause = min(2 * pause + 1e-6, 1e-3)
        if self._error is not None:
            raise self._error
        return True

    def is_completed(self) -> bool:
        return self._test()

    def exception(self):
        return self._error

    def source_rank(self) -> int:
        """The group rank the message came from (receives; after ``wait``)."""
        self.wait()
        return self._status.Get_source() if self.name == "recv" else self._group.rank()

    _source_rank = source_rank


# ---------------------------------------------------------------------------- the group

_LIVE: list = []  # weak references to every group of this process, in creation order
_PID = os.getpid()


class MPIProcessGroup(ProcessGroup):
    """A process group over an MPI communicator (a Dup of ``comm``, default COMM_WORLD).

    Args:
        comm: the mpi4py communicator whose processes form the group (default COMM_WORLD).
        timeout: seconds (or a timedelta) a ``Work.wait()`` waits before DistTimeoutError.
        debug: compare every collective across ranks first (default: DT_DISTRIBUTED_DEBUG).
    """

    backend_name = "mpi"

    def __init__(self, comm=None, timeout=DEFAULT_TIMEOUT, *, debug: bool | None = None,
                 _adopt: bool = False):
        base = mpi().COMM_WORLD if comm is None else comm
        self._comm = base if _adopt else base.Dup()
        self._p2p = base.Dup()
        self._debug = _debug.enabled() if debug is None else bool(debug)
        self._debug_comm = base.Dup() if self._debug else None
        self._arrivals = _arrival.ArrivalBoard(base.Dup(), mpi())
        world = mpi().COMM_WORLD.Get_group()
        mine = self._comm.Get_group()
        global_ranks = mpi().Group.Translate_ranks(mine, list(range(mine.Get_size())), world)
        mine.Free()
        world.Free()
        super().__init__(self._comm.Get_rank(), self._comm.Get_size(), global_ranks,
                         _seconds(timeout))
        self._seq = 0
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._current = None
        self._broken = None
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True,
                                        name=f"dist_torch-mpi-comm-{len(_LIVE)}")
        self._thread.start()
        _LIVE.append(weakref.ref(self))

    def __repr__(self):
        return (f"<MPIProcessGroup rank {self._rank} of {self._size}, ranks "
                f"{self.global_ranks}>")

    @property
    def comm(self):
        """The group's collective communicator (for bootstrapping other backends)."""
        return self._comm

    # ---- the communication thread ------------------------------------------------------

    def _submit(self, name: str, run, outputs=(), sig=None) -> MPIWork:
        if self._broken is not None:
            raise DistBackendError(f"{name}: the process group is unusable after an earlier "
                                   f"timeout: {self._broken}")
        if self._closed:
            raise DistBackendError(f"{name}: the process group has been destroyed")
        with self._lock:
            self._seq += 1
            work = MPIWork(self, name, self._seq, outputs, sig)
            work._run = run
            self._queue.put(work)
        return work

    def _serve(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            self._current = work
            work.started = time.monotonic()
            try:
                self._arrivals.mark(work.seq)
                if self._debug_comm is not None:
                    sig = work._sig or _debug.signature(work.name)
                    problem = _debug.mismatch(self._debug_comm.allgather(sig), work.seq,
                                              self.global_ranks)
                    if problem is not None:
                        raise RuntimeError(problem)
                work._value = work._run()
                _progress.report_progress()
            except mpi().Exception as err:
                work._error = DistBackendError(f"{work.name} (sequence number {work.seq}) "
                                               f"failed in MPI: {err.Get_error_string()}")
            except BaseException as err:  # reported to whoever waits on the work
                work._error = err
            finally:
                work._run = None
                work.finished = time.monotonic()
                self._current = None
                work._done.set()

    def _timed_out(self, work: MPIWork, limit: float):
        """Diagnose a wait that ran past ``limit`` seconds; the group is broken after it."""
        stuck = self._current or work
        counters = self._arrivals.read(limit=min(5.0, max(1.0, limit)))
        who = _arrival.describe_missing(counters, stuck.seq, self.global_ranks)
        ranks = self.global_ranks
        where = "the default process group" if ranks == list(range(len(ranks))) and \
            self._comm.Get_size() == mpi().COMM_WORLD.Get_size() \
            else f"the process group of ranks {ranks}"
        behind = "" if stuck is work else \
            f"; it is queued behind {stuck.name} (sequence number {stuck.seq}), which never " \
            "completed"
        message = (f"[rank {mpi().COMM_WORLD.Get_rank()}] Timed out after {limit:g} s waiting "
                   f"for {work.name} (sequence number {work.seq}) in {where} of size "
                   f"{self._size} (backend mpi){behind}: {who}. The process group is unusable "
                   "after a timeout; end the job.")
        self._broken = message
        from dist_torch.distributed import _abort
        _abort.mark_broken()
        raise DistTimeoutError(message)

    def shutdown(self) -> None:
        """Finish the queued operations, stop the thread, free the communicators (collective)."""
        if self._closed:
            return
        self._closed = True
        if self._broken is not None or os.getpid() != _PID:
            return  # the thread is stuck in MPI (or this is a forked child): leave it
        self._queue.put(None)
        self._thread.join()
        self._arrivals.free()
        for comm in (self._debug_comm, self._p2p, self._comm):
            if comm is not None:
                comm.Free()

    # ---- collectives --------------------------------------------------------------------

    def _sig(self, name, params, arrays):
        return _debug.signature(name, params, arrays) if self._debug else None

    def _staged(self, name, run, args, reads, writes, outputs=(), sig=None) -> MPIWork:
        """Submit ``run(*args)``, staging device arrays through host memory (_staging.py)."""
        return self._submit(name, _staging.wrap(name, run, args, reads, writes), outputs, sig)

    def allreduce(self, arrays, op=ReduceOp.SUM) -> MPIWork:
        arrays = list(arrays)
        _checks.check_op("allreduce", op, arrays)
        comm, size = self._comm, self._size

        def run(arrays):
            for a in arrays:
                buf, back = _reduce_buffer(a)
                comm.Allreduce(mpi().IN_PLACE, buf, _mpi_op(op, a))
                if op is ReduceOp.AVG:
                    np.true_divide(buf, size, out=buf)
                if back is not None:
                    back()
        return self._staged("allreduce", run, [arrays], arrays, arrays, arrays,
                            self._sig("allreduce", op.name, arrays))

    def broadcast(self, arrays, src: int) -> MPIWork:
        arrays = list(arrays)
        _checks.check_root("broadcast", src, self._size, "root")
        comm, root = self._comm, self._rank == src

        def run(arrays):
            for a in arrays:
                buf, back = _bytes(a)
                comm.Bcast(buf, root=src)
                if back is not None:
                    back()
        return self._staged("broadcast", run, [arrays], arrays if root else [],
                            [] if root else arrays, arrays,
                            self._sig("broadcast", f"src={src}", arrays))

    def reduce(self, arrays, dst: int, op=ReduceOp.SUM) -> MPIWork:
        arrays = list(arrays)
        _checks.check_root("reduce", dst, self._size, "root")
        _checks.check_op("reduce", op, arrays)
        comm, size, root = self._comm, self._size, self._rank == dst

        def run(arrays):
            for a in arrays:
                buf, back = _reduce_buffer(a)
                if not root:
                    comm.Reduce(buf, None, _mpi_op(op, a), root=dst)
                    continue
                comm.Reduce(mpi().IN_PLACE, buf, _mpi_op(op, a), root=dst)
                if op is ReduceOp.AVG:
                    np.true_divide(buf, size, out=buf)
                if back is not None:
                    back()
        return self._staged("reduce", run, [arrays], arrays, arrays if root else [], arrays,
                            self._sig("reduce", f"{op.name}, dst={dst}", arrays))

    def allgather(self, outputs, input) -> MPIWork:
        outputs = _checks.check_list("allgather", outputs, self._size, "the output tensor list")
        _checks.check_like("allgather", outputs, input, "the output list", "the input tensor")
        comm = self._comm

        def run(outputs, input):
            src, _ = _bytes(input)
            everyone = np.empty(src.size * len(outputs), dtype=np.uint8)
            comm.Allgather(src, everyone)
            for out, chunk in zip(outputs, np.split(everyone, len(outputs))):
                np.copyto(out, _as_array(chunk, out))
        return self._staged("allgather", run, [outputs, input], [input], outputs, outputs,
                            self._sig("allgather", "", [input]))

    def allgather_into(self, output, input) -> MPIWork:
        _checks.check_same_dtype("allgather_into_tensor", output, input, "the output tensor",
                                 "the input tensor")
        _checks.check_numel("allgather_into_tensor", output, input, self._size, gather=True)
        comm = self._comm

        def run(output, input):
            dst, back = _bytes(output)
            comm.Allgather(_bytes(input)[0], dst)
            if back is not None:
                back()
        return self._staged("allgather_into", run, [output, input], [input], [output],
                            [output], self._sig("allgather_into", "", [input]))

    def gather(self, outputs, input, dst: int) -> MPIWork:
        _checks.check_root("gather", dst, self._size, "root")
        root = self._rank == dst
        if root:
            outputs = _checks.check_list("gather", outputs, self._size, "the gather list")
            _checks.check_like("gather", outputs, input, "the gather list", "the input tensor")
        comm, size = self._comm, self._size

        def run(outputs, input):
            src, _ = _bytes(input)
            if not root:
                comm.Gather(src, None, root=dst)
                return
            everyone = np.empty(src.size * size, dtype=np.uint8)
            comm.Gather(src, everyone, root=dst)
            for out, chunk in zip(outputs, np.split(everyone, size)):
                np.copyto(out, _as_array(chunk, out))
        mine = outputs if root else []
        return self._staged("gather", run, [mine, input], [input], mine, mine,
                            self._sig("gather", f"dst={dst}", [input]))

    def scatter(self, output, inputs, src: int) -> MPIWork:
        _checks.check_root("scatter", src, self._size, "root")
        root = self._rank == src
        if root:
            inputs = _checks.check_list("scatter", inputs, self._size, "the scatter list")
            _checks.check_like("scatter", inputs, output, "the scatter list",
                               "the output tensor")
        comm = self._comm

        def run(output, inputs):
            dst, back = _bytes(output)
            send = np.concatenate([_bytes(x)[0] for x in inputs]) if root else None
            comm.Scatter(send, dst, root=src)
            if back is not None:
                back()
        mine = inputs if root else []
        return self._staged("scatter", run, [output, mine], mine, [output], [output],
                            self._sig("scatter", f"src={src}", [output]))

    def _reduce_scatter(self, name, output, inputs, op):
        """``inputs``: one flat array, or a list of arrays to concatenate (flattened)."""
        comm, size = self._comm, self._size
        as_list = isinstance(inputs, list)

        def run(output, inputs):
            if as_list:
                flat = np.concatenate([x.reshape(-1) for x in inputs]) if inputs \
                    else output[:0]
            else:
                flat = inputs
            send, _ = _reduce_buffer(flat)
            recv, back = _reduce_buffer(output)
            comm.Reduce_scatter_block(send, recv, _mpi_op(op, output))
            if op is ReduceOp.AVG:
                np.true_divide(recv, size, out=recv)
            if back is not None:
                back()
        reads = inputs if as_list else [inputs]
        return self._staged(name, run, [output, inputs], reads, [output], [output],
                            self._sig(name, op.name, [output]))

    def reduce_scatter(self, output, inputs, op=ReduceOp.SUM) -> MPIWork:
        inputs = _checks.check_list("reduce_scatter", inputs, self._size, "the input list")
        _checks.check_like("reduce_scatter", inputs, output, "the input list",
                           "the output tensor")
        _checks.check_op("reduce_scatter", op, [output])
        return self._reduce_scatter("reduce_scatter", output, inputs, op)

    def reduce_scatter_into(self, output, input, op=ReduceOp.SUM) -> MPIWork:
        _checks.check_same_dtype("reduce_scatter_tensor", output, input, "the output tensor",
                                 "the input tensor")
        _checks.check_numel("reduce_scatter_tensor", output, input, self._size, gather=False)
        _checks.check_op("reduce_scatter_tensor", op, [output])
        return self._reduce_scatter("reduce_scatter_into", output, input, op)

    def alltoall(self, outputs, inputs) -> MPIWork:
        outputs = _checks.check_list("alltoall", outputs, self._size, "the output tensor list")
        inputs = _checks.check_list("alltoall", inputs, self._size, "the input tensor list")
        for a in outputs + inputs:
            if a.dtype != inputs[0].dtype:
                raise ValueError(f"alltoall: every tensor must have one dtype: "
                                 f"{_checks.dtype_name(inputs[0])} and "
                                 f"{_checks.dtype_name(a)}")
        comm = self._comm

        def run(outputs, inputs):
            send = [_bytes(x)[0] for x in inputs]
            scounts = [s.size for s in send]
            rcounts = [o.nbytes for o in outputs]
            recv = np.empty(sum(rcounts), dtype=np.uint8)
            sendbuf = np.concatenate(send) if send else recv[:0]
            comm.Alltoallv([sendbuf, (scounts, _displacements(scounts)), mpi().BYTE],
                           [recv, (rcounts, _displacements(rcounts)), mpi().BYTE])
            for out, start, n in zip(outputs, _displacements(rcounts), rcounts):
                np.copyto(out, _as_array(recv[start:start + n], out))
        return self._staged("alltoall", run, [outputs, inputs], inputs, outputs, outputs,
                            self._sig("alltoall", "", []))

    def barrier(self) -> MPIWork:
        return self._submit("barrier", self._comm.Barrier)

    # ---- point to point (posted directly; MPI orders messages between two ranks) ------

    def _check_peer(self, name, peer):
        if peer is None:
            return
        _checks.check_root(name, peer, self._size, "peer")
        if peer == self._rank:
            raise ValueError(f"Invalid {'destination' if name == 'send' else 'source'} rank: "
                             f"{'destination' if name == 'send' else 'source'} rank should not "
                             f"be the same as the rank of the current process ({peer}).")

    def send(self, array, dst: int, tag: int = 0) -> MPIP2PWork:
        self._check_peer("send", dst)
        buf, _ = _bytes(_staging.host_send_buffer(array))
        request = self._p2p.Isend(buf, dst, tag)
        return MPIP2PWork(self, "send", dst, request, buf)

    def recv(self, array, src: int | None, tag: int = 0) -> MPIP2PWork:
        self._check_peer("recv", src)
        host, to_device = _staging.host_recv_buffer(array)
        buf, back = _bytes(host)
        if to_device is not None:
            back = to_device  # the host buffer is contiguous: straight back to the device
        source = mpi().ANY_SOURCE if src is None else src
        request = self._p2p.Irecv(buf, source, tag)
        return MPIP2PWork(self, "recv", src, request, buf, back)

    # ---- Python objects -------------------------------------------------------------------

    def _object_call(self, name, run, params=""):
        work = self._submit(name, run, (), _debug.signature(name, params) if self._debug
                            else None)
        work.wait()
        return work._value

    def call(self, name: str, fn):
        """Run ``fn(communicator)`` in the group's order of collectives and return its result
        (blocking; every rank must call it). For bootstrapping other backends."""
        return self._object_call(name, lambda: fn(self._comm))

    def broadcast_object(self, obj, src: int):
        _checks.check_root("broadcast_object", src, self._size, "root")
        return self._object_call("broadcast_object", lambda: self._comm.bcast(obj, root=src),
                                 f"src={src}")

    def allgather_object(self, obj) -> list:
        return self._object_call("allgather_object", lambda: self._comm.allgather(obj))

    def gather_object(self, obj, dst: int):
        _checks.check_root("gather_object", dst, self._size, "root")
        return self._object_call("gather_object", lambda: self._comm.gather(obj, root=dst),
                                 f"dst={dst}")

    def scatter_object(self, objs, src: int):
        """Rank ``src``'s ``objs[rank]`` on every rank (blocking)."""
        _checks.check_root("scatter_object", src, self._size, "root")
        if self._rank == src:
            objs = list(objs)
            if len(objs) != self._size:
                raise RuntimeError(f"scatter_object: {len(objs)} objects for a group of "
                                   f"{self._size} ranks")
        return self._object_call("scatter_object", lambda: self._comm.scatter(
            objs if self._rank == src else None, root=src), f"src={src}")

    # ---- groups -------------------------------------------------------------------------

    def new_group(self, ranks, timeout=None) -> MPIProcessGroup | None:
        ranks = [int(r) for r in ranks]
        for r in ranks:
            _checks.check_root("new_group", r, self._size, "member")
        if len(set(ranks)) != len(ranks):
            raise ValueError(f"new_group: ranks {ranks} contain duplicates")
        member = self._rank in ranks
        color = 0 if member else mpi().UNDEFINED
        key = ranks.index(self._rank) if member else 0
        comm = self._object_call("new_group", lambda: self._comm.Split(color, key),
                                 f"ranks={ranks}")
        if comm == mpi().COMM_NULL:
            return None
        return MPIProcessGroup(comm, self.timeout if timeout is None else timeout,
                               debug=self._debug, _adopt=True)


@atexit.register
def _shutdown_all() -> None:
    """At exit, stop every group's thread and free its communicators (before MPI_Finalize)."""
    if os.getpid() != _PID:
        return
    from dist_torch.distributed import _abort
    if _abort.is_broken():
        _abort.abort_broken_job()
    for ref in reversed(_LIVE):
        group = ref()
        if group is not None:
            group.shutdown()
