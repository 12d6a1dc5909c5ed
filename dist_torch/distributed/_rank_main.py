"""What every rank of a ``dtrun`` job runs, in place of ``python``::

    mpiexec -n N python -m dist_torch.distributed._rank_main script.py args...
    mpiexec -n N python -m dist_torch.distributed._rank_main -m package.module args...

Before the script starts it

* sets RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE from the MPI launcher's variables
  (Hydra: PMI_RANK, PMI_SIZE, MPI_LOCALRANKID, MPI_LOCALNRANKS; Open MPI:
  OMPI_COMM_WORLD_*; PMIx: PMIX_RANK; Slurm: SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, ...);
* binds the rank to one GPU where the node has GPUs: CUDA_VISIBLE_DEVICES becomes the
  ``LOCAL_RANK % count``-th of the visible devices (``DT_BIND_GPUS=0`` turns this off). CUDA
  is never initialised here;
* enables ``faulthandler`` (a crash prints every thread's Python stack) and, with
  ``DT_WATCHDOG_TIMEOUT=S``, arms the hang watchdog (see ``_progress.py``): after S seconds
  without progress the rank prints its stacks; under dtrun SIGUSR1 prints them too (dtrun
  sends it through mpiexec to every rank when one hangs) and dtrun ends the job, otherwise
  the rank exits (status 1);
* in a world of more than one rank, makes an uncaught exception end the whole job: when MPI
  is initialised it aborts through ``_abort.py`` (MPI_Abort), otherwise the rank reports and
  exits, and ``dtrun`` stops the others (MPI_Init cannot be called by one rank alone: it waits
  for every rank). A non-zero ``sys.exit`` does the same.

Under ``dtrun`` (``DT_LAUNCHER=1``, Linux) the process that mpiexec started forks: the child
is the rank and runs the script, the parent only waits for it, passes signals on (SIGINT,
SIGTERM, ...) and reports how it ended, then ends the same way. That is how dtrun learns which
rank died from a signal (SIGKILL from the out-of-memory killer, a segfault): mpiexec's own
report may name another rank that it killed while cleaning up. The child dies with its parent
(PR_SET_PDEATHSIG). Both write one-line records for the launcher to stderr (pids at start; exit
code, signal or exception on failure); they start with :data:`MARK` and dtrun consumes them.
"""

from __future__ import annotations

import faulthandler
import os
import runpy
import signal
import socket
import sys
import threading
import time
import traceback

from dist_torch.distributed._abort import _flush

MARK = "\x1edtrun:"
LAUNCHER_ENV = "DT_LAUNCHER"
BIND_ENV = "DT_BIND_GPUS"

RANK_VARS = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID")
SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS")
LOCAL_RANK_VARS = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")
LOCAL_SIZE_VARS = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")
USAGE = "usage: python -m dist_torch.distributed._rank_main (-m module | script) [args...]"


def _first_int(env, names) -> int | None:
    for name in names:
        value = env.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return None


def _slurm_local_size(env) -> int | None:
    """Tasks on this node from SLURM_STEP_TASKS_PER_NODE / SLURM_TASKS_PER_NODE (``4(x2),3``)."""
    spec = env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE")
    node = _first_int(env, ("SLURM_NODEID",))
    if not spec or node is None:
        return None
    counts = []
    for part in spec.split(","):
        count, _, times = part.partition("(x")
        if not count.strip().isdigit():
            return None
        counts += [int(count)] * (int(times.rstrip(")")) if times.rstrip(")").isdigit() else 1)
    return counts[node] if node < len(counts) else None


def world_from_env(env=None) -> tuple[int, int, int, int]:
    """(rank, world size, local rank, local world size) from the launcher's variables."""
    env = os.environ if env is None else env
    rank = _first_int(env, RANK_VARS)
    size = _first_int(env, SIZE_VARS)
    if rank is None or size is None:
        return 0, 1, 0, 1
    local_rank = _first_int(env, LOCAL_RANK_VARS)
    local_size = _first_int(env, LOCAL_SIZE_VARS) or _slurm_local_size(env)
    if local_rank is None:
        local_rank = rank
    if local_size is None:
        local_size = size
    return rank, size, local_rank, local_size


def visible_gpus(env=None) -> list[str]:
    """The device ids CUDA would show: CUDA_VISIBLE_DEVICES's list where it is set, else one per
    entry of /proc/driver/nvidia/gpus (no CUDA call)."""
    env = os.environ if env is None else env
    given = env.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        ids = []
        for item in given.split(","):
            item = item.strip()
            if not item or item.startswith("-"):
                break  # CUDA stops at the first invalid entry
            ids.append(item)
        return ids
    try:
        return [str(i) for i in range(len(os.listdir("/proc/driver/nvidia/gpus")))]
    except OSError:
        return []


def bind_gpu(local_rank: int, env=None) -> str | None:
    """Set CUDA_VISIBLE_DEVICES to this local rank's device; returns it (None: no GPU)."""
    env = os.environ if env is None else env
    if env.get(BIND_ENV, "1").strip().lower() in ("0", "no", "off", "false"):
        return None
    ids = visible_gpus(env)
    if not ids:
        return None
    env["CUDA_VISIBLE_DEVICES"] = ids[local_rank % len(ids)]
    return env["CUDA_VISIBLE_DEVICES"]


def _write_err(text: str) -> None:
    _flush()
    try:
        os.write(2, text.encode(errors="replace"))
    except OSError:
        pass


def _mark(kind: str, **fields) -> None:
    """One record for dtrun on stderr (only under dtrun); ``what`` goes last (it has spaces)."""
    if os.environ.get(LAUNCHER_ENV) != "1":
        return
    what = fields.pop("what", None)
    parts = [kind] + [f"{key}={value}" for key, value in fields.items()]
    if what is not None:
        parts.append("what=" + " ".join(str(what).split())[:300])
    _write_err(MARK + " ".join(parts) + "\n")


def _running_mpi():
    """mpi4py's MPI module when MPI is initialised and not finalised, else None (never
    initialises MPI)."""
    mpi = sys.modules.get("mpi4py.MPI")
    try:
        if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
            return mpi
    except Exception:  # a broken MPI must not hide the original failure
        pass
    return None


def _opted_out() -> bool:
    value = os.environ.get("DT_NO_ABORT_ON_EXCEPTION", "").strip().lower()
    return value not in ("", "0", "off", "false", "no")


def _user_traceback(tb):
    """``tb`` without the frames of this wrapper and runpy."""
    own = os.path.abspath(__file__)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name != "<frozen runpy>" and not name.endswith("runpy.py") and \
                os.path.abspath(name) != own:
            break
        tb = tb.tb_next
    return tb


def _summary(exc_type, exc) -> str:
    lines = traceback.format_exception_only(exc_type, exc)
    text = "".join(lines).strip().splitlines()
    return text[-1] if text else exc_type.__name__


def _report(rank: int, exc_type, exc, tb, where: str, action: str) -> None:
    lines = "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n").split("\n")
    head = f"[rank {rank}] Uncaught exception{where}; {action}:"
    _write_err("\n".join([head] + [f"[rank {rank}] {line}" for line in lines]) + "\n")


def _abort_job(mpi, code: int) -> None:
    _flush()
    time.sleep(0.3)  # let the report get through mpiexec's forwarding before the kill
    mpi.COMM_WORLD.Abort(code)
    os._exit(code)


def _fail_exception(rank: int, size: int, exc: BaseException) -> int:
    exc_type, tb = type(exc), _user_traceback(exc.__traceback__)
    _mark("fail", rank=rank, code=1, what=_summary(exc_type, exc))
    if size == 1 or _opted_out():
        sys.excepthook(exc_type, exc, tb)
        return 1
    mpi = _running_mpi()
    if mpi is None:
        _report(rank, exc_type, exc, tb, "", "stopping the job")
        return 1
    from dist_torch.distributed import _abort
    if _abort.is_installed():
        sys.excepthook(exc_type, exc, tb)  # _abort's: report, MPI_Abort
        return 1
    _report(rank, exc_type, exc, tb, "", "aborting the job (MPI_Abort)")
    _abort_job(mpi, 1)
    return 1


def _exit_code(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    _write_err(f"{code}\n")  # sys.exit("message"): Python prints it and exits with 1
    return 1


def _fail_exit(rank: int, size: int, code: int) -> int:
    _mark("fail", rank=rank, code=code, what=f"sys.exit({code})")
    mpi = _running_mpi() if size > 1 and not _opted_out() else None
    if mpi is not None:
        _write_err(f"[rank {rank}] exited with code {code}; aborting the job (MPI_Abort)\n")
        _abort_job(mpi, code)
    return code


def _install_thread_hook(rank: int) -> None:
    """Until init_process_group installs _abort's hook: an exception in a thread ends the job."""
    previous = threading.excepthook
    pid = os.getpid()

    def hook(args):
        if os.getpid() != pid or args.exc_type is SystemExit or _opted_out():
            return previous(args)
        name = getattr(args.thread, "name", "?")
        mpi = _running_mpi()
        _report(rank, args.exc_type, args.exc_value, args.exc_traceback,
                f" in thread {name!r}", "aborting the job (MPI_Abort)" if mpi else
                "stopping the job")
        _mark("fail", rank=rank, code=1, what=_summary(args.exc_type, args.exc_value))
        if mpi is not None:
            _abort_job(mpi, 1)
        _flush()
        os._exit(1)

    threading.excepthook = hook


_FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def _can_supervise() -> bool:
    return os.environ.get(LAUNCHER_ENV) == "1" and sys.platform.startswith("linux") and \
        hasattr(os, "fork")


def _supervise(rank: int) -> None:
    """Fork; the child returns (it is the rank), the parent waits for it and never returns.

    The parent keeps every inherited descriptor open, the PMI connection included, so that
    mpiexec sees the rank end only when the parent has reported how it ended.
    """
    import ctypes
    parent = os.getpid()
    _flush()
    child = os.fork()
    if child == 0:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:  # the parent died before prctl
            os._exit(1)
        return
    _mark("start", rank=rank, pid=child, supervisor=parent, host=socket.gethostname())

    def forward(signum, frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for name in _FORWARDED:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), forward)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            os._exit(1)
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = f"{signal.Signals(signum).name}: {signal.strsignal(signum)}"
        except ValueError:
            name = "unknown signal"
        _mark("fail", rank=rank, code=128 + signum, signal=signum,
              what=f"killed by signal {signum} ({name})")
        _die_by(signum)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
    if code:
        _mark("exit", rank=rank, code=code)
    os._exit(code)


def _die_by(signum: int) -> None:
    """End this process with ``signum`` (no core file), as the child ended."""
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    try:
        if signum not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
        os.kill(os.getpid(), signum)
        time.sleep(1)
    except (OSError, ValueError):
        pass
    os._exit(128 + signum)


def _run(argv: list[str]) -> None:
    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        sys.path[0] = os.getcwd()
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        script = argv[0]
        sys.argv = [script, *argv[1:]]
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        runpy.run_path(script, run_name="__main__")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0].startswith("-m") and len(argv[0]) > 2:
        argv = ["-m", argv[0][2:], *argv[1:]]
    if not argv or (argv[0] == "-m" and len(argv) < 2) or \
            (argv[0].startswith("-") and argv[0] != "-m"):
        _write_err(USAGE + "\n")
        return 2
    rank, size, local_rank, local_size = world_from_env()
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(local_rank),
                      LOCAL_WORLD_SIZE=str(local_size))
    bind_gpu(local_rank)
    if _can_supervise():
        _supervise(rank)
    else:
        _mark("start", rank=rank, pid=os.getpid(), host=socket.gethostname())
    faulthandler.enable(all_threads=True)
    from dist_torch.distributed import _progress
    seconds = _progress.timeout_from_env()
    if seconds is not None:
        launched = os.environ.get(LAUNCHER_ENV) == "1"
        _progress.arm(seconds, exit=not launched)
        if launched:
            _progress.dump_on_signal()
    if size > 1:
        _install_thread_hook(rank)
    try:
        _run(argv)
    except SystemExit as exc:
        _progress.disarm()
        code = _exit_code(exc.code)
        return _fail_exit(rank, size, code) if code else 0
    except BaseException as exc:  # KeyboardInterrupt too: the job ends either way
        _progress.disarm()
        return _fail_exception(rank, size, exc)
    _progress.disarm()
    return 0


if __name__ == "__main__":
    sys.exit(main())
