"""Tensor factories, dtype inference, and the Tensor attributes and conversions they feed."""

import numpy as np
import pytest

import dist_torch as torch

try:
    import ml_dtypes
except ImportError:  # pragma: no cover
    ml_dtypes = None


@pytest.fixture
def default_float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def arr(t):
    return np.asarray(t.detach())


# ----------------------------------------------------------------------------- tensor()

@pytest.mark.parametrize("data, dtype, shape", [
    ([[1, 2], [3, 4]], torch.int64, (2, 2)),
    ([1.0, 2], torch.float32, (2,)),
    ([True, False], torch.bool, (2,)),
    ([True, 2], torch.int64, (2,)),
    ([1, 2.5], torch.float32, (2,)),
    ([True, 2.5], torch.float32, (2,)),
    (3, torch.int64, ()),
    (3.5, torch.float32, ()),
    (False, torch.bool, ()),
    ([], torch.float32, (0,)),
    ([[], []], torch.float32, (2, 0)),
    ((1, 2), torch.int64, (2,)),
    (range(3), torch.int64, (3,)),
    (np.float64(1.5), torch.float64, ()),
    (np.int32(2), torch.int32, ()),
    ([np.float64(1.5), np.float64(2)], torch.float64, (2,)),
    ([np.int32(1), np.int32(2)], torch.int32, (2,)),
    ([np.float16(1), 2], torch.float16, (2,)),
    ([np.float16(1), 2.5], torch.float32, (2,)),
    ([True, np.int8(3)], torch.int8, (2,)),
])
def test_tensor_dtype_inference(data, dtype, shape):
    t = torch.tensor(data)
    assert t.dtype is dtype and tuple(t.shape) == shape


def test_tensor_from_lists_of_tensors_promotes_their_dtypes():
    assert torch.tensor([torch.tensor(1.5), torch.tensor(2.5)]).dtype is torch.float32
    assert torch.tensor([torch.tensor(1), torch.tensor(2)]).dtype is torch.int64
    t = torch.tensor([torch.tensor(1.0, dtype=torch.float64), torch.tensor(2.0)])
    assert t.dtype is torch.float64 and t.tolist() == [1.0, 2.0]
    assert torch.tensor([1, torch.tensor(2, dtype=torch.int32)]).dtype is torch.int64
    assert torch.tensor([torch.tensor(2, dtype=torch.int32),
                         torch.tensor(2, dtype=torch.int16)]).dtype is torch.int32


@pytest.mark.parametrize("np_dtype, dtype", [
    (np.float64, torch.float64), (np.float32, torch.float32), (np.float16, torch.float16),
    (np.int64, torch.int64), (np.int32, torch.int32), (np.int16, torch.int16),
    (np.int8, torch.int8), (np.uint8, torch.uint8), (np.bool_, torch.bool),
])
def test_tensor_keeps_numpy_dtypes_and_copies(np_dtype, dtype):
    a = np.array([1, 0, 1], dtype=np_dtype)
    t = torch.tensor(a)
    assert t.dtype is dtype
    a[0] = 0
    assert t.tolist()[0] == 1  # a copy, not a view


def test_tensor_of_a_tensor_and_dtype_argument():
    src = torch.tensor([1, 2], dtype=torch.int32)
    t = torch.tensor(src)
    assert t.dtype is torch.int32 and not np.shares_memory(arr(t), arr(src))
    assert torch.tensor([1.7, -2.7], dtype=torch.int32).tolist() == [1, -2]
    assert torch.tensor([1, 2], dtype=torch.float64).dtype is torch.float64
    noncontig = np.arange(6).reshape(2, 3).T
    assert torch.tensor(noncontig).tolist() == noncontig.tolist()


def test_tensor_requires_grad():
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None
    for bad in ([1, 2], [True]):
        with pytest.raises(RuntimeError, match="floating point"):
            torch.tensor(bad, requires_grad=True)


@pytest.mark.parametrize("data, exc, match", [
    ([[1, 2], [3]], ValueError, "sequence"),
    ("a", TypeError, "str"),
    (["a"], TypeError, "str"),
    (None, RuntimeError, "Could not infer dtype of NoneType"),
    ([1, None], RuntimeError, "Could not infer dtype of NoneType"),
    ([2**63], ValueError, "Overflow"),
    ([2**64], ValueError, "Overflow"),
    (np.array([1, 2], np.uint16), TypeError, "can't convert np.ndarray of type uint16"),
    (np.array([1, 2], np.complex64), TypeError, "complex64"),
    (np.array(["a"]), TypeError, "can't convert np.ndarray"),
])
def test_tensor_errors(data, exc, match):
    with pytest.raises(exc, match=match):
        torch.tensor(data)


# ----------------------------------------------------------------------------- memory sharing

def test_as_tensor_and_from_numpy_share_memory():
    a = np.zeros(3, dtype=np.float32)
    for t in (torch.as_tensor(a), torch.from_numpy(a), torch.asarray(a)):
        a[1] = 5
        assert t.tolist() == [0.0, 5.0, 0.0]
        a[1] = 0
    t = torch.from_numpy(a)
    t.numpy()[2] = 7
    assert a[2] == 7


def test_as_tensor_copies_when_it_must():
    a = np.zeros(3, dtype=np.float32)
    t = torch.as_tensor(a, dtype=torch.float64)
    a[0] = 1
    assert t.dtype is torch.float64 and t.tolist()[0] == 0
    src = torch.tensor([1.0])
    assert torch.as_tensor(src) is src
    assert torch.as_tensor([1, 2]).dtype is torch.int64
    assert torch.asarray([1.0], requires_grad=True).requires_grad


def test_from_numpy_errors_and_0d():
    with pytest.raises(TypeError, match="expected np.ndarray"):
        torch.from_numpy([1, 2])
    with pytest.raises(TypeError, match="uint16"):
        torch.from_numpy(np.zeros(2, np.uint16))
    t = torch.from_numpy(np.array(2.5))
    assert t.dim() == 0 and t.dtype is torch.float64


def test_numpy_shares_memory_and_refuses_requires_grad():
    t = torch.zeros(3)
    t.numpy()[0] = 4
    assert t.tolist()[0] == 4
    g = torch.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        g.numpy()
    assert g.numpy(force=True).shape == (3,)
    assert np.shares_memory(g.detach().numpy(), g.numpy(force=True))


# ----------------------------------------------------------------------------- filled factories

@pytest.mark.parametrize("factory, value", [(torch.zeros, 0), (torch.ones, 1)])
@pytest.mark.parametrize("size", [(2, 3), ((2, 3),), ([2, 3],), (torch.Size([2, 3]),)])
def test_zeros_ones_size_forms(factory, value, size):
    t = factory(*size)
    assert tuple(t.shape) == (2, 3) and t.dtype is torch.float32
    assert (arr(t) == value).all()


def test_factory_dtype_device_requires_grad_and_out():
    assert torch.zeros(2, dtype=torch.int32).tolist() == [0, 0]
    assert torch.ones(2, dtype=torch.bool).tolist() == [True, True]
    assert torch.zeros(()).dim() == 0
    e = torch.empty(2, 3, dtype=torch.float64)
    assert tuple(e.shape) == (2, 3) and e.dtype is torch.float64
    t = torch.ones(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert torch.zeros(2, device="cpu").device == torch.device("cpu")
    out = torch.empty(5)
    assert torch.zeros(2, 2, out=out) is out and tuple(out.shape) == (2, 2)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: torch.zeros(2, -1), RuntimeError, "negative"),
    (lambda: torch.ones(-3), RuntimeError, r"negative dimension -3: \[-3\]"),
    (lambda: torch.empty(2, -1), RuntimeError, r"negative dimension -1: \[2, -1\]"),
    (lambda: torch.full((-1,), 2), RuntimeError, "negative dimension"),
    (lambda: torch.zeros(2.5), TypeError, "must be tuple of ints"),
    (lambda: torch.zeros(2, dtype=torch.int32, requires_grad=True), RuntimeError,
     "floating point"),
    (lambda: torch.zeros(2, dtype="float32"), TypeError, "dtype"),
])
def test_factory_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("fill, kwargs, dtype, expected", [
    (3, {}, torch.int64, [3, 3]),
    (3.0, {}, torch.float32, [3.0, 3.0]),
    (True, {}, torch.bool, [True, True]),
    (3, {"dtype": torch.float16}, torch.float16, [3.0, 3.0]),
    (1.5, {"dtype": torch.int64}, torch.int64, [1, 1]),
    (np.float64(1.5), {}, torch.float32, [1.5, 1.5]),
])
def test_full_infers_dtype_from_the_fill_value(fill, kwargs, dtype, expected):
    t = torch.full((2,), fill, **kwargs)
    assert t.dtype is dtype and t.tolist() == expected


def test_full_with_a_tensor_value_and_list_size():
    assert torch.full([2, 2], torch.tensor(2.5)).tolist() == [[2.5, 2.5], [2.5, 2.5]]


def test_like_factories():
    src = torch.tensor([[1, 2]], dtype=torch.int32)
    for fn, value in ((torch.zeros_like, 0), (torch.ones_like, 1)):
        t = fn(src)
        assert t.dtype is torch.int32 and tuple(t.shape) == (1, 2) and (arr(t) == value).all()
    assert torch.empty_like(src).shape == src.shape
    assert torch.zeros_like(src, dtype=torch.float64).dtype is torch.float64
    assert torch.full_like(src, 2.7).tolist() == [[2, 2]]  # the fill is cast to int32
    assert torch.full_like(torch.tensor([1.0]), 7).tolist() == [7.0]
    assert torch.full_like(src, 2.5, dtype=torch.float32).tolist() == [[2.5, 2.5]]
    r = torch.ones_like(torch.tensor([1.0, 2.0]), requires_grad=True)
    assert r.requires_grad and r.is_leaf
    assert not torch.ones_like(torch.tensor([1.0], requires_grad=True)).requires_grad


def test_scalar_tensor():
    t = torch.scalar_tensor(3)
    assert t.dim() == 0 and t.dtype is torch.float32 and t.item() == 3.0
    assert torch.scalar_tensor(True, dtype=torch.bool).item() is True


# ----------------------------------------------------------------------------- ranges

@pytest.mark.parametrize("args, kwargs, expected, dtype", [
    ((5,), {}, [0, 1, 2, 3, 4], torch.int64),
    ((2, 8, 3), {}, [2, 5], torch.int64),
    ((5, 0, -2), {}, [5, 3, 1], torch.int64),
    ((1.0, 2.5), {}, [1.0, 2.0], torch.float32),
    ((1, 0, -0.25), {}, [1.0, 0.75, 0.5, 0.25], torch.float32),
    ((0,), {}, [], torch.int64),
    ((3, 3), {}, [], torch.int64),
    ((4,), {"dtype": torch.float64}, [0.0, 1.0, 2.0, 3.0], torch.float64),
    ((0.5, 3), {"dtype": torch.int32}, [0, 1, 2], torch.int32),
    ((), {"start": 1, "end": 4}, [1, 2, 3], torch.int64),
    ((), {"end": 3}, [0, 1, 2], torch.int64),
])
def test_arange_values(args, kwargs, expected, dtype):
    t = torch.arange(*args, **kwargs)
    assert t.dtype is dtype
    np.testing.assert_allclose(arr(t).astype(np.float64), expected, rtol=1e-6)
    assert len(t) == len(expected)


@pytest.mark.parametrize("start, end, step, length", [
    (0, 1, 0.1, 10), (-1, 1, 0.01, 200), (0, 0.3, 0.1, 3), (1, 1.0000001, 0.5, 1),
    (10, -10, -3, 7), (0, 10, 3, 4),
])
def test_arange_lengths(start, end, step, length):
    assert torch.arange(start, end, step).numel() == length


def test_arange_follows_the_default_dtype(default_float64):
    assert torch.arange(0.0, 1.0, 0.5).dtype is torch.float64
    assert torch.arange(3).dtype is torch.int64


@pytest.mark.parametrize("call, exc, match", [
    (lambda: torch.arange(0, 5, 0), RuntimeError, "step must be nonzero"),
    (lambda: torch.arange(0, 5, -1), RuntimeError,
     "upper bound and lower bound inconsistent with step sign"),
    (lambda: torch.arange(0, float("nan")), RuntimeError, "unsupported range: 0 -> nan"),
    (lambda: torch.arange(float("-inf"), 0), RuntimeError, "unsupported range"),
    (lambda: torch.arange(3, dtype=torch.bool), NotImplementedError, "arange_cpu"),
    (lambda: torch.arange(3, requires_grad=True), RuntimeError, "floating point"),
])
def test_arange_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("args, kwargs, expected", [
    ((0, 1, 5), {}, [0.0, 0.25, 0.5, 0.75, 1.0]),
    ((3, 10, 1), {}, [3.0]),
    ((3, 10, 0), {}, []),
    ((10, -3, 3), {}, [10.0, 3.5, -3.0]),
    ((0, 10, 4), {"dtype": torch.int64}, [0, 3, 6, 10]),
    ((-3.2, 7.9, 10), {"dtype": torch.int64}, [-3, -1, 0, 0, 1, 2, 3, 4, 5, 7]),
    ((0, 1, 3), {"dtype": torch.float64}, [0.0, 0.5, 1.0]),
])
def test_linspace_values(args, kwargs, expected):
    t = torch.linspace(*args, **kwargs)
    assert t.tolist() == expected


def test_linspace_matches_exact_float32_rounding():
    # torch rounds the step to float32 and fills the second half from the end.
    t = torch.linspace(10, -3, 7)
    assert t.tolist() == [10.0, 7.8333330154418945, 5.666666507720947, 3.500000238418579,
                          1.3333334922790527, -0.8333332538604736, -3.0]


@pytest.mark.parametrize("args, kwargs, expected", [
    ((0, 2, 3), {}, [1.0, 10.0, 100.0]),
    ((0, 4, 5), {"base": 2}, [1.0, 2.0, 4.0, 8.0, 16.0]),
    ((0, 2, 0), {}, []),
    ((2, 3, 1), {}, [100.0]),
    ((-2, 2, 5), {"dtype": torch.int64}, [0, 0, 1, 10, 100]),
    ((0.4, 2.8, 9), {"dtype": torch.int64}, [1, 1, 3, 5, 10, 17, 31, 56, 100]),
])
def test_logspace_values(args, kwargs, expected):
    np.testing.assert_allclose(torch.logspace(*args, **kwargs).tolist(), expected, rtol=1e-6)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: torch.linspace(0, 1, -1), RuntimeError, "number of steps must be non-negative"),
    (lambda: torch.logspace(0, 1, -1), RuntimeError, "number of steps must be non-negative"),
    (lambda: torch.linspace(0, 1, 2.0), TypeError, "steps"),
    (lambda: torch.linspace(0, 1, 3, dtype=torch.bool), NotImplementedError, "linspace_cpu"),
])
def test_linspace_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_eye():
    np.testing.assert_array_equal(arr(torch.eye(3)), np.eye(3))
    assert torch.eye(3).dtype is torch.float32
    np.testing.assert_array_equal(arr(torch.eye(2, 4)), np.eye(2, 4))
    assert tuple(torch.eye(0).shape) == (0, 0)
    assert torch.eye(2, dtype=torch.int64).tolist() == [[1, 0], [0, 1]]
    assert torch.eye(2, dtype=torch.bool).tolist() == [[True, False], [False, True]]
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0, got -1"):
        torch.eye(-1)
    with pytest.raises(RuntimeError, match="m must be greater or equal to 0, got -1"):
        torch.eye(2, -1)


# ----------------------------------------------------------------------------- default dtype

def test_default_dtype_drives_python_floats_and_factories(default_float64):
    assert torch.get_default_dtype() is torch.float64
    for t in (torch.tensor([1.5]), torch.tensor(2.0), torch.zeros(2), torch.ones(1),
              torch.full((1,), 1.5), torch.linspace(0, 1, 2), torch.eye(2), torch.empty(1),
              torch.Tensor([1.0])):
        assert t.dtype is torch.float64
    assert torch.tensor([1]).dtype is torch.int64


def test_set_default_dtype_rejects_non_floating_types():
    with pytest.raises(TypeError, match="only floating-point types are supported"):
        torch.set_default_dtype(torch.int64)
    assert torch.get_default_dtype() is torch.float32


# ----------------------------------------------------------------------------- attributes

def test_shape_size_dim_numel():
    t = torch.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, torch.Size)
    assert t.size() == torch.Size([2, 3, 4])
    assert t.size(1) == 3 and t.size(-1) == 4
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-3, 2\], but got 3\)"):
        t.size(3)
    assert t.dim() == t.ndim == t.ndimension() == 3
    assert t.numel() == t.nelement() == 24
    assert t.dtype is torch.float32 and t.device == torch.device("cpu")
    assert str(t.device) == "cpu"


def test_is_leaf_and_transposes():
    x = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    assert x.is_leaf and not (x * 2).is_leaf and torch.zeros(1).is_leaf
    assert x.T.shape == (3, 1) and x.mT.shape == (3, 1)
    assert torch.zeros(2, 3, 4).T.shape == (4, 3, 2)
    assert torch.zeros(2, 3, 4).mT.shape == (2, 4, 3)
    with pytest.raises(RuntimeError, match="tensor.mT is only supported on matrices"):
        _ = torch.tensor([1, 2]).mT


def test_tolist_item_and_python_conversions():
    assert torch.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert torch.tensor(2.5).tolist() == 2.5
    assert torch.tensor([True]).tolist() == [True]
    assert torch.tensor([2.5]).item() == 2.5
    assert isinstance(torch.tensor(3).item(), int)
    assert torch.tensor(True).item() is True
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to "
                                           "Scalar"):
        torch.tensor([1, 2]).item()
    assert int(torch.tensor(2.7)) == 2 and int(torch.tensor(-2.7)) == -2
    assert float(torch.tensor(3)) == 3.0
    for conv in (int, float):
        with pytest.raises(ValueError, match="only one element tensors can be converted to "
                                             "Python scalars"):
            conv(torch.tensor([1.0, 2.0]))
    assert [10, 20, 30][torch.tensor(1)] == 20
    with pytest.raises(TypeError):
        [10, 20, 30][torch.tensor(1.0)]


def test_bool_of_tensors():
    assert bool(torch.tensor([0.5])) and not bool(torch.tensor(0))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is "
                                           "ambiguous"):
        bool(torch.tensor([1, 2]))


def test_len_iteration_and_array_protocol():
    t = torch.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    assert [row.tolist() for row in t] == [[1, 2], [3, 4], [5, 6]]
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(torch.tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(torch.tensor(1.0))
    a = np.asarray(t)
    assert a.dtype == np.int64 and a.tolist() == t.tolist()
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("method, dtype, src, expected", [
    ("float", torch.float32, [1, 2], [1.0, 2.0]),
    ("double", torch.float64, [1, 2], [1.0, 2.0]),
    ("long", torch.int64, [1.7, -1.7], [1, -1]),
    ("int", torch.int32, [1.7, -1.7], [1, -1]),
    ("short", torch.int16, [3.9], [3]),
    ("char", torch.int8, [3.9], [3]),
    ("byte", torch.uint8, [3.7, 200.2], [3, 200]),
    ("bool", torch.bool, [0.0, 0.5], [False, True]),
    ("half", torch.float16, [1 / 3], [0.333251953125]),
    ("bfloat16", torch.bfloat16, [1 / 3], [0.333984375]),
])
def test_dtype_conversion_methods(method, dtype, src, expected):
    t = getattr(torch.tensor(src), method)()
    assert t.dtype is dtype and t.tolist() == expected


def test_to_forms_and_copy():
    t = torch.tensor([1, 2])
    assert t.to(torch.float64).dtype is torch.float64
    assert t.to(dtype=torch.float32).dtype is torch.float32
    assert t.to("cpu") is t and t.to(torch.device("cpu")) is t and t.cpu() is t
    assert t.to(torch.int64) is t
    assert t.to(torch.tensor([1.0], dtype=torch.float16)).dtype is torch.float16
    assert t.to("cpu", torch.float32).dtype is torch.float32
    c = t.to(torch.int64, copy=True)
    assert c is not t and not np.shares_memory(arr(c), arr(t))
    assert t.to("cpu", copy=True) is not t
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        t.to("foo")


def test_to_keeps_autograd_history():
    x = torch.tensor([1.5], requires_grad=True)
    y = x.to(torch.float64)
    assert y.grad_fn.name() == "ToCopyBackward0"
    y.sum().backward()
    assert x.grad.dtype is torch.float32 and x.grad.tolist() == [1.0]
    assert not x.to(torch.int64).requires_grad


def test_detach_clone_contiguous():
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    d = t.detach()
    assert not d.requires_grad and np.shares_memory(arr(d), t.numpy(force=True))
    c = t.clone()
    assert c.requires_grad and c.grad_fn.name() == "CloneBackward0"
    assert not np.shares_memory(arr(c), t.numpy(force=True))
    m = torch.tensor([[1, 2], [3, 4]])
    assert m.contiguous() is m
    assert not m.T.is_contiguous() and m.T.contiguous().is_contiguous()
    assert m.T.contiguous().tolist() == [[1, 3], [2, 4]]


def test_size_behaves_like_torch_size():
    s = torch.Size([2, 3, 4])
    assert repr(s) == str(s) == "torch.Size([2, 3, 4])"
    assert s.numel() == 24 and torch.Size([]).numel() == 1
    assert repr(s[1:]) == "torch.Size([3, 4])" and s[-1] == 4
    assert s == (2, 3, 4) and isinstance(s + (5,), torch.Size)
    assert repr(torch.Size([])) == "torch.Size([])"


# ----------------------------------------------------------------------------- bfloat16

@pytest.mark.skipif(ml_dtypes is None, reason="bfloat16 needs ml_dtypes")
def test_bfloat16_creation_and_rounding():
    t = torch.tensor([1 / 3, 2 / 3, 255.5, 256.5, -1e-3], dtype=torch.bfloat16)
    assert t.dtype is torch.bfloat16 and t.element_size() == 2
    assert t.float().tolist() == [0.333984375, 0.66796875, 256.0, 256.0, -0.00099945068359375]
    assert torch.tensor([1 / 3], dtype=torch.float64).to(torch.bfloat16).item() == 0.333984375
    assert torch.zeros(2, dtype=torch.bfloat16).tolist() == [0.0, 0.0]
    assert torch.full((2,), 1 / 3, dtype=torch.bfloat16).float().tolist() == [0.333984375] * 2
    assert torch.tensor([1.0], dtype=torch.bfloat16, requires_grad=True).requires_grad
    assert torch.tensor([1.0], dtype=torch.bfloat16).is_floating_point()
