"""The CSV export of a store's business day: one line per attempt, in ``payments.contract.EXPORT_HEADER``'s order.

On PostgreSQL the rows are written by the database (``COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)``) and handed
on as they come, one CopyData message per row, with no Python object per value; the formatting Python did (times in
the store's time zone as ``isoformat()`` writes them, a quote before text that would start a spreadsheet formula,
nothing for an empty text) is done in SQL. On SQLite, ``csv.writer`` writes them as it always did: that writer is
the reference the COPY lines are compared with byte for byte (tests/app/test_csv_export.py).
"""

from __future__ import annotations

import csv
import itertools
import zoneinfo
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from psycopg import sql

from backoffice.selectors import day_bounds, day_export_values
from backoffice.totals import sorting_memory
from lanes.models import Store
from payments.contract import EXPORT_HEADER

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """csv.writer's file: hands each written row back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def header_line() -> bytes:
    return str(csv.writer(_Echo()).writerow(EXPORT_HEADER)).encode()


def _cell(value: object) -> object:
    # Text from the gateway could start a spreadsheet formula: make it plain text.
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def python_lines(store: Store, day: date, batch: int = 2000) -> Iterator[bytes]:
    """The header, then the attempts' lines written by csv.writer, `batch` a piece, from rows read as many at a
    time (values, no models)."""
    tz = zoneinfo.ZoneInfo(store.time_zone)
    writer = csv.writer(_Echo())
    yield header_line()
    rows = day_export_values(store, day).iterator(chunk_size=batch)
    while lines := [
        str(writer.writerow([
            created_at.astimezone(tz).isoformat(), *(_cell(v) for v in middle),
            finalized_at.astimezone(tz).isoformat() if finalized_at else "", _cell(reference),
        ])) for created_at, *middle, finalized_at, reference in itertools.islice(rows, batch)
    ]:
        yield "".join(lines).encode()


def _text(column: str) -> sql.Composable:
    """A text column as ``_cell`` writes it; empty as NULL, which COPY writes as nothing (an empty string it
    would quote). ``ascii()`` is the first character's code (0 for none): a comparison of integers."""
    starts = sql.SQL(", ").join(sql.Literal(ord(c)) for c in FORMULA_START)
    return sql.SQL("CASE WHEN ascii({c}) IN ({starts}) THEN '''' || {c} WHEN ascii({c}) = 0 THEN NULL ELSE {c} END"
                   ).format(c=sql.SQL(column), starts=starts)


def _offset(moment: datetime, tz: zoneinfo.ZoneInfo) -> str:
    """The UTC offset at that moment as isoformat() writes it (±HH:MM)."""
    return moment.astimezone(tz).isoformat()[-6:]


def _day_offsets(start: datetime, end: datetime, tz: zoneinfo.ZoneInfo) -> list[tuple[datetime, str]]:
    """[(from, offset)] over [start, end): one offset, or two on the days clocks change (found to the second)."""
    first, last = _offset(start, tz), _offset(end - timedelta(microseconds=1), tz)
    if first == last:
        return [(start, first)]
    low, high = start, end  # the offset at low is `first`, at high it is not
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        low, high = (middle, high) if _offset(middle, tz) == first else (low, middle)
    return [(start, first), (high, last)]


def _whole_second(column: sql.Composable) -> sql.Composable:
    """The moment has no microseconds (isoformat() then writes none): a comparison of timestamps, cheaper per row
    than the numeric EXTRACT(MICROSECONDS ...) returns."""
    return sql.SQL("date_trunc('second', {c}) = {c}").format(c=column)


def _local(column: sql.Composable, offset: str) -> sql.Composable:
    """The moment written in local time, from the session's UTC (Django's) plus the offset: no time-zone lookup,
    and one to_char() a value, the offset written by it as quoted text (about a tenth of the COPY's time on the
    100,000-attempt day, against two calls and two concatenations)."""
    whole, fraction = (sql.Literal(f'YYYY-MM-DD"T"HH24:MI:SS{us}"{offset}"') for us in ("", ".US"))
    return sql.SQL(
        "CASE WHEN {whole_second} THEN to_char({c} + {o}::interval, {whole}) "
        "ELSE to_char({c} + {o}::interval, {fraction}) END"
    ).format(c=column, o=sql.Literal(offset), whole_second=_whole_second(column), whole=whole, fraction=fraction)


def _anywhen(column: sql.Composable, tz: str) -> sql.Composable:
    """The same for a moment on any day: the offset from the time-zone rules (slower, for the rare finalized_at
    outside the day)."""
    local, utc = (sql.SQL("({c} AT TIME ZONE {tz})").format(c=column, tz=sql.Literal(tz)),
                  sql.SQL("({c} AT TIME ZONE 'UTC')").format(c=column))
    return sql.SQL(
        "to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN {whole_second} "
        "THEN '' ELSE to_char({c}, '.US') END || CASE WHEN {local} < {utc} THEN '-' || to_char({utc} - {local}, "
        "'HH24:MI') ELSE '+' || to_char({local} - {utc}, 'HH24:MI') END"
    ).format(c=column, local=local, utc=utc, whole_second=_whole_second(column))


def _iso(column: str, store: Store, start: datetime, end: datetime) -> sql.Composable:
    """``datetime.astimezone(tz).isoformat()``: microseconds only when there are some, the offset as ±HH:MM."""
    c = sql.SQL(column)
    offsets = _day_offsets(start, end, zoneinfo.ZoneInfo(store.time_zone))
    within = _local(c, offsets[0][1])
    if len(offsets) == 2:
        within = sql.SQL("CASE WHEN {c} < {switch} THEN {before} ELSE {after} END").format(
            c=c, switch=sql.Literal(offsets[1][0]), before=within, after=_local(c, offsets[1][1]))
    return sql.SQL("CASE WHEN {c} >= {start} AND {c} < {end} THEN {within} ELSE {anywhen} END").format(
        c=c, start=sql.Literal(start), end=sql.Literal(end), within=within, anywhen=_anywhen(c, store.time_zone))


def copy_statement(store: Store, day: date) -> sql.Composed:
    start, end = day_bounds(store, day)
    texts = ("a.code", "a.device", "a.order_reference", "a.gateway_reference", "a.status")
    card = ("a.currency", "a.card_brand", "a.card_last4", "a.auth_num", "a.batch_num", "a.terminal_text")
    columns = [
        _iso("a.created_at", store, start, end), *(_text(c) for c in texts),
        sql.SQL("a.amount"), sql.SQL("a.tip"), sql.SQL("a.amount + a.tip"), *(_text(c) for c in card),
        sql.SQL("a.refunded"), _iso("a.finalized_at", store, start, end), _text("a.reference"),
    ]
    # The day's rows are sorted while narrow (no formatted text yet), then written; in sorting_memory() the sort
    # of a busy day stays in memory.
    return sql.SQL(
        "COPY (SELECT {columns} FROM (SELECT a.id, a.created_at, a.order_reference, a.gateway_reference, a.status,"
        " a.amount, a.tip, a.currency, a.card_brand, a.card_last4, a.auth_num, a.batch_num, a.terminal_text,"
        " a.finalized_at, a.reference, l.code, t.device, coalesce(r.cents, 0) AS refunded"
        " FROM payments_paymentattempt a"
        " JOIN lanes_lane l ON l.id = a.lane_id JOIN lanes_terminal t ON t.id = a.terminal_id"
        " LEFT JOIN (SELECT attempt_id, sum(amount) AS cents FROM payments_refund WHERE status = 'APPROVED'"
        "  AND attempt_id IN (SELECT id FROM payments_paymentattempt WHERE store_id = {store}"
        "   AND created_at >= {start} AND created_at < {end}) GROUP BY attempt_id) r ON r.attempt_id = a.id"
        " WHERE a.store_id = {store} AND a.created_at >= {start} AND a.created_at < {end}"
        " ORDER BY a.created_at, a.id OFFSET 0) a ORDER BY a.created_at, a.id) TO STDOUT WITH (FORMAT csv)"
    ).format(columns=sql.SQL(", ").join(columns), store=sql.Literal(store.pk), start=sql.Literal(start),
             end=sql.Literal(end))


def copy_lines(store: Store, day: date, batch: int = 2000) -> Iterator[bytes]:
    """The header, then the rows as PostgreSQL writes them, `batch` rows a piece. COPY ends its lines with LF and
    csv.writer with CRLF: each CopyData message is one whole row, so its last byte is the line's end."""
    yield header_line()
    with sorting_memory(), connection.cursor() as cursor, cursor.copy(copy_statement(store, day)) as copy:
        rows: list[Any] = []
        for row in copy:
            rows.append(row)
            if len(rows) >= batch:
                yield _crlf(rows)
                rows = []
        if rows:
            yield _crlf(rows)


def _crlf(rows: list[Any]) -> bytes:
    """The rows with CRLF line ends. A row has more than its own LF only when a value holds a line break."""
    data = b"".join(rows)
    if data.count(b"\n") == len(rows):
        return data.replace(b"\n", b"\r\n")
    return b"".join(bytes(row[:-1]) + b"\r\n" for row in rows)


def day_csv(store: Store, day: date) -> Iterator[bytes]:
    """The day's export: COPY where the database is PostgreSQL, csv.writer elsewhere."""
    if connection.vendor == "postgresql":
        return copy_lines(store, day)
    return python_lines(store, day)
