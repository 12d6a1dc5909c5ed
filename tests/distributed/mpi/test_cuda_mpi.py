"""The MPI backend on CUDA tensors (staged through host memory), every rank on cuda:0.

Needs a GPU (skipped without one). Under ``mpiexec -n 2`` and ``-n 3`` the ranks share one
GPU, which the MPI backend allows (NCCL does not, see test_nccl_gpu.py). Values are closed
formulas in the world size n, as in test_collectives.py; DDP matches one process on the whole
batch to 1e-10 in float64, as in test_ddp.py.
"""

import copy

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.distributed as dist
from dist_torch.distributed import ReduceOp
from dist_torch.nn.parallel import DistributedDataParallel as DDP  # noqa: N817
from tests.distributed.mpi import test_ddp

pytestmark = [pytest.mark.mpi, pytest.mark.cuda]

DEVICE = "cuda:0"
BASE = np.array([1.0, -2.0, 3.0, 0.5])


def rank():
    return dist.get_rank()


def size():
    return dist.get_world_size()


def on_gpu(values, dtype=None):
    return torch.tensor(np.asarray(values), dtype=dtype, device=DEVICE)


def host(t):
    assert str(t.device) == DEVICE, f"the tensor left the GPU: {t.device}"
    return t.cpu().numpy()


def triangle():
    n = size()
    return n * (n + 1) / 2


@pytest.mark.parametrize("op", [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16])
def test_all_reduce(cp, op, dtype):
    t = on_gpu((rank() + 1) * BASE, dtype)
    dist.all_reduce(t, op=op)
    everyone = np.stack([(r + 1) * BASE for r in range(size())])
    expected = {ReduceOp.SUM: everyone.sum(0), ReduceOp.AVG: everyone.mean(0),
                ReduceOp.MAX: everyone.max(0)}[op]
    tol = 1e-2 if dtype is torch.float16 else 1e-6
    assert t.dtype == dtype
    np.testing.assert_allclose(host(t).astype(np.float64), expected, rtol=tol, atol=tol)


def test_all_reduce_integers_bool_and_a_strided_view(cp):
    ints = on_gpu(np.array([rank() + 1, -3, 7]), torch.int64)
    flags = on_gpu(np.array([rank() == 0, False, True]))
    base = on_gpu(np.arange(12.0).reshape(3, 4) * (rank() + 1))
    dist.all_reduce(ints)
    dist.all_reduce(flags)
    dist.all_reduce(base.t())  # not contiguous: written back through the view
    assert host(ints).tolist() == [triangle(), -3 * size(), 7 * size()]
    assert host(flags).tolist() == [True, False, True]
    np.testing.assert_allclose(host(base), np.arange(12.0).reshape(3, 4) * triangle())


def test_staging_waits_for_kernels_queued_on_a_side_stream(cp):
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        x = cp.zeros(1 << 22, dtype=cp.float64)
        for _ in range(rank() + 1):
            x += 1.0  # still running on ``stream`` when the all-reduce is issued
        dist._resolve_group(None).allreduce([x], ReduceOp.SUM).wait()
        result = cp.asnumpy(x)
    np.testing.assert_array_equal(np.unique(result), [triangle()])


def test_broadcast_and_all_gather(cp):
    src = size() - 1
    t = on_gpu((rank() + 1) * BASE)
    dist.broadcast(t, src=src)
    np.testing.assert_array_equal(host(t), size() * BASE)
    outs = [on_gpu(np.zeros(4)) for _ in range(size())]
    dist.all_gather(outs, on_gpu((rank() + 1) * BASE))
    for r, out in enumerate(outs):
        np.testing.assert_array_equal(host(out), (r + 1) * BASE)
    flat = on_gpu(np.zeros(4 * size()))
    dist.all_gather_into_tensor(flat, on_gpu((rank() + 1) * BASE))
    np.testing.assert_array_equal(host(flat), np.concatenate([(r + 1) * BASE
                                                              for r in range(size())]))


def test_reduce_scatter_and_all_to_all(cp):
    n = size()
    inp = on_gpu(np.concatenate([(rank() + 1) * (q + 1) * BASE for q in range(n)]))
    out = on_gpu(np.zeros(4))
    dist.reduce_scatter_tensor(out, inp)
    np.testing.assert_allclose(host(out), triangle() * (rank() + 1) * BASE)
    sent = on_gpu(np.array([100.0 * rank() + q for q in range(n)]))
    got = on_gpu(np.zeros(n))
    dist.all_to_all_single(got, sent)
    assert host(got).tolist() == [100.0 * r + rank() for r in range(n)]


def test_send_recv_and_async_work(cp):
    n = size()
    t = on_gpu((rank() + 1) * BASE)
    work = dist.all_reduce(t, async_op=True)
    work.wait()
    assert work.is_completed()
    np.testing.assert_array_equal(host(t), triangle() * BASE)
    if n == 1:
        return
    out = on_gpu(np.array([rank(), 10.0 * rank()]))
    got = on_gpu(np.zeros(2))
    works = [dist.isend(out, (rank() + 1) % n), dist.irecv(got, (rank() - 1) % n)]
    for w in works:
        w.wait()
    peer = (rank() - 1) % n
    assert host(got).tolist() == [peer, 10.0 * peer]


def test_mixed_devices_in_one_call_name_them(cp):
    outs = [torch.zeros(4) for _ in range(size())]
    with pytest.raises(RuntimeError, match=r"same device.*(cpu and cuda:0|cuda:0 and cpu)"):
        dist.all_gather(outs, on_gpu(np.zeros(4), torch.float32))
    dist.barrier()


@pytest.mark.parametrize("name", ["mlp", "cnn"])
@pytest.mark.parametrize("as_view", [False, True])
def test_ddp_on_a_cuda_model_matches_one_process(cp, name, as_view):
    if 12 % size():
        pytest.skip("equal split needs the world size to divide 12")
    factory, make_input, loss_fn = test_ddp.CASES[name]
    reference = test_ddp.build(factory).to(DEVICE)
    model = DDP(copy.deepcopy(reference), gradient_as_bucket_view=as_view,
                bucket_cap_mb=0.0001)
    x = make_input().to(DEVICE)
    mine = x[test_ddp.share(len(x))]
    loss_fn(reference(x), x).backward()
    loss_fn(model(mine), mine).backward()
    for p in model.module.parameters():
        assert str(p.grad.device) == DEVICE
    test_ddp.assert_grads_equal(model, reference)
