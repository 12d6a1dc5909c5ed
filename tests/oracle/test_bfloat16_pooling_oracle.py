"""bfloat16/float16 pooling, resampling and pdist against torch (values and dtypes)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dist_torch as dt  # noqa: E402

F, TF = dt.nn.functional, torch.nn.functional
X = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)

CASES = {
    "max_pool2d": lambda f, x: f.max_pool2d(x, 2),
    "max_pool2d_indices": lambda f, x: f.max_pool2d(x, 3, 2, 1, return_indices=True)[1],
    "avg_pool2d": lambda f, x: f.avg_pool2d(x, 3, 2, 1),
    "adaptive_avg_pool2d": lambda f, x: f.adaptive_avg_pool2d(x, (4, 3)),
    "max_pool3d_indices": lambda f, x: f.max_pool3d(x[None], 2, return_indices=True)[1],
    "bilinear": lambda f, x: f.interpolate(x, scale_factor=2, mode="bilinear"),
}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_low_precision_matches_torch(name, dtype):
    ours = CASES[name](F, dt.tensor(X).to(getattr(dt, dtype)))
    theirs = CASES[name](TF, torch.tensor(X).to(getattr(torch, dtype)))
    assert str(ours.dtype) == str(theirs.dtype)
    got, want = np.asarray(ours.float()), theirs.float().numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_pdist_refuses_16_bit_floats_like_torch(dtype):
    with pytest.raises(NotImplementedError) as theirs:
        TF.pdist(torch.ones(3, 2).to(getattr(torch, dtype)))
    with pytest.raises(NotImplementedError) as ours:
        F.pdist(dt.ones(3, 2).to(getattr(dt, dtype)))
    assert str(ours.value) == str(theirs.value)
