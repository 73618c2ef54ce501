"""The back office at scale: the reconciliation dashboard and the CSV export on a million attempts.

Claim: with 1,000,000 attempts of one store over 90 days in PostgreSQL, the reconciliation dashboard of the
busiest of the 90 days renders in ≤ 30 ms and that of a day of 100,000 attempts in ≤ 50 ms (median of warm
requests: its totals come from the day summary the database keeps, its exceptions from partial indexes), and
the CSV export of the 100,000-attempt day streams at ≥ 150,000 rows per second (PostgreSQL's COPY).

How: a throw-away PostgreSQL database, migrated; `seed_attempts` writes the 1,000,000 attempts over the 90
days that end yesterday (store "Main Street", America/Toronto, 12 lanes), then 100,000 more on one day
before those (`--day`); ANALYZE. Daphne alone serves the console (production settings: DEBUG off), and a
`supervisor` logs in through the login page. Then, with `requests`:

1. the dashboard of the busiest of the 90 days (~16,000 attempts): warm-up, then `--repeat` requests
   (median, p95, max; the body read to its end);
2. the dashboard of the 100,000-attempt day, the same way;
3. the CSV export of the 100,000-attempt day, streamed (`--exports` times): rows per second over the whole
   download, and the time to the first byte;
4. `EXPLAIN ANALYZE` of the dashboard's main queries on both days (the indexes they use, their time).

    .venv/bin/python -m bench.backoffice_scale [--count 1000000] [--day-count 100000] [--repeat 15]

Needs PostgreSQL (BENCH_DATABASE_URL, dropped and re-created, and dropped again at the end unless
--keep-db). The Redis database (BENCH_REDIS_URL) is only configured, never written by these pages.
Prints figures and asserts nothing about time; exits 1 when a page does not answer 200 or the export
misses rows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests
from django.db import connections

from bench import backoffice_queries, databases, figures, harness, lane_client, measure
from bench.figures import Row, summarize
from store_console import processes

BENCH = "backoffice_scale"
STORE = "Main Street"
TIME_ZONE = "America/Toronto"
BUSY_DASHBOARD_TARGET_MS = 30.0  # the busiest of the 90 days
BIG_DASHBOARD_TARGET_MS = 50.0  # the 100,000-attempt day
EXPORT_TARGET_ROWS_S = 150_000.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.backoffice_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="attempts over --days (1,000,000)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--day-count", type=int, default=100_000, help="attempts of the one big day (100,000)")
    parser.add_argument("--repeat", type=int, default=15, help="warm dashboard requests per day (≥ 10; 15)")
    parser.add_argument("--exports", type=int, default=3, help="CSV downloads of the big day (3)")
    parser.add_argument("--batch", type=int, default=20_000, help="seed_attempts --batch")
    parser.add_argument("--no-explain", action="store_true", help="skip EXPLAIN ANALYZE of the queries")
    parser.add_argument("--keep-db", action="store_true", help="keep the seeded database (default: drop it)")
    parser.add_argument("--rows-json", help="also write the rows to this JSON file (used by run_all.py)")
    args = parser.parse_args(argv)
    if args.repeat < 10:
        parser.error("--repeat must be at least 10")
    return args


def console_env(workdir: Path) -> dict[str, str]:
    """Production settings (store_console.settings, DEBUG off) on the bench's database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "store_console.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": secrets.token_urlsafe(32),  # required with DEBUG off; one for every process
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "DATABASE_URL": harness.database_url(),
        "REDIS_URL": harness.redis_url(),
        "CONSOLE_VAR_DIR": str(workdir / "var"),
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "0"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run `manage.py <args>` in a child process; (seconds, its output). Raises when it fails."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=harness.ROOT, env=env, capture_output=True,
                          text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def seed(env: dict[str, str], args: argparse.Namespace, notes: list[str]) -> tuple[int, date, int, date, float]:
    """(store id, busiest of the 90 days, its attempts, the big day, total seconds)."""
    common = ["seed_attempts", "--store", STORE, "--yes", "--batch", str(args.batch), "--time-zone", TIME_ZONE]
    spread_s, out = manage(env, *common, "--count", str(args.count), "--days", str(args.days), "--seed", "42")
    found = re.search(r"Busiest day: (\d{4}-\d\d-\d\d) \(([\d,]+) attempts\); store id (\d+)", out)
    refunds = re.search(r"and ([\d,]+) refunds", out)
    if not found:
        raise RuntimeError(f"unexpected seed_attempts output:\n{out}")
    busy_day, busy_count, store_id = date.fromisoformat(found[1]), int(found[2].replace(",", "")), int(found[3])
    first_day = re.search(r"over \d+ days \((\d{4}-\d\d-\d\d) to", out)
    big_day = date.fromisoformat(first_day[1]) - timedelta(days=1) if first_day else busy_day - timedelta(days=120)
    day_s, out_day = manage(env, *common, "--count", str(args.day_count), "--day", big_day.isoformat(),
                            "--seed", "43")
    refunds_day = re.search(r"and ([\d,]+) refunds", out_day)
    notes.append(f"seed_attempts (COPY, --batch {args.batch:,}): {args.count:,} attempts over {args.days} days "
                 f"(+ {refunds[1] if refunds else '?'} refunds) in {spread_s:.1f} s ({args.count / spread_s:,.0f} "
                 f"rows/s, process start and ANALYZE included); {args.day_count:,} attempts on {big_day} "
                 f"(+ {refunds_day[1] if refunds_day else '?'} refunds) in {day_s:.1f} s")
    return store_id, busy_day, busy_count, big_day, spread_s + day_s


def analyze(url: str) -> float:
    started = time.monotonic()
    with databases.pg_connect(url) as conn:
        conn.execute("ANALYZE")
    return time.monotonic() - started


def time_dashboard(session: requests.Session, url: str, repeat: int, pid: int,
                   warmup: int = 2) -> tuple[list[float], int, float]:
    """Seconds per warm request (the body read to its end), the page's size in bytes, and Daphne's CPU
    seconds per request (what the page costs when the machine is not busy with anything else)."""
    size = 0
    for _ in range(warmup):
        response = session.get(url, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
        size = len(response.content)
    seconds = []
    cpu = measure.cpu_seconds(pid)
    for _ in range(repeat):
        started = time.monotonic()
        response = session.get(url, timeout=120)
        _ = response.content
        seconds.append(time.monotonic() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return seconds, size, (measure.cpu_seconds(pid) - cpu) / repeat


@dataclass
class Seeded:
    """The seeded database: the store, the busiest day of the spread, the big day, and the set-up's time."""

    store_id: int
    busy_day: date
    busy_n: int
    big_day: date
    seed_s: float
    setup_s: float
    big_n: int = 0  # counted once Django is loaded in this process


def set_up(env: dict[str, str], args: argparse.Namespace, notes: list[str]) -> Seeded:
    """Migrate, seed and ANALYZE the benchmark's database."""
    db_url = env["DATABASE_URL"]
    started = time.monotonic()
    migrate_s, _ = manage(env, "migrate", "--verbosity", "0")
    print(f"{BENCH}: migrated in {migrate_s:.1f} s; seeding…", flush=True)
    store_id, busy_day, busy_n, big_day, seed_s = seed(env, args, notes)
    analyze_s = analyze(db_url)
    setup_s = time.monotonic() - started
    size = databases.database_size(db_url)
    notes.append(f"set-up: migrate {migrate_s:.1f} s, seeding {seed_s:.1f} s, ANALYZE {analyze_s:.1f} s; "
                 f"database {size / 1024**2:,.0f} MB")
    print(f"{BENCH}: {notes[-2]}\n{BENCH}: {notes[-1]}", flush=True)
    return Seeded(store_id, busy_day, busy_n, big_day, seed_s, setup_s)


def start_daphne(env: dict[str, str], workdir: Path) -> tuple[harness.Proc, str]:
    """Daphne alone, as store_console.processes starts it; returns it and its base URL once it answers."""
    context = processes.Context(var=workdir, port=harness.free_port())
    daphne = harness.Proc("daphne", processes.argv("daphne", context), env, workdir / "logs")
    daphne.start()
    try:
        deadline = time.monotonic() + 60
        while not harness.answers(context.health_url("daphne")):
            daphne.is_ready()  # raises if it exited
            if time.monotonic() > deadline:
                raise RuntimeError(f"Daphne did not answer within 60 s; see {daphne.log_path}")
            time.sleep(0.2)
    except BaseException:
        daphne.stop()
        raise
    return daphne, f"http://127.0.0.1:{context.port}"


Dashboard = tuple[date, int, list[float], int]  # day, its attempts, seconds per request, page bytes


def dashboards(session: requests.Session, base: str, seeded: Seeded, repeat: int, pid: int,
               notes: list[str]) -> dict[str, Dashboard]:
    """The reconciliation dashboard of the busiest day and of the big day, timed warm."""
    dash = {}
    for label, day, n in (("busy", seeded.busy_day, seeded.busy_n), ("big", seeded.big_day, seeded.big_n)):
        url = f"{base}/backoffice/reconciliation/?store={seeded.store_id}&day={day.isoformat()}"
        seconds, page, cpu = time_dashboard(session, url, repeat, pid)
        dash[label] = (day, n, seconds, page)
        notes.append(f"dashboard of {day} ({n:,} attempts): Daphne CPU {cpu * 1000:.0f} ms per request")
        print(f"{BENCH}: dashboard of {day} ({n:,} attempts): median {statistics.median(seconds) * 1000:.0f} ms, "
              f"Daphne CPU {cpu * 1000:.0f} ms per request", flush=True)
    return dash


def exports(session: requests.Session, base: str, seeded: Seeded, count: int, pid: int,
            notes: list[str]) -> tuple[list[measure.Download], bool]:
    """The CSV export of the big day, downloaded `count` times; whether every download had every row."""
    big_day, big_n = seeded.big_day, seeded.big_n
    export_url = f"{base}/backoffice/reconciliation/export.csv?store={seeded.store_id}&day={big_day.isoformat()}"
    downloads, ok = [], True
    for _ in range(count):
        cpu = measure.cpu_seconds(pid)
        d = measure.timed_download(session, export_url)
        cpu = measure.cpu_seconds(pid) - cpu
        downloads.append(d)
        rows_in = d.lines - 1  # the header line
        if d.status != 200 or rows_in != big_n:
            ok = False
            notes.append(f"EXPORT BROKEN: HTTP {d.status}, {rows_in:,} rows for {big_n:,} attempts")
        print(f"{BENCH}: export of {big_day}: {rows_in:,} rows, {d.size / 1024**2:.1f} MB in {d.total:.2f} s "
              f"({rows_in / d.total:,.0f} rows/s), first byte after {d.first_byte * 1000:.0f} ms; Daphne CPU {cpu:.2f} s "
              f"({rows_in / max(cpu, 0.01):,.0f} rows per CPU-second)", flush=True)
        notes.append(f"export of {big_day}: {d.total:.2f} s, Daphne CPU {cpu:.2f} s "
                     f"({rows_in / max(cpu, 0.01):,.0f} rows per Daphne CPU-second)")
    return downloads, ok


def report(args: argparse.Namespace, env: dict[str, str], started: tuple[str, str], seeded: Seeded,
           dash: dict[str, Dashboard], downloads: list[measure.Download], daphne_rss: int,
           notes: list[str]) -> list[Row]:
    """Print the settings, the machine and the notes, then the targets' table; returns the rows."""
    machine, services = started
    busy_day, busy_n, busy_s, busy_page = dash["busy"]
    big_day, big_n, big_s, big_page = dash["big"]
    rate = [(d.lines - 1) / d.total for d in downloads]
    rows = [
        summarize(BENCH, f"dashboard, busiest of 90 days ({busy_n:,} attempts)", busy_s, BUSY_DASHBOARD_TARGET_MS),
        summarize(BENCH, f"dashboard, the {big_n:,}-attempt day", big_s, BIG_DASHBOARD_TARGET_MS),
        summarize(BENCH, f"CSV export {big_n:,} rows: whole download (≥ {EXPORT_TARGET_ROWS_S:,.0f} rows/s = ≤ "
                         f"{big_n / EXPORT_TARGET_ROWS_S * 1000:.0f} ms; median {statistics.median(rate):,.0f} rows/s)",
                  [d.total for d in downloads], big_n / EXPORT_TARGET_ROWS_S * 1000),
        summarize(BENCH, f"CSV export {big_n:,} rows: time to first byte", [d.first_byte for d in downloads]),
    ]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{BENCH}: reconciliation dashboard and CSV export on {args.count + args.day_count:,} attempts of one store")
    print(f"settings: store_console.settings, DEBUG off, Daphne alone (one process), CONN_MAX_AGE "
          f"{env['CONN_MAX_AGE']}; {args.repeat} warm dashboard requests per day after 2 warm-ups; "
          f"{args.exports} CSV downloads streamed with requests (64 KiB chunks)")
    print(f"machine: {machine}, {load} at the end; {services}")
    print(f"seeding: {seeded.seed_s:.1f} s (whole set-up {seeded.setup_s:.1f} s)")
    print(f"- dashboard pages: {busy_page / 1024:.0f} KiB ({busy_day}), {big_page / 1024:.0f} KiB ({big_day}); "
          f"Daphne's resident memory at the end {daphne_rss / 1024**2:.0f} MiB")
    for note in notes:
        print(f"- {note}")
    print()
    print(target_table(busy_s, big_s, busy_n, big_n, rate, downloads))
    return rows


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    harness.stop_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="bench-backoffice-scale-"))
    (workdir / "logs").mkdir()
    env = console_env(workdir)
    db_url = env["DATABASE_URL"]
    machine = measure.machine_summary()
    notes: list[str] = []
    print(f"{BENCH}: re-creating database {db_url.rsplit('/', 1)[-1]}; work files in {workdir}", flush=True)
    services = (f"PostgreSQL {databases.reset_database(db_url)} (shared_buffers "
                f"{databases.database_setting(db_url, 'shared_buffers')} x 8 kB, work_mem "
                f"{databases.database_setting(db_url, 'work_mem')} kB)")
    daphne: harness.Proc | None = None
    try:
        seeded = set_up(env, args, notes)
        harness.setup_django(env)
        username, password = backoffice_queries.make_supervisor()
        seeded.big_n = backoffice_queries.day_count(seeded.store_id, seeded.big_day)
        if not args.no_explain:
            for label, day in (("busiest day", seeded.busy_day), ("big day", seeded.big_day)):
                plans = backoffice_queries.explain(seeded.store_id, day)
                notes += [f"EXPLAIN {label} {day}: {line}" for line in plans]
        daphne, base = start_daphne(env, workdir)
        session = lane_client.login(base, username, password)
        dash = dashboards(session, base, seeded, args.repeat, daphne.pid, notes)
        downloads, ok = exports(session, base, seeded, args.exports, daphne.pid, notes)
        daphne_rss = measure.process_status(daphne.pid)["rss"]
    except BaseException:
        print(f"{BENCH}: stopped by an error; Daphne's log is kept in {workdir / 'logs'}", flush=True)
        raise
    finally:
        if daphne is not None:
            daphne.stop()
        with contextlib.suppress(Exception):

            connections.close_all()
        if not args.keep_db:
            databases.drop_database(db_url)
    rows = report(args, env, (machine, services), seeded, dash, downloads, daphne_rss, notes)
    return figures.finish(rows, rows_json=args.rows_json, workdir=workdir, ok=ok)


def target_table(busy_s: list[float], big_s: list[float], busy_n: int, big_n: int, rate: list[float],
                 downloads: list[Any]) -> str:
    """The issue's own terms: the dashboard judged on its median, the export on rows per second."""

    def ms(values: list[float]) -> str:
        v = [x * 1000 for x in values]
        return (f"{figures.percentile(v, 50):.0f} / {figures.percentile(v, 95):.0f} / {max(v):.0f} ms "
                f"(n={len(v)})")

    def verdict(good: bool) -> str:
        return "yes" if good else "NO"

    busy_med = statistics.median(busy_s) * 1000
    big_med = statistics.median(big_s) * 1000
    slowest = min(rate)
    lines = [
        "| what | median / p95 / max | target | met |",
        "|---|---|---|---|",
        f"| dashboard, busiest of the 90 days ({busy_n:,} attempts) | {ms(busy_s)} | "
        f"≤ {BUSY_DASHBOARD_TARGET_MS:.0f} ms (median) | {verdict(busy_med <= BUSY_DASHBOARD_TARGET_MS)} |",
        f"| dashboard, the {big_n:,}-attempt day | {ms(big_s)} | ≤ {BIG_DASHBOARD_TARGET_MS:.0f} ms (median) | "
        f"{verdict(big_med <= BIG_DASHBOARD_TARGET_MS)} |",
        f"| CSV export of the {big_n:,}-attempt day | {statistics.median(rate):,.0f} rows/s median, slowest "
        f"{slowest:,.0f} (n={len(rate)}); {statistics.median([d.total for d in downloads]):.2f} s, "
        f"{downloads[0].size / 1024**2:.1f} MB | ≥ {EXPORT_TARGET_ROWS_S:,.0f} rows/s | "
        f"{verdict(slowest >= EXPORT_TARGET_ROWS_S)} |",
        f"| CSV export: time to first byte | {ms([d.first_byte for d in downloads])} | - | - |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
