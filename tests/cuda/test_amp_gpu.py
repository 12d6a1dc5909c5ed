"""Mixed precision on CUDA tensors: autocast("cuda") output dtypes per op (torch's CUDA op
lists: GEMMs and convolutions in the low dtype, reductions, norms and losses in float32,
elementwise ops following their inputs) and GradScaler("cuda") skipping an inf step.

Skipped without a GPU (they also run on the emulated device of tests/fake_cupy).
"""

from __future__ import annotations

import numpy as np
import pytest

import dist_torch as torch
from dist_torch.nn import functional as F

pytestmark = pytest.mark.cuda

LOW, F32 = "low", "float32"

# op -> (fn(make), dtype of each output under autocast): "low" is the autocast dtype.
# Per torch's CUDA lists (autocast_mode.cpp): lower precision for mm/conv/linear/baddbmm/
# prelu/attention, float32 for reductions, softmax, norms, losses, pow, exp/log family.
def _low(m):
    """A (3, 5) tensor in the autocast dtype (the output of an autocast matmul)."""
    return torch.mm(m(3, 4), m(4, 5))


RECIPES = {
    "mm": (lambda m: torch.mm(m(3, 4), m(4, 2)), [LOW]),
    "matmul": (lambda m: m(2, 3, 4) @ m(4, 5), [LOW]),
    "linear": (lambda m: F.linear(m(3, 4), m(2, 4), m(2)), [LOW]),
    "conv2d": (lambda m: F.conv2d(m(1, 2, 5, 5), m(3, 2, 3, 3)), [LOW]),
    "baddbmm": (lambda m: torch.baddbmm(m(2, 3, 2), m(2, 3, 4), m(2, 4, 2)), [LOW]),
    "sdpa": (lambda m: F.scaled_dot_product_attention(m(1, 2, 3, 4), m(1, 2, 3, 4),
                                                      m(1, 2, 3, 4)), [LOW]),
    "softmax": (lambda m: F.softmax(_low(m), dim=1), [F32]),
    "log_softmax": (lambda m: F.log_softmax(_low(m), dim=1), [F32]),
    "sum": (lambda m: _low(m).sum(), [F32]),
    "layer_norm": (lambda m: F.layer_norm(_low(m), (5,)), [F32]),
    "cross_entropy": (lambda m: F.cross_entropy(_low(m), torch.tensor([0, 3, 1],
                                                                       device="cuda")), [F32]),
    "mse_loss": (lambda m: F.mse_loss(_low(m), _low(m)), [F32]),
    "exp": (lambda m: torch.exp(_low(m)), [F32]),
    "relu": (lambda m: F.relu(_low(m)), [LOW]),
    "add_mixed": (lambda m: _low(m) + m(3, 5), [F32]),
}


@pytest.fixture
def make(cp):
    rng = np.random.default_rng(0)

    def m(*shape):
        return torch.tensor(rng.standard_normal(shape), dtype=torch.float32, device="cuda")
    return m


@pytest.mark.parametrize("low", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_autocast_cuda_output_dtypes(make, name, low):
    fn, expected = RECIPES[name]
    with torch.autocast("cuda", dtype=getattr(torch, low)):
        out = fn(make)
    outs = out if isinstance(out, tuple) else (out,)
    got = [str(o.dtype).split(".")[-1] for o in outs]
    assert got == [low if e == LOW else e for e in expected]
    assert all(o.device.type == "cuda" for o in outs)


def test_binary_cross_entropy_is_banned_under_cuda_autocast(make):
    with torch.autocast("cuda"):
        p = torch.sigmoid(make(4))
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            F.binary_cross_entropy(p, torch.ones(4, device="cuda"))


def test_autocast_cpu_region_leaves_cuda_ops_alone(make):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.mm(make(3, 4), make(4, 2)).dtype == torch.float32


def test_grad_scaler_skips_an_inf_step_then_steps(cp):
    w = torch.nn.Parameter(torch.ones(3, device="cuda"))
    opt = torch.optim.SGD([w], lr=0.5)
    scaler = torch.amp.GradScaler("cuda", init_scale=4.0, growth_interval=1)

    opt.zero_grad()
    scaler.scale((w * float("inf")).sum()).backward()
    scaler.step(opt)
    scaler.update()
    assert w.tolist() == [1.0, 1.0, 1.0]          # skipped
    assert scaler.get_scale() == 2.0              # backed off by 0.5

    opt.zero_grad()
    scaler.scale((w * 2).sum()).backward()
    assert w.grad.tolist() == [4.0, 4.0, 4.0]     # scaled by 2
    scaler.step(opt)                              # unscaled to 2, then w -= 0.5 * 2
    scaler.update()
    assert w.tolist() == [0.0, 0.0, 0.0]
    assert scaler.get_scale() == 4.0              # grown after growth_interval=1 good step
    assert w.grad.device.type == "cuda"
