"""Loss functions and modules against torch: every option grid (weights, ignore_index incl. an
all-ignored batch, label smoothing, K-dim inputs, probability targets, reductions), forward and
gradients of input and float targets (float64), reprs, buffers, warnings and errors."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check, check_module

RNG = np.random.default_rng(3)
REDUCTIONS = ["mean", "sum", "none"]


def _classification_case(shape):
    """(logits, class-index targets) for an input layout."""
    if shape == "1d":
        return RNG.standard_normal(5), np.array(3)
    if shape == "2d":
        return RNG.standard_normal((6, 5)), np.array([1, 0, 4, 2, 2, 3])
    dims = {"3d": (2, 5, 3), "4d": (2, 5, 3, 2), "5d": (2, 5, 2, 2, 2)}[shape]
    return RNG.standard_normal(dims), RNG.integers(0, 5, (dims[0],) + dims[2:])


W = RNG.uniform(0.5, 2.0, 5)


@pytest.mark.parametrize("shape", ["1d", "2d", "3d", "4d", "5d"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_index_targets(shape, weighted, ignore_index, reduction, smoothing):
    x, t = _classification_case(shape)

    def fn(lib, x, t):
        weight = lib.tensor(W) if weighted else None
        return lib.nn.functional.cross_entropy(x, t, weight=weight, ignore_index=ignore_index,
                                               reduction=reduction, label_smoothing=smoothing)
    check(fn, x, t)


@pytest.mark.parametrize("shape", ["1d", "2d", "3d", "4d", "5d"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(shape, weighted, ignore_index, reduction):
    x, t = _classification_case(shape)

    def fn(lib, x, t):
        weight = lib.tensor(W) if weighted else None
        logp = lib.log_softmax(x, 0 if x.dim() == 1 else 1)
        return lib.nn.functional.nll_loss(logp, t, weight=weight, ignore_index=ignore_index,
                                          reduction=reduction)
    check(fn, x, t)


@pytest.mark.parametrize("name,smoothing", [("cross_entropy", 0.0), ("cross_entropy", 0.3),
                                            ("nll_loss", 0.0)])
@pytest.mark.parametrize("weighted", [False, True])
def test_all_targets_ignored(name, weighted, smoothing):
    extra = {"label_smoothing": smoothing} if smoothing else {}
    for reduction in REDUCTIONS:
        def fn(lib, x, t, reduction=reduction):
            weight = lib.tensor(W) if weighted else None
            return getattr(lib.nn.functional, name)(x, t, weight=weight, reduction=reduction,
                                                    ignore_index=1, **extra)
        check(fn, RNG.standard_normal((3, 5)), np.array([1, 1, 1]))  # mean: nan, zero grads


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_1d_input_with_one_element_target(name, reduction):
    # forward only: torch's backward rejects this layout ("size mismatch")
    check(lambda lib, x, t: getattr(lib.nn.functional, name)(x, t, reduction=reduction),
          RNG.standard_normal(5), np.array([2]), grad=False)


def test_cross_entropy_uint8_and_float32():
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    check(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t), x,
          np.array([1, 0, 4, 2], dtype=np.uint8), rtol=1e-6, atol=1e-7)
    check(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t, label_smoothing=0.1), x,
          np.array([1, 0, 4, 2]), rtol=1e-6, atol=1e-7)


def test_cross_entropy_extreme_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [50.0, 50.0, 50.0]])
    check(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t), x, np.array([0, 0, 2]))
    check(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t, label_smoothing=0.5), x,
          np.array([0, 0, 2]))


@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 5, 3), (2, 5, 2, 2)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets(shape, weighted, reduction, smoothing):
    x = RNG.standard_normal(shape)
    class_dim = 0 if len(shape) == 1 else 1
    p = np.exp(RNG.standard_normal(shape))
    p /= p.sum(axis=class_dim, keepdims=True)

    def fn(lib, x, t):
        weight = lib.tensor(W) if weighted else None
        return lib.nn.functional.cross_entropy(x, t, weight=weight, reduction=reduction,
                                               label_smoothing=smoothing)
    check(fn, x, p)


def test_cross_entropy_mixed_dtype_probabilities():
    x = RNG.standard_normal((3, 4))
    p = RNG.uniform(size=(3, 4))
    check(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t.float()), x, p, rtol=1e-6)
    check(lambda lib, x, t: lib.nn.functional.cross_entropy(x.float(), t), x, p, rtol=1e-6)


REGRESSION = [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {}), ("huber_loss", {"delta": 0.3}),
]


@pytest.mark.parametrize("name,kwargs", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses(name, kwargs, reduction):
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    check(lambda lib, a, b: getattr(lib.nn.functional, name)(a, b, reduction=reduction,
                                                             **kwargs), x, y)


@pytest.mark.parametrize("name,kwargs", REGRESSION)
def test_regression_broadcast_warns(name, kwargs):
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    for lib in (dt, torch):
        with pytest.warns(UserWarning, match=r"Using a target size \(torch.Size\(\[4\]\)\) that "
                                             r"is different to the input size \(torch.Size\(\[3,"
                                             r" 4\]\)\)"):
            getattr(lib.nn.functional, name)(lib.tensor(x), lib.tensor(y), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, a, b: getattr(lib.nn.functional, name)(a, b, **kwargs), x, y)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_weights(name, reduction):
    x, y, w = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4)), RNG.uniform(size=(3, 4))
    check(lambda lib, a, b, c: getattr(lib.nn.functional, name)(a, b, reduction=reduction,
                                                                weight=c), x, y, w)


def test_regression_mixed_dtypes():
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        # torch's huber_loss keeps the input dtype (and its backward fails on mixed dtypes)
        check(lambda lib, a, b, name=name: getattr(lib.nn.functional, name)(a.float(), b), x,
              y, rtol=1e-6, grad=name != "huber_loss")


@pytest.mark.parametrize("weight_shape", [None, (3, 4), (4,), (3, 1)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(weight_shape, reduction):
    x = RNG.uniform(0.02, 0.98, (3, 4))
    t = RNG.uniform(size=(3, 4))
    w = None if weight_shape is None else RNG.uniform(0.5, 2.0, weight_shape)

    def fn(lib, a, b):
        weight = None if w is None else lib.tensor(w)
        return lib.nn.functional.binary_cross_entropy(a, b, weight=weight, reduction=reduction)
    check(fn, x, t)


def test_binary_cross_entropy_clamps_log():
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-60, 0.5])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.5])
    check(lambda lib, a, b: lib.nn.functional.binary_cross_entropy(a, b, reduction="none"),
          x, t, rtol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(weighted, pos_weighted, reduction):
    x = RNG.standard_normal((3, 4)) * 4
    x[0, :2] = [80.0, -80.0]  # stable for large logits
    t = RNG.uniform(size=(3, 4))
    w, pw = RNG.uniform(0.5, 2, (3, 4)), RNG.uniform(0.5, 3, 4)

    def fn(lib, a, b):
        return lib.nn.functional.binary_cross_entropy_with_logits(
            a, b, weight=lib.tensor(w) if weighted else None,
            pos_weight=lib.tensor(pw) if pos_weighted else None, reduction=reduction)
    check(fn, x, t)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = np.log(RNG.dirichlet(np.ones(4), 3))
    t = RNG.dirichlet(np.ones(4), 3)
    t = np.log(t) if log_target else t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda lib, a, b: lib.nn.functional.kl_div(a, b, reduction=reduction,
                                                         log_target=log_target), x, t)


def test_kl_div_zero_targets():
    x = np.log(RNG.dirichlet(np.ones(4), 3))
    t = np.array([[0.0, 0.5, 0.5, 0.0]] * 3)
    check(lambda lib, a, b: lib.nn.functional.kl_div(a, b.detach(), reduction="sum"), x, t)


def test_kl_div_mean_warns():
    for lib in (dt, torch):
        with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
            lib.nn.functional.kl_div(lib.zeros(2, 2), lib.ones(2, 2) / 2)


def _f(lib):
    return lib.nn.functional


EXTRA = {
    "cosine_embedding_2d": (lambda lib, a, b, r: lib.nn.functional.cosine_embedding_loss(
        a, b, lib.tensor([1, -1, 1, -1]), margin=0.2, reduction=r),
        (4, 5), (4, 5)),
    "cosine_embedding_1d": (lambda lib, a, b, r: lib.nn.functional.cosine_embedding_loss(
        a, b, lib.tensor(-1), reduction=r), (5,), (5,)),
    "margin_ranking": (lambda lib, a, b, r: lib.nn.functional.margin_ranking_loss(
        a, b, lib.tensor([1.0, -1, 1, -1]), margin=0.3, reduction=r), (4,), (4,)),
    "hinge_embedding": (lambda lib, a, r: lib.nn.functional.hinge_embedding_loss(
        a, lib.tensor([[1.0, -1, 1], [-1, -1, 1]]), margin=0.7, reduction=r), (2, 3)),
    "soft_margin": (lambda lib, a, r: lib.nn.functional.soft_margin_loss(
        a, lib.tensor([[1.0, -1, 1], [-1, -1, 1]]), reduction=r), (2, 3)),
    "multilabel_soft_margin": (lambda lib, a, b, r: lib.nn.functional.multilabel_soft_margin_loss(
        a, b, reduction=r), (3, 4), (3, 4)),
    "multilabel_soft_margin_w": (lambda lib, a, r: lib.nn.functional.multilabel_soft_margin_loss(
        a, lib.tensor([[1.0, 0, 1, 0]] * 3), weight=lib.tensor([1.0, 2, 0.5, 1]), reduction=r),
        (3, 4)),
    "multi_margin": (lambda lib, a, r: lib.nn.functional.multi_margin_loss(
        a, lib.tensor([0, 3, 1]), reduction=r), (3, 4)),
    "multi_margin_p2_w": (lambda lib, a, r: lib.nn.functional.multi_margin_loss(
        a, lib.tensor([0, 3, 1]), p=2, margin=0.5,
        weight=lib.tensor([1.0, 2, 0.5, 1], dtype=lib.float64),
        reduction=r), (3, 4)),
    "multi_margin_1d": (lambda lib, a, r: lib.nn.functional.multi_margin_loss(
        a, lib.tensor([2]), reduction=r), (4,)),
    "multilabel_margin": (lambda lib, a, r: lib.nn.functional.multilabel_margin_loss(
        a, lib.tensor([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 1, 2, 3]]), reduction=r), (3, 4)),
    "multilabel_margin_1d": (lambda lib, a, r: lib.nn.functional.multilabel_margin_loss(
        a, lib.tensor([3, 0, -1, 1]), reduction=r), (4,)),
    "triplet": (lambda lib, a, b, c, r: lib.nn.functional.triplet_margin_loss(
        a, b, c, reduction=r), (4, 5), (4, 5), (4, 5)),
    "triplet_p1_swap": (lambda lib, a, b, c, r: lib.nn.functional.triplet_margin_loss(
        a, b, c, margin=2.0, p=1, swap=True, reduction=r), (4, 5), (4, 5), (4, 5)),
    "triplet_distance": (lambda lib, a, b, c, r: _f(lib).triplet_margin_with_distance_loss(
        a, b, c, distance_function=lambda u, v: 1 - _f(lib).cosine_similarity(u, v),
        swap=True, reduction=r), (4, 5), (4, 5), (4, 5)),
    "poisson_log": (lambda lib, a, r: lib.nn.functional.poisson_nll_loss(
        a, lib.tensor([[0.0, 1, 2], [3, 4, 0.5]]), reduction=r), (2, 3)),
    "poisson_full": (lambda lib, a, r: lib.nn.functional.poisson_nll_loss(
        a.abs() + 0.1, lib.tensor([[0.0, 1, 2], [3, 4, 0.5]]), log_input=False, full=True,
        reduction=r), (2, 3)),
    "gaussian": (lambda lib, a, b, v, r: lib.nn.functional.gaussian_nll_loss(
        a, b, v.abs() + 0.1, reduction=r), (3, 4), (3, 4), (3, 4)),
    "gaussian_full_vec": (lambda lib, a, b, v, r: lib.nn.functional.gaussian_nll_loss(
        a, b, v.abs() + 0.1, full=True, reduction=r), (3, 4), (3, 4), (3,)),
    "gaussian_col": (lambda lib, a, b, v, r: lib.nn.functional.gaussian_nll_loss(
        a, b, v.abs(), eps=0.05, reduction=r), (3, 4), (3, 4), (3, 1)),
}


@pytest.mark.parametrize("name", sorted(EXTRA))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_other_losses(name, reduction):
    fn, *shapes = EXTRA[name]
    arrays = [RNG.standard_normal(s) for s in shapes]
    check(lambda lib, *t: fn(lib, *t, reduction), *arrays)


MODULES = [
    ("CrossEntropyLoss", (), {}, "index"), ("CrossEntropyLoss", (), {"label_smoothing": 0.1,
                                                                      "ignore_index": 1}, "index"),
    ("CrossEntropyLoss", (), {"weight": W, "reduction": "sum"}, "index"),
    ("CrossEntropyLoss", (), {}, "prob"), ("NLLLoss", (), {"weight": W}, "index"),
    ("NLLLoss", (), {"reduction": "none"}, "index"), ("MSELoss", (), {}, "float"),
    ("L1Loss", (), {"reduction": "sum"}, "float"), ("SmoothL1Loss", (), {"beta": 0.5}, "float"),
    ("HuberLoss", (), {"delta": 0.5}, "float"), ("BCELoss", (), {"weight": W}, "unit"),
    ("BCEWithLogitsLoss", (), {"pos_weight": W}, "unit"),
    ("BCEWithLogitsLoss", (), {"weight": W, "reduction": "none"}, "unit"),
    ("KLDivLoss", (), {"reduction": "batchmean", "log_target": True}, "float"),
    ("SoftMarginLoss", (), {}, "sign"), ("HingeEmbeddingLoss", (1.5,), {}, "sign"),
    ("MultiLabelSoftMarginLoss", (), {"weight": W}, "unit"),
    ("MultiMarginLoss", (2, 0.5), {"weight": W}, "index"), ("PoissonNLLLoss", (), {}, "float"),
]


def _targets(kind):
    if kind == "index":
        return np.array([1, 0, 4, 2])
    if kind == "prob":
        return RNG.dirichlet(np.ones(5), 4)
    if kind == "unit":
        return RNG.uniform(size=(4, 5))
    if kind == "sign":
        return np.sign(RNG.standard_normal((4, 5)))
    return RNG.standard_normal((4, 5))


@pytest.mark.parametrize("name,args,kwargs,kind", MODULES)
def test_modules(name, args, kwargs, kind):
    def make(lib):
        kw = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        return getattr(lib.nn, name)(*args, **kw)
    ours, theirs = make(dt), make(torch)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert sorted(ours._buffers) == sorted(theirs._buffers)
    x = RNG.uniform(0.05, 0.95, (4, 5)) if name == "BCELoss" else RNG.standard_normal((4, 5))
    if name == "SoftMarginLoss":  # torch refuses targets that require grad here
        ours.forward = _detached_target(ours.forward)
        theirs.forward = _detached_target(theirs.forward)
    check_module(ours, theirs, x, _targets(kind))


def _detached_target(forward):
    return lambda x, target: forward(x, target.detach())


def test_three_input_modules():
    a, b, c = (RNG.standard_normal((4, 5)) for _ in range(3))
    pairs = [
        (dt.nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True),
         torch.nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True), (a, b, c)),
        (dt.nn.TripletMarginWithDistanceLoss(), torch.nn.TripletMarginWithDistanceLoss(),
         (a, b, c)),
        (dt.nn.CosineEmbeddingLoss(0.1), torch.nn.CosineEmbeddingLoss(0.1),
         (a, b, np.array([1, -1, 1, 1]))),
        (dt.nn.MarginRankingLoss(0.2), torch.nn.MarginRankingLoss(0.2),
         (a[:, 0], b[:, 0], np.sign(c[:, 0]))),
        (dt.nn.GaussianNLLLoss(full=True), torch.nn.GaussianNLLLoss(full=True),
         (a, b, np.abs(c) + 0.1)),
        (dt.nn.MultiLabelMarginLoss(), torch.nn.MultiLabelMarginLoss(),
         (a, np.array([[3, 0, -1, 1, 2]] * 4))),
    ]
    for ours, theirs, arrays in pairs:
        assert repr(ours) == repr(theirs)
        check_module(ours, theirs, *arrays)


def test_legacy_reduction_arguments():
    for kwargs in ({"size_average": False}, {"reduce": False}, {"size_average": True}):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            ours = dt.nn.MSELoss(**kwargs)
        with pytest.warns(UserWarning):
            theirs = torch.nn.MSELoss(**kwargs)
        assert ours.reduction == theirs.reduction
        with pytest.warns(UserWarning):
            check(lambda lib, a, b, kw=kwargs: lib.nn.functional.cross_entropy(a, b, **kw),
                  RNG.standard_normal((3, 4)), np.array([0, 3, 1]))


X45 = RNG.standard_normal((4, 5))
ERRORS = {
    "ce_oob": lambda lib: _f(lib).cross_entropy(lib.tensor(X45), lib.tensor([1, 10, 2, 3])),
    "ce_negative": lambda lib: _f(lib).cross_entropy(lib.tensor(X45), lib.tensor([1, -1, 2, 3])),
    "ce_oob_none": lambda lib: _f(lib).cross_entropy(lib.tensor(X45), lib.tensor([1, 10, 2, 3]),
                                                     reduction="none"),
    "ce_oob_kdim": lambda lib: _f(lib).cross_entropy(lib.zeros(1, 4, 5),
                                                     lib.tensor([[1, 10, 2, 3, 1]])),
    "nll_oob": lambda lib: _f(lib).nll_loss(lib.tensor(X45), lib.tensor([1, 5, 2, 3])),
    "ce_batch": lambda lib: _f(lib).cross_entropy(lib.tensor(X45), lib.tensor([1, 2, 3])),
    "nll_batch": lambda lib: _f(lib).nll_loss(lib.tensor(X45), lib.tensor([1, 2, 3])),
    "nll_0d_target": lambda lib: _f(lib).nll_loss(lib.tensor(X45), lib.tensor(1)),
    "ce_float_target": lambda lib: _f(lib).cross_entropy(lib.tensor(X45),
                                                         lib.tensor([1.0, 2, 3, 0])),
    "ce_int32_target": lambda lib: _f(lib).cross_entropy(
        lib.tensor(X45), lib.tensor([1, 2, 3, 0], dtype=lib.int32)),
    "nll_float_target": lambda lib: _f(lib).nll_loss(lib.tensor(X45), lib.tensor([1.0, 2, 3, 0])),
    "ce_multi_target": lambda lib: _f(lib).cross_entropy(lib.tensor(X45), lib.zeros(4, 4)),
    "ce_int_prob_target": lambda lib: _f(lib).cross_entropy(lib.tensor(X45),
                                                            lib.zeros(4, 5, dtype=lib.int64)),
    "ce_2d_target": lambda lib: _f(lib).cross_entropy(lib.tensor(X45),
                                                      lib.zeros(4, 1, dtype=lib.int64)),
    "ce_kdim_target": lambda lib: _f(lib).cross_entropy(lib.zeros(2, 3, 4),
                                                        lib.zeros(2, 5, dtype=lib.int64)),
    "nll_4d_target": lambda lib: _f(lib).nll_loss(lib.zeros(2, 3, 4, 5),
                                                  lib.zeros(2, 4, 4, dtype=lib.int64)),
    "nll_4d_target_rank": lambda lib: _f(lib).nll_loss(lib.zeros(2, 3, 4, 5),
                                                       lib.zeros(2, 4, dtype=lib.int64)),
    "ce_weight_size": lambda lib: _f(lib).cross_entropy(lib.tensor(X45), lib.tensor([1, 2, 3, 0]),
                                                        weight=lib.ones(3)),
    "ce_weight_dtype": lambda lib: _f(lib).cross_entropy(
        lib.zeros(4, 5), lib.tensor([1, 2, 3, 0]), weight=lib.ones(5, dtype=lib.float64)),
    "ce_weight_grad": lambda lib: _f(lib).cross_entropy(
        lib.tensor(X45), lib.tensor([1, 2, 3, 0]),
        weight=lib.ones(5, dtype=lib.float64, requires_grad=True)),
    "ce_reduction": lambda lib: _f(lib).cross_entropy(lib.tensor(X45), lib.tensor([1, 2, 3, 0]),
                                                      reduction="foo"),
    "ce_smoothing": lambda lib: _f(lib).cross_entropy(lib.tensor(X45), lib.tensor([1, 2, 3, 0]),
                                                      label_smoothing=1.5),
    "ce_0d_input": lambda lib: _f(lib).cross_entropy(lib.tensor(1.0), lib.tensor(0)),
    "ce_int_input": lambda lib: _f(lib).cross_entropy(lib.tensor([[1, 2]]), lib.tensor([0])),
    "mse_broadcast": lambda lib: _f(lib).mse_loss(lib.zeros(4, 5), lib.zeros(3)),
    "mse_int": lambda lib: _f(lib).mse_loss(lib.ones(3, dtype=lib.int64),
                                            lib.ones(3, dtype=lib.int64)),
    "mse_weight_shape": lambda lib: _f(lib).mse_loss(lib.zeros(4, 5), lib.zeros(4, 5),
                                                     weight=lib.ones(5)),
    "mse_reduction": lambda lib: _f(lib).mse_loss(lib.zeros(2), lib.zeros(2), reduction="x"),
    "smooth_l1_beta": lambda lib: _f(lib).smooth_l1_loss(lib.zeros(2), lib.zeros(2), beta=-1.0),
    "huber_delta": lambda lib: _f(lib).huber_loss(lib.zeros(2), lib.zeros(2), delta=0.0),
    "bce_range": lambda lib: _f(lib).binary_cross_entropy(lib.tensor([0.5, 1.5]), lib.zeros(2)),
    "bce_nan": lambda lib: _f(lib).binary_cross_entropy(lib.tensor([0.5, float("nan")]),
                                                        lib.zeros(2)),
    "bce_target_range": lambda lib: _f(lib).binary_cross_entropy(lib.tensor([0.5, 0.5]),
                                                                 lib.tensor([0.5, 2.0])),
    "bce_shape": lambda lib: _f(lib).binary_cross_entropy(lib.zeros(4, 5), lib.zeros(5)),
    "bce_weight": lambda lib: _f(lib).binary_cross_entropy(lib.zeros(4, 5), lib.zeros(4, 5),
                                                           weight=lib.ones(3)),
    "bce_dtype": lambda lib: _f(lib).binary_cross_entropy(lib.zeros(4, 5),
                                                          lib.zeros(4, 5, dtype=lib.float64)),
    "bce_int_target": lambda lib: _f(lib).binary_cross_entropy(lib.zeros(2),
                                                               lib.zeros(2, dtype=lib.int64)),
    "bce_weight_grad": lambda lib: _f(lib).binary_cross_entropy(
        lib.zeros(2), lib.zeros(2), weight=lib.ones(2, requires_grad=True)),
    "bcel_shape": lambda lib: _f(lib).binary_cross_entropy_with_logits(lib.zeros(4, 5),
                                                                       lib.zeros(5)),
    "bcel_int_target": lambda lib: _f(lib).binary_cross_entropy_with_logits(
        lib.zeros(2), lib.zeros(2, dtype=lib.int64)),
    "bcel_pos_weight": lambda lib: _f(lib).binary_cross_entropy_with_logits(
        lib.zeros(4, 5), lib.zeros(4, 5), pos_weight=lib.ones(3)),
    "bcel_pos_weight_grad": lambda lib: _f(lib).binary_cross_entropy_with_logits(
        lib.zeros(4, 5), lib.zeros(4, 5), pos_weight=lib.ones(5, requires_grad=True)),
    "kl_int": lambda lib: _f(lib).kl_div(lib.zeros(2), lib.ones(2, dtype=lib.int64),
                                         reduction="sum"),
    "kl_reduction": lambda lib: _f(lib).kl_div(lib.zeros(2), lib.zeros(2), reduction="foo"),
    "margin_ranking_dims": lambda lib: _f(lib).margin_ranking_loss(lib.zeros(3), lib.zeros(3),
                                                                   lib.zeros(3, 1)),
    "multi_margin_p": lambda lib: _f(lib).multi_margin_loss(lib.zeros(2, 3), lib.tensor([0, 1]),
                                                            p=3),
    "triplet_margin": lambda lib: _f(lib).triplet_margin_with_distance_loss(
        lib.zeros(2, 3), lib.zeros(2, 3), lib.zeros(2, 3), margin=0.0),
    "triplet_margin_negative": lambda lib: _f(lib).triplet_margin_loss(
        lib.zeros(2, 3), lib.zeros(2, 3), lib.zeros(2, 3), margin=-1),
    "triplet_dims": lambda lib: _f(lib).triplet_margin_loss(lib.zeros(2, 3), lib.zeros(2, 3),
                                                            lib.zeros(3)),
    "triplet_module_margin": lambda lib: lib.nn.TripletMarginWithDistanceLoss(margin=0),
    "multi_margin_weight_dtype": lambda lib: _f(lib).multi_margin_loss(
        lib.zeros(2, 3, dtype=lib.float64), lib.tensor([0, 1]), weight=lib.ones(3)),
    "multi_margin_target_dtype": lambda lib: _f(lib).multi_margin_loss(lib.zeros(2, 3),
                                                                       lib.tensor([0.0, 1])),
    "multi_margin_target_range": lambda lib: _f(lib).multi_margin_loss(lib.zeros(2, 3),
                                                                       lib.tensor([0, 7])),
    "multi_margin_target_size": lambda lib: _f(lib).multi_margin_loss(lib.zeros(2, 3),
                                                                      lib.tensor([0])),
    "multilabel_margin_range": lambda lib: _f(lib).multilabel_margin_loss(
        lib.zeros(2, 3), lib.tensor([[0, 7, -1]] * 2)),
    "multilabel_margin_size": lambda lib: _f(lib).multilabel_margin_loss(
        lib.zeros(2, 3), lib.tensor([[0, -1]] * 2)),
    "soft_margin_target_grad": lambda lib: _f(lib).soft_margin_loss(
        lib.zeros(2, 3), lib.ones(2, 3, requires_grad=True)),
    "cosine_embedding_target_rank": lambda lib: _f(lib).cosine_embedding_loss(
        lib.zeros(3, 4), lib.zeros(3, 4), lib.ones(3, 1)),
    "cosine_embedding_1d_target": lambda lib: _f(lib).cosine_embedding_loss(
        lib.zeros(3, 4), lib.zeros(4), lib.ones(3)),
    "cosine_embedding_0d_target": lambda lib: _f(lib).cosine_embedding_loss(
        lib.zeros(3, 4), lib.zeros(3, 4), lib.tensor(1.0)),
    "poisson_reduction": lambda lib: _f(lib).poisson_nll_loss(lib.zeros(2), lib.zeros(2),
                                                              reduction="x"),
    "gaussian_reduction": lambda lib: _f(lib).gaussian_nll_loss(lib.zeros(2), lib.zeros(2),
                                                                lib.ones(2), reduction="x"),
    "gaussian_negative_float_var": lambda lib: _f(lib).gaussian_nll_loss(
        lib.zeros(2), lib.zeros(2), -0.5),
    "nll_1d_input_2_targets": lambda lib: _f(lib).nll_loss(lib.zeros(5), lib.tensor([2, 1])),
    "nll_0d_input": lambda lib: _f(lib).nll_loss(lib.tensor(1.0), lib.tensor(0)),
    "nll_int_input": lambda lib: _f(lib).nll_loss(lib.zeros(2, 3, dtype=lib.int64),
                                                  lib.zeros(2, dtype=lib.int64)),
    "nll_float_target_bad_weight": lambda lib: _f(lib).nll_loss(
        lib.zeros(3, 4), lib.tensor([1.0, 2, 0]), weight=lib.ones(2)),
    "nll_bad_weight_oob": lambda lib: _f(lib).nll_loss(lib.zeros(3, 4), lib.tensor([1, 2, 9]),
                                                       weight=lib.ones(2)),
    "nll_weight_dtype_oob": lambda lib: _f(lib).nll_loss(
        lib.zeros(3, 4), lib.tensor([1, 2, 9]), weight=lib.ones(4, dtype=lib.float64)),
    "nll_3d_float_target": lambda lib: _f(lib).nll_loss(lib.zeros(2, 3, 4), lib.zeros(2, 4)),
    "nll_float_target_batch": lambda lib: _f(lib).nll_loss(lib.zeros(3, 4), lib.zeros(2, 2)),
    "gaussian_var_size": lambda lib: _f(lib).gaussian_nll_loss(lib.zeros(3, 4), lib.zeros(3, 4),
                                                               lib.ones(2)),
    "gaussian_negative_var": lambda lib: _f(lib).gaussian_nll_loss(
        lib.zeros(3, 4), lib.zeros(3, 4), -lib.ones(3, 4)),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors(case):
    assert_same_error(ERRORS[case])


def test_grad_fn_names():
    x = RNG.standard_normal((4, 5))
    t = np.array([1, 0, 4, 2])
    u = RNG.uniform(size=(4, 5))
    for fn in (lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(t)),
               lambda lib, a: lib.nn.functional.nll_loss(a, lib.tensor(t)),
               lambda lib, a: lib.nn.functional.mse_loss(a, lib.tensor(u)),
               lambda lib, a: lib.nn.functional.smooth_l1_loss(a, lib.tensor(u)),
               lambda lib, a: lib.nn.functional.huber_loss(a, lib.tensor(u)),
               lambda lib, a: lib.nn.functional.binary_cross_entropy(a.sigmoid(), lib.tensor(u)),
               lambda lib, a: lib.nn.functional.binary_cross_entropy_with_logits(
                   a, lib.tensor(u)),
               lambda lib, a: lib.nn.functional.nll_loss(a.reshape(1, 4, 5, 1),
                                                         lib.zeros(1, 5, 1, dtype=lib.int64)),
               lambda lib, a: lib.nn.functional.cross_entropy(a.reshape(1, 4, 5, 1),
                                                              lib.zeros(1, 5, 1, dtype=lib.int64)),
               lambda lib, a: lib.nn.functional.cross_entropy(a.reshape(1, 4, 5),
                                                              lib.zeros(1, 5, dtype=lib.int64))):
        ours = fn(dt, dt.tensor(x, requires_grad=True))
        theirs = fn(torch, torch.tensor(x, requires_grad=True))
        assert ours.grad_fn.name() == type(theirs.grad_fn).__name__


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_low_precision(dtype):
    x = RNG.standard_normal((4, 5))
    t = np.array([1, 0, 4, 2])
    u = RNG.uniform(size=(4, 5))
    tol = {"float16": 5e-3, "bfloat16": 3e-2, "float32": 1e-6}[dtype]
    for fn in (lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(t)),
               lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(t),
                                                              label_smoothing=0.1),
               lambda lib, a: lib.nn.functional.mse_loss(a, lib.tensor(u).to(a.dtype)),
               lambda lib, a: lib.nn.functional.binary_cross_entropy_with_logits(
                   a, lib.tensor(u).to(a.dtype))):
        results = []
        for lib in (dt, torch):
            a = lib.tensor(x).to(getattr(lib, dtype)).requires_grad_()
            out = fn(lib, a)
            out.backward()
            results.append((out, a.grad))
        (o, og), (t_, tg) = results
        assert str(o.dtype) == str(t_.dtype) and str(og.dtype) == str(tg.dtype)
        np.testing.assert_allclose(float(o.detach().float()), float(t_.detach().float()),
                                   rtol=tol, atol=tol)
        np.testing.assert_allclose(np.asarray(og.float()), tg.float().numpy(), rtol=tol,
                                   atol=tol)
