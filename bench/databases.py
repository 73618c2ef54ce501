"""The benchmark's PostgreSQL database and Redis database: re-created, emptied, measured, dropped.

Every function refuses a database whose name does not start with `bench` before it drops anything
(bench/harness.py: BENCH_DATABASE_URL). The maintenance database `postgres` is where they connect from.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, LiteralString
from urllib.parse import unquote, urlsplit

import psycopg
import redis
from psycopg import sql

from bench import measure

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.abc import Params
    from psycopg.rows import TupleRow


def pg_connect(url: str, *, dbname: str | None = None) -> Connection[TupleRow]:

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        dbname=dbname or parts.path.lstrip("/"), autocommit=True, connect_timeout=10,
    )


def _name(url: str, *, dropping: bool = False) -> str:
    """The database's name; when it is to be dropped, only a benchmark's own (`bench...`)."""
    name = unquote(urlsplit(url).path.lstrip("/"))
    if dropping and not name.startswith("bench"):
        raise SystemExit(f"refusing to drop database {name!r}: a benchmark database's name must start with 'bench' "
                         f"(set BENCH_DATABASE_URL)")
    return name


def _one_row(conn: Connection[TupleRow], query: LiteralString, params: Params | None = None) -> TupleRow:
    """The single row a query that always answers one (SHOW, an aggregate, a setting by name) answers."""
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row


def reset_database(url: str) -> str:
    """Drop and re-create the benchmark's database; returns the server's version."""

    name = _name(url, dropping=True)
    with pg_connect(url, dbname="postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        version: str = _one_row(conn, "SHOW server_version")[0]
        return version


def drop_database(url: str) -> None:
    """Drop the benchmark's database when done (frees its disk); same name rule as reset_database."""

    name = _name(url, dropping=True)
    with pg_connect(url, dbname="postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_size(url: str) -> int:
    """Bytes on disk of the benchmark's database."""
    with pg_connect(url, dbname="postgres") as conn:
        size: int = _one_row(conn, "SELECT pg_database_size(%s)", [_name(url)])[0]  # bigint
        return size


def database_connections(url: str) -> int:
    """Connections open to the benchmark's database right now (seen from the maintenance database)."""
    with pg_connect(url, dbname="postgres") as conn:
        count: int = _one_row(conn, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [_name(url)])[0]
        return count


def database_setting(url: str, name: str) -> str:
    with pg_connect(url, dbname="postgres") as conn:
        setting: str = _one_row(conn, "SELECT setting FROM pg_settings WHERE name = %s", [name])[0]  # text
        return setting


class ServerCpu:
    """CPU time of the PostgreSQL server's processes that work for the benchmark's database, when the server runs
    on this machine: the database's backends (every connection to it, the console's and the benchmark's) and the
    server's shared processes (WAL writer, checkpointer, background writer, autovacuum launcher), which write for
    every database; on a machine where other databases are busy they count that work too.

    PostgreSQL shares the cores with the console, but it is not one of the console's processes: the benchmarks
    report it beside the console's figure, never in it. ``seconds_by_pid()`` is {} when the server is on
    another machine (its processes are not in this machine's /proc). A backend that ends between two readings
    takes its CPU with it (the console's pools keep theirs open); one that starts between them counts from zero.
    """

    def __init__(self, url: str) -> None:
        self.name = _name(url)
        self._conn = pg_connect(url, dbname="postgres")  # the maintenance database's backend is not counted

    def seconds_by_pid(self) -> dict[int, float]:
        rows = self._conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s OR datname IS NULL",
                                  [self.name]).fetchall()
        out = {}
        for (pid,) in rows:
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                    continue
                out[pid] = measure.on_cpu_seconds(pid)
            except (OSError, ValueError, IndexError):  # not on this machine, or just ended
                continue
        return out

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU seconds the server's processes used between two readings."""
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ServerCpu:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ConnectionSampler:
    """Counts the connections to the benchmark's database every `every` seconds, in a thread, and keeps
    the peak, overall and per process (the console's processes name themselves with PGAPPNAME, see
    Console). Its own connection goes to the maintenance database (it still counts in max_connections)."""

    def __init__(self, url: str, every: float = 0.02) -> None:
        self.url, self.every, self.peak = url, every, 0
        self.peak_by_process: Counter[str] = Counter()  # each process's own peak
        self.at_peak: Counter[str] = Counter()  # who held the connections at the overall peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def _run(self) -> None:
        name = _name(self.url)
        with pg_connect(self.url, dbname="postgres") as conn:
            while not self._stop.is_set():
                rows = conn.execute("SELECT coalesce(nullif(application_name, ''), '?'), count(*) "
                                    "FROM pg_stat_activity WHERE datname = %s GROUP BY 1", [name]).fetchall()
                now = Counter({app: n for app, n in rows})
                if now.total() > self.peak:
                    self.peak, self.at_peak = now.total(), now
                for app, n in now.items():
                    self.peak_by_process[app] = max(self.peak_by_process[app], n)
                self._stop.wait(self.every)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def flush_redis(url: str) -> str:
    """Empty the benchmark's Redis database (queued tasks of an earlier run included); returns the version."""

    client = redis.Redis.from_url(url)
    client.flushdb()
    version: str = client.info("server").get("redis_version", "?")  # "7.2.4": parse_info keeps it a string
    client.close()
    return version
