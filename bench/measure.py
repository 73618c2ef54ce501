"""Measuring the machine and the processes a benchmark runs: memory, threads, CPU time, downloads, and
keeping this process's own garbage collector out of the clocks."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests


@contextlib.contextmanager
def no_collector_pauses() -> Iterator[None]:
    """No full garbage collection in this process while it reads the clocks of a round.

    A full collection stops every thread of the benchmark's own process (Django loaded, hundreds of websocket
    threads), and every message read meanwhile is stamped that much late (docs/performance.md). Collect
    before, not during (as timeit does); reference counting still frees what it can.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _meminfo() -> dict[str, int]:
    fields = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            name, _, rest = line.partition(":")
            fields[name] = int(rest.split()[0]) * 1024
    return fields


def machine_summary() -> str:
    mem = _meminfo()
    gib = 1024**3
    memory = (f"{mem['MemTotal'] / gib:.1f} GiB memory ({mem.get('MemAvailable', 0) / gib:.1f} GiB available)"
              if "MemTotal" in mem else "memory unknown")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores (os.cpu_count()), {memory}, {interpreter_summary()}; "
            f"load average {load} at the start")


def interpreter_summary() -> str:
    """The Python the console's processes run (they are started from this one), and how it was built: the same
    code costs about a tenth more CPU on an interpreter that runs from a shared libpython built without
    profile-guided and link-time optimisation (pyenv's default) than on Debian's statically linked one
    (docs/performance.md, issue 16, fourteenth pass)."""
    try:
        shared = "libpython" in Path("/proc/self/maps").read_text()
    except OSError:
        linked = "linking unknown"
    else:
        linked = "from a shared libpython" if shared else "libpython linked in"
    return f"Python {sys.version.split()[0]} ({getattr(sys, '_base_executable', sys.executable)}, {linked})"


def process_status(pid: int) -> dict[str, int]:
    """Resident memory (bytes) and thread count of one process, from /proc."""
    out = {"rss": 0, "threads": 0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
    return out


class RssSampler:
    """Sums the resident memory (RSS) of some processes and all their children every `every` seconds, in a
    thread (psutil), and keeps the peak of the sum, each process tree's own peak, and the threads at the peak.
    A process tree is given by its root pid; children (e.g. a prefork pool, a reloader) are found each time."""

    def __init__(self, pids: dict[str, int], every: float = 0.25) -> None:
        self.pids, self.every = pids, every
        self.peak = 0  # bytes, sum over every tree
        self.peak_by_tree: Counter[str] = Counter()  # bytes, each tree's own peak
        self.at_peak: dict[str, int] = {}  # bytes per tree at the moment of the overall peak
        self.threads_at_peak: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    @staticmethod
    def tree(pid: int) -> tuple[int, int]:
        """(RSS bytes, threads) of one process and all its descendants; (0, 0) once it is gone."""

        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0, 0
        rss = threads = 0
        for proc in procs:
            with contextlib.suppress(psutil.Error), proc.oneshot():
                rss += proc.memory_info().rss
                threads += proc.num_threads()
        return rss, threads

    def sample(self) -> None:
        now = {name: self.tree(pid) for name, pid in self.pids.items()}
        total = sum(rss for rss, _ in now.values())
        self.samples += 1
        if total > self.peak:
            self.peak = total
            self.at_peak = {name: rss for name, (rss, _) in now.items()}
            self.threads_at_peak = {name: threads for name, (_, threads) in now.items()}
        for name, (rss, _) in now.items():
            self.peak_by_tree[name] = max(self.peak_by_tree[name], rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def cpu_seconds_by_process(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system, seconds) each process has used so far, its own threads and its reaped
    children included; 0 for a process that is gone. Differences over a run give the CPU it cost."""

    out = {}
    for name, pid in pids.items():
        try:
            t = psutil.Process(pid).cpu_times()
            out[name] = t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            out[name] = 0.0
    return out


def _stat_cpu_seconds(pid: int, *, thread: int | None = None) -> float:
    """User + system CPU time from /proc/<pid>/stat, or of one of its threads from /proc/<pid>/task/<thread>/stat
    (clock ticks); raises OSError, ValueError or IndexError for a process that is gone or unreadable."""
    path = Path(f"/proc/{pid}/stat") if thread is None else Path(f"/proc/{pid}/task/{thread}/stat")
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time one process has used so far (from /proc/<pid>/stat), in seconds; 0 when gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return _stat_cpu_seconds(pid)
    return 0.0


def main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU time one process's main thread has used so far, in seconds; 0 when gone.

    The main thread is the one whose id is the process's. In Daphne it runs the event loop: Twisted's HTTP and
    websocket protocol, and the ASGI handler's coroutines; Django's request threads are the others. In a Celery
    worker it runs the consumer: taking each task from the broker, its `received` line, handing it to the pool,
    the timers; the pool's threads run the tasks. A process's CPU less its main thread's is its other threads'.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        return _stat_cpu_seconds(pid, thread=pid)
    return 0.0


def on_cpu_seconds(pid: int) -> float:
    """Time a process has run on a core (user and system), to the nanosecond where the kernel keeps scheduler
    statistics (/proc/<pid>/schedstat), else from /proc/<pid>/stat in clock ticks. Raises OSError, ValueError or
    IndexError for a process that is gone, so that a caller summing differences can leave it out."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    return _stat_cpu_seconds(pid)


@dataclass(frozen=True)
class Download:
    status: int
    first_byte: float  # seconds from sending the request to the first body bytes read
    total: float  # seconds from sending the request to the last byte read
    size: int  # bytes of the body
    lines: int  # newline characters in the body


def timed_download(session: requests.Session, url: str, chunk: int = 65536, timeout: float = 120) -> Download:
    """GET `url` streaming (as a browser downloads), reading and counting the body as it arrives."""
    started = time.monotonic()
    first = None
    size = lines = 0
    with session.get(url, stream=True, timeout=timeout) as response:
        for part in response.iter_content(chunk):
            if first is None:
                first = time.monotonic() - started
            size += len(part)
            lines += part.count(b"\n")
        total = time.monotonic() - started
    return Download(response.status_code, first if first is not None else total, total, size, lines)
