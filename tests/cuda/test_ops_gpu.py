"""Per-op GPU suite: every case runs on 'cpu' and on ``DEVICE`` from the same seeded inputs;
outputs and input/parameter gradients must agree (float64 and float32 tight, float16/bfloat16
forward-only and loose). Skipped without a GPU.

The harness was validated by setting ``DEVICE = "cpu"`` locally (both sides on CPU: every
case runs and agrees). Keep ``DEVICE = "cuda"`` here.
"""

from __future__ import annotations

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import nn
from dist_torch.backend import cuda_available
from dist_torch.nn import functional as F

DEVICE = "cuda"
pytestmark = pytest.mark.cuda

TOL = {"float64": (1e-9, 1e-11), "float32": (2e-4, 2e-5), "float16": (2e-2, 2e-2),
       "bfloat16": (5e-2, 5e-2)}


@pytest.fixture(autouse=True, scope="module")
def _gpu():
    if DEVICE == "cuda" and not cuda_available():
        pytest.skip("needs a CUDA GPU (CuPy and a visible device)")
    # float32 convolutions would otherwise be allowed TF32 (torch's cudnn default)
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32 = before


# --------------------------------------------------------------------------- harness

class Maker:
    """Builds a case's inputs on ``device`` from a seeded rng; remembers the leaves."""

    def __init__(self, device, dtype):
        self.dev = device
        self.dtype = dtype
        self.rng = np.random.default_rng(1234)
        self.leaves = []

    def _tensor(self, array, grad):
        t = torch.tensor(array, device=self.dev)
        if grad:
            t.requires_grad_(True)
            self.leaves.append(t)
        return t

    def x(self, *shape, grad=True, low=None, high=None):
        """A float tensor of the case dtype: normal, or uniform in ``[low, high)``."""
        if low is None:
            a = self.rng.standard_normal(shape)
        else:
            a = self.rng.uniform(low, high, shape)
        t = torch.tensor(a, dtype=torch.float64).to(self.dtype)
        t = t.to(self.dev)
        if grad:
            t.requires_grad_(True)
            self.leaves.append(t)
        return t

    def i(self, high, *shape, low=0):
        return self._tensor(self.rng.integers(low, high, shape), False)

    def b(self, *shape):
        return self._tensor(self.rng.random(shape) < 0.5, False)

    def mod(self, module):
        """``module`` (made on CPU after the per-case seed) in the case dtype on the device."""
        module = module.to(dtype=self.dtype).to(self.dev)
        self.leaves += [p for p in module.parameters() if p.requires_grad]
        return module


def _flat(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return []


def _run(fn, device, dtype, backward):
    torch.manual_seed(0)
    mk = Maker(device, dtype)
    outs = _flat(fn(mk))
    assert outs, "a case must return tensors"
    for o in outs:
        assert o.device.type == torch.device(device).type, (o.device, device)
    res = [o.detach().numpy(force=True) for o in outs]
    grads = []
    if backward:
        wrng = np.random.default_rng(99)
        diff = [o for o in outs if o.requires_grad and o.is_floating_point()]
        if diff:
            loss = None
            for o in diff:
                w = torch.tensor(wrng.standard_normal(tuple(o.shape)), dtype=o.dtype,
                                 device=o.device)
                term = (o * w).sum()
                loss = term if loss is None else loss + term
            loss.backward()
        grads = [None if t.grad is None else t.grad.numpy(force=True) for t in mk.leaves]
    return res, grads


def _compare(got, want, dtype_name, what):
    assert len(got) == len(want), what
    rtol, atol = TOL[dtype_name]
    for k, (g, w) in enumerate(zip(got, want)):
        assert (g is None) == (w is None), f"{what}[{k}]: gradient present on one side only"
        if g is None:
            continue
        assert g.shape == w.shape and g.dtype == w.dtype, (what, k, g.shape, w.shape, g.dtype,
                                                            w.dtype)
        if g.dtype.kind == "f" or g.dtype.name == "bfloat16":
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol,
                                       atol=atol, err_msg=f"{what}[{k}]")
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{what}[{k}]")


def check(fn, dtype, backward=True):
    name = str(dtype).split(".")[-1]
    want, want_g = _run(fn, "cpu", dtype, backward)
    got, got_g = _run(fn, DEVICE, dtype, backward)
    _compare(got, want, name, "output")
    _compare(got_g, want_g, name, "grad")


# --------------------------------------------------------------------------- cases
# Each case: name -> fn(maker) returning a tensor or a (nested) tuple of tensors.

POINTWISE = {
    "add_bcast": lambda m: m.x(3, 1, 4) + m.x(5, 1),
    "sub_scalar": lambda m: 2.5 - m.x(3, 4),
    "mul_bcast": lambda m: m.x(2, 3, 4) * m.x(4),
    "div": lambda m: m.x(3, 4) / m.x(3, 4, low=0.5, high=2),
    "pow_tensor": lambda m: m.x(3, 4, low=0.5, high=2) ** m.x(3, 4),
    "pow_scalar": lambda m: m.x(3, 4) ** 3,
    "maximum": lambda m: torch.maximum(m.x(3, 4), m.x(1, 4)),
    "minimum": lambda m: torch.minimum(m.x(3, 4), m.x(3, 1)),
    "where": lambda m: torch.where(m.b(3, 4), m.x(3, 4), m.x(4)),
    "clamp": lambda m: torch.clamp(m.x(5, 6), -0.5, 0.7),
    "lerp": lambda m: torch.lerp(m.x(3, 4), m.x(3, 4), 0.3),
    "exp": lambda m: torch.exp(m.x(3, 4)),
    "log": lambda m: torch.log(m.x(3, 4, low=0.1, high=3)),
    "log1p": lambda m: torch.log1p(m.x(3, 4, low=0, high=3)),
    "sqrt": lambda m: torch.sqrt(m.x(3, 4, low=0.1, high=3)),
    "rsqrt": lambda m: torch.rsqrt(m.x(3, 4, low=0.1, high=3)),
    "sin_cos_tan": lambda m: (torch.sin(m.x(6)), torch.cos(m.x(6)), torch.tan(m.x(6, low=-1,
                                                                                   high=1))),
    "tanh_sigmoid": lambda m: (torch.tanh(m.x(7)), torch.sigmoid(m.x(7))),
    "abs_neg_sign": lambda m: (torch.abs(m.x(7)), -m.x(7), torch.sign(m.x(7))),
    "erf": lambda m: (torch.erf(m.x(9)), torch.erfc(m.x(9))),
    "reciprocal": lambda m: torch.reciprocal(m.x(4, low=0.5, high=2)),
    "floor_ceil_round": lambda m: (torch.floor(m.x(9) * 3), torch.ceil(m.x(9) * 3),
                                   torch.round(m.x(9) * 3)),
    "fmod_remainder": lambda m: (torch.fmod(m.x(8) * 5, 1.5), torch.remainder(m.x(8) * 5, 1.5)),
    "int_ops": lambda m: (m.i(10, 3, 4) + m.i(5, 4), m.i(10, 3, 4) // 3, m.i(10, 5) % 4),
    "comparisons": lambda m: (m.x(3, 4) > m.x(4), m.x(3, 4) <= 0, torch.eq(m.i(3, 5), 1),
                              torch.isclose(m.x(4), m.x(4))),
    "logical": lambda m: (m.b(4) & m.b(4), m.b(4) | m.b(4), ~m.b(4), torch.logical_xor(
        m.b(4), m.b(4))),
    "isnan_isinf": lambda m: (torch.isnan(torch.log(m.x(8, grad=False))),
                              torch.isinf(1 / (m.x(8, grad=False) * 0))),
    "nan_to_num": lambda m: torch.nan_to_num(torch.log(m.x(8, grad=False)), nan=0.5),
}

REDUCTIONS = {
    "sum": lambda m: (m.x(3, 4, 5).sum(), m.x(3, 4, 5).sum(dim=(0, 2), keepdim=True)),
    "mean": lambda m: (m.x(3, 4, 5).mean(1), m.x(6).mean()),
    "var_std": lambda m: (m.x(4, 6).var(1), m.x(4, 6).std(0, correction=0),
                          torch.var_mean(m.x(5, 3), dim=0)),
    "max_min": lambda m: (m.x(4, 6).max(), m.x(4, 6).max(dim=1), m.x(4, 6).min(dim=0,
                                                                                keepdim=True)),
    "amax_amin": lambda m: (torch.amax(m.x(3, 4, 5), dim=(0, 2)), torch.amin(m.x(3, 4), dim=1)),
    "argmax_argmin": lambda m: (m.x(4, 6).argmax(), m.x(4, 6).argmax(1), m.x(4, 6).argmin(0)),
    "logsumexp": lambda m: torch.logsumexp(m.x(4, 6) * 5, dim=1),
    "cumsum_cumprod": lambda m: (torch.cumsum(m.x(4, 5), 1), torch.cumprod(m.x(3, 4), 0)),
    "prod": lambda m: (m.x(3, 4).prod(1), m.x(5).prod()),
    "norm": lambda m: (torch.linalg.norm(m.x(3, 4)), torch.linalg.vector_norm(m.x(3, 4), ord=1,
                                                                              dim=1)),
    "softmax": lambda m: (F.softmax(m.x(4, 7), dim=1), F.log_softmax(m.x(2, 3, 5), dim=1)),
    "all_any": lambda m: (m.b(3, 4).all(1), m.b(3, 4).any(), (m.i(3, 5) > 0).all()),
    "sort": lambda m: (torch.sort(m.x(4, 6), 1), torch.sort(m.x(5, 3), 0, descending=True),
                       torch.argsort(m.i(3, 4, 7), stable=True), torch.msort(m.x(4, 2))),
    "topk_kthvalue": lambda m: (torch.topk(m.x(4, 7), 3), torch.topk(m.x(6, 3), 2, dim=0,
                                                                     largest=False),
                                torch.kthvalue(m.x(4, 5), 2, dim=1, keepdim=True)),
    "median": lambda m: (torch.median(m.x(5, 4)), torch.median(m.x(4, 6), 1),
                         torch.nanmedian(m.x(3, 5), 0)),
}

LINALG = {
    "matmul_2d": lambda m: m.x(5, 7) @ m.x(7, 3),
    "matmul_bcast": lambda m: torch.matmul(m.x(2, 1, 4, 5), m.x(3, 5, 2)),
    "matmul_vec": lambda m: (m.x(5) @ m.x(5, 3), m.x(4, 5) @ m.x(5), m.x(6) @ m.x(6)),
    "bmm": lambda m: torch.bmm(m.x(3, 4, 5), m.x(3, 5, 2)),
    "einsum_attn": lambda m: torch.einsum("bhqd,bhkd->bhqk", m.x(2, 2, 3, 4), m.x(2, 2, 5, 4)),
    "einsum_misc": lambda m: (torch.einsum("ij,jk->ik", m.x(3, 4), m.x(4, 2)),
                              torch.einsum("ii->i", m.x(4, 4)),
                              torch.einsum("bi,bj->bij", m.x(2, 3), m.x(2, 4))),
    "outer_dot_mv": lambda m: (torch.outer(m.x(3), m.x(4)), torch.dot(m.x(5), m.x(5)),
                               torch.mv(m.x(3, 4), m.x(4))),
    "addmm_baddbmm": lambda m: (torch.addmm(m.x(3), m.x(2, 4), m.x(4, 3), beta=0.5, alpha=2),
                                torch.baddbmm(m.x(2, 3, 2), m.x(2, 3, 4), m.x(2, 4, 2))),
    "transpose_matmul": lambda m: m.x(4, 3).t() @ m.x(4, 5),
}

SHAPE = {
    "reshape_view": lambda m: (m.x(2, 6).reshape(3, 4), m.x(12).view(2, 2, 3)),
    "permute_transpose": lambda m: (m.x(2, 3, 4).permute(2, 0, 1) * 1, m.x(2, 3).transpose(0, 1)
                                    .contiguous()),
    "cat_stack": lambda m: (torch.cat([m.x(2, 3), m.x(4, 3)]), torch.stack([m.x(3), m.x(3)], 1)),
    "split_chunk": lambda m: (torch.split(m.x(7, 2), [3, 4]), torch.chunk(m.x(6, 2), 3, dim=0)),
    "flip_roll": lambda m: (torch.flip(m.x(3, 4), [0, 1]), torch.roll(m.x(3, 4), 2, 1),
                            torch.roll(m.x(5), -1)),
    "squeeze_expand": lambda m: (m.x(3, 1, 4).squeeze(1), m.x(3).unsqueeze(0).expand(4, 3) * 1,
                                 m.x(1, 3).repeat(2, 2)),
    "narrow_select": lambda m: (m.x(5, 4).narrow(0, 1, 3), m.x(5, 4).select(1, 2), m.x(5, 4)[1:4,
                                                                                       ::2]),
    "tril_triu_diag": lambda m: (torch.tril(m.x(4, 4)), torch.triu(m.x(4, 5), 1),
                                 torch.diagonal(m.x(4, 4))),
    "flatten_unflatten": lambda m: (m.x(2, 3, 4).flatten(1), m.x(2, 12).unflatten(1, (3, 4))),
    "pad": lambda m: (F.pad(m.x(2, 3, 4), (1, 2)), F.pad(m.x(1, 2, 3, 3), (1, 1, 2, 0),
                                                          mode="reflect")),
}

INDEXING = {
    "gather": lambda m: torch.gather(m.x(4, 5), 1, m.i(5, 4, 3)),
    "scatter": lambda m: m.x(4, 5).scatter(1, torch.tensor([[0, 2], [1, 4], [3, 3], [0, 0]],
                                                           device=m.dev), m.x(4, 2)),
    "scatter_add": lambda m: m.x(4, 5).scatter_add(0, m.i(4, 6, 5), m.x(6, 5)),
    "scatter_reduce_amax": lambda m: m.x(3, 5).scatter_reduce(1, m.i(5, 3, 8), m.x(3, 8),
                                                             reduce="amax"),
    "scatter_reduce_prod": lambda m: m.x(3, 5).scatter_reduce(1, m.i(5, 3, 8), m.x(3, 8),
                                                             reduce="prod"),
    "scatter_reduce_mean": lambda m: m.x(3, 5).scatter_reduce(1, m.i(5, 3, 8), m.x(3, 8),
                                                             reduce="mean",
                                                             include_self=False),
    "index_select": lambda m: torch.index_select(m.x(5, 3), 0, m.i(5, 7)),
    "index_add": lambda m: m.x(5, 3).index_add(0, m.i(5, 8), m.x(8, 3)),
    "masked": lambda m: (m.x(3, 4).masked_fill(m.b(3, 4), -1.0), torch.masked_select(
        m.x(3, 4), m.b(3, 4)), m.x(3, 4)[m.b(3, 4)]),
    "adv_get": lambda m: (m.x(5, 4)[m.i(5, 6)], m.x(5, 4)[m.i(5, 3), m.i(4, 3)],
                          m.x(3, 5, 4)[:, m.i(5, 2)]),
    "adv_set": lambda m: _adv_set(m),
    "index_put_accumulate": lambda m: m.x(5, 3).index_put((m.i(5, 9),), m.x(9, 3),
                                                          accumulate=True),
    "int_scatter_add": lambda m: torch.zeros(6, dtype=torch.int64, device=m.dev).scatter_add(
        0, m.i(6, 20), m.i(9, 20)),
    "int_scatter_amax": lambda m: m.i(5, 6).scatter_reduce(0, m.i(6, 20), m.i(50, 20),
                                                           reduce="amax"),
    "take_along_dim": lambda m: torch.take_along_dim(m.x(3, 4), m.i(4, 3, 2), dim=1),
    "one_hot": lambda m: F.one_hot(m.i(5, 7), 5),
    "nonzero": lambda m: torch.nonzero(m.i(3, 4, 5)),
}


def _adv_set(m):
    base = m.x(5, 4) * 1
    base[m.i(5, 3)] = m.x(3, 4)
    base[m.b(5, 4)] = 0.5
    return base


CREATION = {
    "zeros_ones_full": lambda m: (torch.zeros(2, 3, device=m.dev, dtype=m.dtype),
                                  torch.ones(4, device=m.dev, dtype=m.dtype),
                                  torch.full((2, 2), 1.5, device=m.dev, dtype=m.dtype)),
    "arange_linspace": lambda m: (torch.arange(0, 5, 0.5, device=m.dev, dtype=m.dtype),
                                  torch.linspace(-1, 1, 7, device=m.dev, dtype=m.dtype),
                                  torch.arange(10, device=m.dev)),
    "eye_like": lambda m: (torch.eye(3, 4, device=m.dev, dtype=m.dtype),
                           torch.zeros_like(m.x(2, 3)), torch.ones_like(m.x(3)),
                           torch.full_like(m.x(2), 7.0)),
    "tensor_from_list": lambda m: torch.tensor([[1.0, 2.0], [3.0, 4.0]], device=m.dev,
                                               dtype=m.dtype),
}


def _module(factory, *shapes, train=False, ints=None):
    def fn(m):
        mod = m.mod(factory())
        mod.train(train)
        if ints is not None:
            return mod(m.i(*ints))
        return mod(*[m.x(*s) for s in shapes])
    return fn


LAYERS = {
    "Linear": _module(lambda: nn.Linear(5, 3), (4, 5)),
    "Bilinear-free Linear nobias": _module(lambda: nn.Linear(5, 3, bias=False), (2, 4, 5)),
    "Conv1d": _module(lambda: nn.Conv1d(3, 4, 3, padding=1, stride=2), (2, 3, 9)),
    "Conv2d": _module(lambda: nn.Conv2d(3, 4, 3, padding=1), (2, 3, 6, 5)),
    "Conv2d_groups_dil": _module(lambda: nn.Conv2d(4, 6, 3, groups=2, dilation=2, padding=2),
                                 (2, 4, 7, 7)),
    "Conv3d": _module(lambda: nn.Conv3d(2, 3, 2), (1, 2, 4, 4, 3)),
    "ConvTranspose2d": _module(lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                          output_padding=1), (2, 3, 4, 4)),
    "ConvTranspose1d": _module(lambda: nn.ConvTranspose1d(2, 3, 4, stride=2), (2, 2, 5)),
    "MaxPool2d": _module(lambda: nn.MaxPool2d(2), (2, 3, 6, 6)),
    "MaxPool2d_pad_stride": _module(lambda: nn.MaxPool2d(3, stride=2, padding=1),
                                    (2, 2, 7, 7)),
    "MaxPool1d": _module(lambda: nn.MaxPool1d(3, stride=2), (2, 3, 9)),
    "MaxPool3d": _module(lambda: nn.MaxPool3d(2), (1, 2, 4, 4, 4)),
    "AvgPool2d": _module(lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                         (2, 3, 7, 6)),
    "AvgPool1d": _module(lambda: nn.AvgPool1d(2), (2, 3, 8)),
    "AdaptiveAvgPool2d": _module(lambda: nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    "AdaptiveMaxPool2d": _module(lambda: nn.AdaptiveMaxPool2d(3), (2, 2, 7, 8)),
    "BatchNorm1d_train": _module(lambda: nn.BatchNorm1d(4), (6, 4), train=True),
    "BatchNorm2d_train": _module(lambda: nn.BatchNorm2d(3), (4, 3, 5, 5), train=True),
    "BatchNorm2d_eval": _module(lambda: nn.BatchNorm2d(3), (4, 3, 5, 5)),
    "LayerNorm": _module(lambda: nn.LayerNorm([4, 5]), (3, 4, 5)),
    "GroupNorm": _module(lambda: nn.GroupNorm(2, 4), (3, 4, 5)),
    "InstanceNorm2d": _module(lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
    "RMSNorm": _module(lambda: nn.RMSNorm(6), (3, 6)),
    "Embedding": _module(lambda: nn.Embedding(10, 4), ints=(10, 3, 5)),
    "Embedding_padding": _module(lambda: nn.Embedding(10, 4, padding_idx=0), ints=(10, 12)),
    "EmbeddingBag_max": lambda m: m.mod(nn.EmbeddingBag(10, 3, mode="max"))(
        m.i(10, 9), torch.tensor([0, 2, 2, 6], device=m.dev)),
    "EmbeddingBag_sum": lambda m: m.mod(nn.EmbeddingBag(10, 3, mode="sum"))(
        m.i(10, 9), torch.tensor([0, 4, 5], device=m.dev)),
    "LSTM": _module(lambda: nn.LSTM(4, 5, num_layers=2, batch_first=True), (3, 6, 4)),
    "LSTM_bidir": _module(lambda: nn.LSTM(3, 4, bidirectional=True), (5, 2, 3)),
    "GRU": _module(lambda: nn.GRU(4, 3), (6, 2, 4)),
    "RNN": _module(lambda: nn.RNN(4, 3, nonlinearity="relu"), (5, 2, 4)),
    "LSTMCell": _module(lambda: nn.LSTMCell(4, 3), (2, 4)),
    "MultiheadAttention": lambda m: m.mod(nn.MultiheadAttention(8, 2, batch_first=True))(
        m.x(2, 5, 8), m.x(2, 4, 8), m.x(2, 4, 8)),
    "MHA_masked": lambda m: m.mod(nn.MultiheadAttention(8, 2))(
        m.x(5, 2, 8), m.x(5, 2, 8), m.x(5, 2, 8),
        attn_mask=torch.triu(torch.ones(5, 5, dtype=torch.bool, device=m.dev), 1)),
    "TransformerEncoderLayer": _module(lambda: nn.TransformerEncoderLayer(
        8, 2, dim_feedforward=16, dropout=0.0, batch_first=True), (2, 5, 8)),
    "Dropout_eval": _module(lambda: nn.Dropout(0.5), (4, 5)),
    "Flatten_Sequential": _module(lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 2),
                                                        nn.ReLU()), (3, 3, 4)),
    "Upsample": _module(lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 3, 4)),
    "PReLU": _module(lambda: nn.PReLU(3), (2, 3, 4)),
}

ACTIVATIONS = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
               "Sigmoid", "Tanh", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid",
               "Hardswish", "Hardshrink", "Softshrink", "Tanhshrink", "LogSigmoid"]
for _name in ACTIVATIONS:
    LAYERS[_name] = _module(getattr(nn, _name), (4, 6))
LAYERS["Softmax"] = _module(lambda: nn.Softmax(dim=1), (4, 6))
LAYERS["LogSoftmax"] = _module(lambda: nn.LogSoftmax(dim=-1), (4, 6))
LAYERS["GELU_tanh"] = _module(lambda: nn.GELU(approximate="tanh"), (4, 6))
LAYERS["GLU"] = _module(lambda: nn.GLU(), (4, 6))
LAYERS["Bilinear"] = lambda m: m.mod(nn.Bilinear(3, 4, 2))(m.x(5, 3), m.x(5, 4))
LAYERS["Unfold_Fold"] = lambda m: nn.Fold((5, 4), 2)(nn.Unfold(2)(m.x(2, 3, 5, 4)))
LAYERS["PixelShuffle"] = _module(lambda: nn.Sequential(nn.PixelShuffle(2), nn.PixelUnshuffle(2),
                                                       nn.ChannelShuffle(2)), (2, 8, 3, 3))
LAYERS["LazyLinear"] = _module(lambda: nn.Sequential(nn.Linear(4, 4), nn.LazyLinear(3)), (2, 4))
LAYERS["grid_sample"] = lambda m: tuple(
    F.grid_sample(m.x(2, 3, 5, 6), F.affine_grid(m.x(2, 2, 3) * 0.5 + torch.eye(
        2, 3, dtype=m.dtype, device=m.dev), (2, 3, 4, 4), align_corners=False), mode=mode,
        padding_mode=pad, align_corners=False)
    for mode, pad in (("bilinear", "zeros"), ("nearest", "border"), ("bicubic", "reflection")))


def _loss(cls, make_args, **kw):
    def fn(m):
        return m.mod(cls(**kw))(*make_args(m))
    return fn


LOSSES = {
    "MSELoss": _loss(nn.MSELoss, lambda m: (m.x(4, 3), m.x(4, 3))),
    "L1Loss_sum": _loss(nn.L1Loss, lambda m: (m.x(4, 3), m.x(4, 3)), reduction="sum"),
    "SmoothL1Loss": _loss(nn.SmoothL1Loss, lambda m: (m.x(4, 3), m.x(4, 3)), beta=0.5),
    "HuberLoss": _loss(nn.HuberLoss, lambda m: (m.x(4, 3) * 2, m.x(4, 3)), delta=0.7),
    "CrossEntropyLoss": _loss(nn.CrossEntropyLoss, lambda m: (m.x(6, 5), m.i(5, 6)),
                              label_smoothing=0.1),
    "CrossEntropyLoss_ignore_2d": _loss(nn.CrossEntropyLoss, lambda m: (
        m.x(2, 4, 3, 3), torch.tensor([[[0, 1, -100], [3, 2, 1], [0, 0, 0]]] * 2,
                                      device=m.dev))),
    "CrossEntropyLoss_probs": _loss(nn.CrossEntropyLoss, lambda m: (
        m.x(4, 5), F.softmax(m.x(4, 5, grad=False), dim=1))),
    "NLLLoss_weight": lambda m: nn.NLLLoss(weight=m.x(5, low=0.5, high=2, grad=False))(
        F.log_softmax(m.x(6, 5), 1), m.i(5, 6)),
    "BCELoss": _loss(nn.BCELoss, lambda m: (torch.sigmoid(m.x(4, 3)), m.x(4, 3, low=0, high=1,
                                                                          grad=False))),
    "BCEWithLogitsLoss": lambda m: nn.BCEWithLogitsLoss(pos_weight=m.x(3, low=0.5, high=2,
                                                                          grad=False))(
        m.x(4, 3), m.x(4, 3, low=0, high=1, grad=False)),
    "KLDivLoss": _loss(nn.KLDivLoss, lambda m: (F.log_softmax(m.x(4, 5), 1), F.softmax(
        m.x(4, 5, grad=False), 1)), reduction="batchmean"),
    "PoissonNLLLoss": _loss(nn.PoissonNLLLoss, lambda m: (m.x(4, 3), m.x(4, 3, low=0, high=3,
                                                                         grad=False))),
    "GaussianNLLLoss": _loss(nn.GaussianNLLLoss, lambda m: (m.x(4, 3), m.x(4, 3), m.x(
        4, 3, low=0.5, high=2))),
    "HingeEmbeddingLoss": _loss(nn.HingeEmbeddingLoss, lambda m: (
        m.x(6), torch.tensor([1., -1, 1, -1, -1, 1], device=m.dev, dtype=m.dtype))),
    "SoftMarginLoss": _loss(nn.SoftMarginLoss, lambda m: (
        m.x(6), torch.tensor([1., -1, 1, -1, -1, 1], device=m.dev, dtype=m.dtype))),
    "MarginRankingLoss": _loss(nn.MarginRankingLoss, lambda m: (
        m.x(6), m.x(6), torch.tensor([1., -1, 1, -1, -1, 1], device=m.dev, dtype=m.dtype)),
        margin=0.2),
    "CosineEmbeddingLoss": _loss(nn.CosineEmbeddingLoss, lambda m: (
        m.x(4, 5), m.x(4, 5), torch.tensor([1., -1, 1, -1], device=m.dev, dtype=m.dtype))),
    "TripletMarginLoss": _loss(nn.TripletMarginLoss, lambda m: (m.x(4, 5), m.x(4, 5),
                                                                 m.x(4, 5))),
    "TripletMarginWithDistanceLoss": _loss(nn.TripletMarginWithDistanceLoss, lambda m: (
        m.x(4, 5), m.x(4, 5), m.x(4, 5))),
    "MultiMarginLoss": _loss(nn.MultiMarginLoss, lambda m: (m.x(5, 4), m.i(4, 5))),
    "MultiLabelMarginLoss": _loss(nn.MultiLabelMarginLoss, lambda m: (
        m.x(2, 4), torch.tensor([[3, 0, -1, 1], [1, 2, 3, -1]], device=m.dev))),
    "MultiLabelSoftMarginLoss": _loss(nn.MultiLabelSoftMarginLoss, lambda m: (
        m.x(3, 4), (m.i(2, 3, 4) > 0).to(m.dtype))),
    "CTCLoss": lambda m: nn.CTCLoss(blank=0, reduction="mean")(
        F.log_softmax(m.x(7, 2, 5), 2), m.i(5, 2, 3, low=1), torch.tensor([7, 6]),
        torch.tensor([3, 2])),
}

def _square(m, n, batch=()):
    """A well-conditioned ``(*batch, n, n)`` matrix: noise around 2 * identity."""
    return m.x(*batch, n, n) * 0.3 + 2 * torch.eye(n, dtype=m.dtype, device=m.dev)


def _spd(m, n):
    a = m.x(n, n)
    return a @ a.mT + n * torch.eye(n, dtype=m.dtype, device=m.dev)


# ops added after the first GPU suite: special functions, linalg, search, combinatorics
EXTRA = {
    "binary_math": lambda m: (torch.atan2(m.x(3, 4), m.x(4)), torch.hypot(m.x(3, 4), m.x(3, 4)),
                              torch.copysign(m.x(5), m.x(5)), torch.logaddexp(m.x(4), m.x(4)),
                              torch.xlogy(m.x(4), m.x(4, low=0.5, high=2))),
    "int_math": lambda m: (torch.gcd(m.i(30, 6), m.i(30, 6)), torch.lcm(m.i(9, 5, low=1),
                                                                       m.i(9, 5, low=1))),
    "gamma_family": lambda m: (torch.lgamma(m.x(6, low=0.2, high=6)),
                               torch.digamma(m.x(6, low=0.5, high=6)),
                               torch.polygamma(2, m.x(5, low=0.5, high=4)),
                               torch.mvlgamma(m.x(4, low=2, high=5), 2)),
    "special_misc": lambda m: (torch.sinc(m.x(6)), torch.logit(m.x(5, low=0.1, high=0.9)),
                               torch.i0(m.x(5)), torch.deg2rad(m.x(3)),
                               torch.special.erfcx(m.x(4)), torch.special.ndtri(
                                   m.x(4, low=0.1, high=0.9)), torch.special.entr(
                                   m.x(4, low=0.1, high=2))),
    "inv_det_solve": lambda m: (torch.linalg.inv(_square(m, 4)), torch.linalg.det(
        _square(m, 3, (2,))), torch.linalg.slogdet(_square(m, 3)), torch.linalg.solve(
        _square(m, 4, (2,)), m.x(2, 4, 3))),
    "factorizations": lambda m: (torch.linalg.cholesky(_spd(m, 4)),
                                 torch.linalg.qr(_square(m, 4)).R.abs(),
                                 torch.linalg.svdvals(m.x(2, 5, 3)),
                                 torch.linalg.eigvalsh(_spd(m, 4))),
    "matrix_functions": lambda m: (torch.linalg.pinv(m.x(5, 3)), torch.linalg.matrix_exp(
        m.x(3, 3) * 0.5), torch.linalg.matrix_power(_square(m, 3), 3), torch.linalg.cross(
        m.x(4, 3), m.x(4, 3)), torch.linalg.multi_dot([m.x(2, 4), m.x(4, 5), m.x(5, 3)])),
    "search": lambda m: (torch.searchsorted(torch.sort(m.x(8, grad=False)).values,
                                            m.x(3, 4, grad=False)),
                         torch.bucketize(m.x(5, grad=False), torch.tensor(
                             [-1.0, 0.0, 1.0], dtype=m.dtype, device=m.dev)),
                         torch.isin(m.i(6, 4, 5), m.i(6, 3)), torch.unique(
                             m.i(5, 12), return_inverse=True, return_counts=True),
                         torch.bincount(m.i(6, 20), minlength=8), torch.histc(
                             m.x(30, grad=False), bins=5, min=-2, max=2)),
    "combinatorics": lambda m: (torch.meshgrid(m.x(3), m.x(2), indexing="ij"),
                                torch.cartesian_prod(m.x(3), m.x(2)), torch.kron(
                                    m.x(2, 3), m.x(2, 2)), torch.diff(m.x(3, 6), dim=1),
                                torch.trace(m.x(4, 4)), torch.repeat_interleave(
                                    m.x(4), torch.tensor([1, 0, 2, 3], device=m.dev)),
                                torch.cdist(m.x(4, 3), m.x(5, 3)), torch.tril_indices(
                                    4, 3, device=m.dev), torch.block_diag(m.x(2, 2), m.x(1, 3))),
    "cumulative_extra": lambda m: (torch.cummax(m.x(4, 6), 1), torch.cummin(m.x(5, 3), 0),
                                   torch.logcumsumexp(m.x(3, 7), 1)),
    "quantiles": lambda m: (torch.quantile(m.x(4, 7), torch.tensor(
        [0.2, 0.5], dtype=m.dtype, device=m.dev), dim=1), torch.nanquantile(
        m.x(9), 0.3, interpolation="midpoint"), torch.nanmean(m.x(3, 4), 1), torch.mode(
        m.i(4, 3, 8), 1), torch.cov(m.x(3, 6), aweights=m.x(6, low=0.5, high=2)),
        torch.corrcoef(m.x(3, 5))),
    "scatter_views": lambda m: (torch.slice_scatter(m.x(4, 5), m.x(4, 2), 1, 1, 5, 2),
                                torch.select_scatter(m.x(3, 4), m.x(4), 0, 1),
                                torch.diagonal_scatter(m.x(3, 4), m.x(3), 1),
                                (m.x(4, 3) * 1).fill_diagonal_(2.0, wrap=True)),
    "windows_shifts": lambda m: (torch.hann_window(8, dtype=m.dtype, device=m.dev),
                                 torch.kaiser_window(7, False, 5.0, dtype=m.dtype, device=m.dev),
                                 m.i(100, 6) << m.i(70, 6), m.i(100, 6, low=-100) >> 3,
                                 torch.frexp(m.x(5)), torch.unravel_index(m.i(24, 5),
                                                                          (2, 3, 4))),
    "index_reduce": lambda m: tuple(
        m.x(3, 4).index_reduce(0, torch.tensor([0, 2, 0, 0, 2], device=m.dev), m.x(5, 4),
                               reduce, include_self=include)
        for reduce in ("prod", "mean", "amax", "amin") for include in (True, False)),
    "strided_misc": lambda m: (torch.as_strided(m.x(4, 5), (3, 3), (5, 1), 2),
                               (m.x(4, 5) * 1)[1:].as_strided((2, 4), (1, 2), 3),
                               m.x(3).expand(2, 3).as_strided((2, 2), (0, 1), 1),
                               torch.as_strided_scatter(m.x(4, 5) * 1, m.x(2, 3), (2, 3),
                                                        (5, 2), 1),
                               m.x(2, 3, 4).sum_to_size(3, 1), torch.angle(m.x(5)) + 1),
}

ALL = {**{f"pointwise/{k}": v for k, v in POINTWISE.items()},
       **{f"extra/{k}": v for k, v in EXTRA.items()},
       **{f"reduce/{k}": v for k, v in REDUCTIONS.items()},
       **{f"linalg/{k}": v for k, v in LINALG.items()},
       **{f"shape/{k}": v for k, v in SHAPE.items()},
       **{f"index/{k}": v for k, v in INDEXING.items()},
       **{f"create/{k}": v for k, v in CREATION.items()},
       **{f"layer/{k}": v for k, v in LAYERS.items()},
       **{f"loss/{k}": v for k, v in LOSSES.items()}}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(ALL))
def test_case(name, dtype):
    check(ALL[name], getattr(torch, dtype))


HALF = ["pointwise/add_bcast", "pointwise/mul_bcast", "pointwise/exp", "pointwise/tanh_sigmoid",
        "reduce/sum", "reduce/softmax", "reduce/max_min", "linalg/matmul_2d", "linalg/bmm",
        "layer/Linear", "layer/Conv2d", "layer/LayerNorm", "layer/ReLU", "layer/GELU",
        "layer/MaxPool2d", "shape/cat_stack", "loss/CrossEntropyLoss"]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", HALF)
def test_half_forward(name, dtype):
    dt = getattr(torch, dtype)
    try:
        torch.zeros(2, dtype=dt, device=DEVICE)
    except (TypeError, ValueError, RuntimeError) as err:   # CuPy without a bfloat16 dtype
        pytest.skip(f"{dtype} tensors cannot be made on {DEVICE}: {err}")
    check(ALL[name], dt, backward=False)


# --------------------------------------------------------------------------- optimizers

OPTIMIZERS = {
    "SGD": (torch.optim.SGD, dict(lr=0.1)),
    "SGD_momentum_nesterov_wd": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True,
                                                       weight_decay=0.01)),
    "Adam": (torch.optim.Adam, dict(lr=0.01)),
    "Adam_amsgrad_wd": (torch.optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    "AdamW": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.05)),
    "RMSprop": (torch.optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    "Adagrad": (torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
    "Adadelta": (torch.optim.Adadelta, dict(lr=1.0, weight_decay=0.01)),
    "NAdam_decoupled_wd": (torch.optim.NAdam, dict(lr=0.01, weight_decay=0.1,
                                                   decoupled_weight_decay=True)),
    "RAdam_wd": (torch.optim.RAdam, dict(lr=0.05, betas=(0.5, 0.8), weight_decay=0.1)),
    "Adamax_maximize": (torch.optim.Adamax, dict(lr=0.01, weight_decay=0.1, maximize=True)),
    "ASGD": (torch.optim.ASGD, dict(lr=0.05, t0=2, weight_decay=0.01)),
    "Rprop": (torch.optim.Rprop, dict(lr=0.01, step_sizes=(1e-4, 0.02))),
    "Adafactor": (torch.optim.Adafactor, dict(lr=0.05, weight_decay=0.01)),
}


def _train(device, dtype, cls, kw, steps=4):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2)).to(dtype=dtype)
    model = model.to(device)
    opt = cls(model.parameters(), **kw)
    rng = np.random.default_rng(5)
    for _ in range(steps):
        x = torch.tensor(rng.standard_normal((8, 5)), dtype=dtype, device=device)
        y = torch.tensor(rng.standard_normal((8, 2)), dtype=dtype, device=device)
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
    return [p.detach().numpy(force=True) for p in model.parameters()]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer(name, dtype):
    cls, kw = OPTIMIZERS[name]
    dt = getattr(torch, dtype)
    _compare(_train(DEVICE, dt, cls, kw), _train("cpu", dt, cls, kw), dtype, name)


# --------------------------------------------------------------------------- moving things

def test_module_to_and_back():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))
    ref = {k: v.numpy(force=True).copy() for k, v in model.state_dict().items()}
    assert model.to(DEVICE) is model
    for k, v in model.state_dict().items():
        assert v.device.type == DEVICE, k
        np.testing.assert_array_equal(v.numpy(force=True), ref[k])
    model.cpu()
    for k, v in model.state_dict().items():
        assert v.device.type == "cpu", k
        np.testing.assert_array_equal(v.numpy(), ref[k])


def test_tensor_to_cuda_cpu():
    a = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    b = a.to(DEVICE)
    assert b.device.type == DEVICE and b.dtype == torch.float32
    c = a.to(DEVICE, torch.float64)
    assert c.dtype == torch.float64
    if DEVICE == "cuda":
        assert a.cuda().device.type == "cuda" and b.is_cuda
    back = (b * 2).cpu()
    assert back.device.type == "cpu"
    np.testing.assert_array_equal(back.numpy(), np.arange(6).reshape(2, 3) * 2)
    leaf = torch.ones(3, requires_grad=True)
    (leaf.to(DEVICE) * 3).sum().backward()
    assert leaf.grad.device.type == "cpu"
    np.testing.assert_array_equal(leaf.grad.numpy(), [3, 3, 3])


def test_dataloader_batch_to_device():
    from dist_torch.utils.data import DataLoader, TensorDataset
    x = torch.tensor(np.arange(40, dtype=np.float32).reshape(10, 4))
    y = torch.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=False)
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    want = [model(xb).detach().numpy() for xb, _ in loader]
    model.to(DEVICE)
    for k, (xb, yb) in enumerate(loader):
        xb, yb = xb.to(DEVICE), yb.to(DEVICE)
        assert xb.device.type == DEVICE and yb.dtype == torch.int64
        np.testing.assert_allclose(model(xb).detach().numpy(force=True), want[k], rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_array_equal(yb.numpy(force=True), np.arange(10)[4 * k:4 * k + 4])
