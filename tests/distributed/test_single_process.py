"""dist_torch.distributed in one process: the API before init, argument errors, the pieces that
need no communication, and a script run plainly (``python train.py``: a world of one).

MPI is never initialised in the pytest process itself (the singleton runs in a subprocess),
so other tests see ``is_initialized() == False``.
"""

import sys
from datetime import timedelta

import pytest

import dist_torch as torch
import dist_torch.distributed as dist
from dist_torch.distributed import _arrival, _checks, _debug, _world
from dist_torch.distributed.process_group import backend_class, register_backend
from tests.distributed import jobs

NOT_INIT = ("Default process group has not been initialized, please make sure to call "
            "init_process_group.")


@pytest.fixture(autouse=True)
def not_initialized():
    assert not dist.is_initialized()
    yield
    assert not dist.is_initialized()


@pytest.mark.parametrize("call", [
    lambda: dist.get_rank(),
    lambda: dist.get_world_size(),
    lambda: dist.get_backend(),
    lambda: dist.all_reduce(torch.ones(2)),
    lambda: dist.broadcast(torch.ones(2), src=0),
    lambda: dist.all_gather([torch.ones(2)], torch.ones(2)),
    lambda: dist.barrier(),
    lambda: dist.new_group([0]),
    lambda: dist.destroy_process_group(),
    lambda: dist.all_gather_object([None], 1),
    lambda: dist.send(torch.ones(1), 0),
], ids=["get_rank", "get_world_size", "get_backend", "all_reduce", "broadcast", "all_gather",
        "barrier", "new_group", "destroy", "all_gather_object", "send"])
def test_calls_before_init_raise_torchs_value_error(call):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == NOT_INIT


def test_availability():
    assert dist.is_available()
    import importlib.util
    assert dist.is_mpi_available() == (importlib.util.find_spec("mpi4py") is not None)
    from dist_torch.backend import cuda_available
    from dist_torch.backend.cuda import cupy
    assert dist.is_nccl_available() == (cupy is not None and cuda_available())
    assert not dist.is_gloo_available()
    assert dist.is_backend_available("mpi") == dist.is_mpi_available()


def test_names_and_constants():
    assert dist.GroupMember.NON_GROUP_MEMBER == -100
    assert dist.GroupMember.WORLD is None and dist.group.WORLD is None
    assert dist.default_pg_timeout == timedelta(minutes=30)
    assert dist.Backend("MPI") == "mpi" and dist.Backend.NCCL == "nccl"
    assert [op.name for op in dist.ReduceOp] == ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND",
                                                 "BOR", "BXOR"]
    assert dist.reduce_op is dist.ReduceOp
    assert issubclass(dist.DistTimeoutError, dist.DistError)
    assert issubclass(dist.DistBackendError, dist.DistError)
    assert issubclass(dist.DistError, RuntimeError)
    assert dist.get_rank(dist.GroupMember.NON_GROUP_MEMBER) == -1
    assert dist.get_world_size(dist.GroupMember.NON_GROUP_MEMBER) == -1


def test_importing_does_not_start_mpi():
    job = jobs.run(["-c", "import sys, dist_torch; import dist_torch.distributed as d; "
                    "print('mpi4py' in sys.modules, d.is_mpi_available())"], None, timeout=60)
    assert job.returncode == 0, job.output
    assert job.output.split()[0] == "False"


def test_backend_registry():
    from dist_torch.distributed.mpi import MPIProcessGroup
    assert backend_class("MPI") is MPIProcessGroup
    register_backend("mine", "dist_torch.distributed.mpi:MPIProcessGroup")
    assert backend_class("mine") is MPIProcessGroup
    with pytest.raises(ValueError, match="Invalid backend: 'nope'; registered backends are"):
        backend_class("nope")


def test_unknown_backend_fails_before_mpi_starts():
    with pytest.raises(ValueError, match="Invalid backend: 'nope'"):
        dist.init_process_group("nope")
    with pytest.raises(ValueError, match="Invalid backend string"):
        dist.init_process_group("cpu-mpi,cuda")


def test_backend_strings():
    from dist_torch.distributed._dispatch import _parse
    assert _parse("cpu:gloo,cuda:nccl") == {"cpu": "mpi", "cuda": "nccl"}
    assert _parse("cpu:mpi,cuda:gloo") == {"cpu": "mpi", "cuda": "mpi"}  # staged via host
    with pytest.raises(ValueError, match="Unsupported backend string 'cuda:ucc'"):
        _parse("cuda:ucc")
    with pytest.raises(ValueError, match="Invalid device 'xpu'"):
        _parse("xpu:mpi")


@pytest.mark.skipif(dist.is_nccl_available(), reason="NCCL is usable here")
def test_nccl_unavailable_is_a_clear_error():
    from dist_torch.distributed import nccl
    assert not nccl.is_available()
    with pytest.raises(RuntimeError, match="backend 'nccl' is not available: .*(CuPy|GPU)"):
        dist.init_process_group("nccl")
    with pytest.raises((ImportError, RuntimeError), match="CuPy|GPU"):
        nccl.NCCLProcessGroup(bootstrap=None)


def test_timeout_arguments(monkeypatch):
    assert _world._timeout_seconds(timedelta(seconds=7)) == 7.0
    assert _world._timeout_seconds(None) == 1800.0
    monkeypatch.setenv("DT_DISTRIBUTED_TIMEOUT", "12.5")
    assert _world._timeout_seconds(None) == 12.5
    monkeypatch.setenv("DT_DISTRIBUTED_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="DT_DISTRIBUTED_TIMEOUT must be a number"):
        _world._timeout_seconds(None)
    with pytest.raises(TypeError, match="datetime.timedelta"):
        _world._timeout_seconds("10")
    with pytest.raises(ValueError, match="positive"):
        _world._timeout_seconds(timedelta(0))


def test_p2p_op_and_batch_validation():
    with pytest.raises(ValueError, match="Invalid ``op``"):
        dist.P2POp(dist.send, torch.ones(1), 0)
    with pytest.raises(ValueError, match="Invalid ``p2p_op_list``"):
        dist.batch_isend_irecv([])


def test_debug_mismatch_messages():
    a = _debug.signature("allreduce", "SUM", [torch.ones(3)._data])
    b = _debug.signature("broadcast", "src=0", [torch.ones(3)._data])
    assert _debug.mismatch([a, a, a], 4, [0, 1, 2]) is None
    two = _debug.mismatch([a, b, a], 4, [0, 1, 2])
    assert ("rank 1 called broadcast(src=0) with shapes [(3)] and dtypes [float32] but ranks "
            "0, 2 called allreduce(SUM)") in two
    assert "sequence number 4 in a process group of size 3" in two
    c = _debug.signature("allreduce", "SUM", [torch.ones(2, 2, dtype=torch.int64)._data])
    three = _debug.mismatch([a, b, c], 9, [0, 4, 5])  # a subgroup: global ranks named
    assert ("rank 0 called allreduce(SUM) with shapes [(3)] and dtypes [float32]; rank 4 called "
            "broadcast(src=0) "
            "with shapes [(3)] and dtypes [float32]; rank 5 called allreduce(SUM) with shapes "
            "[(2, 2)] and dtypes [int64]") in three


def test_arrival_descriptions():
    assert _arrival.describe_missing([3, 2, 3], 3, [0, 1, 2]) == \
        "rank 1 did not arrive (rank 1 is at sequence number 2)"
    assert _arrival.describe_missing([3, 1, 2], 3, [0, 1, 2]).startswith(
        "ranks 1, 2 did not arrive")
    assert _arrival.describe_missing([5, 4], 5, [2, 7]) == \
        "rank 7 (group rank 1) did not arrive (rank 7 (group rank 1) is at sequence number 4)"
    assert "could not determine" in _arrival.describe_missing(None, 3, [0, 1])
    assert "every rank entered it" in _arrival.describe_missing([3, 3], 3, [0, 1])


def test_array_checks():
    import numpy as np
    f32, f64 = np.zeros(2, np.float32), np.zeros(2)
    with pytest.raises(RuntimeError, match=r"Cannot use ReduceOp.BOR with non-integral dtype "
                                           r"\(got a tensor of dtype float64"):
        _checks.check_op("allreduce", dist.ReduceOp.BOR, [f64])
    with pytest.raises(RuntimeError, match="AVG needs floating tensors.*output type int64"):
        _checks.check_op("allreduce", dist.ReduceOp.AVG, [np.zeros(2, np.int64)])
    with pytest.raises(RuntimeError, match=r"reduce: invalid root rank: 3 \(the group has 2"):
        _checks.check_root("reduce", 3, 2)
    with pytest.raises(ValueError, match="has dtype float32 but the input tensor has dtype "
                                         "float64"):
        _checks.check_same_dtype("x", f32, f64, "the output tensor", "the input tensor")
    with pytest.raises(RuntimeError, match=r"output tensor of shape \(3\) must have 2 \(world "
                                           r"size\) times the elements of the input tensor of "
                                           r"shape \(2\)"):
        _checks.check_numel("allgather_into_tensor", np.zeros(3), f64, 2, gather=True)


SINGLETON = """
import dist_torch as torch
import dist_torch.distributed as dist
dist.init_process_group()
assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "mpi")
t = torch.tensor([1.0, -2.0, 3.0])
for op in [dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.PRODUCT, dist.ReduceOp.MIN]:
    dist.all_reduce(t, op=op)
dist.broadcast(t, src=0)
out = [torch.zeros(3)]
dist.all_gather(out, t)
dist.reduce_scatter_tensor(r := torch.zeros(3), t)
objs = [None]
dist.all_gather_object(objs, {"a": 1})
g = dist.new_group([0])
dist.all_reduce(t, group=g, async_op=True).wait()
assert t.tolist() == out[0].tolist() == r.tolist() == [1.0, -2.0, 3.0], t
assert objs == [{"a": 1}]
dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
print("SINGLETON OK")
raise SystemExit(3 if {raise_} else 0)
"""


def test_script_without_mpiexec_is_a_world_of_one(tmp_path):
    job = jobs.run([jobs.script(tmp_path, "one.py", SINGLETON.replace("{raise_}", "False"))],
                   None, timeout=60)
    assert job.returncode == 0, job.output
    assert "SINGLETON OK" in job.output


def test_world_size_must_match_mpi(tmp_path):
    code = ("import dist_torch.distributed as dist\n"
            "dist.init_process_group('mpi', world_size=2, rank=0)\n")
    job = jobs.run([jobs.script(tmp_path, "two.py", code)], None, timeout=60)
    assert job.returncode == 1
    assert "world_size=2 but the MPI job has 1 process (start it with mpiexec -n 2" in job.output


def test_python_version_supported():
    assert sys.version_info >= (3, 11)
