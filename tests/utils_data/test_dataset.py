"""Datasets: TensorDataset, ConcatDataset, ChainDataset, Subset, StackDataset, random_split."""

import warnings

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.utils.data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)


class Range(IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


class Batched(Dataset):
    """A dataset with ``__getitems__`` that records the calls it gets."""

    def __init__(self, n):
        self.n, self.calls = n, []

    def __getitem__(self, i):
        return ("item", i)

    def __getitems__(self, indices):
        self.calls.append(list(indices))
        return [("batch", i) for i in indices]

    def __len__(self):
        return self.n


# --------------------------------------------------------------------------- base classes

def test_dataset_base_getitem_raises():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement "
                                                  "__getitem__."):
        Dataset()[0]


def test_iterable_dataset_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        IterableDataset()


def test_dataset_generic_subscript():
    assert Dataset[int] is not None and IterableDataset[int] is not None


def test_dataset_add_concatenates():
    a, b = TensorDataset(dt.arange(3)), TensorDataset(dt.arange(10, 12))
    both = a + b
    assert isinstance(both, ConcatDataset)
    assert [int(both[i][0]) for i in range(len(both))] == [0, 1, 2, 10, 11]


def test_iterable_dataset_add_chains():
    chained = Range(0, 2) + Range(5, 7)
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [0, 1, 5, 6]


# --------------------------------------------------------------------------- TensorDataset

def test_tensor_dataset_items_and_length():
    x = dt.arange(12.0).reshape(4, 3)
    y = dt.tensor([5, 6, 7, 8])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert xi.tolist() == [6.0, 7.0, 8.0] and xi.dtype == dt.float32
    assert yi.item() == 7 and yi.dtype == dt.int64 and yi.dim() == 0
    assert isinstance(ds[-1], tuple) and ds[-1][1].item() == 8
    assert ds[[0, 3]][1].tolist() == [5, 8]  # any tensor index works


def test_tensor_dataset_items_are_views():
    x = dt.zeros(3, 2)
    ds = TensorDataset(x)
    ds[1][0].fill_(4.0)
    assert x.tolist() == [[0, 0], [4, 4], [0, 0]]


def test_tensor_dataset_size_mismatch():
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(dt.zeros(3), dt.zeros(4))


def test_tensor_dataset_out_of_range():
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        TensorDataset(dt.zeros(3))[5]


def test_tensor_dataset_empty():
    ds = TensorDataset()
    assert ds.tensors == ()
    with pytest.raises(IndexError):
        len(ds)


# --------------------------------------------------------------------------- ConcatDataset

def test_concat_dataset_indexing():
    ds = ConcatDataset([range(3), range(10, 14)])
    assert len(ds) == 7
    assert ds.cumulative_sizes == [3, 7]
    assert [ds[i] for i in range(7)] == [0, 1, 2, 10, 11, 12, 13]
    assert ds[-1] == 13 and ds[-7] == 0


def test_concat_dataset_skips_empty_parts():
    ds = ConcatDataset([range(0), range(2), range(0), range(5, 6)])
    assert [ds[i] for i in range(len(ds))] == [0, 1, 5]


def test_concat_dataset_negative_index_too_large():
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset "
                                         "length"):
        ConcatDataset([range(3), range(4)])[-8]


def test_concat_dataset_index_past_end():
    with pytest.raises(IndexError):
        ConcatDataset([range(3), range(4)])[7]


def test_concat_dataset_accepts_iterator():
    assert len(ConcatDataset(iter([range(2), range(3)]))) == 5


def test_concat_dataset_errors():
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([range(2), Range(0, 2)])


def test_concat_dataset_deprecated_name():
    ds = ConcatDataset([range(2), range(3)])
    with pytest.warns(DeprecationWarning, match="renamed to cumulative_sizes"):
        assert ds.cummulative_sizes == [2, 5]


# --------------------------------------------------------------------------- ChainDataset

def test_chain_dataset_iterates_and_counts():
    ds = ChainDataset([Range(0, 3), Range(7, 9)])
    assert list(ds) == [0, 1, 2, 7, 8]
    assert len(ds) == 5
    assert list(ds) == [0, 1, 2, 7, 8]  # iterable again


def test_chain_dataset_rejects_map_datasets():
    ds = ChainDataset([Range(0, 2), range(3)])
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(ds)
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        len(ds)


# --------------------------------------------------------------------------- Subset

def test_subset_items():
    sub = Subset(list(range(100, 110)), [3, 1, 8])
    assert len(sub) == 3
    assert [sub[i] for i in range(3)] == [103, 101, 108]
    assert sub[-1] == 108


def test_subset_list_index_goes_to_dataset():
    sub = Subset(TensorDataset(dt.arange(10)), [9, 0, 5])
    assert sub[[0, 2]][0].tolist() == [9, 5]


def test_subset_getitems_uses_wrapped_getitems():
    base = Batched(10)
    sub = Subset(base, [7, 2, 4])
    assert sub.__getitems__([0, 2]) == [("batch", 7), ("batch", 4)]
    assert base.calls == [[7, 4]]
    assert Subset(list("abcdef"), [5, 0]).__getitems__([1, 0]) == ["a", "f"]


# --------------------------------------------------------------------------- StackDataset

def test_stack_dataset_tuple_and_dict():
    tup = StackDataset(range(3), list("abc"))
    assert len(tup) == 3 and tup[1] == (1, "b")
    named = StackDataset(x=range(3), y=list("abc"))
    assert named[2] == {"x": 2, "y": "c"}
    assert named.datasets == {"x": range(3), "y": list("abc")}


def test_stack_dataset_getitems():
    base = Batched(4)
    tup = StackDataset(base, range(10, 14))
    assert tup.__getitems__([0, 3]) == [(("batch", 0), 10), (("batch", 3), 13)]
    named = StackDataset(a=base, b=range(10, 14))
    assert named.__getitems__([1]) == [{"a": ("batch", 1), "b": 11}]


def test_stack_dataset_getitems_size_mismatch():
    class Short(Batched):
        def __getitems__(self, indices):
            return [0]

    with pytest.raises(ValueError, match="Nested dataset's output size mismatch. Expected 2, "
                                         "got 1"):
        StackDataset(Short(3), range(3)).__getitems__([0, 1])


@pytest.mark.parametrize("args, kwargs, message", [
    ((), {}, "At least one dataset should be passed"),
    ((range(3),), {"a": range(3)}, "Supported either ``tuple``- \\(via ``args``\\) or``dict``-"),
    ((range(3), range(4)), {}, "Size mismatch between datasets"),
    ((), {"a": range(3), "b": range(2)}, "Size mismatch between datasets"),
])
def test_stack_dataset_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        StackDataset(*args, **kwargs)


# --------------------------------------------------------------------------- random_split

def _partition(subsets, n):
    flat = [i for s in subsets for i in s.indices]
    assert sorted(flat) == list(range(n)), "subsets must partition the dataset"


@pytest.mark.parametrize("n, lengths, expected", [
    (10, [3, 7], [3, 7]),
    (10, [0.5, 0.5], [5, 5]),
    (10, [0.33, 0.33, 0.34], [4, 3, 3]),
    (11, [0.3, 0.3, 0.4], [4, 3, 4]),
    (10, [0.25, 0.25, 0.25, 0.25], [3, 3, 2, 2]),
    (10, [1.0], [10]),
    (1, [1], [1]),
    (7, [0.7, 0.3], [5, 2]),
])
def test_random_split_lengths(n, lengths, expected):
    subsets = random_split(range(n), lengths, generator=dt.Generator().manual_seed(0))
    assert [len(s) for s in subsets] == expected
    assert all(isinstance(s, Subset) for s in subsets)
    _partition(subsets, n)


def test_random_split_items_come_from_dataset():
    data = list(range(100, 120))
    a, b = random_split(data, [5, 15], generator=dt.Generator().manual_seed(3))
    assert sorted([a[i] for i in range(5)] + [b[i] for i in range(15)]) == data


def test_random_split_zero_length_warns():
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0. This might result "
                                         "in an empty dataset."):
        subsets = random_split(range(3), [0.1, 0.1, 0.8])
    assert [len(s) for s in subsets] == [1, 0, 2]


def test_random_split_reproducible_with_generator():
    def split(seed):
        return [s.indices for s in random_split(range(50), [0.6, 0.4],
                                                generator=dt.Generator().manual_seed(seed))]
    assert split(1) == split(1)
    assert split(1) != split(2)


def test_random_split_default_generator_follows_manual_seed():
    dt.manual_seed(5)
    first = [s.indices for s in random_split(range(30), [10, 20])]
    dt.manual_seed(5)
    assert [s.indices for s in random_split(range(30), [10, 20])] == first
    assert first[0] != list(range(10))  # shuffled


@pytest.mark.parametrize("lengths, error, message", [
    ([3, 3], ValueError, "Sum of input lengths does not equal the length of the input dataset!"),
    ([0.5, 0.4], ValueError, "Sum of input lengths does not equal the length"),
    ([1.5, -0.5], ValueError, "Fraction at index 0 is not between 0 and 1"),
])
def test_random_split_errors(lengths, error, message):
    with pytest.raises(error, match=message):
        random_split(range(10), lengths)


def test_random_split_no_warning_for_full_splits():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        random_split(range(4), [0.5, 0.5])


def test_random_split_of_tensor_dataset():
    ds = TensorDataset(dt.arange(20.0), dt.arange(20))
    train, val = random_split(ds, [15, 5], generator=dt.Generator().manual_seed(0))
    values = np.sort([train[i][1].item() for i in range(15)] + [val[i][1].item() for i in
                                                                 range(5)])
    assert values.tolist() == list(range(20))
