"""``dtrun``: run a dist_torch script on N processes (MPI ranks), one GPU per rank where there
are GPUs.

Usage::

    dtrun [options] script.py [script arguments...]
    dtrun [options] -m package.module [module arguments...]
    python -m dist_torch.distributed.run [options] script.py [script arguments...]

dtrun is a thin layer over ``mpiexec`` (MPICH's Hydra; Open MPI works too): mpiexec starts
the processes, on one machine or on many, the way MPI always does, and dtrun adds what
``torchrun`` users expect: the torch environment variables, one GPU per rank, readable
output, a clear report when a rank fails, restarts, and a hang watchdog. Everything after
the script (or ``-m module``) is passed to it unchanged.

Options
-------
-n N, --nprocs N      Number of ranks (default 1).
--hosts LIST          Hosts and how many ranks each takes, e.g. ``a:4,b:4`` (mpiexec's
                      ``-hosts``; Open MPI's ``--host``).
--hostfile FILE       An MPI host file (mpiexec's ``-f``; Open MPI's ``--hostfile``). Not
                      together with --hosts. Without either, every rank runs on this machine
                      (or, inside a Slurm allocation, where Hydra's Slurm support puts it).
--mpiexec PATH        The mpiexec to use. Default: the ``mpiexec`` next to the Python that
                      runs dtrun (the ``mpich`` wheel's), else the first on PATH.
--mpiexec-args ARGS   More arguments for mpiexec, as one shell-quoted string, e.g.
                      ``--mpiexec-args "-iface ib0"``.
--tag-output          Prefix every output line with its rank: ``[1] epoch 3 loss 0.12``.
--log-dir DIR         Write each rank's stdout and stderr to ``DIR/rank{R}.log`` (and
                      mpiexec's own messages to ``DIR/mpiexec.log``); the console shows only
                      a short summary. Restarts append to the same files.
--max-restarts N      After a failure (a rank failed or the job hung), start the whole job
                      again, up to N times (default 0). The script resumes from its own last
                      checkpoint; ``DT_RESTART_COUNT`` tells it which run this is.
--timeout S           Hang watchdog: when a rank reports no progress for S seconds, every
                      rank's Python stacks are printed and the job ends (exit status 124).
                      Progress is a DDP step (the end of a backward pass through
                      DistributedDataParallel), a completed collective, or an explicit
                      ``dist_torch.distributed._progress.report_progress()``. A script that
                      does none of these for S seconds is taken for hung: choose S well above
                      the longest step, evaluation or checkpoint pause.
--no-bind-gpus        Do not set CUDA_VISIBLE_DEVICES (every rank sees every GPU).
-m MODULE             Run a module, like ``python -m MODULE``.

Environment of every rank
-------------------------
RANK, WORLD_SIZE                 This process's rank and the number of ranks.
LOCAL_RANK, LOCAL_WORLD_SIZE     Its rank among the ranks of its node, and their number.
CUDA_VISIBLE_DEVICES             On a node with GPUs: one device, the ``LOCAL_RANK % count``-th
                                 of those visible (of an existing CUDA_VISIBLE_DEVICES list,
                                 else of /proc/driver/nvidia/gpus), so every rank uses
                                 ``cuda:0``. CUDA is not initialised to find out.
OMP_NUM_THREADS                  When not set: max(1, CPUs // ranks per node), so the ranks
                                 do not oversubscribe the cores; dtrun says so once.
PYTHONUNBUFFERED=1               When not set, so output arrives line by line and the last
                                 lines before a crash are not lost in a buffer.
DT_RESTART_COUNT                 0 on the first run, k on the k-th restart.
DT_WATCHDOG_TIMEOUT              S, with --timeout.
PYTHONPATH                       Gets the directory that holds dist_torch, where dist_torch is
                                 not installed.

The ranks come from the MPI launcher (Hydra's PMI_RANK, PMI_SIZE, MPI_LOCALRANKID,
MPI_LOCALNRANKS; Open MPI's OMPI_COMM_WORLD_*; Slurm's SLURM_PROCID, SLURM_NTASKS,
SLURM_LOCALID); ``dist.init_process_group()`` takes the same ranks from MPI. Every rank runs
``python -m dist_torch.distributed._rank_main script.py args...`` with the Python that runs
dtrun, so on several machines that Python (and the script) must be at the same path on each.

When something goes wrong
-------------------------
A rank that raises ends the whole job within seconds: its traceback is printed with every
line prefixed ``[rank R]``, the job is aborted (MPI_Abort), and dtrun prints a summary: which
rank failed, its exit code or signal, and the last lines of its output::

    [dtrun] ===================== job failed ======================
    [dtrun] rank 1 (pid 4174 on node7): exited with code 1: ValueError: boom on rank 1
    [dtrun] last lines of rank 1:
    [dtrun] | [rank 1]   File "train.py", line 12, in step
    [dtrun] | [rank 1] ValueError: boom on rank 1
    [dtrun] ==========================================================

A rank that calls ``sys.exit`` with a non-zero status, or that dies from a signal (``rank 1
(pid 4174 on node7): killed by signal 9 (Killed)``, e.g. by the out-of-memory killer), ends
the job the same way (dtrun learns the signal from a small supervisor process that
``_rank_main`` forks around every rank; mpiexec's own report may name a rank it killed while
cleaning up). A hang found by --timeout: the rank that made no progress prints its Python
stacks (faulthandler's ``Timeout (0:00:30)!`` block), dtrun asks every rank for its stacks
(SIGUSR1, passed on by mpiexec; the rank that timed out prints its stacks a second time),
stops the job and prints ``[dtrun] job hung: no progress for 30 s on rank(s) 0, 1; Python
stacks above``. Ctrl-C or SIGTERM to dtrun is passed to the job; whatever is still running a
few seconds later is killed. In every case no process of the job is left behind: dtrun kills
the job's session at the end and checks.

Exit status: 0 when every rank succeeded; the failed rank's exit code; 128+N when it was
killed by signal N; 124 when the watchdog found a hang; 130 or 143 when dtrun was
interrupted (SIGINT, SIGTERM); 2 for a usage error.

Examples
--------
One machine, four ranks (on a machine with four GPUs, one each)::

    dtrun -n 4 examples/mnist.py --epochs 3
    dtrun -n 2 --tag-output -m mypackage.train --lr 0.1
    dtrun -n 8 --log-dir logs --max-restarts 3 --timeout 300 train.py --resume

Several machines (the same Python environment and files at the same paths on each,
passwordless ssh from the first)::

    dtrun -n 8 --hosts node1:4,node2:4 train.py
    dtrun -n 16 --hostfile hosts.txt train.py          # lines like "node1:8"

Slurm: inside an allocation Hydra's mpiexec finds the nodes and starts its processes with
srun, so dtrun needs no host list::

    salloc -N 2 --ntasks-per-node=4 --gpus-per-node=4
    dtrun -n 8 train.py

    # or in a batch script (sbatch job.sh):
    #SBATCH -N 2 --ntasks-per-node=4 --gpus-per-node=4
    dtrun -n $SLURM_NTASKS --log-dir logs/$SLURM_JOB_ID train.py

Without dtrun, ``srun -n 8 --mpi=pmi2 python -m dist_torch.distributed._rank_main train.py``
sets the same variables (without dtrun's output handling, restarts and summary).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from dist_torch.distributed._rank_main import LAUNCHER_ENV
from dist_torch.distributed._run_attempt import _Interrupt, _run_once, _say
from dist_torch.distributed._run_output import HYDRA_PATTERN, _Logs

__all__ = ["main", "cli", "get_parser"]


# ------------------------------------------------------------------------- the command line

class _Parser(argparse.ArgumentParser):
    """Options before the script are dtrun's; from the script (or ``-m module``) on, the job's.
    ``--help`` prints the manual (this module's docstring)."""

    def format_help(self) -> str:
        return self.format_usage() + "\n" + __doc__

    def parse_args(self, args=None, namespace=None):
        argv = sys.argv[1:] if args is None else list(args)
        head, target, rest = self._split(argv)
        ns = super().parse_args(head, namespace)
        ns.module, ns.script, ns.args = None, None, rest
        if target is None:
            if ns.module_flag is not None:
                ns.module = ns.module_flag
            else:
                self.error("the following arguments are required: script (or -m module)")
        elif target[0] == "-m":
            ns.module = target[1]
        else:
            ns.script = target[0]
        return ns

    def _split(self, argv):
        takes_value = {opt for action in self._actions if action.nargs != 0
                       for opt in action.option_strings}
        i = 0
        while i < len(argv):
            token = argv[i]
            if token == "--":
                if i + 1 >= len(argv):
                    self.error("the following arguments are required: script (or -m module)")
                return argv[:i], [argv[i + 1]], argv[i + 2:]
            if token == "-m":
                if i + 1 >= len(argv):
                    self.error("argument -m: expected a module name")
                return argv[:i], ["-m", argv[i + 1]], argv[i + 2:]
            if token.startswith("-m") and not token.startswith("--"):
                return argv[:i], ["-m", token[2:]], argv[i + 1:]
            if not token.startswith("-") or token == "-":
                return argv[:i], [token], argv[i + 1:]
            i += 2 if token in takes_value else 1
        return argv, None, []


def get_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dtrun", allow_abbrev=False,
                     usage="dtrun [options] (script.py | -m module) [args...]")
    parser.add_argument("-n", "--nprocs", "--np", type=int, default=1, metavar="N",
                        help="number of ranks (default 1)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--hosts", metavar="LIST",
                       help="hosts and ranks per host, e.g. a:4,b:4")
    where.add_argument("--hostfile", metavar="FILE", help="an MPI host file")
    parser.add_argument("--mpiexec", metavar="PATH",
                        help="the mpiexec to use (default: next to this Python, else PATH)")
    parser.add_argument("--mpiexec-args", metavar="ARGS", default="",
                        help="more arguments for mpiexec, one shell-quoted string")
    parser.add_argument("--tag-output", action="store_true",
                        help="prefix every output line with its rank: [R] text")
    parser.add_argument("--log-dir", metavar="DIR",
                        help="write DIR/rank{R}.log per rank; print only a summary")
    parser.add_argument("--max-restarts", type=int, default=0, metavar="N",
                        help="restart the whole job after a failure up to N times (default 0)")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="hang watchdog: end the job when a rank makes no progress for S "
                        "seconds, printing every rank's Python stacks")
    parser.add_argument("--no-bind-gpus", action="store_true",
                        help="leave CUDA_VISIBLE_DEVICES alone")
    parser.add_argument("-m", dest="module_flag", metavar="MODULE",
                        help="run a module, like python -m")
    return parser


def _default_mpiexec() -> str | None:
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec")


def _check(parser, ns) -> None:
    if ns.nprocs < 1:
        parser.error(f"argument -n/--nprocs: must be at least 1, got {ns.nprocs}")
    if ns.max_restarts < 0:
        parser.error(f"argument --max-restarts: must be 0 or more, got {ns.max_restarts}")
    if ns.timeout is not None and not ns.timeout > 0:
        parser.error(f"argument --timeout: must be a positive number of seconds, got "
                     f"{ns.timeout:g}")
    if ns.script is not None and not os.path.isfile(ns.script):
        parser.error(f"script not found: {ns.script}")
    if ns.module is not None and not ns.module.strip():
        parser.error("argument -m: expected a module name")
    if ns.hostfile is not None and not os.path.isfile(ns.hostfile):
        parser.error(f"argument --hostfile: file not found: {ns.hostfile}")
    if ns.hosts is not None and not ns.hosts.strip():
        parser.error("argument --hosts: empty host list")
    try:
        ns.extra = shlex.split(ns.mpiexec_args)
    except ValueError as err:
        parser.error(f"argument --mpiexec-args: {err}")
    if ns.mpiexec is None:
        ns.mpiexec = _default_mpiexec()
        if ns.mpiexec is None:
            parser.error("mpiexec not found: install an MPI (pip install mpich) or pass "
                         "--mpiexec PATH")
    elif shutil.which(ns.mpiexec) is None:
        parser.error(f"argument --mpiexec: not an executable: {ns.mpiexec}")


# ---------------------------------------------------------------------- building the job

def _flavour(mpiexec: str) -> str:
    """"hydra" (MPICH, Intel MPI), "openmpi", or "unknown", from ``mpiexec --version``."""
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=15, stdin=subprocess.DEVNULL)
        text = out.stdout + out.stderr
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if "HYDRA" in text or "Hydra" in text or "Intel(R) MPI" in text:
        return "hydra"
    if "Open MPI" in text or "OpenRTE" in text or "PRRTE" in text or "prterun" in text:
        return "openmpi"
    return "unknown"


def _ranks_per_node(ns) -> int:
    spec = ns.hosts
    if ns.hostfile is not None:
        with open(ns.hostfile) as f:
            lines = [line.split("#")[0].strip() for line in f]
        spec = ",".join(line.split()[0] + _slots(line) for line in lines if line)
    if not spec:
        return ns.nprocs
    hosts = [h.strip() for h in spec.split(",") if h.strip()]
    counts = [int(h.rsplit(":", 1)[1]) for h in hosts
              if ":" in h and h.rsplit(":", 1)[1].isdigit()]
    if counts:
        return max(1, min(ns.nprocs, max(counts)))
    return max(1, math.ceil(ns.nprocs / max(1, len(hosts))))


def _slots(line: str) -> str:
    match = re.search(r"slots\s*=\s*(\d+)", line)
    return f":{match.group(1)}" if match and ":" not in line.split()[0] else ""


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def _base_env(ns, say) -> dict:
    env = dict(os.environ)
    env[LAUNCHER_ENV] = "1"
    env.setdefault("PYTHONUNBUFFERED", "1")
    if "OMP_NUM_THREADS" not in env:
        local = _ranks_per_node(ns)
        cpus = os.cpu_count() or 1
        env["OMP_NUM_THREADS"] = str(max(1, cpus // local))
        say(f"OMP_NUM_THREADS={env['OMP_NUM_THREADS']} for every rank ({cpus} CPUs, {local} "
            f"rank{'s' if local != 1 else ''} per node); set OMP_NUM_THREADS to choose")
    if ns.timeout is not None:
        env["DT_WATCHDOG_TIMEOUT"] = f"{ns.timeout:g}"
    if ns.no_bind_gpus:
        env["DT_BIND_GPUS"] = "0"
    root = _package_root()
    if Path(root).name not in ("site-packages", "dist-packages"):
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if root not in paths:
            env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    return env


_EXPORTED = ("PYTHONPATH", "PYTHONUNBUFFERED", "OMP_NUM_THREADS", LAUNCHER_ENV,
             "DT_RESTART_COUNT", "DT_WATCHDOG_TIMEOUT", "DT_BIND_GPUS")


def _command(ns, flavour: str, env: dict) -> list[str]:
    cmd = [ns.mpiexec]
    if flavour == "hydra":
        cmd += ["-prepend-pattern", HYDRA_PATTERN]
        if ns.hosts:
            cmd += ["-hosts", ns.hosts]
        if ns.hostfile:
            cmd += ["-f", ns.hostfile]
    elif flavour == "openmpi":
        cmd += ["--tag-output"]
        if ns.hosts:
            cmd += ["--host", ns.hosts]
        if ns.hostfile:
            cmd += ["--hostfile", ns.hostfile]
        for name in _EXPORTED:  # Open MPI does not pass the environment on by itself
            if name in env:
                cmd += ["-x", name]
    else:
        if ns.hosts:
            cmd += ["-hosts", ns.hosts]
        if ns.hostfile:
            cmd += ["-f", ns.hostfile]
    cmd += [*ns.extra, "-n", str(ns.nprocs), sys.executable, "-m",
            "dist_torch.distributed._rank_main"]
    cmd += ["-m", ns.module] if ns.module is not None else [ns.script]
    return cmd + list(ns.args)


# ------------------------------------------------------------------------------ the launcher

def main(argv: list[str] | None = None) -> int:
    """Run ``dtrun`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = get_parser()
    try:
        ns = parser.parse_args(argv)
        _check(parser, ns)
    except SystemExit as exc:  # --help, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    flavour = _flavour(ns.mpiexec)
    env = _base_env(ns, _say)
    cmd = _command(ns, flavour, env)
    ns.watchdog = env.get("DT_WATCHDOG_TIMEOUT")
    logs = _Logs(ns.log_dir) if ns.log_dir else None
    if logs is not None:
        _say(f"{ns.nprocs} rank{'s' if ns.nprocs != 1 else ''}; output in "
             f"{logs.dir}/rank{{0..{ns.nprocs - 1}}}.log")
    interrupt = _Interrupt()
    interrupt.install()
    try:
        for attempt in range(ns.max_restarts + 1):
            env["DT_RESTART_COUNT"] = str(attempt)
            if logs is not None:
                logs.attempt = attempt
            outcome = _run_once(ns, cmd, env, flavour, logs, interrupt)
            if outcome.summary:
                _say("\n".join(outcome.summary))
            if outcome.code == 0 or interrupt.signum is not None:
                break
            if attempt < ns.max_restarts:
                _say(f"job failed ({outcome.reason}); restart {attempt + 1}/{ns.max_restarts}")
    finally:
        interrupt.restore()
        if logs is not None:
            logs.close()
    if logs is not None and outcome.code == 0:
        _say(f"job finished; logs in {logs.dir}")
    return outcome.code


def cli() -> None:
    """The ``dtrun`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    cli()
