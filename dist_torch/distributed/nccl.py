"""The NCCL backend: GPU collectives over ``cupy.cuda.nccl``, bootstrapped over MPI.

Rank 0 of the group makes the NCCL unique id and broadcasts it over an MPI group (the
bootstrap, also used for object collectives and new_group); every rank first binds to its
GPU (``device_id``, else LOCAL_RANK or the MPI node-local rank, modulo the device count).

Each collective runs on the group's own CUDA stream, ordered after the caller's current
stream by an event, and records a completion event: ``Work.wait()`` makes the caller's current
stream wait on it (the host does not block, as in torch), ``is_completed()`` queries it. The
arrays an operation uses are kept alive until its event has fired. A watchdog thread checks
the pending operations; one that runs past the group's timeout aborts the communicator and
reports the collective, its sequence number and the ranks that did not issue it (from the
bootstrap's arrival counters), then ends the job (or, with ``DT_NO_ABORT_ON_EXCEPTION=1``,
raises DistTimeoutError from the next call).

dtypes: float16/32/64, int8/32/64, uint8/32/64 natively, bfloat16 where NCCL has it (2.10+),
int16/uint16 reduced in int32, bool reduced as bytes (SUM/MAX = OR, PRODUCT/MIN = AND); data
movement moves bytes. AVG is ncclAvg (NCCL 2.10+; SUM followed by a division before). NCCL has
no bitwise reductions (BAND/BOR/BXOR on integers raise) and no receive from any source.
Point-to-point operations use a second communicator (and stream), so that a send/recv pair
never has to be ordered against the collectives of the ranks that do not take part in it.

NCCL needs one GPU per process: ranks that would share a GPU are refused at creation, with
the advice to use the mpi backend (which stages CUDA tensors through host memory).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import warnings

from dist_torch.distributed import _arrival, _checks
from dist_torch.distributed._nccl_setup import (
    _bus_id,
    _check_not_self,
    _device_index,
    _local_rank,
    _setup_comms,
    _shared_gpus,
    _Types,
)
from dist_torch.distributed.process_group import (
    DistBackendError,
    DistTimeoutError,
    ProcessGroup,
    ReduceOp,
    Work,
)

__all__ = ["NCCLProcessGroup", "NCCLWork", "is_available"]

DEFAULT_TIMEOUT = 1800.0


def _cupy():
    from dist_torch.backend.cuda import cupy
    return cupy


def _nccl():
    """``cupy.cuda.nccl`` (ImportError with the reason when it cannot be used)."""
    cupy = _cupy()
    if cupy is None:
        raise ImportError("the NCCL backend needs CuPy (pip install dist_torch[cuda])")
    try:
        with warnings.catch_warnings():  # CuPy warns when libnccl is missing: we raise instead
            warnings.simplefilter("ignore")
            from cupy.cuda import nccl
    except ImportError as err:
        raise ImportError(f"the NCCL backend needs CuPy built with NCCL support: {err}") \
            from err
    if not getattr(nccl, "available", True):
        raise ImportError("CuPy was built without NCCL (cupy.cuda.nccl.available is False)")
    return nccl


def is_available() -> bool:
    """True when CuPy with NCCL imports and at least one GPU is visible."""
    try:
        _nccl()
    except ImportError:
        return False
    from dist_torch.backend import cuda_available
    return cuda_available()


class NCCLWork(Work):
    """A collective enqueued on the group's stream; done when its event has fired."""

    def __init__(self, group, name: str, seq: int, event, outputs, keep, blocking=False):
        self._group = group
        self.name = name
        self.seq = seq
        self._event = event
        self._outputs = outputs
        self._keep = keep  # arrays the stream still reads or writes
        self._blocking = blocking
        self.issued = time.monotonic()

    def wait(self, timeout=None) -> bool:
        """Order the caller's current stream after the collective (the host does not block,
        except for barriers)."""
        self._group._raise_if_broken(self.name)
        with self._group.device:  # the caller's current stream on the group's device
            _cupy().cuda.get_current_stream().wait_event(self._event)
        if self._blocking:
            limit = self._group.timeout if timeout is None else \
                (timeout.total_seconds() if hasattr(timeout, "total_seconds") else timeout)
            deadline = time.monotonic() + limit
            while not self._event.done:
                if time.monotonic() > deadline:
                    self._group._timed_out(self, limit)
                time.sleep(1e-4)
            self._group._raise_if_broken(self.name)
        return True

    def is_completed(self) -> bool:
        done = self._event.done
        if done:
            self._keep = None
        return done

    def result(self):
        return list(self._outputs)


class NCCLProcessGroup(ProcessGroup):
    """A process group over an NCCL communicator (one GPU per process).

    Args:
        bootstrap: an MPIProcessGroup over the same processes (default: a new one over the
            MPI world); it carries the unique id, object collectives and new_group.
        timeout: seconds a collective may run before the watchdog ends the job.
        device_id: the GPU to use (default: local rank modulo the device count).
    """

    backend_name = "nccl"

    def __init__(self, bootstrap=None, timeout=DEFAULT_TIMEOUT, *, device_id=None):
        nccl = _nccl()
        cupy = _cupy()
        from dist_torch.backend import cuda_available
        if not cuda_available():
            raise RuntimeError("the NCCL backend needs a CUDA GPU, and none is visible "
                               "(use backend='mpi' for CPU tensors)")
        if bootstrap is None:
            from dist_torch.distributed.mpi import MPIProcessGroup
            bootstrap = MPIProcessGroup(timeout=timeout)
        self.bootstrap = bootstrap
        seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else \
            float(timeout)
        super().__init__(bootstrap.rank(), bootstrap.size(), bootstrap.global_ranks, seconds)
        node_rank, arrival_comm = bootstrap.call("nccl_setup", _setup_comms)
        index = _device_index(device_id)
        if index is None:
            index = _local_rank(node_rank) % cupy.cuda.runtime.getDeviceCount()
        self.device = cupy.cuda.Device(index)
        self.device.use()
        self._nccl = nccl
        self._types = _Types(nccl)
        placements = bootstrap.allgather_object((socket.gethostname(), _bus_id(cupy, index)))
        problem = _shared_gpus(placements, self.global_ranks)
        if problem is not None:
            arrival_comm.Free()
            raise RuntimeError(problem)
        # rank 0 makes one unique id per communicator: collectives, and point-to-point
        ids = [nccl.get_unique_id() for _ in range(2 if self._size > 1 else 1)] \
            if self._rank == 0 else None
        ids = bootstrap.broadcast_object(ids, 0)
        with self.device:
            try:
                self._comm = nccl.NcclCommunicator(self._size, ids[0], self._rank)
                self._p2p_comm = self._comm if self._size == 1 else \
                    nccl.NcclCommunicator(self._size, ids[1], self._rank)
            except nccl.NcclError as err:
                arrival_comm.Free()
                raise DistBackendError(f"NCCL could not create its communicator on cuda:"
                                       f"{index} (rank {self._rank} of {self._size}): {err}. "
                                       "If several ranks share a GPU, use the mpi backend."
                                       ) from err
            self._stream = cupy.cuda.Stream(non_blocking=True)
            self._p2p_stream = cupy.cuda.Stream(non_blocking=True)
        from dist_torch.distributed.mpi import mpi
        self._arrivals = _arrival.ArrivalBoard(arrival_comm, mpi())
        self._seq = 0
        self._lock = threading.Lock()
        self._pending: list[NCCLWork] = []
        self._broken = None
        self._broken_error = DistTimeoutError
        self._closed = False
        self._watchdog = threading.Thread(target=self._watch, daemon=True,
                                          name="dist_torch-nccl-watchdog")
        self._watchdog.start()

    def __repr__(self):
        return (f"<NCCLProcessGroup rank {self._rank} of {self._size} on cuda:"
                f"{self.device.id}, ranks {self.global_ranks}>")

    # ---- running operations --------------------------------------------------------------

    def _raise_if_broken(self, name: str) -> None:
        if self._broken is not None:
            raise self._broken_error(f"{name}: the NCCL process group is unusable: "
                                     f"{self._broken}")
        if self._closed:
            raise DistBackendError(f"{name}: the process group has been destroyed")

    def _launch(self, name: str, body, outputs=(), keep=(), p2p=False, blocking=False):
        """Run ``body(stream)`` on the group's stream after the caller's current stream."""
        self._raise_if_broken(name)
        cupy = _cupy()
        stream = self._p2p_stream if p2p else self._stream
        with self._lock:
            if not p2p:
                self._seq += 1
                self._arrivals.mark(self._seq)
            seq = self._seq
            with self.device:  # the caller's current stream on this group's device
                ready = cupy.cuda.Event(disable_timing=True)
                ready.record(cupy.cuda.get_current_stream())
            stream.wait_event(ready)
            with self.device, stream:
                try:
                    body(stream.ptr)
                except self._nccl.NcclError as err:
                    raise DistBackendError(f"{name} (sequence number {seq}) failed in NCCL: "
                                           f"{err}") from err
                done = cupy.cuda.Event(disable_timing=True)
                done.record(stream)
            work = NCCLWork(self, name, seq, done, list(outputs), list(keep) + list(outputs),
                            blocking)
            self._pending.append(work)
        return work

    def _watch(self) -> None:
        while not self._closed and self._broken is None:
            time.sleep(0.1)
            if self._closed or self._async_error():
                return
            now = time.monotonic()
            with self._lock:
                self._pending = [w for w in self._pending if not w.is_completed()]
                late = next((w for w in self._pending if now - w.issued > self.timeout), None)
            if late is not None:
                try:
                    self._timed_out(late, self.timeout)
                except DistTimeoutError as err:
                    from dist_torch.distributed import _abort
                    if not _abort._opted_out() and self._size > 1:
                        _abort._report(_abort._comm_world().Get_rank(), type(err), err, None,
                                       " in the NCCL watchdog")
                        _abort._abort(1)
                return

    def _async_error(self) -> bool:
        """True (and the group broken, its communicators aborted) when NCCL reports an
        asynchronous error, e.g. a peer that failed; the next call on the group raises it."""
        try:
            for comm in (self._comm, self._p2p_comm):
                comm.check_async_error()
        except self._nccl.NcclError as err:
            if self._closed:
                return True
            self._broken = f"NCCL reported an asynchronous error: {err}"
            self._broken_error = DistBackendError
            self._abort_comms()
            from dist_torch.distributed import _abort
            _abort.mark_broken()
            return True
        return False

    def _abort_comms(self) -> None:
        for comm in {id(c): c for c in (self._comm, self._p2p_comm)}.values():
            try:
                comm.abort()
            except Exception as err:  # the job is ending anyway; say why abort failed
                print(f"NCCL communicator abort failed: {err}", file=sys.stderr)

    def _timed_out(self, work: NCCLWork, limit: float):
        if self._broken is None:
            counters = self._arrivals.read(limit=min(5.0, max(1.0, limit)))
            who = _arrival.describe_missing(counters, work.seq, self.global_ranks)
            from dist_torch.distributed.mpi import mpi
            self._broken = (
                f"[rank {mpi().COMM_WORLD.Get_rank()}] Timed out after {limit:g} s waiting for "
                f"{work.name} (sequence number {work.seq}) in a process group of size "
                f"{self._size} (backend nccl): {who}. The NCCL communicator was aborted and the "
                "process group is unusable; end the job.")
            self._abort_comms()
            from dist_torch.distributed import _abort
            _abort.mark_broken()
        raise DistTimeoutError(self._broken)

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._watchdog.join(5.0)  # it must not query a destroyed communicator
        if self._broken is None:
            self._stream.synchronize()
            self._p2p_stream.synchronize()
            if self._p2p_comm is not self._comm:
                self._p2p_comm.destroy()
            self._comm.destroy()
            self._arrivals.free()

    # ---- helpers -------------------------------------------------------------------------

    def _check_cuda(self, name, arrays):
        cupy = _cupy()
        for a in arrays:
            if not isinstance(a, cupy.ndarray):
                raise RuntimeError(f"{name}: the NCCL backend works on CUDA tensors, got a "
                                   f"{type(a).__module__}.{type(a).__name__} (use the mpi "
                                   "backend, or 'cpu:mpi,cuda:nccl', for CPU tensors)")
            if a.device.id != self.device.id:
                raise RuntimeError(f"{name}: tensor on cuda:{a.device.id} but this process's "
                                   f"NCCL communicator is bound to cuda:{self.device.id}")

    def _reducible(self, a):
        """``(buffer, nccl dtype, write_back)`` for reducing ``a`` (run on the group stream)."""
        cupy = _cupy()
        types = self._types
        if a.dtype.kind == "b":
            buf = a if a.flags.c_contiguous else cupy.ascontiguousarray(a)
            return buf.view(cupy.uint8), types.uint8, (None if buf is a else a)
        code = types.by_dtype.get(a.dtype)
        if code is None and a.dtype.itemsize == 2 and a.dtype.kind == "V":
            code = types.bfloat16
        if code is not None and a.flags.c_contiguous:
            return a, code, None
        if code is not None:
            return cupy.ascontiguousarray(a), code, a
        wide = cupy.float32 if a.dtype.kind in "fV" else cupy.int32  # bfloat16, int16
        return a.astype(wide), types.by_dtype[cupy.dtype(wide)], a

    def _op_code(self, name, op, a):
        _checks.check_op(name, op, [a])
        table = self._types.bool_ops if a.dtype.kind == "b" else self._types.ops
        if op not in table:
            raise RuntimeError(f"Cannot use ReduceOp.{op.name} with NCCL (on a tensor of dtype "
                               f"{_checks.dtype_name(a)})")
        return table[op]

    @staticmethod
    def _write_back(target, buf):
        if target is None:
            return
        cupy = _cupy()
        if target.dtype.kind == "b":
            target[...] = buf.view(cupy.bool_)
        else:
            target[...] = buf.astype(target.dtype, copy=False)

    @staticmethod
    def _bytes(a):
        cupy = _cupy()
        buf = a if a.flags.c_contiguous else cupy.ascontiguousarray(a)
        return buf.reshape(-1).view(cupy.uint8), (None if buf is a else a)

    # ---- collectives ---------------------------------------------------------------------

    def allreduce(self, arrays, op=ReduceOp.SUM) -> NCCLWork:
        arrays = list(arrays)
        self._check_cuda("allreduce", arrays)
        codes = [self._op_code("allreduce", op, a) for a in arrays]

        def body(stream):
            for a, code in zip(arrays, codes):
                buf, dtype, target = self._reducible(a)
                self._comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, dtype, code, stream)
                if op is ReduceOp.AVG and not self._types.native_avg:
                    buf /= self._size
                self._write_back(target, buf)
        return self._launch("allreduce", body, arrays)

    def broadcast(self, arrays, src: int) -> NCCLWork:
        arrays = list(arrays)
        self._check_cuda("broadcast", arrays)
        _checks.check_root("broadcast", src, self._size)

        def body(stream):
            for a in arrays:
                buf, target = self._bytes(a)
                self._comm.bcast(buf.data.ptr, buf.size, self._types.uint8, src, stream)
                if target is not None:
                    target[...] = buf.view(target.dtype).reshape(target.shape)
        return self._launch("broadcast", body, arrays)

    def reduce(self, arrays, dst: int, op=ReduceOp.SUM) -> NCCLWork:
        arrays = list(arrays)
        self._check_cuda("reduce", arrays)
        _checks.check_root("reduce", dst, self._size)
        codes = [self._op_code("reduce", op, a) for a in arrays]
        root = self._rank == dst

        def body(stream):
            for a, code in zip(arrays, codes):
                buf, dtype, target = self._reducible(a)
                self._comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, dtype, code, dst,
                                  stream)
                if root:
                    if op is ReduceOp.AVG and not self._types.native_avg:
                        buf /= self._size
                    self._write_back(target, buf)
        return self._launch("reduce", body, arrays)

    def allgather(self, outputs, input) -> NCCLWork:
        outputs = _checks.check_list("allgather", outputs, self._size, "the output tensor list")
        _checks.check_like("allgather", outputs, input, "the output list", "the input tensor")
        self._check_cuda("allgather", outputs + [input])
        cupy = _cupy()

        def body(stream):
            src, _ = self._bytes(input)
            everyone = cupy.empty(src.size * self._size, dtype=cupy.uint8)
            self._comm.allGather(src.data.ptr, everyone.data.ptr, src.size, self._types.uint8,
                                 stream)
            for r, out in enumerate(outputs):
                chunk = everyone[r * src.size:(r + 1) * src.size]
                out[...] = chunk.view(out.dtype).reshape(out.shape)
        return self._launch("allgather", body, outputs, [input])

    def allgather_into(self, output, input) -> NCCLWork:
        _checks.check_same_dtype("allgather_into_tensor", output, input, "the output tensor",
                                 "the input tensor")
        _checks.check_numel("allgather_into_tensor", output, input, self._size, gather=True)
        self._check_cuda("allgather_into_tensor", [output, input])

        def body(stream):
            src, _ = self._bytes(input)
            dst, target = self._bytes(output)
            self._comm.allGather(src.data.ptr, dst.data.ptr, src.size, self._types.uint8,
                                 stream)
            if target is not None:
                target[...] = dst.view(target.dtype).reshape(target.shape)
        return self._launch("allgather_into", body, [output], [input])

    def _exchange(self, sends, recvs, stream, comm=None):
        """Point-to-point sends/receives of byte buffers as one NCCL group (on the collective
        communicator unless ``comm``)."""
        nccl = self._nccl
        comm = self._comm if comm is None else comm
        nccl.groupStart()
        try:
            for peer, buf in sends:
                comm.send(buf.data.ptr, buf.size, self._types.uint8, peer, stream)
            for peer, buf in recvs:
                comm.recv(buf.data.ptr, buf.size, self._types.uint8, peer, stream)
        finally:
            nccl.groupEnd()

    def gather(self, outputs, input, dst: int) -> NCCLWork:
        _checks.check_root("gather", dst, self._size)
        root = self._rank == dst
        if root:
            outputs = _checks.check_list("gather", outputs, self._size, "the gather list")
            _checks.check_like("gather", outputs, input, "the gather list", "the input tensor")
            self._check_cuda("gather", outputs)
        self._check_cuda("gather", [input])
        cupy = _cupy()

        def body(stream):
            src, _ = self._bytes(input)
            if not root:
                self._exchange([(dst, src)], [], stream)
                return
            bufs = [cupy.empty(src.size, dtype=cupy.uint8) for _ in range(self._size)]
            bufs[self._rank] = src
            self._exchange([], [(r, b) for r, b in enumerate(bufs) if r != self._rank], stream)
            for out, buf in zip(outputs, bufs):
                out[...] = buf.view(out.dtype).reshape(out.shape)
        return self._launch("gather", body, outputs if root else [], [input])

    def scatter(self, output, inputs, src: int) -> NCCLWork:
        _checks.check_root("scatter", src, self._size)
        root = self._rank == src
        if root:
            inputs = _checks.check_list("scatter", inputs, self._size, "the scatter list")
            _checks.check_like("scatter", inputs, output, "the scatter list",
                               "the output tensor")
            self._check_cuda("scatter", inputs)
        self._check_cuda("scatter", [output])

        def body(stream):
            dst, target = self._bytes(output)
            if root:
                sends = [(r, self._bytes(x)[0]) for r, x in enumerate(inputs) if r != src]
                self._exchange(sends, [], stream)
                dst[...] = self._bytes(inputs[src])[0]
            else:
                self._exchange([], [(src, dst)], stream)
            if target is not None:
                target[...] = dst.view(target.dtype).reshape(target.shape)
        return self._launch("scatter", body, [output], inputs if root else [])

    def _reduce_scatter(self, name, output, flat, op, keep):
        code = self._op_code(name, op, output)

        def body(stream):
            send, dtype, _ = self._reducible(flat)
            recv, _, target = self._reducible(output)
            self._comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, dtype, code,
                                     stream)
            if op is ReduceOp.AVG and not self._types.native_avg:
                recv /= self._size
            self._write_back(target, recv)
        return self._launch(name, body, [output], keep)

    def reduce_scatter(self, output, inputs, op=ReduceOp.SUM) -> NCCLWork:
        inputs = _checks.check_list("reduce_scatter", inputs, self._size, "the input list")
        _checks.check_like("reduce_scatter", inputs, output, "the input list",
                           "the output tensor")
        self._check_cuda("reduce_scatter", inputs + [output])
        cupy = _cupy()
        with self.device:
            flat = cupy.concatenate([x.reshape(-1) for x in inputs])
        return self._reduce_scatter("reduce_scatter", output, flat, op, inputs + [flat])

    def reduce_scatter_into(self, output, input, op=ReduceOp.SUM) -> NCCLWork:
        _checks.check_same_dtype("reduce_scatter_tensor", output, input, "the output tensor",
                                 "the input tensor")
        _checks.check_numel("reduce_scatter_tensor", output, input, self._size, gather=False)
        self._check_cuda("reduce_scatter_tensor", [output, input])
        return self._reduce_scatter("reduce_scatter_into", output, input, op, [input])

    def alltoall(self, outputs, inputs) -> NCCLWork:
        outputs = _checks.check_list("alltoall", outputs, self._size, "the output tensor list")
        inputs = _checks.check_list("alltoall", inputs, self._size, "the input tensor list")
        for a in outputs + inputs:
            if a.dtype != inputs[0].dtype:
                raise ValueError(f"alltoall: every tensor must have one dtype: "
                                 f"{_checks.dtype_name(inputs[0])} and "
                                 f"{_checks.dtype_name(a)}")
        self._check_cuda("alltoall", outputs + inputs)

        def body(stream):
            recvs = [self._bytes(o) for o in outputs]
            sends = [(r, self._bytes(x)[0]) for r, x in enumerate(inputs) if r != self._rank]
            self._exchange(sends, [(r, b) for r, (b, _) in enumerate(recvs)
                                   if r != self._rank], stream)
            recvs[self._rank][0][...] = self._bytes(inputs[self._rank])[0]
            for (buf, target) in recvs:
                if target is not None:
                    target[...] = buf.view(target.dtype).reshape(target.shape)
        return self._launch("alltoall", body, outputs, inputs)

    def barrier(self) -> NCCLWork:
        cupy = _cupy()
        with self.device:
            flag = cupy.zeros(1, dtype=cupy.int32)

        def body(stream):
            self._comm.allReduce(flag.data.ptr, flag.data.ptr, 1, self._types.by_dtype[
                flag.dtype], self._types.ops[ReduceOp.SUM], stream)
        return self._launch("barrier", body, [], [flag], blocking=True)

    # ---- point to point ---------------------------------------------------------------------

    def send(self, array, dst: int, tag: int = 0) -> NCCLWork:
        self._check_cuda("send", [array])
        _checks.check_root("send", dst, self._size, "peer")
        _check_not_self("send", dst, self._rank)

        def body(stream):
            self._exchange([(dst, self._bytes(array)[0])], [], stream, self._p2p_comm)
        return self._launch("send", body, [], [array], p2p=True)

    def recv(self, array, src: int | None, tag: int = 0) -> NCCLWork:
        self._check_cuda("recv", [array])
        if src is None:
            raise RuntimeError("recv: the NCCL backend cannot receive from any source; pass "
                               "src")
        _checks.check_root("recv", src, self._size, "peer")
        _check_not_self("recv", src, self._rank)

        def body(stream):
            buf, target = self._bytes(array)
            self._exchange([], [(src, buf)], stream, self._p2p_comm)
            if target is not None:
                target[...] = buf.view(target.dtype).reshape(target.shape)
        work = self._launch("recv", body, [array], p2p=True)
        work.source_rank = lambda: src
        return work

    # ---- objects and groups go over the bootstrap MPI group ---------------------------------

    def broadcast_object(self, obj, src: int):
        return self.bootstrap.broadcast_object(obj, src)

    def allgather_object(self, obj) -> list:
        return self.bootstrap.allgather_object(obj)

    def gather_object(self, obj, dst: int):
        return self.bootstrap.gather_object(obj, dst)

    def scatter_object(self, objs, src: int):
        return self.bootstrap.scatter_object(objs, src)

    def new_group(self, ranks, timeout=None):
        sub = self.bootstrap.new_group(ranks, timeout)
        if sub is None:
            return None
        return NCCLProcessGroup(sub, self.timeout if timeout is None else timeout,
                                device_id=self.device.id)
