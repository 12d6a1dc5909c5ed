"""dist_torch.utils.data against torch.utils.data: collate structure, samplers, datasets,
DataLoader batches, lengths and error messages (shuffles are compared by structure only)."""

import collections
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import dist_torch as dt
import dist_torch.utils.data as dud

Point = collections.namedtuple("Point", "x y")


def _lib_data(lib):
    return tud if lib is torch else dud


def _structure(value):
    """A library-neutral description: container types, tensor dtypes, shapes and values."""
    if isinstance(value, (torch.Tensor, dt.Tensor)):
        return ("tensor", str(value.dtype), tuple(value.shape), np.asarray(value).tolist())
    if isinstance(value, dict):
        return (type(value).__name__, {k: _structure(v) for k, v in value.items()})
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, [_structure(v) for v in value])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_structure(v) for v in value])
    return (type(value).__name__, value)


def _samples(lib, kind):
    """The same samples for both libraries (tensors made by ``lib``)."""
    t = lib.tensor
    return {
        "tensors": [t([[1.0, 2.0]]), t([[3.0, 4.0]])],
        "int_tensors": [t([1, 2], dtype=lib.int32), t([3, 4], dtype=lib.int32)],
        "scalar_tensors": [t(1), t(2), t(3)],
        "mixed_tensors": [t([1, 2]), t([1.5, 2.5])],
        "ints": [1, 2, 3],
        "floats": [1.5, 2.5],
        "bools": [True, False],
        "int_then_float": [1, 2.5],
        "float_then_int": [2.5, 1],
        "strings": ["a", "bc"],
        "bytes": [b"a", b"b"],
        "np_float32": [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)],
        "np_int64": [np.arange(3), np.arange(3) + 1],
        "np_bool": [np.array([True]), np.array([False])],
        "np_zero_dim": [np.array(1.5), np.array(2.5)],
        "np_scalars": [np.float32(1), np.float32(2)],
        "np_int_scalars": [np.int16(1), np.int16(2)],
        "tuples": [(t([1.0]), 1, "a"), (t([2.0]), 2, "b")],
        "lists": [[1, 2.0], [3, 4.0]],
        "dicts": [{"x": t([1.0, 2.0]), "y": 3}, {"x": t([3.0, 4.0]), "y": 4}],
        "ordered": [collections.OrderedDict(b=1, a=2.0), collections.OrderedDict(b=3, a=4.0)],
        "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
        "nested": [{"img": np.zeros((1, 2), np.float32), "meta": [Point("p", 1), (0.5, True)]},
                   {"img": np.ones((1, 2), np.float32), "meta": [Point("q", 2), (1.5, False)]}],
        "mnist_like": [(t(np.full((1, 4, 4), float(i), np.float32)), i) for i in range(3)],
    }[kind]


KINDS = ["tensors", "int_tensors", "scalar_tensors", "mixed_tensors", "ints", "floats", "bools",
         "int_then_float", "float_then_int", "strings", "bytes", "np_float32", "np_int64",
         "np_bool", "np_zero_dim", "np_scalars", "np_int_scalars", "tuples", "lists", "dicts",
         "ordered", "namedtuples", "nested", "mnist_like"]


@pytest.mark.parametrize("kind", KINDS)
def test_default_collate_matches(kind):
    ours = dud.default_collate(_samples(dt, kind))
    theirs = tud.default_collate(_samples(torch, kind))
    assert _structure(ours) == _structure(theirs)


@pytest.mark.parametrize("value", [
    np.array([1, 2]), [np.array([1.0]), 3, "a"], (np.zeros(2, np.float32), 3),
    {"a": np.array([1.0])}, Point(np.array([1]), 2), np.float64(2.0), np.array(["a"]), 3,
    "abc", range(3), [[np.int32(4)]],
])
def test_default_convert_matches(value):
    assert _structure(dud.default_convert(value)) == _structure(tud.default_convert(value))


def _error_of(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - comparing whatever both raise
        return type(err).__name__, str(err)
    return None


@pytest.mark.parametrize("make", [
    lambda lib: [lib.zeros(2), lib.zeros(3)],
    lambda lib: [lib.zeros(2, 3), lib.zeros(3, 2)],
    lambda lib: [np.zeros(2), np.zeros(3)],
    lambda lib: [np.array(["a"]), np.array(["b"])],
    lambda lib: [np.array([1], dtype=object)] * 2,
    lambda lib: [None, None],
    lambda lib: [[1, 2], [3]],
    lambda lib: [3 + 1j],
    lambda lib: [lib.tensor(1.0), 2],
    lambda lib: [{"a": 1}, {"b": 2}],
    lambda lib: [],
    lambda lib: [1, None],
])
def test_default_collate_errors_match(make):
    ours = _error_of(lambda: dud.default_collate(make(dt)))
    theirs = _error_of(lambda: tud.default_collate(make(torch)))
    assert ours is not None and theirs is not None
    assert ours == theirs


# --------------------------------------------------------------------------- samplers

@pytest.mark.parametrize("n, size, drop_last", [(10, 3, False), (10, 3, True), (4, 4, False),
                                                (3, 5, True), (0, 2, False)])
def test_batch_sampler_matches(n, size, drop_last):
    ours = dud.BatchSampler(dud.SequentialSampler(range(n)), size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("kwargs", [{}, {"num_samples": 25}, {"num_samples": 3},
                                    {"replacement": True}, {"replacement": True,
                                                            "num_samples": 70}])
def test_random_sampler_structure_matches(kwargs):
    ours = list(dud.RandomSampler(range(10), **kwargs))
    theirs = list(tud.RandomSampler(range(10), **kwargs))
    assert len(ours) == len(theirs)
    assert all(type(i) is int for i in ours)
    if not kwargs.get("replacement"):
        assert collections.Counter(ours) == collections.Counter(theirs) or \
            kwargs.get("num_samples", 10) % 10 != 0
        full = kwargs.get("num_samples", 10) // 10 * 10
        assert sorted(ours[:full]) == sorted(theirs[:full])


def test_subset_and_weighted_samplers_structure():
    idx = [3, 9, 4]
    assert sorted(dud.SubsetRandomSampler(idx)) == sorted(tud.SubsetRandomSampler(idx))
    ours = list(dud.WeightedRandomSampler([0, 1, 0, 2], 12))
    theirs = list(tud.WeightedRandomSampler([0, 1, 0, 2], 12))
    assert len(ours) == len(theirs) and set(ours) <= {1, 3} and set(theirs) <= {1, 3}
    assert str(dud.WeightedRandomSampler([1, 2], 2).weights.dtype) == \
        str(tud.WeightedRandomSampler([1, 2], 2).weights.dtype)


@pytest.mark.parametrize("make", [
    lambda d: d.RandomSampler(range(3), replacement=1),
    lambda d: d.RandomSampler(range(3), num_samples=0),
    lambda d: d.RandomSampler([]),
    lambda d: d.WeightedRandomSampler([1, 2], 0),
    lambda d: d.WeightedRandomSampler([1, 2], 3, replacement=1),
    lambda d: d.WeightedRandomSampler([[1, 2]], 3),
    lambda d: d.BatchSampler(range(5), 0, False),
    lambda d: d.BatchSampler(range(5), True, False),
    lambda d: d.BatchSampler(range(5), 2, 1),
    lambda d: list(d.WeightedRandomSampler([1, 2], 3, replacement=False)),
    lambda d: iter(d.Sampler()),
    lambda d: d.Sampler(range(2)),
])
def test_sampler_errors_match(make):
    ours, theirs = _error_of(lambda: make(dud)), _error_of(lambda: make(tud))
    assert ours is not None and theirs is not None
    assert ours[0] == theirs[0]
    if ours[0] != "TypeError":  # TypeErrors from Python name the class's module
        assert ours == theirs


# --------------------------------------------------------------------------- datasets

def test_datasets_match():
    for d, lib in ((dud, dt), (tud, torch)):
        ds = d.TensorDataset(lib.arange(6.0), lib.arange(6))
        concat = d.ConcatDataset([ds, d.Subset(ds, [5, 0])])
        stacked = d.StackDataset(a=range(3), b=list("xyz"))
        result = ([_structure(concat[i]) for i in range(len(concat))] + [concat[-1][1].item()],
                  concat.cumulative_sizes, stacked[1], stacked.__getitems__([0, 2]),
                  list(d.ChainDataset([stacked_iter(d, 2), stacked_iter(d, 3)])))
        if d is dud:
            ours = result
        else:
            theirs = result
    assert ours == theirs


def stacked_iter(d, n):
    class Stream(d.IterableDataset):
        def __iter__(self):
            return iter(range(n))
    return Stream()


@pytest.mark.parametrize("n, lengths", [
    (10, [0.33, 0.33, 0.34]), (11, [0.3, 0.3, 0.4]), (10, [0.25] * 4), (3, [0.1, 0.1, 0.8]),
    (10, [1.0]), (7, [0.7, 0.3]), (10, [4, 6]), (10, [11, -1]), (100, [0.6, 0.2, 0.2]),
])
def test_random_split_lengths_match(n, lengths):
    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        ours = dud.random_split(range(n), lengths)
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        theirs = tud.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert [str(w.message) for w in ours_w] == [str(w.message) for w in theirs_w]


@pytest.mark.parametrize("lengths", [[3, 3], [0.5, 0.4], [1.5, -0.5]])
def test_random_split_errors_match(lengths):
    assert _error_of(lambda: dud.random_split(range(10), lengths)) == \
        _error_of(lambda: tud.random_split(range(10), lengths))


@pytest.mark.parametrize("make", [
    lambda d, lib: d.TensorDataset(lib.zeros(3), lib.zeros(4)),
    lambda d, lib: d.ConcatDataset([]),
    lambda d, lib: d.ConcatDataset([range(3), range(4)])[-8],
    lambda d, lib: d.StackDataset(),
    lambda d, lib: d.StackDataset(range(3), a=range(3)),
    lambda d, lib: d.StackDataset(range(3), range(4)),
    lambda d, lib: d.Dataset()[0],
    lambda d, lib: len(d.ChainDataset([range(3)])),
])
def test_dataset_errors_match(make):
    assert _error_of(lambda: make(dud, dt)) == _error_of(lambda: make(tud, torch))


# --------------------------------------------------------------------------- DataLoader

def _loader_output(lib, kwargs, dataset="map"):
    d = _lib_data(lib)
    if dataset == "map":
        ds = d.TensorDataset(lib.arange(10.0).reshape(10, 1), lib.arange(10))
    else:
        ds = stacked_iter(d, 7)
    loader = d.DataLoader(ds, **kwargs)
    return [_structure(b) for b in loader], len(loader) if dataset == "map" else None


@pytest.mark.parametrize("kwargs", [
    {}, {"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": None},
    {"batch_size": 3, "sampler": [9, 2, 5, 1]}, {"batch_sampler": [[3, 1], [0, 9, 8]]},
    {"batch_size": 2, "collate_fn": lambda b: len(b)},
])
def test_dataloader_batches_match(kwargs):
    assert _loader_output(dt, kwargs) == _loader_output(torch, kwargs)


@pytest.mark.parametrize("kwargs", [{"batch_size": 3}, {"batch_size": 3, "drop_last": True},
                                    {"batch_size": None}])
def test_dataloader_iterable_batches_match(kwargs):
    assert _loader_output(dt, kwargs, "iterable") == _loader_output(torch, kwargs, "iterable")


def test_dataloader_iterable_workers_match():
    def run(lib):
        d = _lib_data(lib)

        class Sharded(d.IterableDataset):
            def __iter__(self):
                info = d.get_worker_info()
                return iter(range(info.id, 10, info.num_workers))
        return [b.tolist() for b in d.DataLoader(Sharded(), batch_size=3, num_workers=2)]
    assert run(dt) == run(torch)


def test_dataloader_shuffle_structure_matches():
    ours, _ = _loader_output(dt, {"batch_size": 4, "shuffle": True})
    theirs, _ = _loader_output(torch, {"batch_size": 4, "shuffle": True})
    assert [(b[1][0][1], b[1][0][2]) for b in ours] == [(b[1][0][1], b[1][0][2]) for b in theirs]
    labels = sorted(v for b in ours for v in b[1][1][3])
    assert labels == list(range(10))


@pytest.mark.parametrize("kwargs", [
    {"num_workers": -1}, {"timeout": -1}, {"prefetch_factor": 2},
    {"num_workers": 1, "prefetch_factor": -1}, {"persistent_workers": True},
    {"sampler": [1], "shuffle": True}, {"batch_sampler": [[1]], "batch_size": 2},
    {"batch_sampler": [[1]], "shuffle": True}, {"batch_sampler": [[1]], "drop_last": True},
    {"batch_sampler": [[1]], "sampler": [1]}, {"batch_size": None, "drop_last": True},
    {"batch_size": 0}, {"batch_size": -1}, {"batch_size": 2.5},
    {"multiprocessing_context": "fork"}, {"num_workers": 1, "multiprocessing_context": "bogus"},
    {"num_workers": 1, "multiprocessing_context": 3},
])
def test_dataloader_argument_errors_match(kwargs):
    def make(lib):
        d = _lib_data(lib)
        return d.DataLoader(d.TensorDataset(lib.arange(4)), **kwargs)
    ours, theirs = _error_of(lambda: make(dt)), _error_of(lambda: make(torch))
    assert ours is not None and ours == theirs


@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [1]},
                                    {"batch_sampler": [[1]]}])
def test_dataloader_iterable_argument_errors_match(kwargs):
    def make(lib):
        return _lib_data(lib).DataLoader(stacked_iter(_lib_data(lib), 3), **kwargs)
    assert _error_of(lambda: make(dt)) == _error_of(lambda: make(torch))


def test_dataloader_frozen_attribute_error_matches():
    def make(lib):
        loader = _lib_data(lib).DataLoader(range(3))
        loader.sampler = None
    assert _error_of(lambda: make(dt)) == _error_of(lambda: make(torch))


class _Failing:
    def __getitem__(self, i):
        if i == 1:
            raise ValueError("bad index")
        return i

    def __len__(self):
        return 3


def test_worker_error_message_format_matches():
    def message(lib):
        with pytest.raises(ValueError) as info:
            list(_lib_data(lib).DataLoader(_Failing(), batch_size=None, num_workers=1))
        return str(info.value)
    ours, theirs = message(dt), message(torch)
    head = ("Caught ValueError in DataLoader worker process 0.\n"
            "Original Traceback (most recent call last):\n")
    assert ours.startswith(head) and theirs.startswith(head)
    assert ours.splitlines()[-1] == theirs.splitlines()[-1] == "ValueError: bad index"
    assert '    raise ValueError("bad index")' in ours


def test_worker_info_fields_match():
    ours = dud.WorkerInfo(id=0, num_workers=1, seed=3, dataset=None)
    from torch.utils.data._utils.worker import WorkerInfo
    assert repr(ours) == repr(WorkerInfo(id=0, num_workers=1, seed=3, dataset=None))
