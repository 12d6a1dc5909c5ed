"""DataLoader: batches from a dataset, in the main process or in worker processes.

The loader turns a sampler's indices into batches: a :class:`BatchSampler` groups indices, a
fetcher calls the dataset (``__getitem__`` per index, or ``__getitems__``) and ``collate_fn``
stacks the samples. With ``num_workers > 0`` the fetching runs in worker processes
(``multiprocessing``): each worker has its own index queue and all share one result queue;
the main process keeps ``prefetch_factor`` batches in flight per worker, hands tasks out
round-robin and returns results in sampler order. Worker errors are re-raised with the
worker's traceback; a worker that dies is reported with its pid and signal (the main process
waits on the workers' process sentinels together with the result queue, so it never hangs
on a dead worker); workers are shut down when an epoch ends (unless ``persistent_workers``),
when the iterator is garbage collected, and at interpreter exit.
"""

from __future__ import annotations

import atexit
import itertools
import math
import multiprocessing
import os
import signal
import time
import warnings
import weakref
from multiprocessing import connection as mp_connection
from multiprocessing.context import BaseContext
from typing import Generic, TypeVar

import dist_torch
from dist_torch.utils.data import _worker
from dist_torch.utils.data._collate import default_collate, default_convert
from dist_torch.utils.data._worker import (
    ExceptionWrapper,
    _DatasetKind,
    _IterableDatasetStopIteration,
    _ResumeIteration,
    get_worker_info,
    unpack,
)
from dist_torch.utils.data.dataset import IterableDataset
from dist_torch.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

_T_co = TypeVar("_T_co", covariant=True)

# attributes a user may not change once the loader exists (they define its samplers)
_FROZEN_ATTRIBUTES = frozenset(("batch_size", "batch_sampler", "sampler", "drop_last",
                                "dataset", "persistent_workers"))


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: ``None`` forever (the stream decides the end)."""

    def __iter__(self):
        while True:
            yield None


def _worker_count_warning(created: int, suggested: int | None, cpuset_checked: bool) -> str:
    if suggested is None:
        suggestion = ("DataLoader is not able to compute a suggested max number of worker in "
                      "current system.")
    else:
        cpuset = "" if cpuset_checked else " (`cpuset` is not taken into account)"
        suggestion = (f"Our suggested max number of worker in current system is {suggested}"
                      f"{cpuset}, which is smaller than what this DataLoader is going to "
                      "create.")
    return (f"This DataLoader will create {created} worker processes in total. {suggestion} "
            "Please be aware that excessive worker creation might get DataLoader running slow "
            "or even freeze, lower the worker number to avoid potential slowness/freeze if "
            "necessary.")


class DataLoader(Generic[_T_co]):
    """Iterate over a dataset in batches, optionally shuffled and loaded by worker processes.

    Args:
        dataset: a map-style :class:`Dataset` (``__getitem__``/``__len__``) or an
            :class:`IterableDataset`.
        batch_size: samples per batch (None: no batching, each item is one sample).
        shuffle: reshuffle the samples every epoch (map-style datasets only).
        sampler: an iterable of indices (mutually exclusive with ``shuffle``).
        batch_sampler: an iterable of lists of indices (mutually exclusive with
            ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers: worker processes loading batches (0: load in the main process).
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`;
            :func:`default_convert` when not batching).
        pin_memory: accepted for compatibility; has no effect (CPU host memory).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        timeout: seconds to wait for a batch from the workers (0: no limit).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker after seeding.
        multiprocessing_context: start method name (``'fork'``, ``'spawn'``,
            ``'forkserver'``) or context for the workers (default: the platform's).
        generator: the :class:`dist_torch.Generator` for shuffling and the workers' base
            seed (default: the default generator).
        prefetch_factor: batches loaded in advance per worker (default 2 with workers).
        persistent_workers: keep the workers alive between epochs.
        pin_memory_device: accepted for compatibility.
        in_order: return batches in sampler order (False: as soon as they are ready).

    Example::

        >>> loader = DataLoader(TensorDataset(torch.randn(100, 3), torch.arange(100)),
        ...                     batch_size=32, shuffle=True)
        >>> x, y = next(iter(loader)); x.shape, len(loader)
        (torch.Size([32, 3]), 4)
    """

    _DataLoader__initialized = False
    _iterator = None
    _IterableDataset_len_called = None

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._IterableDataset_len_called = None
        self._iterator = None
        self.check_worker_number_rationality()

    def __setattr__(self, attr, value):
        if self.__initialized and attr in _FROZEN_ATTRIBUTES:
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(attr, value)

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context):
        if context is not None:
            if self.num_workers <= 0:
                raise ValueError(f"multiprocessing_context can only be used with "
                                 f"multi-process loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid "
                                     f"start method in {methods!r}, but got "
                                     f"multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, BaseContext):
                raise TypeError(f"multiprocessing_context option should be a valid context "
                                f"object or a string specifying the start method, but got "
                                f"multiprocessing_context={context}")
        self.__multiprocessing_context = context

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        # what the iterator draws from: lists of indices when batching, else single indices
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        self.check_worker_number_rationality()
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self):
        """A new iterator over one epoch (with persistent workers: the same one, reset)."""
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._shutdown:  # none yet, or it failed
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self) -> int:
        """The number of batches in an epoch (from the dataset's length for iterables)."""
        if self._dataset_kind == _DatasetKind.Iterable:
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else \
                    math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self) -> None:
        """Warn when ``num_workers`` exceeds the CPUs this process may run on."""
        if not self.num_workers:
            return
        suggested, cpuset_checked = None, False
        try:
            suggested, cpuset_checked = len(os.sched_getaffinity(0)), True
        except (AttributeError, OSError):
            suggested = os.cpu_count()
        if suggested is None or self.num_workers > suggested:
            warnings.warn(_worker_count_warning(self.num_workers, suggested, cpuset_checked),
                          stacklevel=3)


# --------------------------------------------------------------------------- iterators

class _BaseDataLoaderIter:
    """State shared by both iterators: the sampler iterator, the seed, the batch count."""

    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._pin_memory = loader.pin_memory
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        # each epoch's iterator draws the workers' base seed, as torch does
        self._base_seed = int(dist_torch.empty((), dtype=dist_torch.int64)
                              .random_(generator=loader.generator).item())
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0
        if self._pin_memory and not dist_torch.cuda.is_available():
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _next_data(self):
        raise NotImplementedError

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if self._IterableDataset_len_called is not None and \
                self._dataset_kind == _DatasetKind.Iterable and \
                self._num_yielded > self._IterableDataset_len_called:
            message = (f"Length of IterableDataset {self._dataset} was reported to be "
                       f"{self._IterableDataset_len_called}(when accessing len(dataloader)), "
                       f"but {self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                message += ("For multiprocessing data-loading, this could be caused by not "
                            "properly configuring the IterableDataset replica at each worker. "
                            "Please see https://pytorch.org/docs/stable/data.html"
                            "#torch.utils.data.IterableDataset for examples.")
            warnings.warn(message, stacklevel=2)
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{type(self).__name__} cannot be pickled")


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    """Loads each batch in the main process when ``next`` is called."""

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._fetcher = _DatasetKind.create_fetcher(self._dataset_kind, self._dataset,
                                                    self._auto_collation, self._collate_fn,
                                                    self._drop_last)

    def _next_data(self):
        return self._fetcher.fetch(next(self._sampler_iter))


# Iterators that own workers, shut down at interpreter exit (before multiprocessing's own exit
# handler, registered earlier and so run later, terminates whatever daemons are left).
_live_iterators = weakref.WeakSet()


@atexit.register
def _shutdown_live_iterators():
    for iterator in list(_live_iterators):
        iterator._shutdown_workers()


def _death_message(worker) -> str:
    code = worker.exitcode
    if code is not None and code < 0:
        try:
            name = signal.strsignal(-code) or f"signal {-code}"
        except ValueError:
            name = f"signal {-code}"
        return f"DataLoader worker (pid {worker.pid}) is killed by signal: {name}."
    if code:
        return (f"DataLoader worker (pid {worker.pid}) exited unexpectedly with exit code "
                f"{code}. Details are lost due to multiprocessing. Rerunning with "
                "num_workers=0 may give better error trace.")
    return f"DataLoader worker (pid(s) {worker.pid}) exited unexpectedly"


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Loads batches in ``num_workers`` worker processes (see the module docstring).

    Task ``i`` (the ``i``-th batch of indices) goes to a worker's index queue; its result
    comes back on the result queue as ``(i, payload)``. ``_task_worker`` maps each task in
    flight to its worker, ``_early`` holds results that arrived before their turn, and
    ``_rcvd_idx`` is the next task to return.
    """

    _shutdown = True  # until workers exist: makes __del__ safe after a failed __init__
    _owner_pid = None

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._owner_pid = os.getpid()
        self._result_queue = context.Queue()
        self._done_event = context.Event()
        self._index_queues, self._workers = [], []
        self._alive = []  # per worker: not yet told to stop
        self._shutdown = False
        _live_iterators.add(self)
        try:
            for worker_id in range(self._num_workers):
                index_queue = context.Queue()
                index_queue.cancel_join_thread()  # never block exiting on unsent indices
                worker = context.Process(
                    target=_worker._worker_loop,
                    args=(self._dataset_kind, self._dataset, index_queue, self._result_queue,
                          self._done_event, self._auto_collation, self._collate_fn,
                          self._drop_last, self._base_seed, loader.worker_init_fn, worker_id,
                          self._num_workers),
                    daemon=True)
                worker.start()  # with spawn, this raises if the dataset cannot be pickled
                self._index_queues.append(index_queue)
                self._workers.append(worker)
                self._alive.append(True)
            self._reset(loader, first_iter=True)
        except BaseException:
            self._shutdown_workers()
            raise

    def _reset(self, loader, first_iter=False):
        super()._reset(loader, first_iter)
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_worker = {}
        self._early = {}
        self._workers_status = [True] * self._num_workers  # still producing this epoch
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # a new epoch with persistent workers: restart each worker's stream, discarding
            # results of the last epoch still in flight (they precede the acknowledgements)
            for index_queue in self._index_queues:
                index_queue.put(_ResumeIteration())
            pending = self._num_workers
            while pending:
                task_id, _ = self._get_data()
                if isinstance(task_id, _ResumeIteration):
                    pending -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self):
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return  # every worker's stream has ended
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_worker[self._send_idx] = worker_id
        self._send_idx += 1

    def _next_data(self):
        if self._shutdown:  # after a worker died: nothing more will come
            raise StopIteration
        while True:
            # skip tasks that will never be answered (their worker's stream ended)
            while self._rcvd_idx < self._send_idx:
                if self._rcvd_idx in self._early:
                    break
                worker_id = self._task_worker.get(self._rcvd_idx)
                if worker_id is not None and self._workers_status[worker_id]:
                    break
                self._task_worker.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if self._rcvd_idx in self._early:
                data = self._early.pop(self._rcvd_idx)
                self._task_worker.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
                return self._process_data(data)

            task_id, payload = self._get_data()
            if isinstance(payload, _IterableDatasetStopIteration):
                if self._persistent_workers:
                    self._workers_status[payload.worker_id] = False
                else:
                    self._stop_worker(payload.worker_id)
                self._task_worker.pop(task_id, None)
                self._try_put_index()
                continue
            data = unpack(payload)
            if task_id == self._rcvd_idx or not self._in_order:
                self._task_worker.pop(task_id, None)
                if task_id == self._rcvd_idx:
                    self._rcvd_idx += 1
                return self._process_data(data)
            self._early[task_id] = data

    def _process_data(self, data):
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _stop_worker(self, worker_id: int):
        """Tell a worker to exit (its stream has ended)."""
        self._workers_status[worker_id] = False
        if self._alive[worker_id]:
            self._alive[worker_id] = False
            self._index_queues[worker_id].put(None)

    def _get_data(self):
        if self._timeout > 0:
            ready, data = self._try_get_data(self._timeout)
            if not ready:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            return data
        while True:
            ready, data = self._try_get_data(None)
            if ready:
                return data

    def _try_get_data(self, timeout):
        """Wait for a result or for a worker to die; ``(False, None)`` on timeout."""
        reader = self._result_queue._reader
        sentinels = {w.sentinel: w for w, alive in zip(self._workers, self._alive) if alive}
        ready = mp_connection.wait([reader, *sentinels], timeout)
        if reader in ready:  # results first: a dead worker's last batches still count
            return True, self._result_queue.get()
        if not ready:
            return False, None
        dead = [sentinels[s] for s in ready]
        for worker in dead:
            worker.join(timeout=1.0)
        message = _death_message(dead[0])
        self._shutdown_workers()
        raise RuntimeError(message)

    def _shutdown_workers(self):
        """Stop and reap the workers (a few seconds at most; stragglers are terminated)."""
        if self._shutdown or os.getpid() != self._owner_pid:
            return  # already done, or a copy of this object inherited by a forked worker
        self._shutdown = True
        _live_iterators.discard(self)
        try:
            self._done_event.set()  # workers skip queued tasks and don't flush results
            for worker_id, index_queue in enumerate(self._index_queues):
                if self._alive[worker_id]:
                    self._alive[worker_id] = False
                    index_queue.put(None)
            deadline = time.monotonic() + _worker.SHUTDOWN_TIMEOUT
            for worker in self._workers:
                worker.join(timeout=max(0.0, deadline - time.monotonic()))
            for index_queue in self._index_queues:
                index_queue.cancel_join_thread()
                index_queue.close()
            self._result_queue.cancel_join_thread()
            self._result_queue.close()
        finally:
            for worker in self._workers:
                if worker.is_alive():
                    worker.terminate()
                    worker.join(timeout=1.0)

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:  # noqa: S110 - a destructor must not raise (e.g. at interpreter exit)
            pass
