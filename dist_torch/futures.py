"""torch.futures.Future: a value that becomes available later, with chained callbacks.

Used by DDP communication hooks: ``dist.all_reduce(t, async_op=True).get_future()`` gives a
Future whose ``then(fn)`` builds the next step. Callbacks run when the value is first needed
(``wait``/``value``) or, for an already completed Future, at once.
"""

from __future__ import annotations

__all__ = ["Future", "collect_all", "wait_all"]

_UNSET = object()


class Future:
    """A result that is set once; ``wait()`` returns it, ``then(fn)`` chains ``fn(self)``."""

    def __init__(self, *, devices=None, _waiter=None):
        self._value = _UNSET
        self._error = None
        self._waiter = _waiter  # called to drive completion (e.g. Work.wait)
        self._callbacks = []

    def done(self) -> bool:
        return self._value is not _UNSET or self._error is not None

    def set_result(self, value) -> None:
        if self.done():
            raise RuntimeError("Future.set_result was called on a completed Future")
        self._value = value
        self._run_callbacks()

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._run_callbacks()

    def wait(self):
        """Block until the value is set; return it (or raise the stored exception)."""
        if not self.done() and self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            try:
                self.set_result(waiter())
            except BaseException as err:  # the waiter's failure is this future's failure
                self.set_exception(err)
        if self._error is not None:
            raise self._error
        if self._value is _UNSET:
            raise RuntimeError("Future has no result and nothing to wait on")
        return self._value

    value = wait

    def then(self, callback) -> Future:
        """A Future of ``callback(self)``, computed once this one completes."""
        def compute():
            self.wait()
            return callback(self)
        child = Future(_waiter=compute)
        if self.done():
            child.wait()
        return child

    def add_done_callback(self, callback) -> None:
        if self.done():
            callback(self)
        else:
            self._callbacks.append(callback)

    def _run_callbacks(self):
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


def collect_all(futures) -> Future:
    """A Future of the list of ``futures`` (each waited in turn)."""
    futures = list(futures)
    def wait_each():
        for f in futures:
            f.wait()
        return futures
    return Future(_waiter=wait_each)


def wait_all(futures) -> list:
    return [f.wait() for f in futures]
