"""What runs inside a DataLoader worker process, and what both sides of the queues share.

A worker reads ``(task_id, indices)`` from its own index queue, fetches and collates the batch
with a fetcher, and puts ``(task_id, payload)`` on the shared result queue. The payload is the
batch pickled in the worker (so an unpicklable batch is reported as an error rather than lost
in a queue thread), an :class:`ExceptionWrapper` carrying an exception's traceback text, or an
:class:`_IterableDatasetStopIteration` once an IterableDataset's stream is exhausted.
``None`` on the index queue stops the worker; :class:`_ResumeIteration` starts a new epoch
(persistent workers). A worker also stops when its parent process has died.
"""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import queue
import random
import sys
import traceback
from multiprocessing.reduction import ForkingPickler

import numpy as np

import dist_torch
from dist_torch.utils.data._collate import EmptyBatch, zero_rows

__all__ = ["WorkerInfo", "get_worker_info"]

# How long (seconds) the main process waits for workers to exit before terminating them.
SHUTDOWN_TIMEOUT = 5.0
# How often (seconds) an idle worker checks for shutdown and that its parent is alive. The
# shutdown flag is checked, not only the ``None`` message, because an iterator collected as
# part of a reference cycle may find its index queues already finalized by multiprocessing.
POLL_INTERVAL = 0.1

_worker_info = None


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """Describes the worker process this code runs in (see :func:`get_worker_info`).

    Attributes:
        id: the worker's index, ``0 .. num_workers - 1``.
        num_workers: how many workers the DataLoader has.
        seed: the worker's seed (``base_seed + id``), already applied to ``dist_torch``'s,
            NumPy's and Python's ``random`` generators.
        dataset: the worker's copy of the dataset.
    """

    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str | None = "multiprocessing"


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of the current DataLoader worker; None in the main process.

    Example::

        >>> class Shard(IterableDataset):
        ...     def __iter__(self):
        ...         info = get_worker_info()
        ...         start, step = (0, 1) if info is None else (info.id, info.num_workers)
        ...         return iter(range(start, 100, step))
    """
    return _worker_info


class _KeyErrorMessage(str):
    """KeyError prints ``repr`` of its argument; this keeps a traceback text readable."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception's class and formatted traceback, to re-raise in another process."""

    def __init__(self, exc_info=None, where: str = "in background"):
        exc_type, exc_value, tb = exc_info if exc_info is not None else sys.exc_info()
        self.exc_type = exc_type
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc_value, tb))
        self.where = where

    def reraise(self):
        """Raise the wrapped exception type with the original traceback in its message."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            raise KeyError(_KeyErrorMessage(msg))
        if getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            error = self.exc_type(msg)
        except Exception:  # the class wants other constructor arguments
            raise RuntimeError(msg) from None
        try:
            raise error
        finally:
            del error  # no cycle exception -> traceback -> this frame -> exception


@dataclasses.dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """A worker's IterableDataset copy is exhausted."""

    worker_id: int


class _ResumeIteration:
    """Start a new epoch (persistent workers); the worker acknowledges with ``(self, None)``."""


class _DatasetKind:
    Map = 0
    Iterable = 1

    @staticmethod
    def create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
        if kind == _DatasetKind.Map:
            return _MapDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)
        return _IterableDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)


class _MapDatasetFetcher:
    """Fetches a batch by index: ``__getitems__`` when the dataset has it, else one
    ``__getitem__`` per index."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        getitems = getattr(dataset, "__getitems__", None)
        self._getitems = getitems if callable(getitems) else None

    def fetch(self, possibly_batched_index):
        if type(possibly_batched_index) is EmptyBatch:
            return zero_rows(self.fetch([possibly_batched_index.template]))
        if not self.auto_collation:
            return self.collate_fn(self.dataset[possibly_batched_index])
        if self._getitems is not None:
            return self.collate_fn(self._getitems(possibly_batched_index))
        dataset = self.dataset
        return self.collate_fn([dataset[i] for i in possibly_batched_index])


class _IterableDatasetFetcher:
    """Takes the next sample (or the next ``len(batch_index)`` samples) from the stream."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in possibly_batched_index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(possibly_batched_index)):
            raise StopIteration
        return self.collate_fn(data)


def _seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed dist_torch's, Python's and NumPy's global generators for this worker."""
    seed = base_seed + worker_id
    random.seed(seed)
    dist_torch.manual_seed(seed)
    # NumPy's legacy seed takes 32-bit words: derive them from both numbers
    np.random.seed(np.random.SeedSequence([base_seed, worker_id]).generate_state(4))
    return seed


def _dumps(obj) -> bytes:
    buffer = io.BytesIO()
    ForkingPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def _pack(data, where: str) -> bytes:
    """Pickle ``data`` here, so a batch that cannot be pickled becomes a reported error."""
    try:
        return _dumps(data)
    except Exception:
        error = ExceptionWrapper(where=where)
    try:
        return _dumps(error)
    except Exception:  # the exception class itself cannot be pickled (e.g. a local class)
        error.exc_type = RuntimeError
        return _dumps(error)


def unpack(payload):
    """The object :func:`_pack` pickled (other payloads pass through)."""
    if type(payload) is bytes:
        return pickle.loads(payload)
    return payload


def _worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation,
                 collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers):
    """The body of a worker process (see the module docstring)."""
    global _worker_info
    where = f"in DataLoader worker process {worker_id}"
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_error, fetcher = None, None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation,
                                                  collate_fn, drop_last)
        except Exception:
            init_error = ExceptionWrapper(where=where)
        ended = False  # this epoch's IterableDataset stream is exhausted
        parent = os.getppid()
        while True:
            try:
                task = index_queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                if done_event.is_set() or os.getppid() != parent:  # shutdown, or orphaned
                    break
                continue
            if task is None:
                break
            if isinstance(task, _ResumeIteration):
                ended = False
                if fetcher is not None:  # a fresh fetcher restarts an IterableDataset
                    try:
                        fetcher = _DatasetKind.create_fetcher(
                            dataset_kind, dataset, auto_collation, collate_fn, drop_last)
                    except Exception:
                        fetcher, init_error = None, ExceptionWrapper(where=where)
                data_queue.put((task, None))
                continue
            if ended or done_event.is_set():
                continue  # drain the queue until None arrives
            task_id, index = task
            if fetcher is None:  # worker_init_fn or iter(dataset) failed: report each time
                data = init_error
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if dataset_kind != _DatasetKind.Iterable:
                        data = ExceptionWrapper(where=where)
                    else:
                        data, ended = _IterableDatasetStopIteration(worker_id), True
                except Exception:
                    data = ExceptionWrapper(where=where)
            payload = data if isinstance(data, _IterableDatasetStopIteration) else \
                _pack(data, where)
            data_queue.put((task_id, payload))
            del data, payload, task, index  # don't keep the batch alive while idle
    except KeyboardInterrupt:
        pass  # the main process gets the interrupt too and shuts the workers down
    if done_event.is_set():
        # nobody reads the results any more: don't block exiting on flushing them
        data_queue.cancel_join_thread()
        data_queue.close()
