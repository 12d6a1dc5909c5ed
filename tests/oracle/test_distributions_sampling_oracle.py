"""Sampling from torch.distributions: shapes and dtypes exactly as torch, values statistically
(large-n moments against the analytic mean/variance, fixed seed), support membership,
manual_seed reproducibility, and rsample gradients (the noise behind each sample is recovered
and torch recomputes the sample from it with its own parameters)."""

import numpy as np
import pytest
import torch

import dist_torch as dt
import dist_torch.distributions  # noqa: F401 (binds dt.distributions)
from tests.helpers import assert_close

N = 20000
LOC = np.array([-1.0, 0.5])
SCALE = np.array([0.5, 2.0])
PROBS = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
COV = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])


def _build(lib, name):
    D, t = lib.distributions, lambda a: lib.tensor(a)
    return {
        "normal": lambda: D.Normal(t(LOC), t(SCALE)),
        "uniform": lambda: D.Uniform(t(LOC), t(LOC + SCALE)),
        "exponential": lambda: D.Exponential(t(SCALE)),
        "laplace": lambda: D.Laplace(t(LOC), t(SCALE)),
        "lognormal": lambda: D.LogNormal(t(LOC), t(SCALE / 4)),  # light tail: stable variance
        "gamma": lambda: D.Gamma(t(np.array([0.4, 3.0])), t(SCALE)),
        "beta": lambda: D.Beta(t(np.array([0.5, 2.0])), t(np.array([3.0, 1.5]))),
        "dirichlet": lambda: D.Dirichlet(t(PROBS * 4)),
        "bernoulli": lambda: D.Bernoulli(t(np.array([0.2, 0.9]))),
        "categorical": lambda: D.Categorical(t(PROBS)),
        "one_hot": lambda: D.OneHotCategorical(t(PROBS)),
        "mvn": lambda: D.MultivariateNormal(t(np.zeros((2, 3))), t(COV)),
        "mvn_precision": lambda: D.MultivariateNormal(t(np.ones(3)),
                                                      precision_matrix=t(np.linalg.inv(COV))),
        "independent": lambda: D.Independent(D.Normal(t(LOC), t(SCALE)), 1),
    }[name]()


NAMES = ["normal", "uniform", "exponential", "laplace", "lognormal", "gamma", "beta",
         "dirichlet", "bernoulli", "categorical", "one_hot", "mvn", "mvn_precision",
         "independent"]
RSAMPLE = ["normal", "uniform", "exponential", "laplace", "lognormal", "mvn", "mvn_precision",
           "independent"]


@pytest.mark.parametrize("name", NAMES)
def test_sample_shapes_dtypes_and_support(name):
    dt.manual_seed(0)
    ours, theirs = _build(dt, name), _build(torch, name)
    for shape in ((), (5,), (2, 3), torch.Size([4])):
        o, t = ours.sample(shape), theirs.sample(shape)
        assert tuple(o.shape) == tuple(t.shape)
        assert str(o.dtype) == str(t.dtype)
        assert not o.requires_grad
        assert bool(ours.support.check(o).all())
    if name in RSAMPLE:
        assert ours.has_rsample
        assert tuple(ours.rsample((3,)).shape) == tuple(theirs.rsample((3,)).shape)


@pytest.mark.parametrize("name", NAMES)
def test_sample_moments(name):
    dt.manual_seed(1)
    d = _build(dt, name)
    x = d.sample((N,)).double().numpy()
    mean, var = d.mean.double().numpy(), d.variance.double().numpy()
    if name == "categorical":       # torch's mean/variance are NaN: compare frequencies
        freq = (x[..., None] == np.arange(3)).mean(0)
        np.testing.assert_allclose(freq, PROBS, atol=0.015)
        return
    # sample mean within 5 standard errors; variance within 10 %
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / N)), (x.mean(0), mean)
    np.testing.assert_allclose(x.var(0), var, rtol=0.1)
    if name.startswith("mvn"):
        cov = np.einsum("n...i,n...j->...ij", x - x.mean(0), x - x.mean(0)) / N
        np.testing.assert_allclose(cov, np.broadcast_to(COV, cov.shape), atol=0.06)


def test_manual_seed_reproduces_samples():
    for name in ("normal", "gamma", "categorical", "mvn", "laplace"):
        d = _build(dt, name)
        dt.manual_seed(7)
        a = d.sample((6,))
        dt.manual_seed(7)
        b = d.sample((6,))
        c = d.sample((6,))
        assert_close(a, b, rtol=0, atol=0)
        assert not np.array_equal(a.numpy(), c.numpy())


def _noise(name, x, d):
    """The standard noise that ``rsample`` turned into ``x`` (as float64 NumPy)."""
    x = x.detach().numpy()
    if name == "uniform":
        low, high = d.low.detach().numpy(), d.high.detach().numpy()
        return (x - low) / (high - low)
    if name == "exponential":
        return x * d.rate.detach().numpy()
    if name == "lognormal":
        x = np.log(x)
    if name.startswith("mvn"):
        tril = d._unbroadcasted_scale_tril.detach().numpy()
        return np.linalg.solve(tril, (x - d.loc.detach().numpy())[..., None])[..., 0]
    return (x - d.loc.detach().numpy()) / d.scale.detach().numpy()


def _reparam(name, lib, params, eps):
    """torch's sample formula applied to the recovered noise."""
    if name == "uniform":
        return params[0] + eps * (params[1] - params[0])
    if name == "exponential":
        return eps / params[0]
    if name == "lognormal":
        return (params[0] + eps * params[1]).exp()
    if name == "mvn":
        return params[0] + (lib.linalg.cholesky(params[1]) @ eps.unsqueeze(-1)).squeeze(-1)
    return params[0] + eps * params[1]


@pytest.mark.parametrize("name", ["normal", "uniform", "exponential", "laplace", "lognormal",
                                  "mvn"])
def test_rsample_gradients(name):
    rng = np.random.default_rng(2)
    if name == "mvn":
        arrays = [rng.standard_normal((2, 3)), COV]
    elif name == "exponential":
        arrays = [SCALE.copy()]
    elif name == "uniform":
        arrays = [LOC.copy(), LOC + SCALE]
    else:
        arrays = [LOC.copy(), SCALE.copy()]
    D = dt.distributions
    ours = [dt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    make = {"normal": D.Normal, "uniform": D.Uniform, "exponential": D.Exponential,
            "laplace": D.Laplace, "lognormal": D.LogNormal, "mvn": D.MultivariateNormal}[name]
    d = make(*ours)
    dt.manual_seed(3)
    x = d.rsample((5,))
    assert x.requires_grad and x.grad_fn is not None
    eps = torch.tensor(_noise(name, x, d))
    y = _reparam(name, torch, theirs, eps)
    assert_close(x, y, rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(tuple(x.shape))
    (x * dt.tensor(w)).sum().backward()
    (y * torch.tensor(w)).sum().backward()
    for o, t in zip(ours, theirs):
        assert_close(o.grad, t.grad, rtol=1e-9, atol=1e-12)


def test_sample_has_no_gradient_and_float32_dtype():
    loc = dt.zeros(3, requires_grad=True)
    d = dt.distributions.Normal(loc, 1.0)
    assert not d.sample((2,)).requires_grad
    assert d.rsample((2,)).requires_grad
    assert d.rsample().dtype == dt.float32
    g = dt.distributions.Gamma(dt.ones(3, dtype=dt.float64, requires_grad=True), 2.0)
    assert not g.has_rsample
    s = g.sample((4,))
    assert s.dtype == dt.float64 and not s.requires_grad
    with pytest.raises(NotImplementedError):
        g.rsample()
    assert dt.distributions.Normal(0.0, 1.0).perplexity().item() == pytest.approx(
        torch.distributions.Normal(0.0, 1.0).perplexity().item())


def test_one_hot_straight_through_gradient():
    probs = np.array([[0.2, 0.5, 0.3], [1.0, 2.0, 1.0]])
    w = np.random.default_rng(4).standard_normal((5, 2, 3))
    grads = []
    for lib in (dt, torch):
        p = lib.tensor(probs, requires_grad=True)
        d = lib.distributions.OneHotCategoricalStraightThrough(p)
        s = d.rsample((5,))
        assert tuple(s.shape) == (5, 2, 3) and d.has_rsample
        # forward values are one-hot samples; the gradient does not depend on them
        assert np.allclose(s.detach().numpy().sum(-1), 1.0)
        (s * lib.tensor(w)).sum().backward()
        grads.append(p.grad)
    assert_close(grads[0], grads[1], rtol=1e-12, atol=1e-14)
