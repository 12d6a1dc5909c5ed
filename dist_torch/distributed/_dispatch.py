"""A process group that sends CPU arrays to one backend and CUDA arrays to another.

``init_process_group()`` on a machine with CUDA (or ``backend="cpu:mpi,cuda:nccl"``) makes one
of these, as torch's default "cpu:gloo,cuda:nccl": NumPy arrays go to the MPI group, CuPy
arrays to an NCCL group that is created (collectively, bootstrapped over the MPI group) the
first time a collective sees CUDA arrays. Object collectives, barriers and new_group go over
MPI.
"""

from __future__ import annotations

from dist_torch.distributed.process_group import ProcessGroup, ReduceOp


def _parse(spec: str) -> dict:
    table = {}
    for part in spec.split(","):
        device, _, backend = part.strip().partition(":")
        if not backend:
            raise ValueError(f"Invalid backend string {spec!r}: expected entries like "
                             "'cpu:mpi,cuda:nccl'")
        if device not in ("cpu", "cuda"):
            raise ValueError(f"Invalid device {device!r} in backend string {spec!r}")
        table[device] = "mpi" if backend == "gloo" else backend
    if table.get("cpu", "mpi") != "mpi" or table.get("cuda", "nccl") not in ("nccl", "mpi"):
        raise ValueError(f"Unsupported backend string {spec!r}: CPU tensors use 'mpi' and CUDA "
                         "tensors use 'nccl' or 'mpi' (staged through host memory)")
    return table


class DeviceDispatchGroup(ProcessGroup):
    """CPU arrays over ``cpu`` (MPI); CUDA arrays over an NCCL group made on first use, or
    over ``cpu`` too (``cuda_backend='mpi'``: MPI stages them through host memory)."""

    def __init__(self, cpu, device_id=None, cuda_backend: str | None = "nccl"):
        super().__init__(cpu.rank(), cpu.size(), cpu.global_ranks, cpu.timeout)
        self.cpu = cpu
        self._cuda = cpu if cuda_backend == "mpi" else None
        self._device_id = device_id
        self._uses_cuda = cuda_backend is not None
        self._cuda_backend = cuda_backend
        self.backend_name = f"cpu:mpi,cuda:{cuda_backend}" if cuda_backend else "mpi"

    @classmethod
    def from_spec(cls, spec: str, timeout: float, device_id=None):
        table = _parse(spec)
        from dist_torch.distributed.mpi import MPIProcessGroup
        return cls(MPIProcessGroup(timeout=timeout), device_id, table.get("cuda"))

    def __repr__(self):
        return f"<DeviceDispatchGroup {self.cpu!r}, cuda: {self._cuda!r}>"

    @property
    def cuda(self):
        """The NCCL group (created, collectively, on first use)."""
        if self._cuda is None:
            if not self._uses_cuda:
                raise RuntimeError("this process group has no CUDA backend")
            from dist_torch.distributed.nccl import NCCLProcessGroup
            self._cuda = NCCLProcessGroup(self.cpu, self.timeout, device_id=self._device_id)
        return self._cuda

    def _pick(self, *arrays):
        from dist_torch.backend.cuda import is_cupy_array
        for a in arrays:
            if isinstance(a, (list, tuple)):
                if any(is_cupy_array(x) for x in a):
                    return self.cuda
            elif a is not None and is_cupy_array(a):
                return self.cuda
        return self.cpu

    def allreduce(self, arrays, op=ReduceOp.SUM):
        return self._pick(arrays).allreduce(arrays, op)

    def broadcast(self, arrays, src):
        return self._pick(arrays).broadcast(arrays, src)

    def reduce(self, arrays, dst, op=ReduceOp.SUM):
        return self._pick(arrays).reduce(arrays, dst, op)

    def allgather(self, outputs, input):
        return self._pick(input).allgather(outputs, input)

    def allgather_into(self, output, input):
        return self._pick(input).allgather_into(output, input)

    def gather(self, outputs, input, dst):
        return self._pick(input).gather(outputs, input, dst)

    def scatter(self, output, inputs, src):
        return self._pick(output).scatter(output, inputs, src)

    def reduce_scatter(self, output, inputs, op=ReduceOp.SUM):
        return self._pick(output).reduce_scatter(output, inputs, op)

    def reduce_scatter_into(self, output, input, op=ReduceOp.SUM):
        return self._pick(output).reduce_scatter_into(output, input, op)

    def alltoall(self, outputs, inputs):
        return self._pick(inputs).alltoall(outputs, inputs)

    def barrier(self):
        return self.cpu.barrier()

    def send(self, array, dst, tag=0):
        return self._pick(array).send(array, dst, tag)

    def recv(self, array, src, tag=0):
        return self._pick(array).recv(array, src, tag)

    def broadcast_object(self, obj, src):
        return self.cpu.broadcast_object(obj, src)

    def allgather_object(self, obj):
        return self.cpu.allgather_object(obj)

    def gather_object(self, obj, dst):
        return self.cpu.gather_object(obj, dst)

    def scatter_object(self, objs, src):
        return self.cpu.scatter_object(objs, src)

    def new_group(self, ranks, timeout=None):
        sub = self.cpu.new_group(ranks, timeout)
        if sub is None:
            return None
        return DeviceDispatchGroup(sub, self._device_id, self._cuda_backend)

    def shutdown(self) -> None:
        if self._cuda is not None and self._cuda is not self.cpu:
            self._cuda.shutdown()
        self.cpu.shutdown()
