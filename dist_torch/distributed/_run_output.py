"""dtrun's output handling: split mpiexec's tagged output by rank, echo it (tagged or not) or
write per-rank logs, keep each rank's last lines for the failure summary, and spot the
watchdog's stack dumps and the ranks' failure records."""

from __future__ import annotations

import collections
import os
import re
import sys
import threading
import time
from pathlib import Path

from dist_torch.distributed._rank_main import MARK

RING_LINES = 30  # lines of each rank kept for the failure summary
# Hydra prefixes every chunk of a rank's output, and each line in it, with this pattern; the
# control characters keep it apart from anything a script prints.
OPEN, CLOSE = b"\x01", b"\x02"
HYDRA_PATTERN = "\x01%r\x02"
_TAG = re.compile(rb"\x01(\d{1,9})\x02")
_OMPI_TAG = re.compile(rb"^\[\d+,(\d+)\]<std\w+>:\s?")
_FAULT_HEADER = re.compile(r"^Timeout \(\d+:\d\d:\d\d(\.\d+)?\)!\s*$")


class _HydraDemux:
    """Split Hydra's ``-prepend-pattern`` output into (rank, bytes) pieces.

    Hydra writes each chunk a rank sends, one line at a time, after the pattern; a piece runs
    to its first newline or to the next pattern. Bytes outside a piece are mpiexec's own
    (rank None).
    """

    def __init__(self, emit):
        self.emit = emit
        self.rank = None
        self.pending = b""

    def _text(self, text: bytes) -> None:
        if not text:
            return
        if self.rank is None:
            self.emit(None, text)
            return
        cut = text.find(b"\n")
        if cut < 0:
            self.emit(self.rank, text)
            return
        self.emit(self.rank, text[:cut + 1])
        self.rank = None
        self._text(text[cut + 1:])

    def feed(self, data: bytes) -> None:
        data, self.pending = self.pending + data, b""
        i = 0
        while i < len(data):
            j = data.find(OPEN, i)
            if j < 0:
                self._text(data[i:])
                return
            self._text(data[i:j])
            match = _TAG.match(data, j)
            if match:
                self.rank = int(match.group(1))
                i = match.end()
                continue
            tail = data[j + 1:]
            if len(tail) < 10 and tail.isdigit() or not tail:
                self.pending = data[j:]  # a pattern cut in two by the read
                return
            self._text(OPEN)
            i = j + 1

    def close(self) -> None:
        if self.pending:
            self._text(self.pending)
            self.pending = b""


class _LineDemux:
    """Open MPI's ``--tag-output`` (``[job,rank]<stdout>:line``) and untagged output."""

    def __init__(self, emit, tagged: bool):
        self.emit, self.tagged, self.pending = emit, tagged, b""

    def feed(self, data: bytes) -> None:
        data, self.pending = self.pending + data, b""
        lines = data.split(b"\n")
        self.pending = lines.pop()
        for line in lines:
            self._line(line + b"\n")

    def _line(self, line: bytes) -> None:
        match = _OMPI_TAG.match(line) if self.tagged else None
        if match:
            self.emit(int(match.group(1)), line[match.end():])
        else:
            self.emit(None, line)

    def close(self) -> None:
        if self.pending:
            self._line(self.pending)
            self.pending = b""


class _Logs:
    """DIR/rank{R}.log files, kept across restarts (the first run truncates them)."""

    def __init__(self, directory: str):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("rank*.log"):
            if re.fullmatch(r"rank\d+\.log", old.name):
                old.unlink()
        (self.dir / "mpiexec.log").unlink(missing_ok=True)
        self.files: dict = {}
        self.attempt = 0
        self.headed: dict = {}

    def write(self, rank, data: bytes) -> None:
        key = "mpiexec" if rank is None else f"rank{rank}"
        f = self.files.get(key)
        if f is None:
            f = self.files[key] = open(self.dir / f"{key}.log", "ab")
        if self.attempt and self.headed.get(key) != self.attempt:
            f.write(f"[dtrun] ---- restart {self.attempt} ----\n".encode())
        self.headed[key] = self.attempt
        f.write(data)

    def flush(self) -> None:
        for f in self.files.values():
            f.flush()

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        self.files = {}


class _Sink:
    """Collects one run's output: line assembly per (rank, stream), launcher records, the
    failure and hang evidence, the ring of last lines, and the console or log output."""

    def __init__(self, tag: bool, logs: _Logs | None):
        self.tag, self.logs = tag, logs
        self.lock = threading.Lock()
        self.partial: dict = {}
        self.ring: dict = collections.defaultdict(lambda: collections.deque(maxlen=RING_LINES))
        self.mpiexec_ring = collections.deque(maxlen=RING_LINES)
        self.pids: dict = {}  # (pid, host) -> rank, for rank processes and their supervisors
        self.rank_pid: dict = {}  # rank -> (pid, host)
        self.events: list = []  # ("fail"|"hang"|"bad", info, monotonic time) in arrival order
        self.hung: list = []
        self.bad: dict = {}  # Hydra's BAD TERMINATION block
        self.first_trouble: float | None = None
        self.quiet = False  # keep mpiexec's own lines off the console

    def emitter(self, stream: int):
        def emit(rank, data: bytes) -> None:
            with self.lock:
                self._add(rank, stream, data)
        return emit

    def _add(self, rank, stream: int, data: bytes) -> None:
        key = (rank, stream)
        buf = self.partial.get(key, b"") + data
        start = 0
        for match in re.finditer(rb"\r\n|\n|\r", buf):
            self._line(rank, stream, buf[start:match.end()])
            start = match.end()
        self.partial[key] = buf[start:]

    def finish(self) -> None:
        with self.lock:
            for (rank, stream), rest in list(self.partial.items()):
                if rest:
                    self._line(rank, stream, rest)
            self.partial.clear()

    def _line(self, rank, stream: int, raw: bytes) -> None:
        text = raw.decode(errors="replace").rstrip("\r\n")
        if text.startswith(MARK):
            self._record(rank, text[len(MARK):])
            return
        if raw.endswith(b"\n") or not raw.endswith(b"\r"):
            (self.mpiexec_ring if rank is None else self.ring[rank]).append(text)
        if rank is None:
            self._mpiexec_line(text)
        elif stream == 2 and _FAULT_HEADER.match(text) and rank not in self.hung:
            self.hung.append(rank)
            self._event("hang", {"rank": rank})
        self._output(rank, stream, raw)

    def _record(self, rank, text: str) -> None:
        kind, _, rest = text.partition(" ")
        what = None
        if " what=" in rest or rest.startswith("what="):
            rest, _, what = (" " + rest).partition(" what=")
        fields = dict(item.split("=", 1) for item in rest.split() if "=" in item)
        if "rank" in fields and fields["rank"].isdigit():
            rank = int(fields["rank"])
        if kind == "start":
            for key in ("pid", "supervisor"):
                if fields.get(key, "").isdigit():
                    self.pids[(int(fields[key]), fields.get("host", ""))] = rank
            if fields.get("pid", "").isdigit():
                self.rank_pid[rank] = (int(fields["pid"]), fields.get("host", "?"))
        elif kind in ("fail", "exit"):
            if any(k == "fail" and i["rank"] == rank for k, i, _ in self.events):
                return  # the rank's own record came first; this is its supervisor's echo
            code = int(fields["code"]) if fields.get("code", "").lstrip("-").isdigit() else 1
            sig = int(fields["signal"]) if fields.get("signal", "").isdigit() else None
            self._event("fail", {"rank": rank, "code": code, "what": what, "signal": sig})

    def _mpiexec_line(self, text: str) -> None:
        if match := re.search(r"PID (\d+) RUNNING AT (\S+)", text):
            self.bad.update(pid=int(match.group(1)), host=match.group(2))
        elif match := re.search(r"EXIT CODE: (-?\d+)", text):
            self.bad["code"] = int(match.group(1))
        elif match := re.search(r"EXIT STRING: (.*?)\s*\(signal (\d+)\)", text):
            self.bad.update(signal=int(match.group(2)), signame=match.group(1).strip())
            self._event("bad", self.bad)
        elif "YOUR APPLICATION TERMINATED" in text and "bad" not in self._kinds():
            self._event("bad", self.bad)

    def _kinds(self) -> set:
        return {kind for kind, _, _ in self.events}

    def _event(self, kind: str, info: dict) -> None:
        now = time.monotonic()
        self.events.append((kind, info, now))
        if self.first_trouble is None:
            self.first_trouble = now

    def _output(self, rank, stream: int, raw: bytes) -> None:
        if self.logs is not None:
            self.logs.write(rank, raw)
            return
        if rank is None and self.quiet:
            return
        if self.tag and rank is not None:
            raw = f"[{rank}] ".encode() + raw
        _write(sys.stdout if stream == 1 else sys.stderr, raw)

    def flush(self) -> None:
        with self.lock:
            if self.logs is not None:
                self.logs.flush()
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass


def _write(stream, data: bytes) -> None:
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            buffer.write(data)
            buffer.flush()
        else:
            stream.write(data.decode(errors="replace"))
    except (OSError, ValueError):  # a closed console must not stop the job
        pass


def _reader(pipe, demux, sink: _Sink) -> None:
    try:
        while True:
            data = os.read(pipe.fileno(), 65536)
            if not data:
                break
            demux.feed(data)
            sink.flush()
    except OSError:
        pass
    finally:
        demux.close()
