"""dtrun's supervision of one attempt of the job: start mpiexec in its own session, pass on
Ctrl-C/SIGTERM, stop the job after a rank fails or hangs, kill whatever is left of it, and
judge how it ended (the exit status and the summary :mod:`dist_torch.distributed.run` prints).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from dist_torch.distributed._run_output import _HydraDemux, _LineDemux, _reader, _Sink

SHOWN_LINES = 20
FAIL_GRACE = 2.0  # seconds the other ranks get to end after a rank reports its failure
HANG_GRACE = 2.0  # seconds for the other ranks' stack dumps after the first one
STOP_GRACE = 3.0  # seconds between passing on Ctrl-C/SIGTERM and killing the job
HANG_EXIT = 124
_SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


def _say(text: str) -> None:
    sys.stderr.write("".join(f"[dtrun] {line}\n" for line in text.split("\n")))
    sys.stderr.flush()


# -------------------------------------------------------------------------- process hygiene

def _session_members(sid: int) -> list[int]:
    """Processes in session ``sid`` (Linux /proc; elsewhere an empty list)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 3 and fields[3] == str(sid).encode() and fields[0] != b"Z":
            found.append(int(entry))
    return found


def _kill_session(sid: int) -> list[int]:
    """SIGKILL every process of the job's session; returns those that survived 3 s."""
    deadline = time.monotonic() + 3.0
    while True:
        try:
            os.killpg(sid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        left = [pid for pid in _session_members(sid) if pid != os.getpid()]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


class _Interrupt:
    """SIGINT/SIGTERM to dtrun: pass it on to mpiexec, and end the job soon after."""

    def __init__(self):
        self.signum = None
        self.proc = None
        self.previous = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}

    def _handle(self, signum, frame) -> None:
        again = self.signum is not None
        self.signum = signum
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            if again:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


# ------------------------------------------------------------------------------ one run

class _Outcome:
    def __init__(self, code: int, reason: str, summary: list[str] | None = None):
        self.code, self.reason, self.summary = code, reason, summary or []


def _run_once(ns, cmd, env, flavour, logs, interrupt) -> _Outcome:
    sink = _Sink(ns.tag_output, logs)
    stdin = subprocess.DEVNULL
    try:
        if not os.isatty(0):
            stdin = None  # a pipe or file: mpiexec passes it on to rank 0
    except (OSError, ValueError):
        pass
    try:
        proc = subprocess.Popen(cmd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as err:
        return _Outcome(127, f"cannot start mpiexec: {err}", [f"cannot start {cmd[0]}: {err}"])
    interrupt.proc = proc
    threads = []
    for pipe, stream in ((proc.stdout, 1), (proc.stderr, 2)):
        emit = sink.emitter(stream)
        demux = _HydraDemux(emit) if flavour == "hydra" else \
            _LineDemux(emit, flavour == "openmpi")
        thread = threading.Thread(target=_reader, args=(pipe, demux, sink), daemon=True,
                                  name=f"dtrun-reader-{stream}")
        thread.start()
        threads.append(thread)
    stop_at = None
    stopped = False
    asked = False
    passed_on = None
    while proc.poll() is None:
        now = time.monotonic()
        if interrupt.signum is not None and passed_on is None:
            passed_on = now
            stop_at = now + STOP_GRACE if stop_at is None else min(stop_at, now + STOP_GRACE)
        if sink.hung and not asked:
            asked = True  # every rank prints its stacks (mpiexec passes SIGUSR1 on)
            _say(f"rank {sink.hung[0]} made no progress for {ns.watchdog} s; asking every "
                 "rank for its Python stacks")
            try:
                proc.send_signal(signal.SIGUSR1)
            except ProcessLookupError:
                pass
        if sink.first_trouble is not None and stop_at is None:
            stop_at = sink.first_trouble + (HANG_GRACE if sink.hung else FAIL_GRACE)
        if stop_at is not None and now >= stop_at and not stopped:
            stopped = True
            if interrupt.signum is None:
                _say(_stopping(sink))
            sink.quiet = True  # mpiexec's report of our SIGTERM is noise
            try:
                proc.send_signal(signal.SIGTERM)  # Hydra cleans up its ranks, remote ones too
            except ProcessLookupError:
                pass
            stop_at = now + 1.0
        elif stopped and now >= stop_at:
            break
        time.sleep(0.05)
    left = _kill_session(proc.pid)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    for thread in threads:
        thread.join(timeout=5)
    sink.finish()
    sink.flush()
    interrupt.proc = None
    for pipe in (proc.stdout, proc.stderr):
        pipe.close()
    outcome = _judge(ns, sink, proc.returncode, interrupt.signum, logs)
    if left:
        outcome.summary.append(f"warning: {len(left)} process(es) of the job could not be "
                               f"killed: pids {', '.join(map(str, left))}")
    return outcome


def _stopping(sink: _Sink) -> str:
    kind, info, _ = next((e for e in sink.events if e[0] != "bad"), sink.events[0])
    if kind == "hang":
        return "stopping the hung job"
    return f"rank {info.get('rank', '?')} failed; stopping the other ranks"


def _rank_of(sink: _Sink, pid, host) -> int | None:
    for (p, h), rank in sink.pids.items():
        if p == pid and (not host or not h or h == host or h.split(".")[0] == host):
            return rank
    return None


def _judge(ns, sink: _Sink, returncode, signum, logs) -> _Outcome:
    if signum is not None:
        name = _SIGNAL_NAMES.get(signum, f"signal {signum}")
        return _Outcome(128 + signum, f"interrupted by {name}",
                        [f"interrupted by {name}: the job was stopped"])
    own = [event for event in sink.events if event[0] != "bad"]
    first = own[0] if own else (sink.events[0] if sink.events else None)
    if first is not None and first[0] == "hang":
        ranks = ", ".join(str(r) for r in sorted(sink.hung))
        where = "Python stacks above" if logs is None else \
            f"Python stacks in {logs.dir}/rank*.log"
        seconds = ns.watchdog or "?"
        lines = [f"job hung: no progress for {seconds} s on rank(s) {ranks}; {where}"]
        return _Outcome(HANG_EXIT, f"hung: no progress for {seconds} s on rank(s) {ranks}",
                        lines)
    if first is not None and first[0] == "fail":
        info = first[1]
        rank = info["rank"]
        pid = sink.rank_pid.get(rank)
        pid = f"pid {pid[0]} on {pid[1]}" if pid else None
        what = info.get("what")
        if info.get("signal"):
            how = f"killed by signal {info['signal']}"
            detail = what or how
        else:
            how = f"exited with code {info['code']}"
            detail = f"{how}: {what}" if what and not what.startswith("sys.exit(") else how
        return _failure(sink, logs, rank, pid, detail, info["code"] or 1,
                        f"rank {rank} {how}")
    if first is not None and first[0] == "bad":
        info = sink.bad
        rank = _rank_of(sink, info.get("pid"), info.get("host"))
        pid = f"pid {info['pid']} on {info.get('host', '?')}" if "pid" in info else None
        if "signal" in info:
            how = f"killed by signal {info['signal']} ({info['signame']})"
            code = 128 + info["signal"]
        else:
            code = info.get("code") or returncode or 1
            how = f"exited with code {code}"
        return _failure(sink, logs, rank, pid, how, code,
                        f"rank {'?' if rank is None else rank} {how}")
    if returncode == 0:
        return _Outcome(0, "ok")
    code = returncode if returncode and returncode > 0 else 1
    if returncode is not None and returncode < 0:
        how = f"mpiexec was killed by signal {-returncode}"
    else:
        how = f"mpiexec exited with code {returncode}"
    lines = ["=" * 21 + " job failed " + "=" * 21, how]
    tail = list(sink.mpiexec_ring)[-SHOWN_LINES:]
    if tail:
        lines.append("last lines from mpiexec:")
        lines += [f"| {line}" for line in tail]
    lines.append("=" * 54)
    return _Outcome(code, how, lines)


def _failure(sink, logs, rank, pid, detail, code, reason) -> _Outcome:
    who = "an unknown rank" if rank is None else f"rank {rank}"
    lines = ["=" * 21 + " job failed " + "=" * 21,
             f"{who}{f' ({pid})' if pid else ''}: {detail}"]
    tail = list(sink.ring.get(rank, ()))[-SHOWN_LINES:] if rank is not None else []
    if tail:
        lines.append(f"last lines of rank {rank}:")
        lines += [f"| {line}" for line in tail]
    if logs is not None and rank is not None:
        lines.append(f"full output: {logs.dir / f'rank{rank}.log'}")
    lines.append("=" * 54)
    return _Outcome(code, reason, lines)
