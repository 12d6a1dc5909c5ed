"""Samplers: order, permutation property, reproducibility, lengths and argument errors."""

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.utils.data import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def test_sampler_base():
    with pytest.raises(NotImplementedError):
        iter(Sampler())
    with pytest.raises(TypeError, match="no len"):
        len(Sampler())
    with pytest.raises(TypeError):
        Sampler(range(3))


def test_sequential_sampler():
    s = SequentialSampler(list("abcd"))
    assert list(s) == [0, 1, 2, 3] and len(s) == 4
    assert list(SequentialSampler([])) == []


def test_random_sampler_is_a_permutation():
    dt.manual_seed(0)
    out = list(RandomSampler(range(50)))
    assert sorted(out) == list(range(50)) and out != list(range(50))
    assert all(type(i) is int for i in out)


def test_random_sampler_reproducible_under_manual_seed():
    s = RandomSampler(range(20))
    dt.manual_seed(7)
    first, second = list(s), list(s)
    assert first != second  # each iteration reshuffles
    dt.manual_seed(7)
    assert list(s) == first and list(s) == second


def test_random_sampler_with_generator():
    a = RandomSampler(range(20), generator=dt.Generator().manual_seed(3))
    b = RandomSampler(range(20), generator=dt.Generator().manual_seed(3))
    assert list(a) == list(b)
    dt.manual_seed(0)
    state = dt.get_rng_state()
    list(a)
    assert dt.get_rng_state().tolist() == state.tolist()  # the default generator untouched


@pytest.mark.parametrize("num_samples", [1, 7, 10, 23, 30])
def test_random_sampler_num_samples_without_replacement(num_samples):
    s = RandomSampler(range(10), num_samples=num_samples, generator=dt.Generator())
    out = list(s)
    assert len(out) == len(s) == num_samples
    for start in range(0, num_samples - num_samples % 10, 10):  # whole permutations first
        assert sorted(out[start:start + 10]) == list(range(10))
    tail = out[num_samples - num_samples % 10:]
    assert len(set(tail)) == len(tail)


@pytest.mark.parametrize("num_samples", [None, 5, 32, 70])
def test_random_sampler_with_replacement(num_samples):
    s = RandomSampler(range(4), replacement=True, num_samples=num_samples,
                      generator=dt.Generator().manual_seed(0))
    out = list(s)
    expected = 4 if num_samples is None else num_samples
    assert len(out) == len(s) == expected
    assert set(out) <= {0, 1, 2, 3}
    if expected >= 32:
        assert len(set(out)) == 4  # draws repeat


def test_random_sampler_follows_dataset_length():
    data = [1, 2, 3]
    s = RandomSampler(data)
    data.append(4)
    assert s.num_samples == 4 and sorted(s) == [0, 1, 2, 3]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"replacement": 1}, TypeError, "replacement should be a boolean value, but got "
                                    "replacement=1"),
    ({"num_samples": 0}, ValueError, "num_samples should be a positive integer value, but got "
                                     "num_samples=0"),
    ({"num_samples": 2.0}, ValueError, "num_samples should be a positive integer value, but "
                                       "got num_samples=2.0"),
])
def test_random_sampler_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        RandomSampler(range(3), **kwargs)


def test_random_sampler_empty_dataset():
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler([])


def test_subset_random_sampler():
    idx = [10, 20, 30, 40, 50]
    s = SubsetRandomSampler(idx, generator=dt.Generator().manual_seed(1))
    out = list(s)
    assert sorted(out) == idx and len(s) == 5
    again = SubsetRandomSampler(idx, generator=dt.Generator().manual_seed(1))
    assert list(again) == out
    dt.manual_seed(4)
    a = list(SubsetRandomSampler(idx))
    dt.manual_seed(4)
    assert list(SubsetRandomSampler(idx)) == a


def test_subset_random_sampler_keeps_element_type():
    out = list(SubsetRandomSampler(np.array([5, 6, 7])))
    assert all(isinstance(i, np.int64) for i in out)


def test_weighted_random_sampler_respects_zero_weights():
    s = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=dt.Generator().manual_seed(0))
    out = list(s)
    assert len(out) == len(s) == 200
    assert set(out) == {1, 3}
    share = out.count(3) / 200
    assert 0.6 < share < 0.9  # expected 0.75


def test_weighted_random_sampler_without_replacement():
    s = WeightedRandomSampler([1, 2, 3, 4, 5], 5, replacement=False,
                              generator=dt.Generator().manual_seed(2))
    assert sorted(s) == [0, 1, 2, 3, 4]


def test_weighted_random_sampler_weights_tensor():
    s = WeightedRandomSampler([1, 2], 3)
    assert s.weights.dtype == dt.float64 and s.weights.tolist() == [1.0, 2.0]
    assert s.replacement is True and s.num_samples == 3


def test_weighted_random_sampler_reproducible():
    dt.manual_seed(11)
    a = list(WeightedRandomSampler([1.0, 1.0, 1.0], 20))
    dt.manual_seed(11)
    assert list(WeightedRandomSampler([1.0, 1.0, 1.0], 20)) == a


@pytest.mark.parametrize("args, kwargs, message", [
    (([1, 2], 0), {}, "num_samples should be a positive integer value, but got num_samples=0"),
    (([1, 2], True), {}, "num_samples should be a positive integer value, but got "
                         "num_samples=True"),
    (([1, 2], 3), {"replacement": 1}, "replacement should be a boolean value, but got "
                                      "replacement=1"),
    (([[1, 2]], 3), {}, r"weights should be a 1d sequence but given weights have shape "
                        r"\(1, 2\)"),
])
def test_weighted_random_sampler_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        WeightedRandomSampler(*args, **kwargs)


def test_weighted_random_sampler_too_many_without_replacement():
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        list(WeightedRandomSampler([1, 2], 3, replacement=False))


@pytest.mark.parametrize("n, size, drop_last, expected", [
    (5, 2, False, [[0, 1], [2, 3], [4]]),
    (5, 2, True, [[0, 1], [2, 3]]),
    (4, 2, True, [[0, 1], [2, 3]]),
    (3, 5, False, [[0, 1, 2]]),
    (3, 5, True, []),
    (0, 2, False, []),
])
def test_batch_sampler(n, size, drop_last, expected):
    s = BatchSampler(SequentialSampler(range(n)), size, drop_last)
    assert list(s) == expected
    assert len(s) == len(expected)


def test_batch_sampler_over_plain_iterables():
    assert list(BatchSampler([9, 8, 7], 2, False)) == [[9, 8], [7]]
    assert list(BatchSampler(iter(range(3)), 2, False)) == [[0, 1], [2]]


def test_batch_sampler_lists_are_fresh():
    batches = list(BatchSampler(range(4), 2, False))
    batches[0].append(99)
    assert batches[1] == [2, 3]


@pytest.mark.parametrize("size, drop_last, message", [
    (0, False, "batch_size should be a positive integer value, but got batch_size=0"),
    (True, False, "batch_size should be a positive integer value, but got batch_size=True"),
    (2.0, False, "batch_size should be a positive integer value, but got batch_size=2.0"),
    (2, 1, "drop_last should be a boolean value, but got drop_last=1"),
])
def test_batch_sampler_errors(size, drop_last, message):
    with pytest.raises(ValueError, match=message):
        BatchSampler(range(5), size, drop_last)
