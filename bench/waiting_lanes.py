"""Long create_order calls must not starve the rest.

Claim: with 100 lanes all waiting on cardholders (100 create_order calls held open), a new payment, a
poll and a push are each still handled within a second, because create_order runs on its own `gateway`
queue on a threads pool sized for waiting, and polls on the `default` queue and worker.

How: the real processes (IOTPay sandbox, both Celery workers, beat, Daphne) on PostgreSQL and Redis,
every lane's websocket open as its checkout page would hold it. Lane 101 measures, first on the idle
console (the control), then while lanes 1..100 each wait on a $12.99 payment (the sandbox holds a .99
order until Approve is pressed on its virtual terminal, so all 100 create_order calls stay open):

1. new payment ($12.50, approved after the sandbox's think time): POST → 201; POST → create_order
   received by the sandbox (probed every 10 ms); POST → APPROVED pushed on the lane's websocket;
2. poll ($12.07: the connection drops after the think time, the order is paid): UNKNOWN pushed →
   APPROVED pushed, i.e. one IOTPAY_POLL_INTERVAL plus running the poll on the `default` worker;
3. push: a state change's `updated_at` (written in the transaction that commits it; for the final
   state read back from the database afterwards) → the websocket message read by the client. Both
   clocks are this machine's.

Then Approve is pressed on the 100 terminals and all 100 must end APPROVED.

    .venv/bin/python -m bench.waiting_lanes [--repeat 20] [--gateway-concurrency 200]

Needs PostgreSQL and Redis (see bench/harness.py: the database is dropped and re-created, the Redis
database flushed). Prints figures and asserts nothing about time; exits 1 when a payment did not end
APPROVED or a step broke.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from django.db import connection
from django.db.models import Count

from bench import databases, figures, harness, lane_client, sandbox_wire
from bench.figures import Row, summarize
from bench.harness import Console, ConsoleConfig
from bench.lane_client import LaneWatcher

BENCH = "waiting_lanes"
WAITING = 100
PROBE_LANE = str(WAITING + 1)
TARGET_MS = 1000.0
MCH_ID = "10000576"
CREATE_TIMEOUT = 120.0
WAITING_AMOUNT = 1299  # .99: held open until a press on the virtual terminal
APPROVED_AMOUNT = 1250  # approved after the think time
DROPPED_AMOUNT = 1207  # .07: paid, then the connection is dropped unanswered → UNKNOWN → a poll
FINAL = {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}


@dataclass
class Samples:
    """Seconds, one list per figure, for one phase (idle console, or 100 lanes waiting)."""

    post_answer: list[float] = field(default_factory=list)
    post_to_gateway: list[float] = field(default_factory=list)
    post_to_approved: list[float] = field(default_factory=list)
    unknown_to_approved: list[float] = field(default_factory=list)
    push_final: list[float] = field(default_factory=list)
    push_every: list[float] = field(default_factory=list)
    attempt_ids: list[int] = field(default_factory=list)


@dataclass
class Run:
    console: Console
    session: requests.Session
    notes: list[str] = field(default_factory=list)

    def pay(self, code: str, amount: int) -> dict[str, Any]:
        response = self.session.post(f"{self.console.url}/api/lanes/{code}/payments", json={"amount": amount},
                                     headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
        if response.status_code != 201:
            raise RuntimeError(f"lane {code}: POST payment answered {response.status_code}: {response.text[:300]}")
        attempt: dict[str, Any] = response.json()  # the attempt's snapshot, a JSON object
        return attempt

    def sandbox(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        return sandbox_wire.sandbox_request(self.console.config.sandbox_port, method, path, form)

    def open_create_calls(self) -> int:
        calls: int = self.sandbox("GET", "/_sandbox/stats")[1]["open_create_calls"]
        return calls

    def create_calls(self, order_reference: str) -> int:
        calls: int = self.sandbox("GET", f"/_sandbox/orders/{MCH_ID}/{order_reference}")[1].get("create_calls", 0)
        return calls


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.waiting_lanes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="measurements per scenario and phase (≥ 10; 20)")
    parser.add_argument("--gateway-concurrency", type=int,
                        default=int(os.environ.get("CELERY_GATEWAY_CONCURRENCY", "200")),
                        help="threads of the gateway worker (default CELERY_GATEWAY_CONCURRENCY or 200)")
    parser.add_argument("--default-concurrency", type=int,
                        default=int(os.environ.get("CELERY_DEFAULT_CONCURRENCY", "8")))
    parser.add_argument("--poll-interval", type=float, default=0.5, help="IOTPAY_POLL_INTERVAL (default 0.5)")
    parser.add_argument("--think-time", type=float, default=0.2, help="the sandbox cardholder's think time (0.2)")
    parser.add_argument("--press-spread", type=float, default=0.0,
                        help="seconds over which Approve is pressed on the 100 terminals (default 0: back to back)")
    parser.add_argument("--rows-json", help="also write the rows to this JSON file (used by run_all.py)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs even on success")
    args = parser.parse_args(argv)
    if args.repeat < 10:
        parser.error("--repeat must be at least 10")
    if args.gateway_concurrency <= WAITING:
        print(f"note: {args.gateway_concurrency} gateway threads cannot hold {WAITING} waiting calls and a new "
              f"one: new payments queue behind the waiting ones (what this bench is there to catch).")
    return args


def console_env(args: argparse.Namespace, sandbox_port: int, workdir: Path) -> dict[str, str]:
    # Production values but the poll interval; the waiting calls must outlast the measurements.
    return harness.console_env(sandbox_port, workdir, IOTPAY_CREATE_TIMEOUT=CREATE_TIMEOUT,
                               IOTPAY_POLL_INTERVAL=args.poll_interval,
                               CELERY_GATEWAY_CONCURRENCY=args.gateway_concurrency,
                               CELERY_DEFAULT_CONCURRENCY=args.default_concurrency)


def set_up_store(password: str) -> None:
    """One merchant, one store, lanes 1..101 with a terminal each, one cashier on all of them."""
    harness.set_up_store(password=password, devices=[device(str(n)) for n in range(1, WAITING + 2)])


def device(code: str) -> str:
    return f"BENCH-PAX-{int(code):03d}"


def open_waiting_calls(run: Run, codes: list[str]) -> dict[str, int]:
    """Start a .99 payment on each lane; returns attempt ids by lane once all their calls are open."""
    started = time.monotonic()
    ids = {code: run.pay(code, WAITING_AMOUNT)["id"] for code in codes}
    posted = time.monotonic() - started
    deadline = time.monotonic() + 60
    while (open_calls := run.open_create_calls()) < len(codes):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {open_calls} of {len(codes)} create_order calls open after 60 s")
        time.sleep(0.05)
    run.notes.append(f"{len(codes)} payments POSTed in {posted:.1f} s; all {len(codes)} create_order calls open at "
                     f"the sandbox {time.monotonic() - started:.1f} s after the first POST")
    return ids


def measure(run: Run, lane: LaneWatcher, repeat: int) -> Samples:
    """The new-payment and poll scenarios on the probe lane, then the push latencies of what they changed."""
    samples = Samples()
    for _ in range(repeat):
        t0 = time.monotonic()
        attempt = run.pay(lane.code, APPROVED_AMOUNT)
        samples.post_answer.append(time.monotonic() - t0)
        while run.create_calls(attempt["order_reference"]) < 1:
            if time.monotonic() > t0 + 30:
                raise RuntimeError(f"create_order for {attempt['order_reference']} not received by the sandbox in 30 s")
            time.sleep(0.01)
        samples.post_to_gateway.append(time.monotonic() - t0)
        final = lane.wait_status(attempt["id"], FINAL, timeout=30)
        if final.attempt["status"] != "APPROVED":
            raise RuntimeError(f"new payment {attempt['id']} ended {final.attempt['status']}: {final.attempt}")
        samples.post_to_approved.append(final.mono - t0)
        samples.attempt_ids.append(attempt["id"])
    for _ in range(repeat):
        attempt = run.pay(lane.code, DROPPED_AMOUNT)
        unknown = lane.wait_status(attempt["id"], {"UNKNOWN", *FINAL}, timeout=30)
        if unknown.attempt["status"] != "UNKNOWN":
            raise RuntimeError(f"attempt {attempt['id']} went {unknown.attempt['status']} instead of UNKNOWN")
        final = lane.wait_status(attempt["id"], FINAL, timeout=30)
        if final.attempt["status"] != "APPROVED":
            raise RuntimeError(f"polled attempt {attempt['id']} ended {final.attempt['status']}: {final.attempt}")
        samples.unknown_to_approved.append(final.mono - unknown.mono)
        samples.attempt_ids.append(attempt["id"])
    samples.push_final, samples.push_every = push_latencies(lane, samples.attempt_ids)
    return samples


def push_latencies(lane: LaneWatcher, attempt_ids: list[int]) -> tuple[list[float], list[float]]:
    """(final state: the row's updated_at read back from the database → message read; every change pushed)."""
    from payments.models import PaymentAttempt  # noqa: PLC0415  (models load after django.setup())

    finals, every = [], []
    for row in PaymentAttempt.objects.filter(pk__in=attempt_ids).values("pk", "status", "updated_at"):
        pushes = lane.changes(row["pk"])
        final = next(r for r in pushes if r.attempt["status"] == row["status"])
        committed = row["updated_at"].timestamp()
        if final.written_at() != committed:
            raise RuntimeError(f"attempt {row['pk']}: the {row['status']} pushed is not the row committed")
        finals.append(final.wall - committed)
        every += [r.wall - r.written_at() for r in pushes]
    connection.close()
    return finals, every


def release_waiting(run: Run, watchers: dict[str, LaneWatcher], ids: dict[str, int],
                    spread: float) -> tuple[list[float], dict[str, int]]:
    """Press Approve on every waiting terminal, one after another over `spread` seconds (0: back to back);
    returns press → APPROVED pushed on each lane, and the attempts' final counts by status."""
    from payments.models import PaymentAttempt  # noqa: PLC0415  (models load after django.setup())

    pressed = {}
    started = time.monotonic()
    for i, code in enumerate(ids):
        if spread:
            time.sleep(max(0.0, started + i * spread / len(ids) - time.monotonic()))
        pressed[code] = time.monotonic()
        status, answer = run.sandbox("POST", f"/terminals/{device(code)}/press", {"action": "approve"})
        if status != 200:
            run.notes.append(f"press on lane {code} answered {status}: {answer}")
    run.notes.append(f"Approve pressed on {len(ids)} terminals in {time.monotonic() - started:.2f} s, one after "
                     f"another")
    latencies, missing = [], []
    deadline = time.monotonic() + 60
    for code, attempt_id in ids.items():
        try:
            final = watchers[code].wait_status(attempt_id, FINAL, timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            missing.append(code)
            continue
        if final.attempt["status"] == "APPROVED":
            latencies.append(final.mono - pressed[code])
    statuses = dict(PaymentAttempt.objects.filter(pk__in=ids.values()).values_list("pk", "status"))
    counts = dict(PaymentAttempt.objects.filter(pk__in=ids.values()).values("status")
                  .annotate(n=Count("pk")).values_list("status", "n"))
    connection.close()
    if missing:
        run.notes.append(f"no final state pushed within 60 s of the presses on {len(missing)} lanes: "
                         + ", ".join(f"{code} ({statuses[ids[code]]} in the database)" for code in missing))
    return latencies, counts


def table(idle: Samples, held: Samples, drain: list[float], args: argparse.Namespace) -> list[Row]:
    think, poll = f"{args.think_time * 1000:.0f} ms", f"{args.poll_interval * 1000:.0f} ms"
    w = f"[{WAITING} waiting]"
    rows = []
    for label, attr in [
        ("new payment: POST → 201 answer", "post_answer"),
        ("new payment: POST → create_order at IOTPay", "post_to_gateway"),
        (f"new payment: POST → APPROVED on websocket (incl. {think} think time)", "post_to_approved"),
        (f"poll: UNKNOWN → APPROVED on websocket (poll interval {poll})", "unknown_to_approved"),
        ("push: final state committed (row's updated_at) → websocket", "push_final"),
    ]:
        rows.append(summarize(BENCH, f"{label} [idle]", getattr(idle, attr)))
        rows.append(summarize(BENCH, f"{label} {w}", getattr(held, attr), TARGET_MS))
    rows.append(summarize(BENCH, f"push: every change committed → websocket {w}", held.push_every, TARGET_MS))
    rows.append(summarize(BENCH, f"drain: Approve pressed → APPROVED on websocket ({WAITING} lanes)", drain))
    return rows


def by_process(counts: dict[str, int]) -> str:
    """`gateway 20, default 1, …` from connection counts keyed by application_name (`bench-gateway`)."""
    return ", ".join(f"{app.removeprefix('bench-')} {n}" for app, n in sorted(counts.items(), key=lambda i: -i[1])) \
        or "none"


def print_log_errors(console: Console) -> None:
    for name, messages in console.log_errors().items():
        for message, n in messages.most_common(3):
            print(f"- {name}.log: {n} times: ERROR {message}")


def held_notes(run: Run, console: Console, ids: dict[str, int], held_for: float, idle: dict[str, int]) -> bool:
    """What the waiting calls cost and whether all of them were still waiting after the measurements."""
    from payments.models import PaymentAttempt  # noqa: PLC0415  (models load after django.setup())

    mib = 1024**2
    gateway = console.status("gateway")
    still_open = run.open_create_calls()
    still_sent = PaymentAttempt.objects.filter(pk__in=ids.values(), status="SENT").count()
    connection.close()
    run.notes.append(f"after {held_for:.1f} s of measurements: {still_open} create_order calls still open at the "
                     f"sandbox, {still_sent} of the {WAITING} waiting attempts still SENT")
    run.notes.append(f"gateway worker with the {WAITING} calls waiting: {gateway['threads']} threads, "
                     f"{gateway['rss'] / mib:.0f} MiB resident (idle: {idle['threads']} threads, "
                     f"{idle['rss'] / mib:.0f} MiB)")
    return still_open >= WAITING and still_sent == WAITING


def prepare_console(args: argparse.Namespace, begun: harness.BenchStart) -> Console:
    """The store with its lanes, then the console sized by the arguments (not started yet)."""
    set_up_store(begun.password)

    connection.close()  # connections are counted while the calls wait: this process holds none
    config = ConsoleConfig(merchant=f"{MCH_ID}={begun.env['TEST_SANDBOX_KEY']}", sandbox_port=begun.sandbox_port,
                           daphne_port=begun.daphne_port, gateway_concurrency=args.gateway_concurrency,
                           default_concurrency=args.default_concurrency, think_time=args.think_time,
                           interactive_timeout=CREATE_TIMEOUT + 30)
    return Console(begun.env, config, begun.workdir)


def run_phases(run: Run, watchers: dict[str, LaneWatcher], args: argparse.Namespace,
               database_url: str) -> tuple[Samples, Samples, list[float], bool]:
    """The probe lane on the idle console, then while the other lanes wait, then the drain; (idle, held,
    drain, whether every waiting call stayed open and ended APPROVED)."""
    idle_gateway = run.console.status("gateway")
    lane = watchers[PROBE_LANE]
    measure(run, lane, 3)  # warm-up, not counted: first connections, lazy imports, caches
    idle = measure(run, lane, args.repeat)
    waiting = {code: w for code, w in watchers.items() if code != PROBE_LANE}
    ids = open_waiting_calls(run, list(waiting))
    held_since = time.monotonic()
    run.notes.append(f"PostgreSQL connections to the database while the {WAITING} calls wait: "
                     f"{databases.database_connections(database_url)}")
    held = measure(run, lane, args.repeat)
    ok = held_notes(run, run.console, ids, time.monotonic() - held_since, idle_gateway)
    with databases.ConnectionSampler(database_url) as sampler:
        drain, counts = release_waiting(run, waiting, ids, args.press_spread)
    failures = WAITING - counts.get("APPROVED", 0)
    run.notes.append(f"after Approve on the {WAITING} terminals: {counts.get('APPROVED', 0)} APPROVED, {failures} "
                     f"failures{f' {counts}' if failures else ''}; peak PostgreSQL connections to the database "
                     f"{sampler.peak} (sampled every 20 ms); at that peak: {by_process(sampler.at_peak)}; "
                     f"each process's own peak: {by_process(sampler.peak_by_process)}")
    return idle, held, drain, ok and failures == 0


def closed_note(watchers: dict[str, LaneWatcher]) -> str:
    closed = sorted((int(code), w.closed_by_server) for code, w in watchers.items() if w.closed_by_server)
    if closed:
        return (f"{len(closed)} lane websockets were closed by the server during the run: "
                + ", ".join(f"lane {code} ({how})" for code, how in closed))
    return f"none of the {len(watchers)} lane websockets was closed by the server during the run"


def report(args: argparse.Namespace, begun: harness.BenchStart, notes: list[str]) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{BENCH}: {WAITING} lanes waiting on cardholders (create_order held open); lane {PROBE_LANE} measured, "
          f"first on the idle console, then while the {WAITING} wait")
    print(f"settings: gateway worker -P threads -c {args.gateway_concurrency} (CELERY_GATEWAY_CONCURRENCY); "
          f"CONSOLE_GATEWAY_DB_CONNECTIONS {begun.env.get('CONSOLE_GATEWAY_DB_CONNECTIONS', '20 (default)')}; "
          f"default worker -P threads -c {args.default_concurrency}; IOTPAY_POLL_INTERVAL {args.poll_interval} s; "
          f"IOTPAY_CREATE_TIMEOUT {CREATE_TIMEOUT:.0f} s; sandbox think time {args.think_time} s; "
          f"{args.repeat} payments of each kind per phase; Approve presses spread over {args.press_spread} s")
    print(f"machine: {begun.machine}, {load} at the end; {begun.services}")
    for note in notes:
        print(f"- {note}")


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    begun = harness.start_bench(BENCH, lambda port, workdir: console_env(args, port, workdir))
    console = prepare_console(args, begun)
    watchers: dict[str, LaneWatcher] = {}
    try:
        console.start()
        run = Run(console, lane_client.login(console.url, "bench", begun.password))
        for n in range(1, WAITING + 2):
            watchers[str(n)] = LaneWatcher(console.url, str(n), run.session)
        idle, held, drain, ok = run_phases(run, watchers, args, begun.env["DATABASE_URL"])
        run.notes.append(closed_note(watchers))
    except BaseException:
        print(f"{BENCH}: stopped by an error; the processes' logs are kept in {begun.workdir / 'logs'}", flush=True)
        print_log_errors(console)
        raise
    finally:
        for watcher in watchers.values():
            watcher.close()
        console.stop()
    rows = table(idle, held, drain, args)
    report(args, begun, run.notes)
    print_log_errors(console)
    return figures.finish(rows, rows_json=args.rows_json, workdir=begun.workdir, ok=ok, keep_logs=args.keep_logs)


if __name__ == "__main__":
    main(sys.argv[1:])
