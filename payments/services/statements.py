"""The two statements every payment runs, written by hand: the claim of a sale and the change of its status.

The ORM's compilation of these queries (a locked read of five tables, then an update) cost more CPU than
PostgreSQL spent answering them (docs/performance.md, issue 16): here each is one statement whose text is built
once per process from the models' metadata, and whose row becomes model instances through ``lanes.rows``. They
do exactly what ``transition`` / ``change_locked`` do through the ORM (same rows locked, same checks, same
columns written); the events, signals and push that follow are ``changed_in_database``'s, shared with them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.db.models import Field
from django.utils import timezone

from lanes.models import Lane, Store, Terminal
from lanes.rows import Columns, split
from payments.models import FINAL_STATUSES, AttemptStatus, Merchant, PaymentAttempt, PaymentEvent

__all__ = ["change_in_one_statement", "claim_in_time", "insert_events", "one_statement_changes", "prepared"]

S = AttemptStatus
_ATTEMPTS = PaymentAttempt._meta.db_table


@contextmanager
def prepared() -> Iterator[None]:
    """On PostgreSQL, a statement this connection has run ``CONSOLE_DB_PREPARE_THRESHOLD`` times within such a block
    is prepared on it: parsed and planned once per connection, then run by name (psycopg's prepared statements).

    For a payment's own short statements only: each reads or changes one attempt (or session, or lane) by its key,
    where PostgreSQL's generic plan is the plan. A day-wide read of the back office must stay outside: a generic plan
    of the dashboard's exceptions read a hundred times the rows of the plan made with its values (docs/performance.md,
    issue 16, twelfth pass). Enter it where the connection cannot change underneath (inside a transaction, or a
    request's own connection): the threshold is the connection's, set on entry and restored on exit.
    """
    runs = settings.CONSOLE_DB_PREPARE_RUNS
    if runs is None or connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    previous = raw.prepare_threshold
    raw.prepare_threshold = runs
    try:
        yield
    finally:
        raw.prepare_threshold = previous


@functools.cache
def _claim_statement() -> tuple[str, tuple[Columns[Any], ...]]:
    """CREATED → SENT when not too old, returning the attempt with its merchant, terminal, lane and store: the
    ORM's locked read and update in one statement (its compilation cost more CPU than the claim itself). Only
    the attempt's row is locked; a concurrent claim waits for it, then finds it no longer CREATED."""
    columns = (Columns(PaymentAttempt, "a"), Columns(Merchant, "m"), Columns(Terminal, "t"), Columns(Lane, "l"),
               Columns(Store, "s"))
    # Names from the models' own metadata; every value is a parameter.
    sql = (
        f"UPDATE {PaymentAttempt._meta.db_table} AS a SET status = %s, sent_at = %s, updated_at = %s "  # noqa: S608
        f"FROM {Merchant._meta.db_table} AS m, {Terminal._meta.db_table} AS t, {Lane._meta.db_table} AS l, "
        f"{Store._meta.db_table} AS s "
        "WHERE a.id = %s AND a.status = %s AND a.created_at >= STATEMENT_TIMESTAMP() - make_interval(secs => %s) "
        "AND m.id = a.merchant_id AND t.id = a.terminal_id AND l.id = a.lane_id AND s.id = a.store_id "
        f"RETURNING {', '.join(c.sql for c in columns)}"
    )
    return sql, columns


def one_statement_changes() -> bool:
    """The claim's and the status change's statements are PostgreSQL's (row locks, arrays, intervals); on SQLite
    (``make run``'s embedded default) the callers keep the ORM's locked read, which does the same."""
    return connection.vendor == "postgresql"


def claim_in_time(attempt_id: int) -> PaymentAttempt | None:
    """The attempt moved CREATED → SENT (as ``change_locked`` would have written it), or None when it is not
    CREATED, is too old by the database's clock (``too_old``), or the database is not PostgreSQL: the caller's
    locked read then decides."""
    if not one_statement_changes():
        return None
    sql, columns = _claim_statement()
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(sql, [S.SENT.value, now, now, attempt_id, S.CREATED.value,
                             settings.CONSOLE_STALE_CREATED_AFTER_MAX])
        row = cursor.fetchone()
    if row is None:
        return None
    attempt, merchant, terminal, lane, store = split(row, *columns)
    attempt.merchant, attempt.terminal, attempt.lane, attempt.store = merchant, terminal, lane, store
    return cast(PaymentAttempt, attempt)


@functools.cache
def _column(name: str) -> Field[Any, Any]:
    field = PaymentAttempt._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise ValueError(f"{name} is not a column of the payment attempts")
    return field


@functools.cache
def _change_columns() -> tuple[Columns[Any], Columns[Any]]:
    return Columns(PaymentAttempt, "a"), Columns(Lane, "l")


def change_in_one_statement(attempt_id: int, statuses: Sequence[str], to: str,
                            fields: Mapping[str, Any]) -> tuple[PaymentAttempt, str] | None:
    """``transition``'s locked read and update of an attempt in one statement: the attempt (with its lane) after
    the change and its status before it, or None when it is in none of ``statuses``.

    The sub-select locks the row (a concurrent change waits, then is seen); ``fields`` are plain values (no
    database clock), written as the ORM would write them (``get_db_prep_save``), with ``updated_at`` and, for a
    final status, ``finalized_at``.
    """
    attempt, lane = _change_columns()
    now = timezone.now()
    values: dict[str, Any] = {**fields, "status": to, "updated_at": now}
    if to in FINAL_STATUSES:
        values["finalized_at"] = now
    quote = connection.ops.quote_name
    assignments, params = [], []
    for name, value in values.items():
        field = _column(name)
        assignments.append(f"{quote(cast(str, field.column))} = %s")
        params.append(field.get_db_prep_save(value, connection))
    sql = (  # names from the models' metadata; every value is a parameter
        f"UPDATE {_ATTEMPTS} AS a SET {', '.join(assignments)} "  # noqa: S608
        f"FROM (SELECT id, status FROM {_ATTEMPTS} WHERE id = %s AND status = ANY(%s) FOR UPDATE) AS old, "
        f"{Lane._meta.db_table} AS l WHERE a.id = old.id AND l.id = a.lane_id "
        f"RETURNING old.status, {attempt.sql}, {lane.sql}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, attempt_id, list(statuses)])
        row = cursor.fetchone()
    if row is None:
        return None
    changed, its_lane = split(row[1:], attempt, lane)
    changed.lane = its_lane
    return cast(PaymentAttempt, changed), row[0]


@functools.cache
def _event_insert() -> tuple[str, str, tuple[Field[Any, Any], ...]]:
    fields = tuple(f for f in PaymentEvent._meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(cast(str, f.column)) for f in fields)
    head = f"INSERT INTO {PaymentEvent._meta.db_table} ({columns}) VALUES "  # noqa: S608 (names from the model)
    return head, f"({', '.join(['%s'] * len(fields))})", fields


def insert_events(events: Sequence[PaymentEvent]) -> None:
    """Insert new events (one statement, no id read back: no caller uses it), each value prepared as the ORM's
    insert prepares it (``pre_save``: ``created_at``; ``get_db_prep_save``: the JSON ``data``); the model's
    defaults were applied when the event was made (``correlation_id``)."""
    if not events:
        return
    head, row, fields = _event_insert()
    params = [field.get_db_prep_save(field.pre_save(event, True), connection) for event in events for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(head + ", ".join([row] * len(events)), params)
