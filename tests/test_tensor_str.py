"""Tensor printing: repr strings as torch prints them, and set_printoptions."""

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import _tensor_str

NAN, INF = float("nan"), float("inf")


@pytest.fixture(autouse=True)
def default_print_options():
    yield
    torch.set_printoptions(profile="default")


@pytest.fixture
def default_float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


EXPECTED = [
    (lambda: torch.tensor([[1, 2, 3], [4, 5, 6]]), "tensor([[1, 2, 3],\n        [4, 5, 6]])"),
    (lambda: torch.tensor([1.5, 2, 3]), "tensor([1.5000, 2.0000, 3.0000])"),
    (lambda: torch.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: torch.tensor(3.5), "tensor(3.5000)"),
    (lambda: torch.tensor(7), "tensor(7)"),
    (lambda: torch.tensor(True), "tensor(True)"),
    (lambda: torch.zeros(0, 3), "tensor([], size=(0, 3))"),
    (lambda: torch.tensor([], dtype=torch.int64), "tensor([], dtype=torch.int64)"),
    (lambda: torch.zeros(0), "tensor([])"),
    (lambda: torch.zeros(2, 0, 3, dtype=torch.int32),
     "tensor([], size=(2, 0, 3), dtype=torch.int32)"),
    (lambda: torch.tensor([True, False]), "tensor([ True, False])"),
    (lambda: torch.tensor([1, 2], dtype=torch.int32), "tensor([1, 2], dtype=torch.int32)"),
    (lambda: torch.tensor([2**40, -3]), "tensor([1099511627776,            -3])"),
    (lambda: torch.tensor([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (lambda: torch.tensor([1e10, 1.0]), "tensor([1.0000e+10, 1.0000e+00])"),
    (lambda: torch.tensor([123456789.0]), "tensor([1.2346e+08])"),
    (lambda: torch.tensor([0.1, 100.0]), "tensor([  0.1000, 100.0000])"),
    (lambda: torch.tensor([-1.5, 20.25]), "tensor([-1.5000, 20.2500])"),
    (lambda: torch.tensor([NAN, INF, -INF]), "tensor([nan, inf, -inf])"),
    (lambda: torch.tensor([NAN, 1.5, -0.0]), "tensor([   nan, 1.5000, -0.0000])"),
    (lambda: torch.tensor([1.0, 2.0], dtype=torch.float64),
     "tensor([1., 2.], dtype=torch.float64)"),
    (lambda: torch.tensor([1 / 3], dtype=torch.bfloat16), "tensor([0.3340], dtype=torch.bfloat16)"),
    (lambda: torch.tensor([1 / 3, 60000], dtype=torch.float16),
     "tensor([3.3325e-01, 6.0000e+04], dtype=torch.float16)"),
    (lambda: torch.tensor(np.arange(8.0, dtype=np.float32).reshape(2, 2, 2)),
     "tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]])"),
    (lambda: torch.tensor(np.arange(12.0, dtype=np.float32).reshape(3, 4) / 7),
     "tensor([[0.0000, 0.1429, 0.2857, 0.4286],\n"
     "        [0.5714, 0.7143, 0.8571, 1.0000],\n"
     "        [1.1429, 1.2857, 1.4286, 1.5714]])"),
    (lambda: torch.tensor(np.arange(30.0, dtype=np.float32)),
     "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
     "        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n"
     "        28., 29.])"),
    (lambda: torch.tensor(np.arange(2000)), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    (lambda: torch.tensor(np.arange(1200.0, dtype=np.float32).reshape(40, 30)),
     "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 2.7000e+01, 2.8000e+01,\n"
     "         2.9000e+01],\n"
     "        [3.0000e+01, 3.1000e+01, 3.2000e+01,  ..., 5.7000e+01, 5.8000e+01,\n"
     "         5.9000e+01],\n"
     "        [6.0000e+01, 6.1000e+01, 6.2000e+01,  ..., 8.7000e+01, 8.8000e+01,\n"
     "         8.9000e+01],\n"
     "        ...,\n"
     "        [1.1100e+03, 1.1110e+03, 1.1120e+03,  ..., 1.1370e+03, 1.1380e+03,\n"
     "         1.1390e+03],\n"
     "        [1.1400e+03, 1.1410e+03, 1.1420e+03,  ..., 1.1670e+03, 1.1680e+03,\n"
     "         1.1690e+03],\n"
     "        [1.1700e+03, 1.1710e+03, 1.1720e+03,  ..., 1.1970e+03, 1.1980e+03,\n"
     "         1.1990e+03]])"),
    (lambda: torch.tensor([1.0, 2.0], requires_grad=True), "tensor([1., 2.], requires_grad=True)"),
    (lambda: torch.tensor([1.0, 2.0], requires_grad=True) * 2,
     "tensor([2., 4.], grad_fn=<MulBackward0>)"),
    (lambda: torch.tensor(1.5, dtype=torch.float64, requires_grad=True),
     "tensor(1.5000, dtype=torch.float64, requires_grad=True)"),
]


@pytest.mark.parametrize("make, expected", EXPECTED)
def test_repr_matches_torch_strings(make, expected):
    assert repr(make()) == expected


def test_str_and_format_are_repr():
    t = torch.tensor([1, 2])
    assert str(t) == repr(t) == f"{t}" == "tensor([1, 2])"
    assert f"{torch.tensor(2.5):.3f}" == "2.500"


def test_suffixes_wrap_past_the_line_width():
    t = torch.tensor([1.5, 2.25, 3, 4, 5, 6, 7, 8, 9, 10, 11], dtype=torch.float64,
                     requires_grad=True) * 2
    assert repr(t) == ("tensor([ 3.0000,  4.5000,  6.0000,  8.0000, 10.0000, 12.0000, 14.0000, "
                       "16.0000,\n        18.0000, 20.0000, 22.0000], dtype=torch.float64,\n"
                       "       grad_fn=<MulBackward0>)")
    t = torch.tensor([123456.5, 2.25, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], dtype=torch.float64,
                     requires_grad=True) * 2
    assert repr(t).endswith("2.4000e+01],\n       dtype=torch.float64, grad_fn=<MulBackward0>)")


def test_default_dtype_decides_the_dtype_suffix(default_float64):
    assert repr(torch.tensor([1.5, 2])) == "tensor([1.5000, 2.0000])"
    assert repr(torch.tensor([1.5, 2], dtype=torch.float32)) == \
        "tensor([1.5000, 2.0000], dtype=torch.float32)"
    assert repr(torch.zeros(0, dtype=torch.float32)) == "tensor([], dtype=torch.float32)"


def test_set_printoptions_precision_and_reset():
    torch.set_printoptions(precision=2)
    assert repr(torch.tensor([1.2345, 2.0])) == "tensor([1.23, 2.00])"
    torch.set_printoptions(profile="default")
    assert repr(torch.tensor([1.2345, 2.0])) == "tensor([1.2345, 2.0000])"


def test_set_printoptions_threshold_edgeitems_linewidth():
    torch.set_printoptions(threshold=5, edgeitems=2)
    assert repr(torch.tensor(np.arange(10))) == "tensor([0, 1,  ..., 8, 9])"
    torch.set_printoptions(profile="default", linewidth=20)
    assert repr(torch.tensor(np.arange(10))) == \
        "tensor([0, 1, 2, 3,\n        4, 5, 6, 7,\n        8, 9])"
    torch.set_printoptions(profile="full")
    assert "..." not in repr(torch.tensor(np.arange(2000)))
    torch.set_printoptions(profile="short")
    assert repr(torch.tensor([1 / 3])) == "tensor([0.33])"


def test_edgeitems_zero_prints_the_size():
    torch.set_printoptions(edgeitems=0, threshold=3)
    assert repr(torch.tensor(np.arange(10))) == "tensor([...], size=(10,))"


def test_sci_mode_forced_on_and_off():
    torch.set_printoptions(sci_mode=True)
    assert repr(torch.tensor([1.0, 2.0])) == "tensor([1.0000e+00, 2.0000e+00])"
    torch.set_printoptions(sci_mode=False)
    assert repr(torch.tensor([1e-5, 1.0])) == "tensor([0.0000, 1.0000])"
    torch.set_printoptions()  # an omitted sci_mode goes back to automatic, as in torch
    assert repr(torch.tensor([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"


def test_printoptions_context_and_get():
    with _tensor_str.printoptions(precision=1):
        assert repr(torch.tensor([0.25])) == "tensor([0.2])"
        assert _tensor_str.get_printoptions()["precision"] == 1
    assert _tensor_str.get_printoptions() == {"precision": 4, "threshold": 1000,
                                              "edgeitems": 3, "linewidth": 80,
                                              "sci_mode": None}


def test_unknown_profile():
    with pytest.raises(ValueError, match="profile"):
        torch.set_printoptions(profile="tiny")


def test_cuda_tensors_print_their_device(monkeypatch):
    # Exercises the CUDA code path without a GPU: a non-NumPy array type stands for CuPy's.
    class FakeCupy(np.ndarray):
        pass

    t = torch.tensor([1.0, 2.0])
    t._data = np.asarray(t._data).view(FakeCupy)
    monkeypatch.setattr(_tensor_str, "to_device", lambda a, d: np.asarray(a))
    monkeypatch.setattr(type(t), "device", property(lambda self: torch.device("cuda", 0)))
    assert repr(t) == "tensor([1., 2.], device='cuda:0')"


def test_subclass_prefix():
    class Buffer(torch.Tensor):
        pass

    t = torch.tensor([1, 2])
    t.__class__ = Buffer
    assert repr(t) == "Buffer([1, 2])"
