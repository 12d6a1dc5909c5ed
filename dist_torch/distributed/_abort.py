"""Loud, local failures: an uncaught exception on one rank aborts the whole MPI job.

Without this, a rank that raises exits while the others wait forever in their next
collective, and ``mpiexec`` never returns. :func:`install` (called by ``init_process_group``
when the world has more than one rank) replaces ``sys.excepthook`` and
``threading.excepthook``: the traceback is printed with every line prefixed by the rank,
the output streams are flushed, and ``MPI_Abort`` ends every rank. Set
``DT_NO_ABORT_ON_EXCEPTION=1`` to keep Python's default behaviour (tests that want to watch
one rank's exception).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback

ENV = "DT_NO_ABORT_ON_EXCEPTION"

_state = {"installed": False, "broken": False, "pid": None, "sys": None, "threading": None}


def _comm_world():
    from dist_torch.distributed.mpi import mpi
    return mpi().COMM_WORLD


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed stream must not stop the abort
            pass


def _report(rank: int, exc_type, exc, tb, where: str) -> None:
    lines = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n").split("\n")
    head = f"[rank {rank}] Uncaught exception{where}; aborting the job (MPI_Abort):"
    text = "\n".join([head] + [f"[rank {rank}] {line}" for line in lines]) + "\n"
    _flush()
    try:
        sys.stderr.write(text)
    except Exception:  # stderr may be gone; still abort
        os.write(2, text.encode(errors="replace"))
    _flush()


def _opted_out() -> bool:
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "off", "false", "no")


def _abort(code: int = 1) -> None:
    _flush()
    # mpiexec kills every rank as soon as MPI_Abort reaches it, and output still in flight
    # through its forwarding proxies can be lost: give the report a moment to get out.
    time.sleep(0.3)
    _comm_world().Abort(code)
    # MPICH's MPI_Abort returns when another thread is inside MPI (a communication thread
    # blocked in a collective); mpiexec is already ending the job, so leave at once.
    os._exit(code)


def _sys_hook(exc_type, exc, tb):
    if os.getpid() != _state["pid"] or _opted_out():
        return _state["sys"](exc_type, exc, tb)
    _report(_comm_world().Get_rank(), exc_type, exc, tb, "")
    _abort(1)


def _thread_hook(args):
    if os.getpid() != _state["pid"] or _opted_out() or args.exc_type is SystemExit:
        return _state["threading"](args)
    name = getattr(args.thread, "name", "?")
    _report(_comm_world().Get_rank(), args.exc_type, args.exc_value, args.exc_traceback,
            f" in thread {name!r}")
    _abort(1)


def install() -> None:
    """Abort the MPI job on any uncaught exception (idempotent)."""
    if _state["installed"]:
        return
    _state.update(installed=True, pid=os.getpid(), sys=sys.excepthook,
                  threading=threading.excepthook)
    sys.excepthook = _sys_hook
    threading.excepthook = _thread_hook


def uninstall() -> None:
    """Restore the hooks that :func:`install` replaced."""
    if not _state["installed"]:
        return
    if sys.excepthook is _sys_hook:
        sys.excepthook = _state["sys"]
    if threading.excepthook is _thread_hook:
        threading.excepthook = _state["threading"]
    _state["installed"] = False


def is_installed() -> bool:
    return _state["installed"]


def mark_broken() -> None:
    """A collective timed out: the job cannot finish cleanly (see :func:`abort_broken_job`)."""
    _state["broken"] = True


def is_broken() -> bool:
    return _state["broken"]


def abort_broken_job() -> None:
    """At exit after a timeout: a communication thread is stuck inside MPI, so MPI_Finalize
    would hang; abort the job instead (exit status 1)."""
    try:
        sys.stderr.write(f"[rank {_comm_world().Get_rank()}] exiting after a collective "
                         "timed out: aborting the job (MPI_Abort)\n")
    except Exception:  # best effort only
        pass
    _abort(1)
