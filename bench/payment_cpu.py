"""CPU of one payment's two heavy steps, in this process: the Pay request and the gateway's send.

Claim: none by itself; it is the profiler's bench for issue 16 part 1. push_latency gives the figure across
the console's real processes (Daphne, Celery, the push); this one runs the same code without them, so a change
to either step is seen in a few seconds, with little noise from other work on the machine (process time, not
wall time), and with a cProfile of the step on demand.

How: a throw-away PostgreSQL database (BENCH_DATABASE_URL) and Redis database (BENCH_REDIS_URL), the sandbox
(think time 0), one store with `--lanes` lanes. Then, in this process:

1. Pay: the lane's cashier POSTs `/api/lanes/<code>/payments` with Django's test client (the same middleware,
   view, checks, inserts and Celery publish; not Daphne's own HTTP and ASGI work), `--payments` times;
2. Send: `payments.services.attempt_send` for each of those attempts (claim, create_order and its confirming
   query_order at the sandbox, the answer recorded, its events, webhooks outbox and push), as the gateway worker
   runs it (not Celery's own task machinery).

Each step's process time per payment (median of `--rounds` rounds, and their spread) and its SQL statements;
beside them, when PostgreSQL runs on this machine, the CPU its processes spent on each step's statements, read
before and after each step of `--server-rounds` more rounds (databases.ServerCpu; not in the measured rounds,
whose own figures those readings would disturb). That is not the console's CPU, but it runs on the same cores.
`--profile pay|send` prints the step's cProfile (top functions by cumulative and by own time).

    .venv/bin/python -m bench.payment_cpu [--payments 200] [--rounds 5] [--server-rounds 2]
                                          [--profile send [--profile-out FILE]] [--sale-every 90]

`--sale-every SECONDS` measures the Pay request at a store's pace: before each Pay the session is made to look
as if its cashier had sold nothing for that long, so the session's idle-time upkeep runs as often as it would in
a store (store_console.security.SessionIdleTimeout); back to back (the default) it runs once a minute.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from bench import databases, figures, harness
from bench.figures import Row

BENCH = "payment_cpu"
SERVER_CPU = "  PostgreSQL's CPU per payment (not the console's, same cores)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=200, help="payments per round (200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5; the first is a warm-up)")
    parser.add_argument("--lanes", type=int, default=20, help="lanes the payments go round (20)")
    parser.add_argument("--server-rounds", type=int, default=2,
                        help="rounds after those that read PostgreSQL's CPU for each step (2; 0: none)")
    parser.add_argument("--profile", choices=("pay", "send"), help="print this step's cProfile, last round")
    parser.add_argument("--profile-out", help="with --profile: also dump the profile to this file (pstats)")
    parser.add_argument("--sale-every", type=float, default=0.0, metavar="SECONDS",
                        help="before each Pay, the session's clock is moved back this long, as if the lane's "
                             "cashier had sold nothing since (a store's pace; 0: back to back, the default)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of the first payment's steps")
    parser.add_argument("--rows-json", help="also write the rows to this JSON file (used by run_all.py)")
    return parser.parse_args(argv)


class Step:
    """Process time and SQL statements of one step over a round, and its profile when asked."""

    def __init__(self, *, count_queries: bool, profile: bool, server: databases.ServerCpu | None = None) -> None:
        self.seconds, self.calls, self.statements = 0.0, 0, 0
        self.server, self.server_seconds = server, 0.0  # PostgreSQL's CPU for the step's statements, if asked
        self.first_sql: list[str] = []
        self.count_queries = count_queries
        self.profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits

    def run(self, step: Callable[[], object]) -> None:
        if not self.count_queries:
            self._timed(step)
            return
        with CaptureQueriesContext(connection) as queries:
            self._timed(step)
        self.statements += len(queries)
        if not self.first_sql:
            self.first_sql = [q["sql"][:300] for q in queries.captured_queries]

    def _timed(self, step: Callable[[], object]) -> None:
        server_before = self.server.seconds_by_pid() if self.server else {}  # outside this process's clock
        start = time.process_time()
        if self.profiler:
            self.profiler.enable()
        step()
        if self.profiler:
            self.profiler.disable()
        self.seconds += time.process_time() - start
        if self.server:
            self.server_seconds += self.server.used(server_before, self.server.seconds_by_pid())
        self.calls += 1

    @property
    def ms(self) -> float:
        return self.seconds * 1000 / max(1, self.calls)

    @property
    def server_ms(self) -> float:
        return self.server_seconds * 1000 / max(1, self.calls)

    def profile_text(self) -> str:
        if self.profiler is None:
            return ""
        out = io.StringIO()
        stats = pstats.Stats(self.profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = harness.start_bench(BENCH, lambda sandbox_port, workdir: harness.console_env(
        sandbox_port, workdir, LOG_LEVEL="WARNING"))
    devices = [f"BENCH{n:05d}" for n in range(1, args.lanes + 1)]
    harness.set_up_store(password=start.password, devices=devices)
    config = harness.ConsoleConfig(merchant=f"{harness.BENCH_MCH_ID}={start.env['TEST_SANDBOX_KEY']}",
                                   sandbox_port=start.sandbox_port, daphne_port=start.daphne_port, think_time=0.0)
    sandbox = harness.Console(start.env, config, start.workdir).procs["sandbox"]
    sandbox.start()
    try:
        deadline = time.monotonic() + 30
        while not harness.answers(f"http://127.0.0.1:{start.sandbox_port}/_sandbox/health"):
            if time.monotonic() > deadline:
                raise SystemExit("the sandbox did not start")
            time.sleep(0.1)
        with databases.ServerCpu(harness.database_url()) as server:
            rows = _run(args, start, server)
    except BaseException:
        print(f"{BENCH}: stopped by an error; its logs are kept in {start.workdir}", flush=True)
        raise
    finally:
        sandbox.stop()
    figures.finish(rows, rows_json=args.rows_json, workdir=start.workdir)  # the table; the work files go
    return 0


def _run(args: argparse.Namespace, start: harness.BenchStart, server: databases.ServerCpu) -> list[Row]:
    from django.contrib.auth.models import User  # noqa: PLC0415  (models load after django.setup())

    from payments import services  # noqa: PLC0415  (models load after django.setup())
    from store_console.security import SessionIdleTimeout  # noqa: PLC0415  (models load after django.setup())

    with override_settings(DEBUG=False):
        client = Client(HTTP_ACCEPT="application/json", HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(username="bench"))  # the session, as the login page makes it
        pays: list[float] = []
        sends: list[float] = []
        server_pays: list[float] = []  # PostgreSQL's CPU for each step, per payment
        server_sends: list[float] = []
        statements = (0, 0)
        # After the measured rounds, --server-rounds more read PostgreSQL's CPU around each step: a reading between
        # steps (a query, /proc) would disturb the process's own figures, so those rounds give PostgreSQL's alone.
        for round_no in range(args.rounds + args.server_rounds):
            last, first = round_no == args.rounds - 1, round_no == 0
            server_round = round_no >= args.rounds
            reads = server if server_round else None
            pay = Step(count_queries=first, profile=last and args.profile == "pay", server=reads)
            send = Step(count_queries=first, profile=last and args.profile == "send", server=reads)
            created: list[int] = []
            for i in range(args.payments):
                # whole dollars: the sandbox scripts other outcomes by the cents
                lane, amount = i % args.lanes + 1, 1000 + 100 * (i % 50)
                if args.sale_every:
                    _age_session(client, SessionIdleTimeout.SEEN_KEY, args.sale_every)  # not timed
                pay.run(functools.partial(_pay_into, created, client, lane, amount))
                send.run(functools.partial(services.attempt_send, attempt_id=created[-1]))
            _check_approved(created)
            if server_round:
                print(f"{BENCH}: round {round_no + 1}: PostgreSQL's CPU per payment: Pay {pay.server_ms:.2f} ms, "
                      f"send {send.server_ms:.2f} ms", flush=True)
                server_pays.append(pay.server_ms)
                server_sends.append(send.server_ms)
                continue
            print(f"{BENCH}: round {round_no + 1}: Pay {pay.ms:.2f} ms CPU, send {send.ms:.2f} ms CPU per payment",
                  flush=True)
            if first and args.show_sql:
                print("\n".join(["Pay:", *pay.first_sql, "send:", *send.first_sql]))
            if first:  # the first round warms caches, imports and the pool, and counts the statements
                statements = (pay.statements // args.payments, send.statements // args.payments)
            else:
                pays.append(pay.ms)
                sends.append(send.ms)
            if last and args.profile:
                step = pay if args.profile == "pay" else send
                print(step.profile_text())
                if args.profile_out and step.profiler is not None:
                    step.profiler.dump_stats(args.profile_out)
    pace = f"; a sale every {args.sale_every:g} s" if args.sale_every else ""
    rows = [_row(f"Pay request (test client: middleware, view, inserts, publish{pace})", pays, statements[0]),
            _row("gateway send (claim, 2 calls, answer, events, outbox, push)", sends, statements[1])]
    if any(server_pays + server_sends):  # the server runs on this machine
        rows += [_row("the Pay request's statements", server_pays, statements[0], what=SERVER_CPU),
                 _row("the send's statements", server_sends, statements[1], what=SERVER_CPU)]
    return rows


def _age_session(client: Client, seen_key: str, seconds: float) -> None:
    """The session as it is after `seconds` without a request: what the console wrote of its last request's time
    (`seen_key`: store_console.security.SessionIdleTimeout.SEEN_KEY) moved back. The first Pay writes it."""
    session = client.session
    if seen_key in session:
        session[seen_key] -= int(seconds)
        session.save()


def _pay_into(created: list[int], client: Client, lane: int, amount: int) -> None:
    created.append(_pay(client, lane, amount))


def _pay(client: Client, lane: int, amount: int) -> int:
    # with an Idempotency-Key, as the checkout page and push_latency send it
    response = client.post(f"/api/lanes/{lane}/payments", {"amount": amount}, content_type="application/json",
                           headers={"Idempotency-Key": str(uuid.uuid4())})
    if response.status_code != 201:
        raise SystemExit(f"Pay answered {response.status_code}: {response.content[:300]!r}")
    attempt_id: int = response.json()["id"]
    return attempt_id


def _check_approved(ids: list[int]) -> None:
    from payments.models import PaymentAttempt  # noqa: PLC0415  (models load after django.setup())

    statuses = set(PaymentAttempt.objects.filter(pk__in=ids).values_list("status", flat=True))
    if statuses != {"APPROVED"}:
        raise SystemExit(f"not every payment was approved: {statuses}")


def _row(scenario: str, figures: list[float], statements: int, what: str = "CPU per payment, in process") -> Row:
    spread = f"{min(figures):.2f} to {max(figures):.2f}" if figures else "-"
    return Row(BENCH, f"{what}: {scenario}; {statements} SQL statements; rounds {spread}",
               len(figures), statistics.median(figures) if figures else 0.0,
               max(figures) if figures else 0.0, max(figures) if figures else 0.0, None, unit="ms CPU")


if __name__ == "__main__":
    sys.exit(main())
