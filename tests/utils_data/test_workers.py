"""DataLoader with worker processes: ordering, seeding, sharding, errors, process cleanup."""

import gc
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.utils.data import (
    DataLoader,
    Dataset,
    IterableDataset,
    TensorDataset,
    WorkerInfo,
    _worker,
    get_worker_info,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --------------------------------------------------------------------------- datasets

class Sleepy(Dataset):
    """Item ``i`` sleeps ``delays.get(i, 0)`` seconds, then is ``i``."""

    def __init__(self, n, delays):
        self.n, self.delays = n, delays

    def __getitem__(self, i):
        time.sleep(self.delays.get(i, 0))
        return i

    def __len__(self):
        return self.n


_INIT_VALUE = None


def _init_fn(worker_id):
    global _INIT_VALUE
    _INIT_VALUE = 100 + worker_id


def _failing_init_fn(worker_id):
    return 1 / 0


class Info(Dataset):
    def __getitem__(self, i):
        info = get_worker_info()
        try:
            info.id = 7
            frozen = False
        except AttributeError:  # dataclasses.FrozenInstanceError
            frozen = True
        return {"id": info.id, "num_workers": info.num_workers, "seed": info.seed,
                "frozen": frozen, "own_copy": info.dataset is not None and
                type(info.dataset) is Info, "init": _INIT_VALUE,
                "dt": dt.rand(1).item(), "np": float(np.random.rand()), "py": random.random(),
                "pid": os.getpid()}

    def __len__(self):
        return 4


class Sharded(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        return iter(range(info.id, self.n, info.num_workers))


class Unsharded(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(a)


class Failing(Dataset):
    def __init__(self, error):
        self.error = error

    def __getitem__(self, i):
        if i == 3:
            raise self.error
        return i

    def __len__(self):
        return 8


class Dying(Dataset):
    def __init__(self, how):
        self.how = how

    def __getitem__(self, i):
        if i == 3:
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(3)
        return i

    def __len__(self):
        return 8


class Unpicklable(Dataset):
    def __getitem__(self, i):
        return lambda: i

    def __len__(self):
        return 2


def _identity(batch):
    return batch


# --------------------------------------------------------------------------- helpers

def _alive(pid):
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _gone(pids, timeout=3.0):
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _pids(it):
    return [w.pid for w in it._workers]


def _ds(n=20):
    return TensorDataset(dt.arange(float(n)), dt.arange(n))


# --------------------------------------------------------------------------- results

def test_same_batches_as_main_process():
    def run(workers):
        loader = DataLoader(_ds(), batch_size=3, shuffle=True, num_workers=workers,
                            generator=dt.Generator().manual_seed(5))
        return [(x.tolist(), y.tolist()) for x, y in loader]
    main, workers = run(0), run(2)
    assert workers == main
    assert sorted(sum((y for _, y in main), [])) == list(range(20))


def test_batches_are_dist_torch_tensors():
    x, y = next(iter(DataLoader(_ds(), batch_size=4, num_workers=1)))
    assert type(x) is dt.Tensor and type(y) is dt.Tensor
    assert x.dtype == dt.float32 and y.dtype == dt.int64 and y.tolist() == [0, 1, 2, 3]
    assert isinstance(x._data, np.ndarray)


def test_results_in_sampler_order_despite_slow_items():
    ds = Sleepy(8, {0: 0.2, 3: 0.1})
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    assert list(loader) == list(range(8))


def test_out_of_order_when_in_order_is_false():
    ds = Sleepy(6, {0: 0.4})
    out = list(DataLoader(ds, batch_size=None, num_workers=2, in_order=False))
    assert sorted(out) == list(range(6))
    assert out[0] != 0  # worker 1's items arrive while item 0 sleeps


def test_multiprocess_iterator_length_and_prefetch():
    loader = DataLoader(_ds(40), batch_size=2, num_workers=2, prefetch_factor=3)
    it = iter(loader)
    assert len(it) == 20 == len(loader)
    assert it._send_idx == 6  # prefetch_factor batches in flight per worker
    assert len(list(it)) == 20
    small = iter(DataLoader(_ds(4), batch_size=2, num_workers=2, prefetch_factor=3))
    assert small._send_idx == 2


# --------------------------------------------------------------------------- worker state

def test_worker_info_seeds_and_init_fn():
    dt.manual_seed(123)
    it = iter(DataLoader(Info(), batch_size=None, num_workers=2, worker_init_fn=_init_fn))
    base = it._base_seed
    items = list(it)
    assert [i["id"] for i in items] == [0, 1, 0, 1]  # tasks go round-robin
    assert all(i["num_workers"] == 2 and i["frozen"] and i["own_copy"] for i in items)
    assert [i["seed"] for i in items] == [base, base + 1, base, base + 1]
    assert [i["init"] for i in items] == [100, 101, 100, 101]
    assert items[0]["pid"] != items[1]["pid"]
    for key in ("dt", "np", "py"):  # each worker's generators differ
        assert items[0][key] != items[1][key]
    dt.manual_seed(123)
    again = list(DataLoader(Info(), batch_size=None, num_workers=2, worker_init_fn=_init_fn))
    strip = [{k: v for k, v in i.items() if k != "pid"} for i in items]
    assert [{k: v for k, v in i.items() if k != "pid"} for i in again] == strip


def test_worker_info_outside_workers():
    assert get_worker_info() is None
    info = WorkerInfo(id=1, num_workers=2, seed=3, dataset=None)
    assert repr(info) == ("WorkerInfo(id=1, num_workers=2, seed=3, dataset=None, rng=None, "
                          "worker_method='multiprocessing')")
    with pytest.raises(AttributeError, match="cannot assign to field 'id'"):
        info.id = 2


# --------------------------------------------------------------------------- iterable datasets

def test_iterable_sharding_without_duplicates():
    out = [b.tolist() for b in DataLoader(Sharded(10), batch_size=3, num_workers=2)]
    assert out == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
    assert sorted(sum(out, [])) == list(range(10))


def test_iterable_without_sharding_repeats_per_worker():
    out = sum((b.tolist() for b in DataLoader(Unsharded(5), batch_size=2, num_workers=2)), [])
    assert sorted(out) == sorted(list(range(5)) * 2)


def test_iterable_drop_last_per_worker():
    out = [b.tolist() for b in DataLoader(Sharded(10), batch_size=3, num_workers=2,
                                          drop_last=True)]
    assert out == [[0, 2, 4], [1, 3, 5]]


def test_iterable_without_batching():
    out = list(DataLoader(Sharded(5), batch_size=None, num_workers=2))
    assert out == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------- errors

def test_worker_exception_is_reraised_with_traceback():
    it = iter(DataLoader(Failing(ValueError("bad index 3")), batch_size=None, num_workers=2))
    pids = _pids(it)
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError) as info:
        next(it)
    message = str(info.value)
    assert message.startswith("Caught ValueError in DataLoader worker process 1.\n"
                              "Original Traceback (most recent call last):\n")
    assert "raise self.error" in message and "test_workers.py" in message
    assert message.rstrip().endswith("ValueError: bad index 3")
    assert next(it) == 4  # like torch, the iterator can go on
    del it, info  # the traceback's frames hold the iterator too
    assert _gone(pids)


def test_worker_key_error_message_is_readable():
    with pytest.raises(KeyError) as info:
        list(DataLoader(Failing(KeyError("k3")), num_workers=1))
    assert "\nOriginal Traceback (most recent call last):\n" in str(info.value)
    assert "KeyError: 'k3'" in str(info.value)


def test_worker_exception_that_cannot_be_rebuilt():
    with pytest.raises(RuntimeError, match="Caught TwoArgError in DataLoader worker process 0"):
        list(DataLoader(Failing(TwoArgError(1, 2)), num_workers=1))


def test_worker_init_fn_error():
    with pytest.raises(ZeroDivisionError, match="Caught ZeroDivisionError in DataLoader "
                                                "worker process 0"):
        list(DataLoader(range(4), num_workers=1, worker_init_fn=_failing_init_fn))


def test_unpicklable_batch_is_reported():
    with pytest.raises(Exception, match="in DataLoader worker process 0") as info:
        list(DataLoader(Unpicklable(), batch_size=None, num_workers=1, collate_fn=_identity))
    assert "pickle" in str(info.value)


@pytest.mark.parametrize("how, message", [
    ("kill", r"DataLoader worker \(pid \d+\) is killed by signal: Killed\."),
    ("exit", r"DataLoader worker \(pid \d+\) exited unexpectedly with exit code 3\. Details "
             r"are lost due to multiprocessing\."),
])
def test_dead_worker_is_reported(how, message):
    it = iter(DataLoader(Dying(how), batch_size=None, num_workers=2))
    pids = _pids(it)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=message):
        list(it)
    assert time.monotonic() - start < 3
    assert _gone(pids)


def test_iterator_after_dead_worker_stops():
    it = iter(DataLoader(Dying("exit"), batch_size=None, num_workers=1))
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(it)
    with pytest.raises(StopIteration):
        next(it)


def test_persistent_loader_recovers_after_dead_worker():
    loader = DataLoader(Dying("exit"), batch_size=None, num_workers=1, persistent_workers=True)
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(loader)
    it = iter(loader)  # fresh workers
    # Only two items: index 3 (which kills the worker) is requested once item 1 has arrived;
    # items put just before an os._exit can be lost in the worker's queue feeder thread.
    assert [next(it) for _ in range(2)] == [0, 1]
    del loader, it


@pytest.mark.parametrize("dataset", [TensorDataset(dt.zeros(0)), Sharded(0)])
def test_empty_dataset_with_workers(dataset):
    it = iter(DataLoader(dataset, batch_size=2, num_workers=2))
    pids = _pids(it)
    assert list(it) == []
    assert _gone(pids)


def test_timeout():
    it = iter(DataLoader(Sleepy(4, {1: 0.5}), batch_size=None, num_workers=1, timeout=0.15))
    pids = _pids(it)
    assert next(it) == 0
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0\.15 seconds"):
        next(it)
    assert 0.1 < time.monotonic() - start < 0.45
    del it
    assert _gone(pids)


# --------------------------------------------------------------------------- process cleanup

def test_workers_exit_when_epoch_ends():
    it = iter(DataLoader(_ds(), batch_size=5, num_workers=2))
    pids = _pids(it)
    assert all(_alive(p) for p in pids)
    assert len(list(it)) == 4
    assert _gone(pids, timeout=0.5)  # shut down before StopIteration, not at collection
    assert not any(p.pid in pids for p in multiprocessing.active_children())


def test_workers_exit_when_iterator_is_deleted():
    it = iter(DataLoader(_ds(), batch_size=2, num_workers=2))
    next(it)
    pids = _pids(it)
    del it
    assert _gone(pids)


def test_workers_exit_when_iterator_is_collected_in_a_cycle():
    it = iter(DataLoader(_ds(), batch_size=2, num_workers=2))
    next(it)
    pids = _pids(it)
    it.cycle = it
    del it
    gc.collect()
    assert _gone(pids)


def test_workers_exit_after_breaking_out_of_loop():
    before = {p.pid for p in multiprocessing.active_children()}
    for _ in DataLoader(_ds(), batch_size=2, num_workers=2):
        pids = {p.pid for p in multiprocessing.active_children()} - before
        break
    assert len(pids) == 2
    assert _gone(pids)


def test_workers_exit_after_exception_in_loop_body():
    loader = DataLoader(_ds(), batch_size=2, num_workers=2)
    before = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(ZeroDivisionError):
        for _ in loader:
            pids = {p.pid for p in multiprocessing.active_children()} - before
            raise ZeroDivisionError
    assert _gone(pids)


def test_persistent_workers_survive_epochs_and_reshuffle():
    dt.manual_seed(0)
    loader = DataLoader(_ds(12), batch_size=4, shuffle=True, num_workers=2,
                        persistent_workers=True)
    epochs, pids = [], None
    for _ in range(3):
        it = iter(loader)
        epochs.append([y.tolist() for _, y in it])
        assert pids is None or _pids(it) == pids
        pids = _pids(it)
        assert all(_alive(p) for p in pids)
    assert all(sorted(sum(e, [])) == list(range(12)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    del loader, it
    gc.collect()
    assert _gone(pids)


def test_persistent_workers_after_partial_epoch():
    loader = DataLoader(_ds(12), batch_size=2, num_workers=2, persistent_workers=True)
    it = iter(loader)
    next(it), next(it)
    assert [y.tolist() for _, y in iter(loader)] == [[2 * i, 2 * i + 1] for i in range(6)]


def test_persistent_workers_restart_iterable_streams():
    loader = DataLoader(Sharded(7), batch_size=2, num_workers=2, persistent_workers=True)
    first = [b.tolist() for b in loader]
    assert first == [[0, 2], [1, 3], [4, 6], [5]]
    assert [b.tolist() for b in loader] == first


_EXIT_SCRIPT = """
import json, sys
import dist_torch as dt
from dist_torch.utils.data import DataLoader, TensorDataset
from dist_torch.utils.data import _worker
_worker.POLL_INTERVAL = 0.05
ds = TensorDataset(dt.arange(20))
it = iter(DataLoader(ds, batch_size=2, num_workers=2))
next(it)
persistent = DataLoader(ds, batch_size=2, num_workers=1, persistent_workers=True)
it2 = iter(persistent)
next(it2)
print(json.dumps([w.pid for w in it._workers + it2._workers]), flush=True)
if sys.argv[1] == "kill":
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_workers_exit_with_the_main_process():
    """At interpreter exit (atexit shutdown), and when the main process is killed (workers
    notice they are orphaned). Both scripts run at once to keep the test short."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    script = textwrap.dedent(_EXIT_SCRIPT)
    procs = {how: subprocess.Popen([sys.executable, "-c", script, how], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
             for how in ("exit", "kill")}
    for how, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == (0 if how == "exit" else -signal.SIGKILL), err
        pids = json.loads(out.strip().splitlines()[-1])
        assert len(pids) == 3
        assert _gone(pids, timeout=3.0), how


def test_spawn_context():
    ds = TensorDataset(dt.arange(6.0), dt.arange(6))
    loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    out = [(x.tolist(), y.tolist()) for x, y in loader]
    assert out == [([0.0, 1.0, 2.0, 3.0], [0, 1, 2, 3]), ([4.0, 5.0], [4, 5])]


def test_poll_interval_is_short():
    assert _worker.POLL_INTERVAL <= 0.5
