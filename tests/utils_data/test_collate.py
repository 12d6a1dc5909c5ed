"""default_collate / default_convert: structure, dtypes, shapes and errors."""

import collections
import types

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.utils.data import default_collate, default_convert
from dist_torch.utils.data._collate import collate, default_collate_fn_map

Point = collections.namedtuple("Point", "x y")


def test_tensors_are_stacked():
    batch = [dt.full((2, 3), float(i)) for i in range(4)]
    out = default_collate(batch)
    assert isinstance(out, dt.Tensor) and out.shape == (4, 2, 3) and out.dtype == dt.float32
    assert out[:, 0, 0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert not out.requires_grad


def test_stacked_tensor_is_a_copy():
    a = dt.zeros(2)
    out = default_collate([a, a])
    out.fill_(1.0)
    assert a.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("dtype", [dt.float64, dt.int32, dt.uint8, dt.bool, dt.int64])
def test_tensor_dtypes_kept(dtype):
    out = default_collate([dt.zeros(3, dtype=dtype), dt.ones(3, dtype=dtype)])
    assert out.dtype == dtype and out.shape == (2, 3)


def test_scalar_tensors():
    out = default_collate([dt.tensor(1), dt.tensor(5)])
    assert out.shape == (2,) and out.tolist() == [1, 5] and out.dtype == dt.int64


def test_mixed_tensor_dtypes_promote():
    out = default_collate([dt.tensor([1, 2]), dt.tensor([3.0, 4.0])])
    assert out.dtype == dt.float32 and out.tolist() == [[1, 2], [3, 4]]


def test_tensors_that_require_grad_stay_in_the_graph():
    a = dt.ones(2, requires_grad=True)
    out = default_collate([a, dt.zeros(2)])
    assert out.requires_grad
    out.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("shapes, got", [
    ([(2,), (3,)], r"\[2\] at entry 0 and \[3\] at entry 1"),
    ([(2, 3), (3, 2)], r"\[2, 3\] at entry 0 and \[3, 2\] at entry 1"),
    ([(1,), (1,), (2,)], r"\[1\] at entry 0 and \[2\] at entry 2"),
])
def test_tensor_size_mismatch(shapes, got):
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size, but "
                                           "got " + got):
        default_collate([dt.zeros(s) for s in shapes])


def test_tensor_mixed_with_number_error():
    with pytest.raises(TypeError, match="expected Tensor as element 1 in argument 0, but got "
                                        "int"):
        default_collate([dt.tensor(1.0), 2])


@pytest.mark.parametrize("batch, dtype, values", [
    ([1, 2, 3], dt.int64, [1, 2, 3]),
    ([1.5, 2.0], dt.float64, [1.5, 2.0]),
    ([True, False], dt.bool, [True, False]),
    ([1, 2.5], dt.float32, [1.0, 2.5]),        # int first: torch.tensor(batch)
    ([2.0, 1], dt.float64, [2.0, 1.0]),        # float first: float64
    ([True, 2], dt.int64, [1, 2]),
])
def test_python_numbers(batch, dtype, values):
    out = default_collate(batch)
    assert out.dtype == dtype and out.tolist() == values


def test_int_overflow():
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        default_collate([2 ** 70, 1])


@pytest.mark.parametrize("np_dtype, dtype", [
    (np.float32, dt.float32), (np.float64, dt.float64), (np.int32, dt.int32),
    (np.int64, dt.int64), (np.uint8, dt.uint8), (np.bool_, dt.bool),
])
def test_numpy_arrays(np_dtype, dtype):
    batch = [np.arange(6).reshape(2, 3).astype(np_dtype) for _ in range(3)]
    out = default_collate(batch)
    assert out.dtype == dtype and out.shape == (3, 2, 3)
    np.testing.assert_array_equal(np.asarray(out)[1], batch[1])


def test_numpy_zero_dim_arrays():
    out = default_collate([np.array(1.0), np.array(2.0)])
    assert out.dtype == dt.float64 and out.tolist() == [1.0, 2.0]


def test_numpy_array_is_copied():
    a = np.zeros(2, np.float32)
    default_collate([a, a]).fill_(1.0)
    assert a.tolist() == [0.0, 0.0]


def test_numpy_arrays_size_mismatch():
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but "
                                           r"got \[2\] at entry 0 and \[3\] at entry 1"):
        default_collate([np.zeros(2), np.zeros(3)])


def test_numpy_arrays_mixed_dtypes_promote():
    out = default_collate([np.array([1], np.float32), np.array([1], np.float64)])
    assert out.dtype == dt.float64


@pytest.mark.parametrize("array, found", [
    (np.array(["a"]), "<U1"), (np.array([b"ab"]), "|S2"), (np.array([1], dtype=object),
                                                           "object"),
])
def test_numpy_string_and_object_arrays_rejected(array, found):
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy "
                                        "arrays, numbers, dicts or lists; found " + found):
        default_collate([array, array])


@pytest.mark.parametrize("batch, dtype", [
    ([np.float32(1), np.float32(2)], dt.float32),
    ([np.int32(1), np.int32(2)], dt.int32),
    ([np.float64(1.5), np.float64(2)], dt.float64),
    ([np.bool_(True), np.bool_(False)], dt.bool),
])
def test_numpy_scalars(batch, dtype):
    out = default_collate(batch)
    assert out.dtype == dtype and out.shape == (2,)


@pytest.mark.parametrize("batch", [["a", "b"], [b"a", b"b"], [np.str_("a"), np.str_("b")]])
def test_strings_stay_lists(batch):
    out = default_collate(batch)
    assert out == batch and isinstance(out, list)


def test_tuples_are_transposed_into_lists():
    out = default_collate([(dt.zeros(2), 1, "a"), (dt.ones(2), 2, "b")])
    assert isinstance(out, list) and len(out) == 3
    assert out[0].shape == (2, 2)
    assert out[1].tolist() == [1, 2] and out[1].dtype == dt.int64
    assert out[2] == ("a", "b")  # leaves get the transposed tuple, as in torch


def test_lists_are_transposed():
    out = default_collate([[1, 2.0], [3, 4.0]])
    assert isinstance(out, list)
    assert out[0].dtype == dt.int64 and out[1].dtype == dt.float64


def test_sequence_subclasses_kept_where_possible():
    class L(list):
        pass

    class T(tuple):
        pass

    assert type(default_collate([L([1, 2]), L([3, 4])])) is L
    assert type(default_collate([T((1, 2)), T((3, 4))])) is list
    assert type(default_collate([range(2), range(2)])) is list  # range([...]) fails


def test_sequences_of_unequal_length():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal "
                                           "size"):
        default_collate([[1, 2], [3]])


def test_namedtuple():
    out = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(out, Point)
    assert out.x.tolist() == [1, 3] and out.y.dtype == dt.float64


def test_dicts():
    out = default_collate([{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3, 4]}])
    assert list(out) == ["a", "b"]
    assert out["a"].tolist() == [1, 2]
    assert [t.tolist() for t in out["b"]] == [[1, 3], [2, 4]]


def test_mapping_types():
    od = default_collate([collections.OrderedDict(z=1, a=2), collections.OrderedDict(z=3,
                                                                                     a=4)])
    assert type(od) is collections.OrderedDict and list(od) == ["z", "a"]
    dd = collections.defaultdict(int, k=1)
    out = default_collate([dd, dd])
    assert type(out) is collections.defaultdict and out.default_factory is int
    proxy = default_collate([types.MappingProxyType({"a": 1}), types.MappingProxyType({"a":
                                                                                       2})])
    assert type(proxy) is types.MappingProxyType and proxy["a"].tolist() == [1, 2]


def test_dicts_with_missing_key():
    with pytest.raises(KeyError):
        default_collate([{"a": 1}, {"b": 2}])


def test_nested_structure():
    sample = {"img": np.zeros((1, 2, 2), np.float32), "meta": (Point(1, "p"), [0.5])}
    out = default_collate([sample, sample, sample])
    assert out["img"].shape == (3, 1, 2, 2) and out["img"].dtype == dt.float32
    point, floats = out["meta"]
    assert isinstance(point, Point) and point.x.tolist() == [1, 1, 1] and point.y == ("p",) * 3
    assert floats[0].dtype == dt.float64


@pytest.mark.parametrize("batch, found", [([None, None], "<class 'NoneType'>"),
                                          ([3 + 1j], "<class 'complex'>")])
def test_unsupported_types(batch, found):
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy "
                                        "arrays, numbers, dicts or lists; found " + found):
        default_collate(batch)


def test_empty_batch():
    with pytest.raises(IndexError):
        default_collate([])


def test_collate_with_custom_map():
    class Box:
        def __init__(self, v):
            self.v = v

    def collate_box(batch, *, collate_fn_map=None):
        return sum(b.v for b in batch)

    fn_map = {**default_collate_fn_map, Box: collate_box}
    out = collate([(Box(1), 1.0), (Box(2), 2.0)], collate_fn_map=fn_map)
    assert out[0] == 3 and out[1].dtype == dt.float64
    with pytest.raises(TypeError, match="found <class"):
        default_collate([Box(1)])


def test_default_convert():
    out = default_convert(np.array([1, 2]))
    assert isinstance(out, dt.Tensor) and out.dtype == dt.int64
    assert default_convert(3) == 3 and default_convert("abc") == "abc"
    t = dt.zeros(2)
    assert default_convert(t) is t
    mixed = default_convert([np.array([1.0]), 3, "a"])
    assert isinstance(mixed, list) and mixed[0].dtype == dt.float64 and mixed[1:] == [3, "a"]
    assert isinstance(default_convert((np.zeros(1), 3)), list)
    assert default_convert({"a": np.zeros(1, np.float32)})["a"].dtype == dt.float32
    p = default_convert(Point(np.array([1]), 2))
    assert isinstance(p, Point) and isinstance(p.x, dt.Tensor) and p.y == 2
    scalar = default_convert(np.float64(2.0))
    assert isinstance(scalar, dt.Tensor) and scalar.dim() == 0
    strings = np.array(["a"])
    assert default_convert(strings) is strings
    assert default_convert(range(3)) == [0, 1, 2]
    assert isinstance(default_convert(np.str_("x")), np.str_)
