"""The NCCL backend on one GPU: world size 1 (the singleton run), and the refusal of ranks that
share a GPU (the ``mpiexec -n 2``/``-n 3`` runs). Needs a GPU and libnccl (skipped without).

With one rank every collective copies its input to its output, so each test starts from
outputs that differ from the expected result (zeros) and from inputs written by a kernel still
queued on the caller's stream: a collective that does not run, or runs before the caller's
work, leaves a wrong value.
"""

import copy

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.distributed as dist
import dist_torch.nn as nn
from dist_torch.distributed import ReduceOp
from dist_torch.nn.parallel import DistributedDataParallel as DDP  # noqa: N817

pytestmark = [pytest.mark.mpi, pytest.mark.cuda]

DEVICE = "cuda:0"
VALUES = np.array([1.0, -2.0, 3.0, 0.5, 4.0, -1.5])


def _skip_without_nccl():
    from dist_torch.backend import cuda_available
    if not cuda_available():
        pytest.skip("needs a CUDA GPU (CuPy and a visible device)")
    from dist_torch.distributed import nccl
    if not nccl.is_available():
        pytest.skip("needs CuPy with NCCL (libnccl)")


@pytest.fixture(scope="module")
def pg():
    """An NCCL group of one rank on cuda:0, bootstrapped over the MPI world of one."""
    _skip_without_nccl()
    if dist.get_world_size() != 1:
        pytest.skip("NCCL on one GPU runs with world size 1")
    from dist_torch.distributed.nccl import NCCLProcessGroup
    group = NCCLProcessGroup(dist._resolve_group(None), device_id=0)
    yield group
    group.shutdown()


def queued(values, dtype=torch.float64):
    """A CUDA tensor whose values are written by a kernel on the current stream."""
    t = torch.zeros(len(values), dtype=dtype, device=DEVICE)
    t += torch.tensor(np.asarray(values), dtype=dtype, device=DEVICE)
    return t


def zeros_like(t):
    return torch.zeros(tuple(t.shape), dtype=t.dtype, device=DEVICE)


def host(t):
    assert str(t.device) == DEVICE
    return t.cpu().numpy()


@pytest.mark.parametrize("op", [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN,
                                ReduceOp.MAX], ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.int64,
                                   torch.int32, torch.int16, torch.int8, torch.uint8],
                         ids=str)
def test_all_reduce_of_one_rank_keeps_the_values(pg, op, dtype):
    values = np.abs(VALUES) if dtype is torch.uint8 else VALUES
    if not dtype.is_floating_point:
        values = np.round(values)
    t = queued(values, dtype)
    if op is ReduceOp.AVG and not dtype.is_floating_point:
        with pytest.raises(RuntimeError, match="AVG"):
            dist.all_reduce(t, op=op, group=pg)
        return
    dist.all_reduce(t, op=op, group=pg)
    assert t.dtype == dtype
    np.testing.assert_allclose(host(t).astype(np.float64), values.astype(np.float64),
                               rtol=1e-3)


def test_all_reduce_bool_and_a_strided_view(pg):
    flags = torch.tensor(np.array([True, False, True]), device=DEVICE)
    dist.all_reduce(flags, op=ReduceOp.SUM, group=pg)
    assert host(flags).tolist() == [True, False, True]
    base = torch.tensor(np.arange(12.0).reshape(3, 4), device=DEVICE)
    base += 1
    dist.all_reduce(base.t(), op=ReduceOp.MAX, group=pg)
    np.testing.assert_array_equal(host(base), np.arange(12.0).reshape(3, 4) + 1)


def test_bitwise_ops_are_refused(pg):
    with pytest.raises(RuntimeError, match="BAND"):
        dist.all_reduce(queued([1, 2], torch.int32), op=ReduceOp.BAND, group=pg)


def test_broadcast_and_reduce(pg):
    t = queued(VALUES)
    dist.broadcast(t, src=0, group=pg)
    np.testing.assert_array_equal(host(t), VALUES)
    dist.reduce(t, dst=0, op=ReduceOp.SUM, group=pg)
    np.testing.assert_array_equal(host(t), VALUES)


def test_gathers_fill_their_outputs(pg):
    x = queued(VALUES)
    outs = [zeros_like(x)]
    dist.all_gather(outs, x, group=pg)
    np.testing.assert_array_equal(host(outs[0]), VALUES)
    flat = zeros_like(x)
    dist.all_gather_into_tensor(flat, x, group=pg)
    np.testing.assert_array_equal(host(flat), VALUES)
    gathered = [zeros_like(x)]
    dist.gather(x, gathered, dst=0, group=pg)
    np.testing.assert_array_equal(host(gathered[0]), VALUES)


def test_scatters_fill_their_outputs(pg):
    x = queued(VALUES)
    out = zeros_like(x)
    dist.scatter(out, [x], src=0, group=pg)
    np.testing.assert_array_equal(host(out), VALUES)
    for op in (ReduceOp.SUM, ReduceOp.AVG):
        out = zeros_like(x)
        dist.reduce_scatter(out, [x], op=op, group=pg)
        np.testing.assert_array_equal(host(out), VALUES)
        out = zeros_like(x)
        dist.reduce_scatter_tensor(out, x, op=op, group=pg)
        np.testing.assert_array_equal(host(out), VALUES)


def test_all_to_all_fills_its_outputs(pg):
    x = queued(VALUES)
    outs = [zeros_like(x)]
    dist.all_to_all(outs, [x], group=pg)
    np.testing.assert_array_equal(host(outs[0]), VALUES)
    out = zeros_like(x)
    dist.all_to_all_single(out, x, group=pg)
    np.testing.assert_array_equal(host(out), VALUES)


def test_async_work_and_barrier(pg):
    t = torch.zeros(1 << 20, dtype=torch.float64, device=DEVICE)
    for _ in range(3):
        t += 1.0
    work = dist.all_reduce(t, op=ReduceOp.SUM, group=pg, async_op=True)
    assert work.wait()
    assert work.result()[0] is t._data
    assert float(t.sum().item()) == 3.0 * (1 << 20)  # ordered after the collective
    dist.barrier(group=pg)
    assert work.is_completed()


def test_point_to_point_errors(pg):
    t = queued([1.0])
    with pytest.raises(ValueError, match="should not be the same"):
        pg.send(t._data, 0)
    with pytest.raises(RuntimeError, match="any source"):
        pg.recv(t._data, None)


def test_cpu_tensors_are_refused(pg):
    with pytest.raises(RuntimeError, match="CUDA tensors"):
        dist.all_reduce(torch.ones(2), group=pg)


@pytest.mark.parametrize("as_view", [False, True])
def test_ddp_step_over_nccl_matches_plain_training(pg, as_view):
    torch.manual_seed(0)
    reference = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4)).double()
    reference = reference.to(DEVICE)
    model = DDP(copy.deepcopy(reference), process_group=pg, gradient_as_bucket_view=as_view,
                bucket_cap_mb=0.0001)
    x = torch.tensor(np.random.default_rng(1).standard_normal((8, 6)), device=DEVICE)
    (reference(x) ** 2).mean().backward()
    (model(x) ** 2).mean().backward()
    opt_ref = torch.optim.SGD(reference.parameters(), lr=0.1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters()):
        assert str(p.grad.device) == DEVICE
        np.testing.assert_allclose(host(p.grad), host(q.grad), rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    opt_ref.step()
    opt.step()
    for p, q in zip(model.module.parameters(), reference.parameters()):
        np.testing.assert_allclose(host(p.detach()), host(q.detach()), rtol=1e-12,
                                   atol=1e-12)


def test_ranks_sharing_a_gpu_are_refused_with_advice():
    _skip_without_nccl()
    if dist.get_world_size() < 2:
        pytest.skip("needs two ranks")
    from dist_torch.distributed.nccl import NCCLProcessGroup
    with pytest.raises(RuntimeError, match=r"one GPU per process.*backend='mpi'"):
        NCCLProcessGroup(dist._resolve_group(None), device_id=0)
    dist.barrier()  # every rank refused, none is left waiting in NCCL
