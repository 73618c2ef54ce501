"""The reconciliation dashboard's exceptions read by two hand-written statements (PostgreSQL).

The ORM's reads of a day's exceptions (the open attempts, the approvals without card data, the verification's
mismatches, the repeated cards and the possible duplicates' window query, the pairs' rows, the notes that closed
some of them) were seven statements whose compiling cost the dashboard more CPU than PostgreSQL spent answering
them (docs/performance.md, issue 16). Here the first statement finds the exceptions' keys, each kind a branch of a
``UNION ALL`` that reads what the ORM's query read (the same partial indexes, the same window over the approvals
of repeated cards), each with the newest note that closed it, and the time it is sorted by; the second reads the
rows of those shown: the attempt, its lane and terminal, the earlier attempt of a possible duplicate. A day of
hundreds of open exceptions reads the rows of the page shown, not of all of them (docs/performance.md, issue 16,
eleventh pass).

``backoffice.selectors`` uses them where PostgreSQL keeps the day's cards and the ORM's reads elsewhere (SQLite,
``make run``'s embedded default); ``tests/app/test_reconciliation.py`` holds the two to the same exceptions.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection

from backoffice.exception_kinds import EXCEPTION_FIELDS, ExceptionRow
from backoffice.exception_kinds import ExceptionKind as K
from backoffice.models import VerificationFinding
from lanes.models import Lane, Terminal
from payments.models import AttemptStatus, DayCard, PaymentAttempt, PaymentEvent

S = AttemptStatus

@functools.cache
def _keys_statement() -> str:
    attempts, findings, cards = PaymentAttempt._meta.db_table, VerificationFinding._meta.db_table, DayCard._meta.db_table
    events = PaymentEvent._meta.db_table
    day = "store_id = %(store)s AND created_at >= %(start)s AND created_at < %(end)s"
    return (  # names from the models' metadata; every value is a parameter
        "SELECT k.kind, k.id, k.created_at, k.detail, k.earlier_id, n.id FROM ("  # noqa: S608
        "SELECT CASE WHEN status = %(unknown)s THEN %(k_unknown)s::text ELSE %(k_review)s::text END, id,"
        f" NULL::varchar, NULL::bigint, created_at FROM {attempts} WHERE {day} AND status IN (%(unknown)s, %(review)s)"
        f" UNION ALL SELECT %(k_missing)s::text, id, NULL, NULL, created_at FROM {attempts}"
        f"  WHERE {day} AND status = %(approved)s AND (card_brand = '' OR card_last4 = '' OR auth_num = '')"
        f" UNION ALL SELECT %(k_mismatch)s::text, f.attempt_id, f.detail, NULL, fa.created_at FROM {findings} f"
        f"  JOIN {attempts} fa ON fa.id = f.attempt_id"
        "  WHERE f.run_id = %(run)s AND f.kind = %(mismatch)s AND f.cleared_at IS NULL"
        " UNION ALL SELECT %(k_duplicate)s::text, w.id, NULL, w.prev_id, w.created_at FROM ("
        "  SELECT id, created_at, LAG(id) OVER w AS prev_id, LAG(created_at) OVER w AS prev_at"
        f"  FROM {attempts} WHERE store_id = %(store)s AND status = %(approved)s"
        "   AND created_at >= %(early_start)s AND created_at < %(end)s AND card_last4 <> ''"
        # ARRAY(...) is read once, before the scan: the repeated cards' last 4 bound the index of approved cards.
        "   AND (created_at < %(early_end)s OR card_last4 = ANY(ARRAY("
        f"    SELECT card_last4 FROM {cards} WHERE store_id = %(store)s AND day = %(day)s AND approvals >= 2)))"
        # Grouping needs equality only: bytewise comparison sorts a busy day's approvals several times faster
        # than the database's language collation.
        '  WINDOW w AS (PARTITION BY card_last4 COLLATE "C", amount + tip ORDER BY created_at, id)'
        " ) w WHERE w.prev_at >= w.created_at - %(window)s AND w.created_at >= %(start)s"
        ") AS k(kind, id, detail, earlier_id, created_at)"
        # The newest note that closed it: one index look-up a key.
        f" LEFT JOIN LATERAL (SELECT id FROM {events} WHERE attempt_id = k.id AND kind = %(note)s"
        "  AND starts_with(cause, %(closed)s) AND data ->> 'exception' = k.kind ORDER BY id DESC LIMIT 1) n ON true"
    )


@functools.cache
def _rows_statement() -> str:
    attempts, lanes = PaymentAttempt._meta.db_table, Lane._meta.db_table
    return (  # names from the models' metadata; every value is a parameter
        "SELECT x.kind, a.id, a.created_at, a.status, l.code, t.device, a.amount, a.tip, a.currency, "  # noqa: S608
        "a.order_reference, a.card_last4, a.card_brand, a.auth_num, a.message, "
        "a.poll_deadline <= statement_timestamp(), x.detail, e.id, e.created_at, el.code "
        "FROM unnest(%(kinds)s::text[], %(ids)s::bigint[], %(details)s::text[], %(earlier)s::bigint[])"
        " AS x(kind, id, detail, earlier_id)"
        f" JOIN {attempts} a ON a.id = x.id"
        f" JOIN {lanes} l ON l.id = a.lane_id JOIN {Terminal._meta.db_table} t ON t.id = a.terminal_id"
        f" LEFT JOIN {attempts} e ON e.id = x.earlier_id LEFT JOIN {lanes} el ON el.id = e.lane_id"
    )


@dataclass(frozen=True)
class ExceptionKey:
    """An exception of the day before its row is read: what counting, sorting, paging and closing it need."""

    kind: str
    id: int
    created_at: datetime
    detail: str | None  # a mismatch's finding
    earlier_id: int | None  # a possible duplicate's earlier attempt
    closing_note_id: int | None  # the newest note that closed it

    @property
    def key(self) -> tuple[int, str]:
        return self.id, self.kind


def exception_keys(store_id: int, day: date, start: datetime, end: datetime, *, run_id: int | None,
                   window: timedelta, closed_prefix: str) -> list[ExceptionKey]:
    """Every exception of the store's business ``day`` ([start, end) in UTC), open or closed, unsorted, with the
    note that closed it: the mismatches are those of the verification ``run_id`` (none without one); a possible
    duplicate is an approval that follows another of the same card last 4 and total within ``window``."""
    params: dict[str, Any] = {
        "store": store_id, "start": start, "end": end, "day": day, "run": run_id,
        "early_start": start - window, "early_end": start + window, "window": window,
        "unknown": S.UNKNOWN, "review": S.NEEDS_REVIEW, "approved": S.APPROVED,
        "mismatch": VerificationFinding.Kind.MISMATCH,
        "k_unknown": K.UNKNOWN, "k_review": K.NEEDS_REVIEW, "k_missing": K.MISSING_CARD_DATA,
        "k_mismatch": K.MISMATCH, "k_duplicate": K.POSSIBLE_DUPLICATE,
        "note": PaymentEvent.Kind.NOTE, "closed": closed_prefix,
    }
    with connection.cursor() as cursor:
        cursor.execute(_keys_statement(), params)
        return [ExceptionKey(*values) for values in cursor.fetchall()]


def exception_rows_of(keys: Sequence[ExceptionKey]) -> list[ExceptionRow]:
    """The rows of these exceptions (in no particular order): the attempt, its lane and terminal, the earlier
    attempt of a possible duplicate. Given the keys as arrays PostgreSQL looks each one up; as a join to the keys'
    statement it planned for the thousands of keys it expected and read the whole attempts table."""
    if not keys:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_rows_statement(), {
            "kinds": [k.kind for k in keys], "ids": [k.id for k in keys], "details": [k.detail for k in keys],
            "earlier": [k.earlier_id for k in keys]})
        found = cursor.fetchall()
    out = []
    for kind, *values, past_window, detail, earlier_id, earlier_at, earlier_lane in found:
        row = dict(zip(EXCEPTION_FIELDS, values, strict=True))
        row["past_window"] = past_window
        earlier_row = None if earlier_id is None else {"id": earlier_id, "created_at": earlier_at,
                                                       "lane__code": earlier_lane}
        out.append(ExceptionRow(kind, row, detail, earlier_row))
    return out
