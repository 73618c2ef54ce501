"""The benchmarks' reading of a process's main thread apart from its other threads (bench/measure.py), which
`bench.push_latency` prints under each console process: Daphne's event loop against its request threads, a Celery
worker's consumer against its task threads. Work on another thread must not read as the main thread's."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from bench import measure

# Spins on the thread the parent names, one line at a time, and says when it is done.
CHILD = """
import sys, threading, time
def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
for line in sys.stdin:
    if line.strip() == "main":
        spin(0.4)
    else:
        worker = threading.Thread(target=spin, args=(0.4,))
        worker.start()
        worker.join()
    print("done", flush=True)
"""


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    yield process
    process.kill()
    process.wait()


def used_by(child: subprocess.Popen[str], where: str) -> tuple[float, float]:
    """CPU seconds the child's process and its main thread used while it spun on `where`."""
    process, main = measure.cpu_seconds(child.pid), measure.main_thread_cpu_seconds(child.pid)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(f"{where}\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "done"
    return measure.cpu_seconds(child.pid) - process, measure.main_thread_cpu_seconds(child.pid) - main


def test_work_on_another_thread_is_the_process_s_but_not_the_main_thread_s(child: subprocess.Popen[str]) -> None:
    process, main = used_by(child, "thread")
    assert process >= 0.3
    assert main < 0.1


def test_work_on_the_main_thread_is_both(child: subprocess.Popen[str]) -> None:
    process, main = used_by(child, "main")
    assert main >= 0.3
    assert process >= main


def test_a_process_that_is_gone_reads_nothing() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert measure.main_thread_cpu_seconds(gone.pid) == 0.0
