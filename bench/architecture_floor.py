"""The architecture's floor: the CPU per payment of the product's specified parts with nothing of the console in them,
and the console's own under the same load, in one run.

Claim (issue 16, part 1): what the least payment costs on this machine when it goes the way the product is
specified to go (a POST to Daphne and Django, a Celery task on a threads pool that makes the gateway's calls, a push
through Channels to the lane's websocket in Daphne), before any of the console's own work; and the console's figure
beside it, so that what the console adds is the difference, measured in the same run.

How: the skeleton in bench/floor (no middleware, no session or user, no checks, no signing, no event history, no
log line), as the console's benchmark layout runs: an HTTP Daphne, a websocket Daphne, one Celery worker
(`-P threads -c --worker-concurrency`), and a stand-in gateway that answers at once (not counted, as the sandbox is
not). `--lanes` websockets are opened; `--concurrency` threads, each with lanes of its own, POST a sale, wait for its
push on the lane's websocket and POST the next. Four variants, each on processes of its own:

- **bare**: no database: the POST sends the task, the task makes the two calls (create_order, the confirming
  query_order) and pushes;
- **bare-asgi**: as bare, but the Pay request is not Django's: a plain ASGI callable in the same Daphne reads the
  body, sends the task and answers on Daphne's event loop (how much of the HTTP Daphne's share is Django's request
  handling);
- **writes**: as bare with the three writes a money path cannot do without (the sale inserted before its task is
  sent, marked sent before the call, its result after it), each one statement on a pooled PostgreSQL connection;
- **console**: the console itself, its whole process table (one gateway worker of `--worker-concurrency` threads),
  the sandbox answering at once, the cashier's Pay request and the lane's websocket as the checkout page uses them.

Each variant: `--warmup` payments, the processes' CPU at rest over two seconds, then `--rounds` rounds of
`--payments` payments; each round's CPU (user + system, less the rate at rest) over its payments; the median round.
bare and bare-asgi run one after the other, alone. writes and console run side by side and take their rounds in
turn (writes, console, writes, console...), so that the last row, the console's figure over the skeleton's with the
writes round by round, compares rounds of the same minute. PostgreSQL's CPU (same cores, not counted) is printed
beside the two that use it.

    .venv/bin/python -m bench.architecture_floor [--payments 1000] [--rounds 3] [--lanes 100] [--concurrency 32]
                                                 [--variant bare|bare-asgi|writes|console ...]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import requests.adapters
from django.db import connection

from bench import console_cpu, databases, harness, lane_client, measure
from bench.console_cpu import CPU_TARGET_MS
from bench.figures import Row, finish
from bench.floor.run import Lanes, floor_payment, floor_processes
from bench.harness import Console, ConsoleConfig, Proc
from bench.lane_client import ThreadWatchers

BENCH = "architecture_floor"
VARIANTS = ("bare", "bare-asgi", "writes", "console")
WHAT = {
    "bare": "the architecture's skeleton, no database",
    "bare-asgi": "the skeleton, no database, the Pay request a plain ASGI callable on Daphne's loop (no Django)",
    "writes": "the skeleton with the three writes (insert, sent, result), one statement each, pooled PostgreSQL",
    "console": "the console, same load (its whole process table, one gateway worker)",
}
ALONE = ("bare", "bare-asgi")  # measured each on its own; "writes" and "console" take their rounds in turn
IDLE_SECONDS = 2.0
APPROVED_AMOUNT = 1250  # the sandbox approves it (bench.push_latency)
FINAL = {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}
# The skeleton's processes, named as their counterparts in the console; its stand-in gateway is not counted.
COUNTED = ("daphne", "daphne-ws", "gateway")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1000, help="payments per round (1000)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per variant (3)")
    parser.add_argument("--warmup", type=int, default=300, help="payments before the rounds (300)")
    parser.add_argument("--lanes", type=int, default=100, help="lanes, one websocket each (100)")
    parser.add_argument("--concurrency", type=int, default=32, help="payments in flight (32)")
    parser.add_argument("--worker-concurrency", type=int, default=150,
                        help="the worker's threads, as one of the console's gateway workers (150)")
    parser.add_argument("--variant", choices=VARIANTS, action="append",
                        help="run only this variant (repeatable); all four by default")
    parser.add_argument("--rows-json", help="also write the rows to this JSON file (used by run_all.py)")
    args = parser.parse_args(argv)
    if args.concurrency > args.lanes:
        parser.error("--concurrency cannot exceed --lanes: a lane takes one sale at a time")
    return args


def pay(one: Callable[[str], None], codes: list[str], count: int, concurrency: int) -> float:
    """``count`` payments, ``concurrency`` at a time; ``one(code)`` POSTs a sale on a lane and returns once its final
    push was read on the lane's websocket. Each thread has lanes of its own and takes them in turn (a lane takes one
    sale at a time). Seconds for all of them."""
    remaining = iter(range(count))
    lock = threading.Lock()
    failures: list[str] = []

    def worker(n: int) -> None:
        own = itertools.cycle(codes[n::concurrency])
        while not failures:
            with lock:
                i = next(remaining, None)
            if i is None:
                return
            code = next(own)
            try:
                one(code)
            except Exception as exc:  # reported below: a failed payment makes the figure worthless
                failures.append(f"lane {code}: {exc}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} payments failed, the first: {failures[0]}")
    return time.perf_counter() - start


@dataclass
class RoundReading:
    """One round as console_cpu reads it (its RoundCpu): the same accounting as push_latency's rounds."""

    n: int  # payments
    cpu: dict[str, float]  # CPU seconds each process used during the round
    idle: dict[str, float]  # CPU seconds per second each uses with no payment
    duration: float  # seconds


@dataclass
class Variant:
    """One variant's processes under load, and what its rounds measured."""

    name: str
    one: Callable[[str], None]  # a payment on a lane, its final push read
    codes: list[str]
    pids: dict[str, int]  # the processes counted
    server: databases.ServerCpu
    uses_database: bool  # PostgreSQL's CPU is reported beside it
    idle: dict[str, float] = field(default_factory=dict)  # CPU seconds per second at rest
    rounds: list[dict[str, float]] = field(default_factory=list)  # CPU ms per payment by process, each round
    postgres_ms: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def warm_up(self, args: argparse.Namespace) -> None:
        pay(self.one, self.codes, args.warmup, args.concurrency)

    def read_idle(self) -> None:
        """Each process's CPU at rest (heartbeats, timers, pings): subtracted from each round's figure, as
        push_latency's idle_cpu does."""
        before = console_cpu.reading(self.pids, self.server)
        time.sleep(IDLE_SECONDS)
        spent = console_cpu.used(before, console_cpu.reading(self.pids, self.server))
        self.idle = {name: seconds / IDLE_SECONDS for name, seconds in spent.items()}

    def run_round(self, args: argparse.Namespace) -> None:
        with measure.no_collector_pauses():
            before = console_cpu.reading(self.pids, self.server)
            seconds = pay(self.one, self.codes, args.payments, args.concurrency)
            after = console_cpu.reading(self.pids, self.server)
        per = console_cpu.per_payment_ms(RoundReading(args.payments, console_cpu.used(before, after), self.idle,
                                                      seconds))
        used = {name: per[name] for name in self.pids}
        self.rounds.append(used)
        self.seconds.append(seconds)
        if self.uses_database:
            self.postgres_ms.append(per.get(console_cpu.POSTGRESQL, 0.0))
        print(f"{BENCH}: {self.name} round {len(self.rounds)}: {sum(used.values()):.2f} ms CPU per payment ("
              + ", ".join(f"{name} {ms:.2f}" for name, ms in used.items())
              + f"); {args.payments / seconds:.0f} payments/s"
              + (f"; PostgreSQL {self.postgres_ms[-1]:.2f} ms (not counted)" if self.uses_database else ""),
              flush=True)


def measure_together(variants: list[Variant], args: argparse.Namespace) -> None:
    """Warm each up, read each at rest, then their rounds in turn (A, B, A, B...): variants compared with each
    other see the same host, hour and load from the others."""
    for variant in variants:
        variant.warm_up(args)
    time.sleep(1)  # the warm-ups' last webhooks and pushes
    for variant in variants:
        variant.read_idle()
    for _ in range(args.rounds):
        for variant in variants:
            variant.run_round(args)


@contextlib.contextmanager
def floor_variant(name: str, args: argparse.Namespace, env: dict[str, str], logs: Path,
                  server: databases.ServerCpu) -> Iterator[Variant]:
    ports = {"daphne": harness.free_port(), "daphne-ws": harness.free_port()}
    with floor_processes(name, env, logs, ports, args.worker_concurrency) as procs:
        lanes = Lanes(f"ws://127.0.0.1:{ports['daphne-ws']}", lane_codes(args))
        lanes.open()
        try:
            one = floor_payment(lanes, f"http://127.0.0.1:{ports['daphne']}")
            yield Variant(name, one, lanes.codes, {process: procs[process].pid for process in COUNTED}, server,
                          uses_database=name == "writes")
        finally:
            lanes.close()


@contextlib.contextmanager
def console_variant(args: argparse.Namespace, begun: harness.BenchStart,
                    server: databases.ServerCpu) -> Iterator[Variant]:
    """The console itself under the same load: its whole process table (one gateway worker of
    ``--worker-concurrency`` threads, as the skeleton's one worker), the sandbox answering at once."""
    codes = lane_codes(args)
    harness.set_up_store(password=begun.password, devices=[f"BENCH-PAX-{int(code):03d}" for code in codes])
    connection.close()
    config = ConsoleConfig(merchant=f"{harness.BENCH_MCH_ID}={begun.env['TEST_SANDBOX_KEY']}",
                           sandbox_port=begun.sandbox_port, daphne_port=begun.daphne_port,
                           gateway_concurrency=args.worker_concurrency, think_time=0.0,
                           websocket_port=harness.free_port(), gateway_processes=1)
    console = Console(begun.env, config, begun.workdir)
    watchers: ThreadWatchers | None = None
    try:
        console.start()
        session = lane_client.login(console.url, "bench", begun.password)
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=args.concurrency))
        watchers = ThreadWatchers(console.websocket_url, codes, session)
        lanes = watchers.watchers

        def one(code: str) -> None:
            attempt = lane_client.post_payment(session, console.url, code, APPROVED_AMOUNT)
            final = lanes[code].wait_status(attempt["id"], FINAL, timeout=30)
            if final.attempt["status"] != "APPROVED":
                raise RuntimeError(f"attempt {attempt['id']} ended {final.attempt['status']}")

        yield Variant("console", one, codes,
                      {name: proc.pid for name, proc in console.procs.items() if name != "sandbox"}, server,
                      uses_database=True)
    except BaseException:
        print(f"{BENCH}: stopped by an error; the console's logs are kept in {console.log_dir}", flush=True)
        raise
    finally:
        if watchers is not None:
            watchers.close()
        console.stop()


def lane_codes(args: argparse.Namespace) -> list[str]:
    return [str(n) for n in range(1, args.lanes + 1)]


def rows_of(variant: str, result: Variant, args: argparse.Namespace) -> list[Row]:
    totals = [sum(r.values()) for r in result.rounds]
    middle = result.rounds[totals.index(sorted(totals)[(len(totals) - 1) // 2])]
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in middle.items() if ms >= 0.005)
    rate = statistics.median(args.payments / s for s in result.seconds)
    what = WHAT[variant]
    rows = [Row(BENCH, f"CPU per payment, {what}: {parts} (middle round); {rate:.0f} payments/s, "
                       f"{args.concurrency} in flight, {args.lanes} lanes",
                len(totals), statistics.median(totals), max(totals), max(totals), CPU_TARGET_MS, "ms CPU")]
    if result.postgres_ms:
        rows.append(Row(BENCH, f"  PostgreSQL's CPU per payment, {variant} (not counted, same cores)",
                        len(result.postgres_ms), statistics.median(result.postgres_ms), max(result.postgres_ms),
                        max(result.postgres_ms), None, "ms CPU"))
    return rows


def ratio_row(console: Variant, floor: Variant) -> Row:
    """The console's CPU per payment over the skeleton's with the writes, round by round (their rounds alternate)."""
    ratios = [sum(c.values()) / sum(f.values()) for c, f in zip(console.rounds, floor.rounds, strict=False)]
    return Row(BENCH, "the console ÷ the skeleton with the writes, CPU per payment, round by round (a ratio)",
               len(ratios), statistics.median(ratios), max(ratios), max(ratios), None, "ratio")


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    begun = harness.start_bench(BENCH, lambda port, workdir: harness.console_env(port, workdir))
    print(f"{BENCH}: {begun.machine}; {begun.services}", flush=True)
    logs = begun.workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    db_url, redis_url = begun.env["DATABASE_URL"], begun.env["REDIS_URL"]
    with databases.pg_connect(db_url) as conn:
        conn.execute("CREATE TABLE floor_attempt (id bigserial PRIMARY KEY, ref text NOT NULL UNIQUE, lane text NOT "
                     "NULL, amount integer NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT "
                     "now(), updated_at timestamptz NOT NULL DEFAULT now())")
        conn.commit()
    gateway_port = harness.free_port()
    env = {**begun.env, "DJANGO_SETTINGS_MODULE": "bench.floor.settings", "FLOOR_REDIS_URL": redis_url,
           "FLOOR_DATABASE_URL": db_url, "FLOOR_SECRET_KEY": secrets.token_urlsafe(40),
           "FLOOR_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}"}
    gateway = Proc("floor-gateway", [sys.executable, "-m", "bench.floor.gateway", str(gateway_port)], env, logs,
                   ready="floor gateway ready")
    results: dict[str, Variant] = {}
    ok = False
    try:
        gateway.start()
        deadline = time.monotonic() + 30
        while not gateway.is_ready():
            if time.monotonic() > deadline:
                raise RuntimeError("the stand-in gateway did not start")
            time.sleep(0.1)
        chosen = [name for name in VARIANTS if name in (args.variant or VARIANTS)]
        with databases.ServerCpu(db_url) as server:
            for name in chosen:  # the skeleton without the database: each alone
                if name in ALONE:
                    with floor_variant(name, args, env, logs, server) as variant:
                        measure_together([variant], args)
                    results[name] = variant
            with contextlib.ExitStack() as stack:  # the two compared by the ratio: round by round, in turn
                paired = [stack.enter_context(floor_variant(name, args, env, logs, server) if name == "writes"
                                              else console_variant(args, begun, server))
                          for name in chosen if name not in ALONE]
                measure_together(paired, args)
            results |= {variant.name: variant for variant in paired}
        ok = True
    finally:
        gateway.stop()
    rows = [row for variant, result in results.items() for row in rows_of(variant, result, args)]
    if "console" in results and "writes" in results:
        rows.append(ratio_row(results["console"], results["writes"]))
    return finish(rows, rows_json=args.rows_json, workdir=begun.workdir, ok=ok)


if __name__ == "__main__":
    main()
