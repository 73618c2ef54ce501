"""CPU per payment in `bench.push_latency`'s rounds (issue 16, part 1): each process's CPU time read before and after a
round, less its rate at rest, over the payments; the console's processes summed (Daphne, the workers, beat), each
busy one's main thread read apart (Daphne's event loop, a worker's Celery consumer), and beside them, not in the
figure, the benchmark's stand-ins and PostgreSQL, which share the same cores."""

from __future__ import annotations

from typing import Protocol

from bench import databases, measure
from bench.figures import Row

CPU_TARGET_MS = 5.0  # CPU of all console processes per payment, Pay request → last push (issue 16)
# stand-ins for IOTPay and the lanes: not the console's CPU
POSTGRESQL = "PostgreSQL"  # the server's processes for the benchmark's database (databases.ServerCpu)
NOT_CONSOLE = ("sandbox", "bench (this process)", "lane watchers", POSTGRESQL)
# A console process's main thread, read apart and already in the process's figure (measure.main_thread_cpu_seconds):
# Daphne's event loop, a Celery worker's consumer. The rest is its other threads': Django's request threads, the
# pool's task threads.
MAIN_THREAD = ": main thread"

Reading = tuple[dict[str, float], dict[int, float]]


class RoundCpu(Protocol):
    """What a round knows of its CPU: push_latency.Round."""

    n: int  # payments
    cpu: dict[str, float]  # CPU seconds each process (and main thread) used during the round
    idle: dict[str, float]  # CPU seconds per second each uses with no payment
    duration: float  # seconds from the first Pay request to the last final snapshot read


def reading(pids: dict[str, int], server: databases.ServerCpu) -> Reading:
    """The CPU time each named process has used so far, each console process's main thread (named with
    MAIN_THREAD), and each of PostgreSQL's processes."""
    main_threads = {f"{name}{MAIN_THREAD}": measure.main_thread_cpu_seconds(pid)
                    for name, pid in pids.items() if name not in NOT_CONSOLE}
    return measure.cpu_seconds_by_process(pids) | main_threads, server.seconds_by_pid()


def used(before: Reading, after: Reading) -> dict[str, float]:
    """CPU seconds each process used between two readings; PostgreSQL's when its server is on this machine."""
    spent = {name: after[0][name] - before[0][name] for name in after[0]}
    if after[1]:
        spent[POSTGRESQL] = databases.ServerCpu.used(before[1], after[1])
    return spent


def per_payment_ms(r: RoundCpu) -> dict[str, float]:
    """CPU milliseconds per payment of each process: what it used from the first Pay request to the last final
    snapshot read, less its idle rate over that time (heartbeats, pool checks, metrics: paid with no payment)."""
    return {name: max(0.0, spent - r.idle.get(name, 0.0) * r.duration) / r.n * 1000 for name, spent in r.cpu.items()}


def rows(bench: str, r: RoundCpu, tag: str) -> list[Row]:
    """The round's figure with its target, each console process's share (and its main thread's), then the rest."""
    per = per_payment_ms(r)

    def console_process(name: str) -> bool:
        return name not in NOT_CONSOLE and not name.endswith(MAIN_THREAD)

    console = {name: ms for name, ms in per.items() if console_process(name)}
    total = sum(console.values())
    idle = sum(v for name, v in r.idle.items() if console_process(name)) * 1000
    raw = sum(spent for name, spent in r.cpu.items() if console_process(name)) / r.n * 1000

    def row(scenario: str, ms: float, target: float | None = None) -> Row:
        return Row(bench, scenario, r.n, ms, ms, ms, target, unit="ms CPU")

    out = [row(f"CPU per payment, all console processes (Pay → last push, idle {idle:.0f} ms/s "
                f"over {r.duration:.1f} s subtracted; {raw:.1f} ms with it) {tag}", total, CPU_TARGET_MS)]
    for name, ms in console.items():
        out.append(row(f"  CPU per payment: {name} {tag}", ms))
        if ms >= 0.05 and f"{name}{MAIN_THREAD}" in per:  # a process that worked: its main thread's part of it
            # Each has its own idle rate subtracted: a process that works on its main thread alone (the websocket
            # Daphne) could otherwise read a little over its whole.
            out.append(row(f"    of which {name}{MAIN_THREAD} {tag}", min(ms, per[f"{name}{MAIN_THREAD}"])))
    out += [row(f"  CPU per payment (not the console's): {name} {tag}", per[name]) for name in NOT_CONSOLE if name in per]
    return out
