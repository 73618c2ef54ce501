"""The database's options as the settings build them from the environment (store_console/settings.py).

- SQLite, the embedded default: WAL and immediate transactions let the worker's threads and Daphne write to one
  file without "database is locked"; tests share a file with the worker.
- PostgreSQL, a pool: each process keeps at most ``CONSOLE_DB_POOL_SIZE`` connections (psycopg_pool, through
  Django's ``pool`` option) and lends one to a request or a task step for as long as Django would have kept its
  own. Without it, every request and every step of a payment opened a new connection: a new PostgreSQL backend
  process each time (bench/push_latency.py). A thread that finds the pool empty waits up to
  ``CONSOLE_DB_POOL_TIMEOUT`` seconds. 0 turns the pool off (then ``CONN_MAX_AGE`` applies).
- PostgreSQL, server-side binding: statements go to the server with their parameters apart, not written into
  the text by psycopg (less of the console's CPU; each statement is still planned with its values).
- PostgreSQL, prepared statements, on the payment path only: inside ``payments.services.statements.prepared()``
  (a payment's own short transactions, each reading or changing one attempt by its key, and the session read) a
  statement a connection has run ``CONSOLE_DB_PREPARE_THRESHOLD`` times is prepared there, so PostgreSQL parses and
  plans it once per connection. Measured (docs/performance.md, issue 16, twelfth pass): PostgreSQL's CPU per payment
  a third less. Not elsewhere: a generic plan of the dashboard's day-wide read of exceptions read a hundred times
  more rows than the plan made with its values. ``off`` prepares nothing: needed behind a pooler that hands one
  client's statements to several server connections (PgBouncer in transaction mode without
  ``max_prepared_statements``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

__all__ = ["pool_options", "prepare_runs", "sqlite_options"]


def sqlite_options(var_dir: Path) -> dict[str, Any]:
    """``OPTIONS`` and ``TEST`` of the embedded SQLite database."""
    return {
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        "TEST": {"NAME": str(var_dir / "test.sqlite3")},
    }


def pool_options(size: int, timeout: float, conn_max_age: int) -> dict[str, Any]:
    """Django's ``pool`` option for ``size`` connections (``size`` > 0)."""
    if conn_max_age:
        raise ImproperlyConfigured("CONN_MAX_AGE must be 0 while the connection pool is on (CONSOLE_DB_POOL_SIZE > 0)")
    return {"min_size": min(2, size), "max_size": size, "timeout": timeout, "name": "console"}


def prepare_runs(threshold: str) -> int | None:
    """``CONSOLE_DB_PREPARE_THRESHOLD``: a count of runs (0 or more), or ``off`` (None)."""
    if threshold == "off":
        return None
    if not threshold.isdigit():
        raise ImproperlyConfigured(
            f"CONSOLE_DB_PREPARE_THRESHOLD must be a number of runs (0 or more) or off; it is {threshold!r}")
    return int(threshold)
