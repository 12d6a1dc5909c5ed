"""Factories and Tensor conversions vs torch: values, dtypes, shapes, grad flags, errors."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt


def _outcome(lib, fn):
    """What ``fn(lib)`` produced, in a library-neutral form."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fn(lib)
    except Exception as err:  # noqa: BLE001 - the class is what we compare
        return ("error", type(err).__name__)
    if isinstance(r, (torch.Tensor, dt.Tensor)):
        values = r.detach()
        if str(r.dtype) == "torch.bfloat16":
            values = values.float()
        return ("tensor", str(r.dtype), tuple(r.shape), r.requires_grad,
                np.asarray(values).tolist())
    if isinstance(r, (torch.Size, dt.Size)):
        return ("size", tuple(r))
    if isinstance(r, (torch.dtype, dt.dtype)):
        return ("dtype", str(r))
    return ("value", r)


def _same(fn):
    ours, theirs = _outcome(dt, fn), _outcome(torch, fn)
    if ours[0] == theirs[0] == "tensor" and ours[1] == theirs[1] and \
            ours[1] in ("torch.float32", "torch.float16", "torch.bfloat16"):
        # Values computed in float may differ from torch's vectorized arithmetic by an ulp.
        assert ours[:4] == theirs[:4]
        np.testing.assert_allclose(ours[4], theirs[4], rtol=2e-6, atol=1e-7)
    else:
        assert ours == theirs


X = (np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5)

CREATION = {
    "int_list": lambda lib: lib.tensor([[1, 2], [3, 4]]),
    "float_list": lambda lib: lib.tensor([1.0, 2]),
    "bool_list": lambda lib: lib.tensor([True, False]),
    "bool_int": lambda lib: lib.tensor([True, 2]),
    "int_float": lambda lib: lib.tensor([1, 2.5]),
    "bool_float": lambda lib: lib.tensor([True, 2.5]),
    "scalar_int": lambda lib: lib.tensor(3),
    "scalar_float": lambda lib: lib.tensor(3.5),
    "scalar_bool": lambda lib: lib.tensor(False),
    "empty_list": lambda lib: lib.tensor([]),
    "empty_nested": lambda lib: lib.tensor([[], []]),
    "ragged": lambda lib: lib.tensor([[1, 2], [3]]),
    "string": lambda lib: lib.tensor("a"),
    "none": lambda lib: lib.tensor(None),
    "none_in_list": lambda lib: lib.tensor([1, None]),
    "int_requires_grad": lambda lib: lib.tensor([1, 2], requires_grad=True),
    "float_requires_grad": lambda lib: lib.tensor([1.0, 2], requires_grad=True),
    "dtype_cast": lambda lib: lib.tensor([1.7, -2.7], dtype=lib.int32),
    "dtype_float64": lambda lib: lib.tensor([0.1, 1 / 3], dtype=lib.float64),
    "list_0d_tensors": lambda lib: lib.tensor([lib.tensor(1.5), lib.tensor(2.5)]),
    "list_0d_int_tensors": lambda lib: lib.tensor([lib.tensor(1), lib.tensor(2)]),
    "list_0d_f64": lambda lib: lib.tensor([lib.tensor(1.0, dtype=lib.float64), lib.tensor(2.0)]),
    "list_int_and_f64": lambda lib: lib.tensor([1, lib.tensor(2.0, dtype=lib.float64)]),
    "list_i32_i16": lambda lib: lib.tensor([lib.tensor(2, dtype=lib.int32),
                                            lib.tensor(2, dtype=lib.int16)]),
    "tensor_of_tensor": lambda lib: lib.tensor(lib.tensor([1, 2], dtype=lib.int32)),
    "np_scalar_f64": lambda lib: lib.tensor(np.float64(1.5)),
    "np_scalar_i32": lambda lib: lib.tensor(np.int32(2)),
    "list_np_f64": lambda lib: lib.tensor([np.float64(1.5), np.float64(2)]),
    "list_np_i32": lambda lib: lib.tensor([np.int32(1), np.int32(2)]),
    "list_np_f16_int": lambda lib: lib.tensor([np.float16(1), 2]),
    "list_np_f16_float": lambda lib: lib.tensor([np.float16(1), 2.5]),
    "list_np_arrays": lambda lib: lib.tensor([np.array([1.0, 2.0]), np.array([3.0, 4.0])]),
    "np_noncontiguous": lambda lib: lib.tensor(np.arange(6).reshape(2, 3).T),
    "big_int": lambda lib: lib.tensor([2**63]),
    "min_int": lambda lib: lib.tensor([-(2**63)]),
    "tuple": lambda lib: lib.tensor((1, 2)),
    "range": lambda lib: lib.tensor(range(3)),
    "as_tensor_list": lambda lib: lib.as_tensor([1, 2]),
    "as_tensor_dtype": lambda lib: lib.as_tensor([1, 2], dtype=lib.float64),
    "as_tensor_np": lambda lib: lib.as_tensor(np.array([1, 2], np.int16)),
    "asarray_rg": lambda lib: lib.asarray([1.0, 2.0], requires_grad=True),
    "from_numpy_list": lambda lib: lib.from_numpy([1, 2]),
    "from_numpy_f16": lambda lib: lib.from_numpy(np.array([1], np.float16)),
    "from_numpy_0d": lambda lib: lib.from_numpy(np.array(2.5)),
    "scalar_tensor": lambda lib: lib.scalar_tensor(3),
    "scalar_tensor_dtype": lambda lib: lib.scalar_tensor(3, dtype=lib.int64),
    "zeros": lambda lib: lib.zeros(2, 3),
    "zeros_tuple": lambda lib: lib.zeros((2, 3)),
    "zeros_size": lambda lib: lib.zeros(lib.Size([2, 3])),
    "zeros_0d": lambda lib: lib.zeros(()),
    "zeros_negative": lambda lib: lib.zeros(2, -1),
    "zeros_float_size": lambda lib: lib.zeros(2.5),
    "zeros_int32": lambda lib: lib.zeros(2, dtype=lib.int32),
    "zeros_int_rg": lambda lib: lib.zeros(2, dtype=lib.int32, requires_grad=True),
    "ones_bool": lambda lib: lib.ones(2, dtype=lib.bool),
    "ones_negative": lambda lib: lib.ones(-1),
    "ones_rg": lambda lib: lib.ones(2, requires_grad=True),
    "empty_shape": lambda lib: lib.empty(2, 3).shape,
    "empty_negative": lambda lib: lib.empty(-2),
    "full_int": lambda lib: lib.full((2,), 3),
    "full_float": lambda lib: lib.full((2,), 3.0),
    "full_bool": lambda lib: lib.full((2,), True),
    "full_dtype": lambda lib: lib.full((2,), 3, dtype=lib.float16),
    "full_float_to_int": lambda lib: lib.full((2,), 1.5, dtype=lib.int64),
    "full_list_size": lambda lib: lib.full([2, 2], 1.5),
    "full_tensor_value": lambda lib: lib.full((2,), lib.tensor(2.5)),
    "full_negative": lambda lib: lib.full((-1,), 2),
    "full_np_float": lambda lib: lib.full((2,), np.float64(1.5)),
    "zeros_like": lambda lib: lib.zeros_like(lib.tensor([1, 2])),
    "zeros_like_dtype": lambda lib: lib.zeros_like(lib.tensor([1, 2]), dtype=lib.float64),
    "ones_like_rg": lambda lib: lib.ones_like(lib.tensor([1.0, 2]), requires_grad=True),
    "ones_like_of_rg": lambda lib: lib.ones_like(lib.tensor([1.0, 2], requires_grad=True)),
    "full_like": lambda lib: lib.full_like(lib.tensor([1, 2]), 2.7),
    "full_like_float": lambda lib: lib.full_like(lib.tensor([1.0, 2]), 7),
    "full_like_bool": lambda lib: lib.full_like(lib.tensor([True]), 7),
    "full_like_dtype": lambda lib: lib.full_like(lib.tensor([1, 2]), 2.7, dtype=lib.float32),
    "empty_like": lambda lib: lib.empty_like(lib.tensor([[1, 2]])).shape,
    "eye": lambda lib: lib.eye(3),
    "eye_nm": lambda lib: lib.eye(2, 4),
    "eye_0": lambda lib: lib.eye(0),
    "eye_negative": lambda lib: lib.eye(-1),
    "eye_negative_m": lambda lib: lib.eye(2, -1),
    "eye_int": lambda lib: lib.eye(2, dtype=lib.int64),
    "eye_bool": lambda lib: lib.eye(2, dtype=lib.bool),
    "eye_f16": lambda lib: lib.eye(3, dtype=lib.float16),
    "eye_rg": lambda lib: lib.eye(2, requires_grad=True),
    "legacy_Tensor": lambda lib: lib.Tensor([1, 2]),
    "legacy_Tensor_sizes": lambda lib: lib.Tensor(2, 3).shape,
}

RANGES = {
    "arange": lambda lib: lib.arange(5),
    "arange_tenths": lambda lib: lib.arange(0, 1, 0.1),
    "arange_float": lambda lib: lib.arange(1.0, 2.5),
    "arange_negative_step": lambda lib: lib.arange(5, 0, -1),
    "arange_negative_float": lambda lib: lib.arange(1, 0, -0.25),
    "arange_step3": lambda lib: lib.arange(0, 10, 3),
    "arange_empty": lambda lib: lib.arange(0),
    "arange_equal": lambda lib: lib.arange(3, 3),
    "arange_bad_sign": lambda lib: lib.arange(0, 5, -1),
    "arange_zero_step": lambda lib: lib.arange(0, 5, 0),
    "arange_dtype": lambda lib: lib.arange(5, dtype=lib.float32),
    "arange_f64": lambda lib: lib.arange(0, 0.3, 0.1, dtype=lib.float64),
    "arange_f64_long": lambda lib: lib.arange(-3, 3, 0.0625, dtype=lib.float64),
    "arange_float_int_dtype": lambda lib: lib.arange(0.5, 3, dtype=lib.int32),
    "arange_tensor": lambda lib: lib.arange(lib.tensor(3)),
    "arange_hundredths": lambda lib: lib.arange(-1, 1, 0.01),
    "arange_rg": lambda lib: lib.arange(3.0, requires_grad=True),
    "arange_int_rg": lambda lib: lib.arange(3, requires_grad=True),
    "arange_nan": lambda lib: lib.arange(0, float("nan")),
    "arange_inf": lambda lib: lib.arange(0, float("inf")),
    "arange_bool": lambda lib: lib.arange(3, dtype=lib.bool),
    "arange_kw": lambda lib: lib.arange(start=1, end=4),
    "arange_end_kw": lambda lib: lib.arange(end=4),
    "linspace": lambda lib: lib.linspace(0, 1, 5),
    "linspace_0": lambda lib: lib.linspace(0, 1, 0),
    "linspace_1": lambda lib: lib.linspace(3, 10, 1),
    "linspace_negative": lambda lib: lib.linspace(0, 1, -1),
    "linspace_reversed": lambda lib: lib.linspace(10, -3, 7),
    "linspace_int": lambda lib: lib.linspace(0, 10, 4, dtype=lib.int64),
    "linspace_int_fractional": lambda lib: lib.linspace(-3.2, 7.9, 10, dtype=lib.int64),
    "linspace_f64": lambda lib: lib.linspace(0, 1, 7, dtype=lib.float64),
    "linspace_tensor_ends": lambda lib: lib.linspace(lib.tensor(0.0), lib.tensor(1.0), 3),
    "linspace_101": lambda lib: lib.linspace(-1.3, 7.1, 101),
    "linspace_float_steps": lambda lib: lib.linspace(0, 1, 2.0),
    "linspace_bool": lambda lib: lib.linspace(0, 1, 3, dtype=lib.bool),
    "linspace_u8": lambda lib: lib.linspace(0, 255, 4, dtype=lib.uint8),
    "linspace_f16": lambda lib: lib.linspace(-2.5, 9.75, 33, dtype=lib.float16),
    "linspace_bf16": lambda lib: lib.linspace(-2.5, 9.75, 33, dtype=lib.bfloat16),
    "linspace_rg": lambda lib: lib.linspace(0, 1, 3, requires_grad=True),
    "logspace": lambda lib: lib.logspace(0, 2, 3),
    "logspace_base2": lambda lib: lib.logspace(0, 4, 5, base=2),
    "logspace_0": lambda lib: lib.logspace(0, 2, 0),
    "logspace_1": lambda lib: lib.logspace(2, 3, 1),
    "logspace_f64": lambda lib: lib.logspace(-2, 2, 9, dtype=lib.float64),
    "logspace_f64_fractional": lambda lib: lib.logspace(-1.37, 2.91, 23, base=2.5,
                                                        dtype=lib.float64),
    "logspace_int": lambda lib: lib.logspace(0, 3, 4, dtype=lib.int64),
    "logspace_int_fractional": lambda lib: lib.logspace(-0.33, 1.06, 15, dtype=lib.int64),
    "logspace_negative": lambda lib: lib.logspace(0, 3, -4),
}

CONVERSIONS = {
    "shape": lambda lib: lib.tensor(X).shape,
    "size": lambda lib: lib.tensor(X).size(),
    "size_dim": lambda lib: lib.tensor(X).size(-1),
    "size_bad_dim": lambda lib: lib.tensor(X).size(5),
    "dims": lambda lib: (lib.tensor(X).dim(), lib.tensor(X).ndim, lib.tensor(X).ndimension()),
    "numel": lambda lib: (lib.tensor(X).numel(), lib.tensor(X).nelement()),
    "device": lambda lib: str(lib.tensor(X).device),
    "is_leaf": lambda lib: (lib.tensor(X).is_leaf, (lib.tensor(X, requires_grad=True) * 2).is_leaf),
    "T": lambda lib: lib.tensor(X).T,
    "mT": lambda lib: lib.tensor(X).mT,
    "mT_1d": lambda lib: lib.tensor([1, 2]).mT,
    "T_3d": lambda lib: lib.tensor(np.zeros((2, 3, 4))).T.shape,
    "tolist": lambda lib: lib.tensor(X).tolist(),
    "tolist_0d": lambda lib: lib.tensor(2.5).tolist(),
    "item": lambda lib: lib.tensor([2.5]).item(),
    "item_int": lambda lib: lib.tensor(3).item(),
    "item_many": lambda lib: lib.tensor([1, 2]).item(),
    "item_empty": lambda lib: lib.tensor([]).item(),
    "float": lambda lib: lib.tensor([1, 2]).float(),
    "double": lambda lib: lib.tensor([1, 2]).double(),
    "long": lambda lib: lib.tensor([1.7, -1.7]).long(),
    "int": lambda lib: lib.tensor([1.7, -1.7]).int(),
    "bool": lambda lib: lib.tensor([0.0, 0.5]).bool(),
    "half": lambda lib: lib.tensor([1 / 3]).half(),
    "bfloat16": lambda lib: lib.tensor([1 / 3, 2 / 3, 1e10, 3.14159]).bfloat16(),
    "bfloat16_tensor": lambda lib: lib.tensor([1 / 3, 255.5, 256.5, -1e-3], dtype=lib.bfloat16),
    "bfloat16_from_f64": lambda lib: lib.tensor([1 / 3], dtype=lib.float64).to(lib.bfloat16),
    "bfloat16_rg": lambda lib: lib.tensor([1 / 3], dtype=lib.bfloat16, requires_grad=True),
    "bfloat16_item": lambda lib: lib.tensor([1 / 3], dtype=lib.bfloat16).item(),
    "bfloat16_arange": lambda lib: lib.arange(0, 300, 7, dtype=lib.bfloat16),
    "bfloat16_full": lambda lib: lib.full((2,), 1 / 3, dtype=lib.bfloat16),
    "half_to_long": lambda lib: lib.tensor([2.5], dtype=lib.float16).long(),
    "float_to_uint8": lambda lib: lib.tensor([3.7, 200.2]).byte(),
    "to_dtype": lambda lib: lib.tensor([1, 2]).to(lib.float64),
    "to_device": lambda lib: lib.tensor([1, 2]).to("cpu"),
    "to_other": lambda lib: lib.tensor([1, 2]).to(lib.tensor([1.0], dtype=lib.float16)),
    "to_device_dtype": lambda lib: lib.tensor([1, 2]).to("cpu", lib.float32),
    "to_same_is_self": lambda lib: (lambda t: t.to(lib.int64) is t)(lib.tensor([1])),
    "to_copy": lambda lib: (lambda t: t.to(lib.int64, copy=True) is t)(lib.tensor([1])),
    "cpu_is_self": lambda lib: (lambda t: t.cpu() is t)(lib.tensor([1])),
    "to_rg": lambda lib: lib.tensor([1.0], requires_grad=True).to(lib.float64),
    "to_int_drops_grad": lambda lib: lib.tensor([1.5], requires_grad=True).to(lib.int64),
    "clone_rg": lambda lib: lib.tensor([1.0], requires_grad=True).clone(),
    "detach": lambda lib: lib.tensor([1.0], requires_grad=True).detach(),
    "len": lambda lib: len(lib.tensor(X)),
    "len_0d": lambda lib: len(lib.tensor(1.0)),
    "iterate": lambda lib: [r.tolist() for r in lib.tensor(X)],
    "iterate_0d": lambda lib: list(lib.tensor(1.0)),
    "array": lambda lib: np.asarray(lib.tensor(X)).tolist(),
    "array_dtype": lambda lib: str(np.asarray(lib.tensor(X), dtype=np.float64).dtype),
    "bool_many": lambda lib: bool(lib.tensor([1, 2])),
    "bool_one": lambda lib: (bool(lib.tensor([0.0])), bool(lib.tensor(2))),
    "bool_empty": lambda lib: bool(lib.tensor([])),
    "int_of": lambda lib: (int(lib.tensor(2.7)), int(lib.tensor(-2.7))),
    "float_of": lambda lib: float(lib.tensor(3)),
    "float_many": lambda lib: float(lib.tensor([1.0, 2.0])),
    "int_many": lambda lib: int(lib.tensor([1, 2])),
    "index": lambda lib: [10, 20, 30][lib.tensor(1)],
    "index_float": lambda lib: [10, 20, 30][lib.tensor(1.0)],
    "numpy_rg": lambda lib: lib.tensor([1.0], requires_grad=True).numpy(),
    "numpy_force": lambda lib: lib.tensor([1.0], requires_grad=True).numpy(force=True).tolist(),
    "size_repr": lambda lib: repr(lib.Size([2, 3])),
    "size_numel": lambda lib: lib.Size([2, 3, 4]).numel(),
    "size_slice": lambda lib: repr(lib.Size([2, 3, 4])[1:]),
    "size_add": lambda lib: repr(lib.Size([2]) + (3,)),
    "size_empty": lambda lib: (repr(lib.Size([])), lib.Size([]).numel()),
    "element_size": lambda lib: lib.tensor([1], dtype=lib.int16).element_size(),
    "nbytes": lambda lib: lib.zeros(3, 4).nbytes,
    "stride": lambda lib: (lib.zeros(3, 4).stride(), lib.zeros(3, 4).T.stride()),
    "type_name": lambda lib: lib.zeros(3).type(),
    "type_to": lambda lib: lib.zeros(3).type(lib.float64),
    "type_str": lambda lib: lib.zeros(3).type("torch.DoubleTensor"),
    "type_as": lambda lib: lib.zeros(3).type_as(lib.tensor([1])),
    "new_zeros": lambda lib: lib.tensor([1.0], dtype=lib.float64).new_zeros(2, 3),
    "new_full": lambda lib: lib.tensor([1.0]).new_full((2,), 7),
    "new_tensor": lambda lib: lib.tensor([1.0], dtype=lib.float64).new_tensor([1, 2]),
    "requires_grad_int": lambda lib: lib.zeros(2, dtype=lib.int64).requires_grad_(),
    "requires_grad_non_leaf": lambda lib: (lib.zeros(2, requires_grad=True) * 2)
    .requires_grad_(False),
}


@pytest.mark.parametrize("name", sorted(CREATION))
def test_creation_matches_torch(name):
    _same(CREATION[name])


@pytest.mark.parametrize("name", sorted(RANGES))
def test_ranges_match_torch(name):
    _same(RANGES[name])


@pytest.mark.parametrize("name", sorted(CONVERSIONS))
def test_conversions_match_torch(name):
    _same(CONVERSIONS[name])


def _random_linspace_cases(n=60, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        a, b = rng.uniform(-100, 100, 2).round(int(rng.integers(0, 4)))
        yield float(a), float(b), int(rng.integers(0, 200))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64",
                                   "int32", "uint8"])
def test_linspace_is_bit_exact_with_torch(dtype):
    for a, b, n in _random_linspace_cases():
        if dtype == "uint8":
            a, b = abs(a), abs(b)
        ours = dt.linspace(a, b, n, dtype=getattr(dt, dtype))
        theirs = torch.linspace(a, b, n, dtype=getattr(torch, dtype))
        np.testing.assert_array_equal(np.asarray(ours.double()), theirs.double().numpy(),
                                      err_msg=f"linspace({a}, {b}, {n})")


@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_logspace_is_bit_exact_with_torch(dtype):
    rng = np.random.default_rng(1)
    for k in range(40):
        a, b = rng.uniform(-5, 5, 2).round(int(rng.integers(0, 4)))
        n, base = int(rng.integers(0, 50)), (10.0, 2.0, 2.5)[k % 3]
        ours = dt.logspace(float(a), float(b), n, base=base, dtype=getattr(dt, dtype))
        theirs = torch.logspace(float(a), float(b), n, base=base, dtype=getattr(torch, dtype))
        np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())


@pytest.mark.parametrize("default", ["float64", "float16", "bfloat16"])
@pytest.mark.parametrize("name", ["float_list", "int_float", "zeros", "full_float", "full_int",
                                  "eye", "legacy_Tensor", "scalar_tensor", "list_np_f16_float"])
def test_default_dtype_effect_matches_torch(name, default):
    def under_default(lib):
        old = lib.get_default_dtype()
        lib.set_default_dtype(getattr(lib, default))
        try:
            return CREATION[name](lib)
        finally:
            lib.set_default_dtype(old)

    _same(under_default)


@pytest.mark.parametrize("default", ["float64", "float16"])
@pytest.mark.parametrize("name", ["arange_float", "arange_tenths", "linspace", "logspace"])
def test_default_dtype_of_ranges_matches_torch(name, default):
    def under_default(lib):
        old = lib.get_default_dtype()
        lib.set_default_dtype(getattr(lib, default))
        try:
            return RANGES[name](lib)
        finally:
            lib.set_default_dtype(old)

    _same(under_default)
