"""DataLoader in the main process: batching, shuffling, samplers, iterables and errors."""

import multiprocessing
import pickle
import warnings

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    default_convert,
    get_worker_info,
)


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


class SizedStream(Stream):
    def __len__(self):
        return self.n


class Recording(Dataset):
    """Records which fetch path the loader takes."""

    def __init__(self, n, batched):
        self.n, self.calls = n, []
        if batched:
            self.__getitems__ = self._getitems

    def __getitem__(self, i):
        self.calls.append(("item", i))
        return i

    def _getitems(self, indices):
        self.calls.append(("items", list(indices)))
        return [i * 10 for i in indices]

    def __len__(self):
        return self.n


def _ds(n=10):
    return TensorDataset(dt.arange(float(n)), dt.arange(n))


def _labels(loader):
    return [batch[1].tolist() for batch in loader]


# --------------------------------------------------------------------------- batching

def test_batches_in_order():
    loader = DataLoader(_ds(), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    x, y = batches[0]
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0] and x.dtype == dt.float32
    assert y.tolist() == [0, 1, 2, 3] and y.dtype == dt.int64
    assert batches[2][1].tolist() == [8, 9]


def test_default_batch_size_is_one():
    batches = list(DataLoader(_ds(3)))
    assert [b[1].tolist() for b in batches] == [[0], [1], [2]]


def test_drop_last():
    loader = DataLoader(_ds(), batch_size=4, drop_last=True)
    assert len(loader) == 2 and _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_batch_size_none_yields_converted_samples():
    loader = DataLoader([np.array([1.0, 2.0]), np.array([3.0])], batch_size=None)
    items = list(loader)
    assert len(loader) == 2 and all(isinstance(i, dt.Tensor) for i in items)
    assert loader.collate_fn is default_convert and loader.batch_sampler is None
    assert items[1].tolist() == [3.0]


def test_collate_fn_default_and_custom():
    assert DataLoader(_ds()).collate_fn is default_collate
    loader = DataLoader(range(5), batch_size=2, collate_fn=lambda b: tuple(b))
    assert list(loader) == [(0, 1), (2, 3), (4,)]


def test_dict_samples():
    data = [{"x": np.full(2, i, np.float32), "label": i} for i in range(5)]
    batch = next(iter(DataLoader(data, batch_size=5)))
    assert batch["x"].shape == (5, 2) and batch["label"].tolist() == [0, 1, 2, 3, 4]


def test_getitems_used_when_available():
    ds = Recording(5, batched=True)
    assert [b.tolist() for b in DataLoader(ds, batch_size=2)] == [[0, 10], [20, 30], [40]]
    assert ds.calls == [("items", [0, 1]), ("items", [2, 3]), ("items", [4])]
    plain = Recording(3, batched=False)
    list(DataLoader(plain, batch_size=3))
    assert plain.calls == [("item", 0), ("item", 1), ("item", 2)]


def test_subset_in_loader():
    sub = Subset(_ds(), [9, 3, 5])
    assert _labels(DataLoader(sub, batch_size=2)) == [[9, 3], [5]]


# --------------------------------------------------------------------------- shuffling

def test_shuffle_reproducible_under_manual_seed():
    loader = DataLoader(_ds(20), batch_size=6, shuffle=True)
    dt.manual_seed(0)
    epoch1, epoch2 = _labels(loader), _labels(loader)
    assert sorted(sum(epoch1, [])) == list(range(20))
    assert epoch1 != epoch2  # each epoch reshuffles
    dt.manual_seed(0)
    assert _labels(loader) == epoch1 and _labels(loader) == epoch2


def test_shuffle_with_generator():
    def run(seed):
        g = dt.Generator().manual_seed(seed)
        loader = DataLoader(_ds(20), batch_size=5, shuffle=True, generator=g)
        return _labels(loader) + _labels(loader)
    assert run(3) == run(3) and run(3) != run(4)
    dt.manual_seed(0)
    state = dt.get_rng_state().tolist()
    run(3)
    assert dt.get_rng_state().tolist() == state


def test_shuffle_uses_random_sampler():
    loader = DataLoader(_ds(), shuffle=True)
    assert isinstance(loader.sampler, RandomSampler)
    assert isinstance(DataLoader(_ds()).sampler, SequentialSampler)
    assert isinstance(DataLoader(_ds(), shuffle=1).sampler, RandomSampler)


def test_each_iterator_draws_a_base_seed():
    loader = DataLoader(_ds(), batch_size=2)
    dt.manual_seed(0)
    seeds = [iter(loader)._base_seed for _ in range(3)]
    assert len(set(seeds)) == 3
    dt.manual_seed(0)
    assert iter(loader)._base_seed == seeds[0]
    g = dt.Generator().manual_seed(1)
    a = iter(DataLoader(_ds(), generator=g))._base_seed
    g.manual_seed(1)
    assert iter(DataLoader(_ds(), generator=g))._base_seed == a


# --------------------------------------------------------------------------- samplers

def test_custom_sampler():
    loader = DataLoader(_ds(), batch_size=3, sampler=[9, 1, 4, 0])
    assert _labels(loader) == [[9, 1, 4], [0]] and len(loader) == 2


def test_custom_batch_sampler():
    loader = DataLoader(_ds(), batch_sampler=[[3, 1], [0], [9, 8, 7]])
    assert _labels(loader) == [[3, 1], [0], [9, 8, 7]]
    assert loader.batch_size is None and loader.drop_last is False and len(loader) == 3


def test_batch_sampler_object():
    bs = BatchSampler(SequentialSampler(range(5)), 2, True)
    loader = DataLoader(_ds(5), batch_sampler=bs)
    assert _labels(loader) == [[0, 1], [2, 3]] and loader.batch_sampler is bs


def test_sampler_without_batching():
    loader = DataLoader(range(10, 15), batch_size=None, sampler=[4, 0])
    assert list(loader) == [14, 10] and len(loader) == 2


# --------------------------------------------------------------------------- iterable datasets

def test_iterable_dataset_batches():
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2, drop_last=True)] == \
        [[0, 1], [2, 3]]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]


def test_iterable_dataset_length():
    with pytest.raises(TypeError, match="has no len"):
        len(DataLoader(Stream(5), batch_size=2))
    assert len(DataLoader(SizedStream(5), batch_size=2)) == 3
    assert len(DataLoader(SizedStream(5), batch_size=2, drop_last=True)) == 2
    assert len(DataLoader(SizedStream(5), batch_size=None)) == 5


def test_iterable_dataset_length_mismatch_warns():
    loader = DataLoader(SizedStream(3), batch_size=1)
    len(loader)
    loader.dataset.n = 5
    with pytest.warns(UserWarning, match=r"was reported to be 3\(when accessing "
                                         r"len\(dataloader\)\), but \d samples have been "
                                         r"fetched"):
        assert len(list(loader)) == 5


def test_iterable_dataset_worker_info_is_none_in_main_process():
    class Probe(IterableDataset):
        def __iter__(self):
            yield get_worker_info()

    assert list(DataLoader(Probe(), batch_size=None)) == [None]


def test_iterable_dataset_new_epoch_restarts_stream():
    loader = DataLoader(Stream(3), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2]]
    assert [b.tolist() for b in loader] == [[0, 1], [2]]


# --------------------------------------------------------------------------- iterator

def test_iterator_protocol_and_length():
    it = iter(DataLoader(_ds(), batch_size=4))
    assert iter(it) is it and len(it) == 3
    next(it), next(it), next(it)
    with pytest.raises(StopIteration):
        next(it)


def test_iterator_cannot_be_pickled():
    it = iter(DataLoader(_ds()))
    with pytest.raises(NotImplementedError, match="cannot be pickled"):
        pickle.dumps(it)


def test_pin_memory_is_accepted():
    loader = DataLoader(_ds(4), batch_size=2, pin_memory=True)
    if dt.cuda.is_available():
        assert len(list(loader)) == 2
    else:
        with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no "
                                             "accelerator is found"):
            assert _labels(loader) == [[0, 1], [2, 3]]


def test_attributes():
    loader = DataLoader(_ds(), batch_size=3, num_workers=0, timeout=0)
    assert loader.batch_size == 3 and loader.num_workers == 0 and loader.prefetch_factor is None
    assert loader.persistent_workers is False and loader.in_order is True
    assert loader.multiprocessing_context is None and loader.generator is None
    assert DataLoader(_ds(), num_workers=1).prefetch_factor == 2


@pytest.mark.parametrize("attr", ["batch_size", "batch_sampler", "sampler", "drop_last",
                                  "dataset", "persistent_workers"])
def test_frozen_attributes(attr):
    loader = DataLoader(_ds())
    with pytest.raises(ValueError, match=f"{attr} attribute should not be set after DataLoader "
                                         "is initialized"):
        setattr(loader, attr, None)


def test_other_attributes_can_change():
    loader = DataLoader(_ds(4), batch_size=2)
    loader.collate_fn = lambda batch: len(batch)
    loader.num_workers = 0
    assert list(loader) == [2, 2]


# --------------------------------------------------------------------------- argument errors

@pytest.mark.parametrize("kwargs, message", [
    ({"num_workers": -1}, "num_workers option should be non-negative; use num_workers=0 to "
                          "disable multiprocessing."),
    ({"timeout": -1}, "timeout option should be non-negative"),
    ({"prefetch_factor": 2}, "prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None."),
    ({"num_workers": 1, "prefetch_factor": -1}, "prefetch_factor option should be "
                                                "non-negative"),
    ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
    ({"sampler": [1], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[1]], "batch_size": 2}, "batch_sampler option is mutually exclusive "
                                                "with batch_size, shuffle, sampler, and "
                                                "drop_last"),
    ({"batch_sampler": [[1]], "shuffle": True}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[1]], "sampler": [1]}, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[1]], "drop_last": True}, "batch_sampler option is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, "batch_size=None option disables auto-batching "
                                              "and is mutually exclusive with drop_last"),
    ({"batch_size": 0}, "batch_size should be a positive integer value, but got batch_size=0"),
    ({"batch_size": 2.5}, "batch_size should be a positive integer value"),
    ({"multiprocessing_context": "fork"}, r"multiprocessing_context can only be used with "
                                          r"multi-process loading \(num_workers > 0\), but got "
                                          r"num_workers=0"),
    ({"num_workers": 1, "multiprocessing_context": "bogus"},
     "multiprocessing_context option should specify a valid start method in "),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(_ds(), **kwargs)


def test_invalid_context_type():
    with pytest.raises(TypeError, match="multiprocessing_context option should be a valid "
                                        "context object or a string specifying the start "
                                        "method, but got multiprocessing_context=3"):
        DataLoader(_ds(), num_workers=1, multiprocessing_context=3)


def test_context_by_name():
    loader = DataLoader(_ds(), num_workers=1, multiprocessing_context="spawn")
    assert loader.multiprocessing_context is multiprocessing.get_context("spawn")


@pytest.mark.parametrize("kwargs, message", [
    ({"shuffle": True}, "DataLoader with IterableDataset: expected unspecified shuffle option, "
                        "but got shuffle=True"),
    ({"sampler": [1]}, r"DataLoader with IterableDataset: expected unspecified sampler option, "
                       r"but got sampler=\[1\]"),
    ({"batch_sampler": [[1]]}, r"expected unspecified batch_sampler option, but got "
                               r"batch_sampler=\[\[1\]\]"),
])
def test_iterable_dataset_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(Stream(3), **kwargs)


def test_iterable_dataset_shuffle_false_is_fine():
    assert len(list(DataLoader(Stream(3), shuffle=False))) == 3


def test_too_many_workers_warns(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    with pytest.warns(UserWarning, match="This DataLoader will create 3 worker processes in "
                                         "total. Our suggested max number of worker in current "
                                         "system is 2, which is smaller than what this "
                                         "DataLoader is going to create."):
        DataLoader(_ds(), num_workers=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataLoader(_ds(), num_workers=2)
