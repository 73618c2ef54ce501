"""Push latency: from IOTPay's answer to create_order to the final snapshot on the lane's websocket.

Claim (target from the issue): with 500 lanes paying at about the same time, p99 ≤ 100 ms from the
moment the gateway answers create_order to the moment the lane's websocket client reads the final
(APPROVED) snapshot.

How: the real processes (IOTPay sandbox, both Celery workers, beat, Daphne) on PostgreSQL and Redis, every
lane's websocket open as its checkout page would hold it (read by one event loop in a process of its own,
bench/lane_watchers.py, so that no lane waits on the threads POSTing the payments; `--lane-watchers threads`: a
thread per websocket in this process, as before 2026-12-05). By
default the websockets are served by a Daphne process of their own, as nginx's `location /ws/` sends them
to their own upstream in docs/running.md (`--no-websocket-daphne`: one Daphne for everything). For each
round of N lanes (10, 100, 500), the N payments ($12.50, approved after the sandbox's think time, the same
for every order) are POSTed together from a pool of threads; `--jitter S` adds a uniform random 0..S s pause
before each POST (`--jitter S1,S2,...`: one per round of `--lanes`, e.g. a peak, then a store's pace). The think
time (20 s) is longer than the console takes to accept 500 POSTs, so every lane
of a round is waiting on its cardholder when the first answer comes: N lanes paying concurrently, and the
answers come back as close together as the POSTs went in. The round says how many were waiting. A last
*burst* round runs the largest N again with a 1 s cardholder (`--burst-think-time`): the answers then come
back while the POSTs are still arriving, and both compete for the two cores; its target is p99 ≤ 250 ms
(issue 16). Clocks, all this machine's:

- answered: the sandbox's `answeredAt` (the create_order answer handed to its HTTP server, after its own
  writes; iotpay_sandbox/store.py `order_times`, read from its data file);
- committed: the final row's `updated_at` as the pushed snapshot carries it (written in the transaction
  that commits the final state, after the confirming query_order);
- received: `time.time()` when the lane watchers' event loop read the message (before parsing it).

CPU per payment, for each round of 100 lanes or more: each console process's CPU time over the round, less its
rate at rest, over the payments (the issue's figure: Daphne, the workers, beat). Beside it, not in it: the sandbox,
this process, the lane watchers and PostgreSQL (the benchmark database's backends and the server's writers, when
the server runs on this machine: databases.ServerCpu), which share the same cores. Under each busy console process,
its main thread's part (Daphne's event loop, a worker's Celery consumer); the rest is its request or task threads' (bench/console_cpu.py).

    .venv/bin/python -m bench.push_latency [--lanes 10,100,500] [--think-time 20] [--burst-think-time 1]
                                           [--gateway-processes 4] [--gateway-concurrency 150] [--jitter 0] [--no-websocket-daphne]
                                           [--lane-watchers process|threads]

Prints figures, asserts nothing about time; exits 1 when a payment did not end APPROVED or a step broke.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests.adapters
from django.conf import settings
from django.db import connection

from bench import console_cpu, databases, figures, harness, lane_client, measure, sandbox_wire
from bench.figures import Row, percentile, summarize
from bench.harness import Console, ConsoleConfig
from bench.lane_client import ThreadWatchers
from bench.lane_watchers import LaneWatchers

BENCH = "push_latency"
TARGET_MS = 100.0
BURST_TARGET_MS = 250.0  # the burst round: answers overlapping the intake (issue 16)
IDLE_SECONDS = 5.0  # the console's idle CPU is measured this long after the warm-up, with no payment
MCH_ID = "10000576"
APPROVED_AMOUNT = 1250  # approved after the think time
FINAL = {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.push_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", default="10,100,500", help="lanes paying together, one round each (10,100,500)")
    parser.add_argument("--gateway-concurrency", type=int, default=150,
                        help="threads of each gateway worker process (150)")
    parser.add_argument("--gateway-processes", type=int, default=4,
                        help="gateway worker processes, each with --gateway-concurrency threads (4: two per core, "
                             "as docs/running.md advises)")
    parser.add_argument("--default-concurrency", type=int, default=8)
    parser.add_argument("--think-time", type=float, default=20.0,
                        help="the sandbox cardholder's think time (20: every lane of a round is waiting on its "
                             "cardholder before the first answer comes, i.e. N lanes paying concurrently)")
    parser.add_argument("--burst-think-time", type=float, default=1.0,
                        help="then the largest round once more with this think time (1.0): the answers come back "
                             "while the POSTs are still arriving; 0 skips it")
    parser.add_argument("--jitter", default="0",
                        help="uniform random 0..S s pause before each POST (default 0: worst case); S1,S2,...: "
                             "one value per --lanes round (the warm-up and the burst round take their lane count's)")
    parser.add_argument("--websocket-daphne", action=argparse.BooleanOptionalAction, default=True,
                        help="serve the lanes' websockets from a second Daphne process, as nginx's `location /ws/` "
                             "would (default); --no-websocket-daphne: one Daphne for everything")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each round this many times on the same console (1): the spread of the p99")
    parser.add_argument("--post-threads", type=int, default=32, help="threads POSTing the payments (32)")
    parser.add_argument("--lane-watchers", choices=("process", "threads"), default="process",
                        help="who reads the lanes' websockets: one event loop in a process of its own (process, the "
                             "default: bench/lane_watchers.py says why) or a thread per lane in this process, beside "
                             "the POSTing threads (threads: how it measured before 2026-12-05)")
    parser.add_argument("--rows-json", help="also write the rows to this JSON file (used by run_all.py)")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    args.rounds = [int(n) for n in args.lanes.split(",") if n.strip()]
    jitters = [float(s) for s in args.jitter.split(",") if s.strip()]
    if len(jitters) not in (1, len(args.rounds)):
        parser.error("--jitter takes one value, or one per --lanes round")
    args.jitters = {}  # lanes → jitter (a lane count given twice keeps its first)
    for n, jitter in zip(args.rounds, jitters * len(args.rounds) if len(jitters) == 1 else jitters, strict=True):
        args.jitters.setdefault(n, jitter)
    if args.gateway_concurrency * args.gateway_processes < max(args.rounds):
        parser.error("--gateway-concurrency times --gateway-processes must be at least the largest round")
    return args


def console_env(args: argparse.Namespace, sandbox_port: int, workdir: Path) -> dict[str, str]:
    return harness.console_env(sandbox_port, workdir, CELERY_GATEWAY_CONCURRENCY=args.gateway_concurrency,
                               CELERY_DEFAULT_CONCURRENCY=args.default_concurrency)


def device(code: str) -> str:
    return f"BENCH-PAX-{int(code):03d}"


def set_up_store(password: str, lanes: int) -> None:
    harness.set_up_store(password=password, devices=[device(str(n)) for n in range(1, lanes + 1)])


class Round:
    """One round: N lanes pay together; the three clocks of each payment."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.answer_to_received: list[float] = []
        self.answer_to_commit: list[float] = []
        self.commit_to_received: list[float] = []
        self.answers_spread = 0.0
        self.posted_in = 0.0
        self.failures: dict[str, int] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds each process used during the round
        self.idle: dict[str, float] = {}  # CPU seconds per second each process uses with no payment (run_rounds)
        self.duration = 0.0  # seconds from the first Pay request to the last final snapshot read
        self.load = ""
        self.lost: list[str] = []  # lanes whose final snapshot never reached the websocket
        self.think_time = 0.0
        self.in_flight_at_first_answer = 0  # orders the sandbox had received before it sent its first answer
        self.run = 0  # which of --repeat runs of this round (0 when it runs once)
        self.connections = 0  # TCP connections the sandbox accepted during the round: the console's, and 1 of ours
        self.reuses = 0  # requests that came on a kept-alive connection
        self.reuse_idle = 0.0  # seconds, in all, those connections had been idle before them


Watchers = LaneWatchers | ThreadWatchers


def console_pids(console: Console, watchers: Watchers) -> dict[str, int]:
    pids = {name: proc.pid for name, proc in console.procs.items()} | {"bench (this process)": os.getpid()}
    return pids | ({"lane watchers": watchers.pid} if isinstance(watchers, LaneWatchers) else {})


def idle_cpu(console: Console, watchers: Watchers, server: databases.ServerCpu) -> dict[str, float]:
    """CPU seconds per second each process uses with no payment (heartbeats, beat's jobs, pool checks, the
    websockets' pings): measured once the warm-up's work is over, and subtracted from each round's figure."""
    pids = console_pids(console, watchers)
    time.sleep(2)  # the warm-up's last pushes and webhooks
    before = console_cpu.reading(pids, server)
    time.sleep(IDLE_SECONDS)
    return {name: used / IDLE_SECONDS for name, used in console_cpu.used(before, console_cpu.reading(pids, server)).items()}


def run_round(console: Console, session: requests.Session, watchers: Watchers, server: databases.ServerCpu, n: int,
              args: argparse.Namespace, think_time: float) -> Round:
    result = Round(n)
    result.think_time = think_time
    data_path = console.sandbox_data
    codes = [str(i) for i in range(1, n + 1)]
    rng = random.Random(n)

    jitter = args.jitters[n]

    def pay(code: str) -> dict[str, Any]:
        if jitter:
            time.sleep(rng.uniform(0, jitter))
        return lane_client.post_payment(session, console.url, code, APPROVED_AMOUNT)

    pids = console_pids(console, watchers)
    connections_before = sandbox_connections(console)
    cpu_before = console_cpu.reading(pids, server)
    started = time.monotonic()
    with measure.no_collector_pauses():
        with ThreadPoolExecutor(max_workers=min(args.post_threads, n)) as pool:
            attempts = dict(zip(codes, pool.map(pay, codes), strict=True))
        result.posted_in = time.monotonic() - started
        received = watchers.wait_finals({code: attempts[code]["id"] for code in codes}, FINAL,
                                        timeout=60 + think_time)
        result.lost = [code for code in codes if code not in received]
    result.duration = time.monotonic() - started
    result.cpu = console_cpu.used(cpu_before, console_cpu.reading(pids, server))
    result.load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    connections_after = sandbox_connections(console)
    result.connections = connections_after[0] - connections_before[0]
    result.reuses = connections_after[1] - connections_before[1]
    result.reuse_idle = connections_after[2] - connections_before[2]
    times = sandbox_wire.sandbox_order_times(data_path, MCH_ID)
    answered = []
    for code in codes:
        if code not in received:
            continue
        final, no = received[code], attempts[code]["order_reference"]
        status = final.attempt["status"]
        if status != "APPROVED":
            result.failures[status] = result.failures.get(status, 0) + 1
            continue
        answered_at = times.get(no, {}).get("answeredAt")
        if answered_at is None:
            raise RuntimeError(f"lane {code}: the sandbox has no answeredAt for {no}")
        answered.append(answered_at)
        committed = final.written_at()
        result.answer_to_received.append(final.wall - answered_at)
        result.answer_to_commit.append(committed - answered_at)
        result.commit_to_received.append(final.wall - committed)
    result.answers_spread = max(answered) - min(answered) if answered else 0.0
    if answered:
        first_answer = min(answered)
        received_at = [times.get(a["order_reference"], {}).get("receivedAt") for a in attempts.values()]
        result.in_flight_at_first_answer = sum(1 for t in received_at if t is not None and t < first_answer)
    return result


def sandbox_connections(console: Console) -> tuple[int, int, float]:
    """Since the sandbox started: connections accepted (this reading's own among them), requests on a kept-alive
    connection, and the seconds those connections had been idle before them."""
    port = int(console.sandbox_url.rsplit(":", 1)[1])
    stats = sandbox_wire.sandbox_request(port, "GET", "/_sandbox/stats")[1]
    return int(stats["connections"]), int(stats["reuses"]), float(stats["reuse_idle_seconds"])


def p99_text(seconds: list[float]) -> str:
    return f"p99 {percentile([s * 1000 for s in seconds], 99):.1f} ms"


def table(rounds: list[Round]) -> list[Row]:
    rows = []
    for r in rounds:
        burst = r.in_flight_at_first_answer < r.n
        tag = (f"[{r.n} lanes{f', {r.think_time:g} s cardholder, burst' if burst else ''}"
               f"{f', run {r.run}' if r.run else ''}"
               f"{f', {len(r.lost)} finals never received' if r.lost else ''}]")
        # TARGET_MS is for N lanes paying concurrently, every one waiting on its cardholder at once; a burst round
        # (answers while the POSTs still arrive) has its own.
        rows.append(summarize(BENCH, f"answer → final on websocket {tag} ({p99_text(r.answer_to_received)})",
                              r.answer_to_received, BURST_TARGET_MS if burst else TARGET_MS))
        rows.append(summarize(BENCH, f"  answer → final committed {tag} ({p99_text(r.answer_to_commit)})",
                              r.answer_to_commit))
        rows.append(summarize(BENCH, f"  committed → websocket {tag} ({p99_text(r.commit_to_received)})",
                              r.commit_to_received))
        if r.n >= 100:  # fewer payments than that and the idle rate's noise is a good part of the figure
            rows += console_cpu.rows(BENCH, r, tag)
    return rows


def prepare_console(args: argparse.Namespace, begun: harness.BenchStart) -> Console:
    """The store with a lane per payment of the largest round, then the console (not started yet)."""
    set_up_store(begun.password, max(args.rounds))

    connection.close()
    websocket_port = harness.free_port() if args.websocket_daphne else None
    config = ConsoleConfig(merchant=f"{MCH_ID}={begun.env['TEST_SANDBOX_KEY']}", sandbox_port=begun.sandbox_port,
                           daphne_port=begun.daphne_port, gateway_concurrency=args.gateway_concurrency,
                           default_concurrency=args.default_concurrency, think_time=args.think_time,
                           websocket_port=websocket_port, gateway_processes=args.gateway_processes)
    return Console(begun.env, config, begun.workdir)


def run_rounds(console: Console, session: requests.Session, watchers: Watchers,
               args: argparse.Namespace, workdir: Path, notes: list[str]) -> list[Round]:
    """A warm-up, a round per lane count, then the burst round with its own cardholder speed."""
    with databases.ServerCpu(harness.database_url()) as server:
        run_round(console, session, watchers, server, min(args.rounds), args, args.think_time)  # warm-up
        idle = idle_cpu(console, watchers, server)
        plan = [(n, args.think_time, run) for n in args.rounds for run in range(1, args.repeat + 1)]
        if args.burst_think_time:
            plan += [(max(args.rounds), args.burst_think_time, run) for run in range(1, args.repeat + 1)]
        rounds, sandbox_think_time = [], args.think_time
        for n, think_time, run in plan:
            if think_time != sandbox_think_time:
                sandbox_think_time = think_time
                console.restart_sandbox(think_time=think_time, data=workdir / f"sandbox-{think_time:g}s.sqlite3")
            r = run_round(console, session, watchers, server, n, args, think_time)
            r.idle = idle
            r.run = run if args.repeat > 1 else 0
            rounds.append(r)
            notes.append(f"{n} lanes, {think_time:g} s cardholder{f', run {run}' if args.repeat > 1 else ''}: "
                         f"answer → websocket {p99_text(r.answer_to_received) if r.answer_to_received else '-'}; "
                         f"POSTed in {r.posted_in:.2f} s; "
                         f"{r.in_flight_at_first_answer} of {n} waiting at the gateway when the first answer left; "
                         f"answers spread over {r.answers_spread:.2f} s (first to last answeredAt); "
                         f"new connections to the gateway {max(r.connections - 1, 0)} "
                         f"({max(r.connections - 1, 0) / n:.2f} a payment), a reused one idle "
                         f"{r.reuse_idle / max(r.reuses, 1):.2f} s on average; "
                         f"not approved: {r.failures or 'none'}; final snapshot never received on {len(r.lost)} "
                         f"lanes; load average {r.load} after the round; CPU per payment, idle subtracted: "
                         + ", ".join(f"{name} {ms:.1f} ms" for name, ms in console_cpu.per_payment_ms(r).items())
                         + "; idle CPU (after the warm-up), ms per second: "
                         + ", ".join(f"{name} {rate * 1000:.1f}" for name, rate in r.idle.items()))
        return rounds


def report(args: argparse.Namespace, begun: harness.BenchStart, rounds: list[Round], notes: list[str]) -> list[Row]:
    """Print the settings, the machine and the notes; returns the rows."""
    env = begun.env
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{BENCH}: N lanes pay at once, create_order answer (sandbox answeredAt) → final snapshot read "
          f"on the lane's websocket")
    print(f"settings: {args.gateway_processes} gateway worker process(es), each -P threads -c "
          f"{args.gateway_concurrency}; CONSOLE_GATEWAY_DB_CONNECTIONS "
          f"{env.get('CONSOLE_GATEWAY_DB_CONNECTIONS', '20 (default)')}; default worker -c "
          f"{args.default_concurrency}; sandbox think time {args.think_time} s (fixed; burst round {args.burst_think_time} s); POSTs from "
          f"{args.post_threads} threads, jitter 0..{args.jitter} s before each; "
          f"{'two Daphne processes (HTTP; websockets)' if args.websocket_daphne else 'one Daphne process'}; "
          f"database pool {env.get('CONSOLE_DB_POOL_SIZE', '20 (default)')} per process; "
          f"channel layer {channel_layer_backend()}")
    print(f"machine: {begun.machine}, {load} at the end; {begun.services}")
    for note in notes:
        print(f"- {note}")
    return table(rounds)


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    begun = harness.start_bench(BENCH, lambda port, workdir: console_env(args, port, workdir))
    console = prepare_console(args, begun)
    lanes = max(args.rounds)
    watchers: Watchers | None = None
    rounds: list[Round] = []
    notes: list[str] = []
    try:
        console.start()
        session = lane_client.login(console.url, "bench", begun.password)
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=args.post_threads))
        t0 = time.monotonic()
        codes = [str(i) for i in range(1, lanes + 1)]
        watchers = (LaneWatchers(console.websocket_url, codes, session.cookies["sessionid"])
                    if args.lane_watchers == "process" else ThreadWatchers(console.websocket_url, codes, session))
        notes.append(f"{lanes} lane websockets opened in {time.monotonic() - t0:.1f} s, read by "
                     + ("one event loop in a process of its own" if args.lane_watchers == "process"
                        else "a thread each in this process"))
        rounds = run_rounds(console, session, watchers, args, begun.workdir, notes)
        gateway = console.status("gateway")
        notes.append(f"gateway worker after the runs: {gateway['threads']} threads, "
                     f"{gateway['rss'] / 1024**2:.0f} MiB resident")
        closed = watchers.closed_by_server()
        notes.append(f"lane websockets closed by the server: {len(closed)}")
    except BaseException:
        print(f"{BENCH}: stopped by an error; the processes' logs are kept in {begun.workdir / 'logs'}", flush=True)
        raise
    finally:
        if watchers is not None:
            watchers.close()
        console.stop()
    rows = report(args, begun, rounds, notes)
    ok = all(not r.failures and not r.lost for r in rounds)
    return figures.finish(rows, rows_json=args.rows_json, workdir=begun.workdir, ok=ok, keep_logs=args.keep_logs)


def channel_layer_backend() -> str:

    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert isinstance(backend, str)  # a dotted path; the settings' dict literal types it Collection[str]
    return backend.rsplit(".", 1)[-1]


if __name__ == "__main__":
    main(sys.argv[1:])
