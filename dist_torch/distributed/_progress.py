"""The hang watchdog behind ``dtrun --timeout S``: each rank dumps its Python stacks and exits
when it has made no progress for S seconds.

``dtrun`` passes ``DT_WATCHDOG_TIMEOUT=S`` to the ranks; the rank wrapper
(``dist_torch.distributed._rank_main``) calls :func:`arm`, which starts
``faulthandler.dump_traceback_later(S, exit=True)``. :func:`report_progress` pushes the
deadline back. It is called at the end of every DDP backward pass and after every completed
collective, and a training loop without either can call it itself::

    from dist_torch.distributed._progress import report_progress
    for batch in loader:
        ...
        report_progress()

Re-arming is throttled to once per half second. Where no watchdog is armed (the common
case: no ``--timeout``, or a plain ``python``/``mpiexec`` run), :func:`report_progress` is a
check of one module global.
"""

from __future__ import annotations

import faulthandler
import os
import time

__all__ = ["ENV", "arm", "disarm", "dump_on_signal", "is_armed", "report_progress",
           "timeout_from_env"]

ENV = "DT_WATCHDOG_TIMEOUT"

_timeout: float | None = None  # seconds while armed in this process, else None
_exit = True  # end the process after the dump (False under dtrun: dtrun ends the job)
_pid = 0  # the process that armed it (a forked child inherits the global, not the thread)
_interval = 0.5
_last = 0.0


def timeout_from_env() -> float | None:
    """``DT_WATCHDOG_TIMEOUT`` in seconds (None when unset, empty or 0)."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{ENV} must be a number of seconds, got {value!r}") from None
    return seconds if seconds > 0 else None


def arm(seconds: float, exit: bool = True) -> None:
    """Dump every thread's stack (and exit with status 1 if ``exit``) unless progress is
    reported within ``seconds``; each :func:`report_progress` restarts the countdown. The
    stacks go to file descriptor 2 (whatever ``sys.stderr`` has become), which ``dtrun``
    reads. Under dtrun ``exit`` is False: dtrun sees the dump, asks every rank for its stacks
    (SIGUSR1, which :func:`dump_on_signal` hands to faulthandler) and then ends the job."""
    global _timeout, _pid, _interval, _last, _exit
    if seconds <= 0:
        raise ValueError(f"watchdog timeout must be positive, got {seconds}")
    _interval = min(0.5, seconds / 4)
    _pid = os.getpid()
    _last = time.monotonic()
    _exit = exit
    faulthandler.dump_traceback_later(seconds, exit=exit, file=2)
    _timeout = seconds


def dump_on_signal() -> None:
    """Print every thread's Python stack to file descriptor 2 on SIGUSR1 (no exit)."""
    import signal
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, file=2, all_threads=True, chain=False)


def disarm() -> None:
    """Stop the watchdog (at the end of the script)."""
    global _timeout
    if _timeout is not None:
        _timeout = None
        faulthandler.cancel_dump_traceback_later()


def is_armed() -> bool:
    return _timeout is not None


def report_progress() -> None:
    """Tell the watchdog this rank is making progress (cheap; safe from any thread)."""
    timeout = _timeout
    if timeout is None:
        return
    global _last
    now = time.monotonic()
    if now - _last < _interval or os.getpid() != _pid:
        return
    _last = now
    faulthandler.dump_traceback_later(timeout, exit=_exit, file=2)
    if _timeout is None:  # disarmed meanwhile (by another thread)
        faulthandler.cancel_dump_traceback_later()
