"""DistributedDataParallel under mpiexec: N ranks give one process's gradients (float64, 1e-10).

Every rank builds the same model from one seed, computes the single-process reference on the
whole global batch itself, then trains a DDP copy on its share and compares.
"""

import copy

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.distributed as dist
import dist_torch.nn as nn
import dist_torch.nn.functional as F
from dist_torch.nn.parallel import DistributedDataParallel as DDP  # noqa: N817
from dist_torch.utils.data import DistributedBatchSampler, DistributedSampler

pytestmark = pytest.mark.mpi(min_size=2)

TOL = 1e-10


def rank():
    return dist.get_rank()


def size():
    return dist.get_world_size()


def share(n, r=None, k=None):
    """Rows of a global batch of ``n`` that rank ``r`` of ``k`` holds (array_split rule)."""
    r = rank() if r is None else r
    k = size() if k is None else k
    per, extra = divmod(n, k)
    start = r * per + min(r, extra)
    return slice(start, start + per + (r < extra))


def data(seed, *shape, kind="normal"):
    rng = np.random.default_rng(seed)
    if kind == "int":
        return torch.tensor(rng.integers(0, shape[-1], shape[:-1]))
    return torch.tensor(rng.standard_normal(shape))


def grads(model):
    return {n: np.array(p.grad) if p.grad is not None else None
            for n, p in model.named_parameters()}


def assert_grads_equal(ddp_model, reference):
    ours, theirs = grads(ddp_model.module), grads(reference)
    assert ours.keys() == theirs.keys()
    for name, expected in theirs.items():
        got = ours[name]
        if expected is None:
            assert got is None, f"{name}: DDP has a gradient, the reference has none"
            continue
        assert got is not None, f"{name}: no gradient on rank {rank()}"
        np.testing.assert_allclose(got, expected, rtol=TOL, atol=TOL, err_msg=name)


def build(factory, seed=0):
    torch.manual_seed(seed)
    return factory().double()


def mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4))


def cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 3, 3), nn.Flatten(), nn.Linear(12, 5))


class LSTMTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 6, batch_first=True)
        self.head = nn.Linear(6, 3)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out[:, -1])


def encoder():
    return nn.Sequential(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                    batch_first=True))


def bn_cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(64, 3))


CASES = {
    "mlp": (mlp, lambda: data(1, 12, 6), lambda out, x: (out ** 2).mean()),
    "cnn": (cnn, lambda: data(2, 12, 2, 8, 8), lambda out, x: (out ** 2).mean()),
    "lstm": (LSTMTagger, lambda: data(3, 12, 5, 20, kind="int"),
             lambda out, tokens: F.cross_entropy(out, tokens[:, 0] % 3)),
    "transformer": (encoder, lambda: data(4, 12, 5, 8), lambda out, x: (out ** 3).mean()),
}


def run_case(name, batch_weighting="equal", bucket_cap_mb=None, rows=12):
    factory, make_input, loss_fn = CASES[name]
    reference = build(factory)
    model = DDP(copy.deepcopy(reference), bucket_cap_mb=bucket_cap_mb,
                batch_weighting=batch_weighting)
    x = make_input()[:rows]
    mine = x[share(len(x))]
    loss_fn(reference(x), x).backward()
    loss_fn(model(mine), mine).backward()
    return model, reference


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("bucket_cap_mb", [None, 0.0001])
def test_equal_split_matches_single_process(name, bucket_cap_mb):
    if 12 % size():
        pytest.skip("equal split needs the world size to divide 12")
    model, reference = run_case(name, bucket_cap_mb=bucket_cap_mb)
    assert_grads_equal(model, reference)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("rows", [10, 7, 2])
def test_rows_weighting_matches_for_any_split(name, rows):
    if name == "transformer" and rows < size():
        pytest.skip("attention over zero rows is not part of this check")
    model, reference = run_case(name, batch_weighting="rows", rows=rows)
    assert_grads_equal(model, reference)


def test_sync_batchnorm_matches_batchnorm_on_the_global_batch():
    reference = build(bn_cnn)
    model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(reference)),
                batch_weighting="rows")
    x = data(5, 11, 2, 4, 4)
    for _ in range(2):  # running statistics over two steps
        reference.zero_grad()
        model.zero_grad()
        (reference(x) ** 2).mean().backward()
        (model(x[share(len(x))]) ** 2).mean().backward()
        assert_grads_equal(model, reference)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(np.asarray(getattr(model.module[1], name)),
                                   np.asarray(getattr(reference[1], name)), rtol=TOL, atol=TOL)


def test_no_sync_accumulates_then_reduces():
    reference = build(mlp)
    model = DDP(copy.deepcopy(reference))
    x1, x2 = data(6, 12, 6), data(7, 12, 6)
    for x in (x1, x2):
        (reference(x) ** 2).mean().backward()
    part = share(12)
    with model.no_sync():
        (model(x1[part]) ** 2).mean().backward()
    local_only = grads(model.module)
    (model(x2[part]) ** 2).mean().backward()
    assert_grads_equal(model, reference)
    # inside no_sync nothing was communicated: gradients were this rank's alone
    solo = build(mlp)
    (solo(x1[part]) ** 2).mean().backward()
    for name, g in grads(solo).items():
        np.testing.assert_allclose(local_only[name], g, rtol=TOL, atol=TOL)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.head_a = nn.Linear(4, 2)
        self.head_b = nn.Linear(4, 2)

    def forward(self, x, use_b):
        h = self.body(x).tanh()
        return self.head_b(h) if use_b else self.head_a(h)


def test_unused_parameters_with_find_unused():
    reference = build(TwoHeads)
    model = DDP(copy.deepcopy(reference), find_unused_parameters=True)
    x = data(8, 12, 4)
    (reference(x, False) ** 2).mean().backward()  # head_b unused everywhere
    (model(x[share(12)], False) ** 2).mean().backward()
    assert_grads_equal(model, reference)
    assert model.module.head_b.weight.grad is None


def test_parameter_used_on_some_ranks_only():
    reference = build(TwoHeads)
    model = DDP(copy.deepcopy(reference), find_unused_parameters=True,
                batch_weighting="rows")
    x = data(9, 12, 4)
    k = size()
    # rank r uses head_b when r is odd; the reference does the same per rank's rows
    total = 0
    for r in range(k):
        rows = x[share(12, r, k)]
        total = total + (reference(rows, r % 2 == 1) ** 2).sum()
    (total / (12 * 2)).backward()
    (model(x[share(12)], rank() % 2 == 1) ** 2).mean().backward()
    assert_grads_equal(model, reference)


def test_unused_parameter_without_flag_names_it():
    model = DDP(build(TwoHeads))
    with pytest.raises(RuntimeError, match="head_b.weight, head_b.bias"):
        (model(data(10, 4, 4), False) ** 2).mean().backward()


def test_mismatched_models_are_refused_naming_ranks():
    width = 5 if rank() == size() - 1 else 4
    torch.manual_seed(0)
    with pytest.raises(RuntimeError, match=rf"on rank 0 but .*on rank {size() - 1}"):
        DDP(nn.Linear(3, width))


def test_parameters_broadcast_from_rank_zero():
    torch.manual_seed(rank())  # different on every rank
    model = DDP(nn.Linear(3, 2).double())
    everyone = dist.all_gather_object if hasattr(dist, "all_gather_object") else None
    gathered = [None] * size()
    everyone(gathered, np.asarray(model.module.weight.detach()))
    for w in gathered:
        np.testing.assert_array_equal(w, gathered[0])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_over_distributed_sampler_epochs(optimizer):
    """Parameters after several steps over two epochs equal single-process training on the
    union of the ranks' batches."""
    n, local_batch, k = 24, 3, size()
    xs, ys = data(11, n, 6), data(12, n, 4)
    reference = build(mlp)
    model = DDP(copy.deepcopy(reference))

    def make_opt(params):
        if optimizer == "sgd":
            return torch.optim.SGD(params, lr=0.1, momentum=0.9)
        return torch.optim.Adam(params, lr=0.01)

    ref_opt, opt = make_opt(reference.parameters()), make_opt(model.parameters())
    samplers = [DistributedSampler(range(n), k, r, shuffle=True, seed=3) for r in range(k)]
    for epoch in range(2):
        for s in samplers:
            s.set_epoch(epoch)
        orders = [list(s) for s in samplers]
        steps = len(orders[0]) // local_batch
        for step in range(steps):
            batches = [o[step * local_batch:(step + 1) * local_batch] for o in orders]
            everyone = [i for b in batches for i in b]
            ref_opt.zero_grad()
            F.mse_loss(reference(xs[everyone]), ys[everyone]).backward()
            ref_opt.step()
            mine = batches[rank()]
            opt.zero_grad()
            F.mse_loss(model(xs[mine]), ys[mine]).backward()
            opt.step()
    for (name, p), q in zip(model.module.named_parameters(), reference.parameters()):
        np.testing.assert_allclose(np.asarray(p.detach()), np.asarray(q.detach()),
                                   rtol=1e-9, atol=1e-9, err_msg=name)


def test_distributed_batch_sampler_with_rows_weighting_trains_like_one_process():
    n, global_batch = 23, 5
    xs, ys = data(13, n, 6), data(14, n, 4)
    reference = build(mlp)
    model = DDP(copy.deepcopy(reference), batch_weighting="rows")
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.05)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    sampler = DistributedBatchSampler(dataset=range(n), batch_size=global_batch, shuffle=True,
                                      seed=5)
    full = DistributedBatchSampler(dataset=range(n), batch_size=global_batch, shuffle=True,
                                   seed=5, num_replicas=1, rank=0)
    for epoch in range(2):
        sampler.set_epoch(epoch)
        full.set_epoch(epoch)
        for mine, everyone in zip(sampler, full):
            ref_opt.zero_grad()
            F.mse_loss(reference(xs[everyone]), ys[everyone]).backward()
            ref_opt.step()
            opt.zero_grad()
            F.mse_loss(model(xs[list(mine)]), ys[list(mine)]).backward()
            opt.step()
    for p, q in zip(model.module.parameters(), reference.parameters()):
        np.testing.assert_allclose(np.asarray(p.detach()), np.asarray(q.detach()),
                                   rtol=1e-9, atol=1e-9)


def test_join_with_uneven_batch_counts():
    """Rank r trains r + 1 steps; finished ranks shadow the others' all-reduces with zeros, so
    each step's gradient is the sum of the active ranks' gradients over the world size."""
    k = size()
    xs = data(15, 40, 6)
    reference = build(mlp)
    model = DDP(copy.deepcopy(reference))
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def rows(step, r):
        return xs[step * 8 + 2 * r:step * 8 + 2 * r + 2]

    for step in range(k):  # the reference: active ranks at step s are those with r >= s
        ref_opt.zero_grad()
        total = sum((reference(rows(step, r)) ** 2).mean() for r in range(k) if r >= step)
        (total / k).backward()
        ref_opt.step()
    with model.join():
        for step in range(rank() + 1):
            opt.zero_grad()
            (model(rows(step, rank())) ** 2).mean().backward()
            opt.step()
    for p, q in zip(model.module.parameters(), reference.parameters()):
        np.testing.assert_allclose(np.asarray(p.detach()), np.asarray(q.detach()),
                                   rtol=1e-9, atol=1e-9)


def test_fp16_compress_hook_is_close_to_exact():
    from dist_torch.distributed.algorithms.ddp_comm_hooks import default_hooks
    reference = build(mlp).float()
    model = DDP(copy.deepcopy(reference))
    model.register_comm_hook(None, default_hooks.fp16_compress_hook)
    x = data(16, 12, 6).float()
    (reference(x) ** 2).mean().backward()
    (model(x[share(12)]) ** 2).mean().backward()
    for (name, g), expected in zip(grads(model.module).items(), grads(reference).values()):
        np.testing.assert_allclose(g, expected, rtol=2e-3, atol=2e-3, err_msg=name)


def test_state_dict_keys_are_prefixed_like_torch():
    model = DDP(build(mlp))
    assert list(model.state_dict()) == ["module.0.weight", "module.0.bias", "module.2.weight",
                                        "module.2.bias"]


@pytest.mark.parametrize("as_view", [False, True])
@pytest.mark.parametrize("set_to_none", [False, True])
def test_gradients_over_iterations_with_and_without_bucket_views(as_view, set_to_none):
    """Three iterations (zero_grad either way): every step's gradients match the reference;
    without gradient_as_bucket_view a gradient kept from an earlier step is left alone."""
    reference = build(mlp)
    model = DDP(copy.deepcopy(reference), gradient_as_bucket_view=as_view, bucket_cap_mb=0.001)
    kept = None
    for step in range(3):
        x = data(20 + step, 12, 6)
        reference.zero_grad(set_to_none=set_to_none)
        model.zero_grad(set_to_none=set_to_none)
        (reference(x) ** 2).mean().backward()
        (model(x[share(12)]) ** 2).mean().backward()
        assert_grads_equal(model, reference)
        if step == 0:
            kept = (model.module[0].weight.grad, np.array(model.module[0].weight.grad))
    if not as_view and set_to_none:
        np.testing.assert_array_equal(np.asarray(kept[0]), kept[1])
    if as_view and not set_to_none:  # one gradient tensor, updated in place every step
        assert kept[0] is model.module[0].weight.grad


def test_rows_weighting_evaluates_under_no_grad_without_communicating():
    """Rank 0 alone runs the model under no_grad (a model without buffers): nothing to wait
    for on the other ranks, so it returns; a row count in forward would hang here."""
    model = DDP(build(mlp), batch_weighting="rows")
    x = data(30, 4, 6)
    if rank() == 0:
        with torch.no_grad():
            out = model(x)
        np.testing.assert_allclose(np.asarray(out), np.asarray(model.module(x).detach()))
    dist.barrier()
