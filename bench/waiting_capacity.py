"""Waiting capacity: 2,000 payments held open at the gateway at once (issue 16, part 4; 1,000 before it).

Claim: with 2,000 lanes each waiting on a cardholder who takes 60 s (2,000 create_order calls open at
IOTPay at once), every payment ends correctly, a new payment started meanwhile reaches IOTPay within 1 s,
and all the console's processes together (Daphne, the Celery workers, beat) stay within 1.5 GB resident.

How: the real processes (IOTPay sandbox with `--think-time 60`: long enough that the first payments are still
waiting when the last is POSTed, which takes 15-40 s on this machine depending on its load; the gateway worker
on one process with a threads pool of `-c 2100`, the default and webhooks workers, beat, Daphne) on PostgreSQL and Redis; 2,001 lanes
with a terminal each. Lanes 1..2,000 get an approving payment ($12.50) POSTed as fast as Daphne answers, from a
pool of client threads sharing one logged-in session's cookie. Once the sandbox counts ~2,000 open
create_order calls, a payment on lane 2,001 is timed from its POST to its create_order at the sandbox
(probed every 10 ms). Then all 2,001 must end APPROVED. Meanwhile psutil sums the RSS of each console
process and its children every 250 ms, and pg_stat_activity is sampled every 100 ms.

    .venv/bin/python -m bench.waiting_capacity [--lanes 2000] [--gateway-concurrency 2100] [--clients 16]

Needs PostgreSQL and Redis (bench/harness.py: the database is dropped and re-created, the Redis database
flushed). Prints figures and asserts nothing about time; exits 1 when a payment did not end APPROVED.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from django.db import connection
from django.db.models import Count

from bench import databases, figures, harness, lane_client, measure, sandbox_wire
from bench.figures import Row, summarize
from bench.harness import Console, ConsoleConfig

BENCH = "waiting_capacity"
MCH_ID = "10000576"
AMOUNT = 1250  # approved after the think time
TARGET_MS = 1000.0
TARGET_RSS = 1.5e9  # bytes (1.5 GB)
CREATE_TIMEOUT = 120.0
FINAL = {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}
MIB = 1024**2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.waiting_capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=2000, help="payments held open at once (2000)")
    parser.add_argument("--gateway-concurrency", type=int, default=2100, help="gateway worker threads (2100)")
    parser.add_argument("--default-concurrency", type=int, default=8)
    parser.add_argument("--think-time", type=float, default=60.0, help="the sandbox cardholder's think time (60)")
    parser.add_argument("--clients", type=int, default=16, help="client threads POSTing the payments (16)")
    parser.add_argument("--rows-json", help="also write the rows to this JSON file (used by run_all.py)")
    parser.add_argument("--keep-logs", action="store_true")
    return parser.parse_args(argv)


def console_env(args: argparse.Namespace, sandbox_port: int, workdir: Path) -> dict[str, str]:
    return harness.console_env(sandbox_port, workdir, IOTPAY_CREATE_TIMEOUT=CREATE_TIMEOUT,
                               CELERY_GATEWAY_CONCURRENCY=args.gateway_concurrency,
                               CELERY_DEFAULT_CONCURRENCY=args.default_concurrency)


def device(n: int) -> str:
    return f"CAP-PAX-{n:04d}"


def set_up_store(password: str, lanes: int) -> None:
    harness.set_up_store(password=password, devices=[device(n) for n in range(1, lanes + 2)],
                         store_name="Capacity Store")


class OpenCalls:
    """Polls the sandbox's open create_order count every 100 ms in a thread; keeps the peak."""

    def __init__(self, port: int) -> None:
        self.port, self.now, self.peak, self.peak_at, self.received = port, 0, 0, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="open-calls", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, KeyError, ValueError):
                stats = sandbox_wire.sandbox_request(self.port, "GET", "/_sandbox/stats")[1]
                self.now, self.received = stats["open_create_calls"], stats["create_order"]
            if self.now > self.peak:
                self.peak, self.peak_at = self.now, time.monotonic()
            self._stop.wait(0.1)

    def __enter__(self) -> OpenCalls:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def clone(session: requests.Session) -> requests.Session:
    """Another session (one per client thread: requests.Session is not thread-safe) with the same login."""
    other = requests.Session()
    other.trust_env = False
    other.cookies.update(session.cookies)
    other.headers.update(session.headers)
    return other


def pay(session: requests.Session, url: str, code: int) -> tuple[int, float, float, dict[str, Any]]:
    """POST one payment; (status, wall time of the POST, seconds to the answer, body)."""
    wall, t0 = time.time(), time.monotonic()
    try:
        response = session.post(f"{url}/api/lanes/{code}/payments", json={"amount": AMOUNT},
                                headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=30)
    except requests.RequestException as exc:
        return 0, wall, time.monotonic() - t0, {"error": f"{type(exc).__name__}: {exc}"}
    body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
    return response.status_code, wall, time.monotonic() - t0, body


def post_all(console: Console, session: requests.Session, lanes: int, clients: int, notes: list[str]) \
        -> tuple[dict[int, dict[str, Any]], list[float], dict[str, float]]:
    """POST a payment on lanes 1..lanes from `clients` threads; (snapshots by lane, POST→answer, POST wall times
    by order_reference)."""
    local = threading.local()

    def one(code: int) -> tuple[int, int, float, float, dict[str, Any]]:
        if not hasattr(local, "session"):
            local.session = clone(session)
        return (code, *pay(local.session, console.url, code))

    started = time.monotonic()
    with ThreadPoolExecutor(clients, thread_name_prefix="post") as pool:
        results = list(pool.map(one, range(1, lanes + 1)))
    took = time.monotonic() - started
    snapshots, answers, posted_at, refused = {}, [], {}, {}
    for code, status, wall, seconds, body in results:
        answers.append(seconds)
        if status == 201:
            snapshots[code] = body
            posted_at[body["order_reference"]] = wall
        else:
            refused[code] = f"{status} {str(body)[:150]}"
    notes.append(f"{lanes} payments POSTed from {clients} client threads in {took:.1f} s ({lanes / took:.0f} POST/s); "
                 f"{len(snapshots)} answered 201, {len(refused)} not"
                 + (f" (e.g. {list(refused.items())[:3]})" if refused else ""))
    return snapshots, answers, posted_at


def arrival_times(port: int, posted_at: dict[str, float]) -> list[float]:
    """POST → create_order received by the sandbox (its order's createDate, this machine's clock), per order."""
    _, orders = sandbox_wire.sandbox_request(port, "GET", f"/_sandbox/orders?mchId={MCH_ID}")
    return [row["createDate"] / 1000 - posted_at[row["mchOrderNo"]] for row in orders
            if row["mchOrderNo"] in posted_at]


def probe(console: Console, session: requests.Session, port: int, code: int) \
        -> tuple[float, float, dict[str, Any]]:
    """The new payment: (POST → 201, POST → create_order at the sandbox probed every 10 ms, snapshot)."""
    status, _, answered, body = pay(session, console.url, code)
    t0 = time.monotonic() - answered
    if status != 201:
        raise RuntimeError(f"new payment on lane {code} answered {status}: {body}")
    path = f"/_sandbox/orders/{MCH_ID}/{body['order_reference']}"
    while sandbox_wire.sandbox_request(port, "GET", path)[1].get("create_calls", 0) < 1:
        if time.monotonic() > t0 + 60:
            raise RuntimeError("create_order of the new payment not received by the sandbox in 60 s")
        time.sleep(0.01)
    return answered, time.monotonic() - t0, body


def wait_final(ids: list[int], timeout: float) -> dict[str, int]:
    """Wait until every attempt is final (or the time-out); their counts by status."""
    from payments.models import PaymentAttempt  # noqa: PLC0415  (models load after django.setup())

    deadline = time.monotonic() + timeout
    while True:
        counts = dict(PaymentAttempt.objects.filter(pk__in=ids).values("status").annotate(n=Count("pk"))
                      .values_list("status", "n"))
        connection.close()
        if sum(n for status, n in counts.items() if status in FINAL) >= len(ids) or time.monotonic() > deadline:
            return counts
        time.sleep(1)


def by_name(values: dict[str, int], scale: float = 1, unit: str = "") -> str:
    return ", ".join(f"{name.removeprefix('bench-')} {v / scale:.0f}{unit}"
                     for name, v in sorted(values.items(), key=lambda i: -i[1])) or "none"


def print_log_errors(console: Console) -> None:
    for name, messages in console.log_errors().items():
        for message, n in messages.most_common(3):
            print(f"- {name}.log: {n} times: ERROR {message}")


def prepare_console(args: argparse.Namespace, begun: harness.BenchStart) -> tuple[Console, list[str]]:
    """The store with its lanes, then the console sized by the arguments (not started yet)."""
    t0 = time.monotonic()
    set_up_store(begun.password, args.lanes)

    connection.close()
    notes = [f"store set up with {args.lanes + 1} lanes and terminals in {time.monotonic() - t0:.1f} s"]
    config = ConsoleConfig(merchant=f"{MCH_ID}={begun.env['TEST_SANDBOX_KEY']}", sandbox_port=begun.sandbox_port,
                           daphne_port=begun.daphne_port, gateway_concurrency=args.gateway_concurrency,
                           default_concurrency=args.default_concurrency, think_time=args.think_time,
                           interactive_timeout=CREATE_TIMEOUT + 30)
    return Console(begun.env, config, begun.workdir), notes


@dataclass
class Held:
    """What the held phase measured (seconds)."""

    post_answers: list[float]  # POST → 201 of the held payments
    arrivals: list[float]  # POST → create_order at the sandbox of the held payments
    probe_open: int  # calls open when the new payment started
    new_answer: float  # the new payment's POST → 201
    new_to_gateway: float  # the new payment's POST → create_order at the sandbox
    ok: bool  # every payment ended APPROVED
    peak_rss: int = 0  # bytes: the console's processes together, at their peak


def sampled_notes(rss: measure.RssSampler, pg: databases.ConnectionSampler, max_connections: str) -> list[str]:
    return [
        f"peak RSS of the console's processes together: {rss.peak / MIB:.0f} MiB "
        f"({rss.peak / 1e9:.2f} GB; target ≤ 1.5 GB: {'yes' if rss.peak <= TARGET_RSS else 'NO'}) "
        f"sampled every 250 ms ({rss.samples} samples); at that peak: {by_name(rss.at_peak, MIB, ' MiB')}; "
        f"threads then: {by_name(rss.threads_at_peak)}; each one's own peak: "
        f"{by_name(dict(rss.peak_by_tree), MIB, ' MiB')}",
        f"peak PostgreSQL connections to the database {pg.peak} of max_connections {max_connections} "
        f"(sampled every 100 ms); at that peak: {by_name(dict(pg.at_peak))}; each one's own peak: "
        f"{by_name(dict(pg.peak_by_process))}",
    ]


def hold_and_probe(console: Console, session: requests.Session, args: argparse.Namespace,
                   begun: harness.BenchStart, notes: list[str]) -> Held:
    """Hold `args.lanes` payments open at the gateway, time a new one meanwhile, then wait for all to end."""
    sandbox_port, probe_lane = begun.sandbox_port, args.lanes + 1
    pids = {name: proc.pid for name, proc in console.procs.items() if name != "sandbox"}  # every console process
    idle = measure.RssSampler(pids)
    idle.sample()
    notes.append(f"console processes idle: {idle.peak / MIB:.0f} MiB resident ({by_name(idle.at_peak, MIB, ' MiB')})")
    with measure.RssSampler(pids) as rss, databases.ConnectionSampler(begun.env["DATABASE_URL"], every=0.1) as pg, \
            OpenCalls(sandbox_port) as open_calls:
        started = time.monotonic()
        snapshots, post_answers, posted_at = post_all(console, session, args.lanes, args.clients, notes)
        # The new payment goes once every earlier one has reached the sandbox (no backlog left in the
        # gateway queue), or after 60 s.
        deadline = time.monotonic() + 60
        while open_calls.received < len(snapshots) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        notes.append(f"{open_calls.received} create_order calls received and {open_calls.now} open at the sandbox "
                     f"{time.monotonic() - started:.1f} s after the first POST (peak so far {open_calls.peak})")
        gateway_status = measure.process_status(pids["gateway"])
        probe_open = open_calls.now
        new_answer, new_to_gateway, new_snapshot = probe(console, clone(session), sandbox_port, probe_lane)
        notes.append(f"new payment on lane {probe_lane} started with {open_calls.now} calls open: POST → 201 "
                     f"{new_answer * 1000:.0f} ms, POST → create_order at the sandbox {new_to_gateway * 1000:.0f} ms")
        ids = [s["id"] for s in snapshots.values()] + [new_snapshot["id"]]
        counts = wait_final(ids, args.think_time + CREATE_TIMEOUT)
        ended = time.monotonic() - started
    failures = len(ids) - counts.get("APPROVED", 0) + (args.lanes - len(snapshots))
    notes.append(f"peak create_order calls open at once: {open_calls.peak} "
                 f"({open_calls.peak_at - started:.1f} s after the first POST)")
    notes.append(f"gateway worker with the calls open: {gateway_status['threads']} threads, "
                 f"{gateway_status['rss'] / MIB:.0f} MiB resident")
    notes.append(f"all {len(ids)} payments final {ended:.1f} s after the first POST: {counts}; failures {failures}")
    notes += sampled_notes(rss, pg, begun.max_connections)
    return Held(post_answers, arrival_times(sandbox_port, posted_at), probe_open, new_answer, new_to_gateway,
                failures == 0, rss.peak)


def report(args: argparse.Namespace, begun: harness.BenchStart, held: Held, notes: list[str]) -> list[Row]:
    """Print the settings, the machine and the notes; returns the rows."""
    rows = [
        summarize(BENCH, f"POST → 201 answer ({args.lanes} payments, {args.clients} clients)", held.post_answers),
        summarize(BENCH, f"POST → create_order at IOTPay ({args.lanes} payments)", held.arrivals),
        summarize(BENCH, f"new payment, {held.probe_open} calls open: POST → 201 answer", [held.new_answer],
                  TARGET_MS),
        summarize(BENCH, f"new payment, {held.probe_open} calls open: POST → create_order at IOTPay",
                  [held.new_to_gateway], TARGET_MS),
        Row(BENCH, f"peak RSS of all console processes together, {held.probe_open} calls open", 1,
            held.peak_rss / 1e6, held.peak_rss / 1e6, held.peak_rss / 1e6, TARGET_RSS / 1e6, unit="MB"),
    ]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{BENCH}: {args.lanes} payments held open at the gateway (cardholder think time {args.think_time:g} s), "
          f"then a new one on lane {args.lanes + 1}")
    print(f"settings: gateway worker: 1 process -P threads -c {args.gateway_concurrency}; CONSOLE_GATEWAY_DB_CONNECTIONS "
          f"{begun.env.get('CONSOLE_GATEWAY_DB_CONNECTIONS', '20 (default)')}; default worker -P threads -c "
          f"{args.default_concurrency}; beat; 1 Daphne; IOTPAY_POLL_INTERVAL 2 s; IOTPAY_CREATE_TIMEOUT "
          f"{CREATE_TIMEOUT:.0f} s; sandbox --think-time {args.think_time:g}")
    print(f"machine: {begun.machine}, {load} at the end; {begun.services}")
    for note in notes:
        print(f"- {note}")
    return rows


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    begun = harness.start_bench(BENCH, lambda port, workdir: console_env(args, port, workdir))
    console, notes = prepare_console(args, begun)
    try:
        console.start()
        session = lane_client.login(console.url, "bench", begun.password)
        held = hold_and_probe(console, session, args, begun, notes)
    except BaseException:
        print(f"{BENCH}: stopped by an error; the processes' logs are kept in {begun.workdir / 'logs'}", flush=True)
        print_log_errors(console)
        raise
    finally:
        console.stop()
    rows = report(args, begun, held, notes)
    print_log_errors(console)
    return figures.finish(rows, rows_json=args.rows_json, workdir=begun.workdir, ok=held.ok, keep_logs=args.keep_logs)


if __name__ == "__main__":
    main(sys.argv[1:])
