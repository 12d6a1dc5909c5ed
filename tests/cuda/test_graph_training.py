"""A whole training step (forward, backward, optimizer step) captured in a CUDA graph and
replayed over new batches trains exactly as the same steps run eagerly; dropout draws a fresh
mask at every replay (the same masks as eager dropout from the same generator state);
make_graphed_callables trains as the eager module. GPU only: skipped without one."""

from __future__ import annotations

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.backend import cuda as cuda_backend
from dist_torch.backend import cuda_kernels as K
from dist_torch.backend import kernel_twins as T
from dist_torch.nn import functional as F
from tests.fake_cupy import needs_real_cuda

pytestmark = [pytest.mark.cuda, needs_real_cuda,
              pytest.mark.filterwarnings("ignore:This instance was constructed with capturable")]

WARMUP = 3       # eager iterations on a side stream before capture (they train too)
BATCHES = 7      # so 4 replays
CLASSES = 5
RTOL, ATOL = 1e-5, 1e-6


def _mlp():
    return dt.nn.Sequential(dt.nn.Linear(20, 64), dt.nn.ReLU(), dt.nn.Dropout(0.2),
                            dt.nn.LayerNorm(64), dt.nn.Linear(64, CLASSES))


def _convnet():
    return dt.nn.Sequential(dt.nn.Conv2d(3, 8, 3, padding=1), dt.nn.ReLU(), dt.nn.MaxPool2d(2),
                            dt.nn.Conv2d(8, 8, 3), dt.nn.ReLU(), dt.nn.Flatten(),
                            dt.nn.Linear(8 * 2 * 2, CLASSES))


# (model, input shape, targets): class indices (the fused cross-entropy kernel path) or
# one-hot class probabilities (log_softmax, product and sums)
MODELS = {"mlp": (_mlp, (16, 20), "index"), "convnet": (_convnet, (8, 3, 8, 8), "onehot")}
OPTIMIZERS = {
    "sgd_momentum": (dt.optim.SGD, dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov": (dt.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True,
                                        weight_decay=1e-3)),
    "adam": (dt.optim.Adam, dict(lr=1e-2)),
    "adamw_amsgrad": (dt.optim.AdamW, dict(lr=1e-2, amsgrad=True)),
}


def _batches(shape, n, seed, targets="index"):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, CLASSES, shape[0])
        if targets == "onehot":
            y = np.eye(CLASSES, dtype=np.float32)[y]
        out.append((dt.tensor(x, device="cuda"), dt.tensor(y, device="cuda")))
    return out


def _twin_models(make):
    dt.manual_seed(0)
    model = make().cuda()
    ref = make().cuda()
    ref.load_state_dict(model.state_dict())
    return model, ref


def _step(model, opt, x, y):
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def _train_eager(model, opt, batches):
    return [_step(model, opt, x, y).item() for x, y in batches]


def _train_graphed(model, opt, batches):
    """torch's whole-network recipe: warm up on a side stream, capture one step on static
    inputs, then copy each batch into them and replay."""
    losses = []
    s = dt.cuda.Stream()
    s.wait_stream(dt.cuda.current_stream())
    with dt.cuda.stream(s):
        for x, y in batches[:WARMUP]:
            losses.append(_step(model, opt, x, y).item())
    dt.cuda.current_stream().wait_stream(s)
    static_x, static_y = batches[0][0].clone(), batches[0][1].clone()
    g = dt.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with dt.cuda.graph(g):
        static_loss = F.cross_entropy(model(static_x), static_y)
        static_loss.backward()
        opt.step()
    for x, y in batches[WARMUP:]:
        static_x.copy_(x)
        static_y.copy_(y)
        g.replay()
        losses.append(static_loss.item())
    return losses


def _assert_same_parameters(model, ref):
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().cpu().numpy(),
                                   rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("model_name", list(MODELS))
def test_captured_training_step_equals_eager(cp, model_name, opt_name):
    make, shape, targets = MODELS[model_name]
    cls, kwargs = OPTIMIZERS[opt_name]
    model, ref = _twin_models(make)
    capturable = dict(capturable=True) if cls is not dt.optim.SGD else {}
    opt = cls(model.parameters(), **kwargs, **capturable)
    ref_opt = cls(ref.parameters(), **kwargs)
    batches = _batches(shape, BATCHES, seed=1, targets=targets)
    dt.cuda.manual_seed(123)  # the same dropout masks in both runs
    got = _train_graphed(model, opt, batches)
    dt.cuda.manual_seed(123)
    want = _train_eager(ref, ref_opt, batches)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    assert len(set(np.round(got, 6))) == BATCHES  # the replays saw the new batches
    _assert_same_parameters(model, ref)
    if capturable:
        for p in model.parameters():
            step = opt.state[p]["step"]
            assert step.device == p.device and step.item() == BATCHES


def test_plain_adam_step_refuses_capture_and_leaves_no_capture_behind(cp):
    model, _ = _twin_models(_convnet)
    opt = dt.optim.Adam(model.parameters(), lr=1e-2)
    (x, y), = _batches((8, 3, 8, 8), 1, seed=2, targets="onehot")
    s = dt.cuda.Stream()
    s.wait_stream(dt.cuda.current_stream())
    with dt.cuda.stream(s):
        for _ in range(WARMUP):
            _step(model, opt, x, y)
    dt.cuda.current_stream().wait_stream(s)
    opt.zero_grad(set_to_none=True)
    with pytest.raises(RuntimeError, match="Attempting CUDA graph capture of step\\(\\) for an "
                                           "instance of Adam but param_groups' capturable is "
                                           "False."):
        with dt.cuda.graph(dt.cuda.CUDAGraph()):
            F.cross_entropy(model(x), y).backward()
            opt.step()
    assert not dt.cuda.is_current_stream_capturing() and not cuda_backend.capturing()


def test_dropout_draws_a_fresh_mask_at_every_replay(cp):
    n = 4096
    static_x = dt.ones(n, device="cuda")
    s = dt.cuda.Stream()
    s.wait_stream(dt.cuda.current_stream())
    with dt.cuda.stream(s):
        for _ in range(WARMUP):
            F.dropout(static_x, 0.5)
    dt.cuda.current_stream().wait_stream(s)
    g = dt.cuda.CUDAGraph()
    with dt.cuda.graph(g):
        static_y = F.dropout(static_x, 0.5)
    state = cuda_backend.philox_state(dt.cuda.current_device())
    masks = []
    for _ in range(3):
        seed, base = state.seed, state.offset
        g.replay()
        y = static_y.cpu().numpy()
        _, want = T.dropout_forward(np.ones(n, np.float32), 0.5, seed, base)
        np.testing.assert_array_equal(y, np.where(want == 1, np.float32(2), np.float32(0)))
        assert state.offset == base + n  # the generator moved past the graph's draws
        masks.append(y != 0)
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])
    # eager dropout continues from where the replays left the generator
    seed, base = state.seed, state.offset
    eager = F.dropout(static_x, 0.5).cpu().numpy() != 0
    np.testing.assert_array_equal(eager, T.dropout_forward(np.ones(n, np.float32), 0.5, seed,
                                                           base)[1] == 1)


def test_dropout_kernel_state_array_matches_seed_and_offset(cp):
    x = cp.asarray(np.random.default_rng(3).standard_normal(1001).astype(np.float32))
    seed, base = (5 << 40) | 3, 4096
    state = cp.asarray(np.array([seed, base], dtype=np.uint64))
    y, mask = K.dropout_forward(x, 0.3, 0, 12, state=state)
    y_ref, mask_ref = K.dropout_forward(x, 0.3, seed, base + 12)
    cp.testing.assert_array_equal(mask, mask_ref)
    cp.testing.assert_array_equal(y, y_ref)


def test_adam_kernel_device_steps_equal_host_steps(cp):
    rng = np.random.default_rng(4)
    shapes = [(7, 3), (40000,), (5,)]  # one tensor spans two chunks
    host = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    runs = []
    for device_steps in (False, True):
        params = [cp.asarray(a) for a in host]
        grads = [cp.asarray(a[::-1].copy()) for a in host]
        m = [cp.zeros_like(a) for a in params]
        v = [cp.zeros_like(a) for a in params]
        for step in (1, 2, 3):
            steps = [cp.asarray(np.float32(step)) for _ in params] if device_steps \
                else [float(step)] * len(params)
            K.adam_step(params, grads, m, v, [], steps, lr=1e-2, beta1=0.9, beta2=0.999,
                        eps=1e-8, weight_decay=0.01, decoupled_weight_decay=True)
        runs.append([a.get() for a in params])
    for a, b in zip(*runs):  # double bias corrections, CUDA's pow against the host's
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_make_graphed_callables_module_trains_as_eager(cp):
    def make():
        return dt.nn.Sequential(dt.nn.Linear(20, 64), dt.nn.ReLU(), dt.nn.LayerNorm(64),
                                dt.nn.Linear(64, CLASSES))

    model, ref = _twin_models(make)
    batches = _batches((16, 20), 4, seed=5)
    graphed = dt.cuda.make_graphed_callables(model, (batches[0][0].clone(),))
    assert graphed is model
    results = []
    for net in (graphed, ref):
        opt = dt.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        results.append([_step(net, opt, x, y).item() for x, y in batches])
    np.testing.assert_allclose(results[0], results[1], rtol=RTOL, atol=ATOL)
    _assert_same_parameters(model, ref)
