"""The reconciliation dashboard's exceptions read by two hand-written statements (PostgreSQL).

The ORM's reads of a day's exceptions (the open attempts, the approvals without card data, the verification's
mismatches, the repeated cards and the possible duplicates' window query, the pairs' rows, the notes that closed
some of them) were seven statements whose compiling cost the dashboard more CPU than PostgreSQL spent answering
them (docs/performance.md, issue 16). Here the first statement finds the exceptions' keys, each kind a branch of a
``UNION ALL`` that reads what the ORM's query read (the same partial indexes, the same window over the approvals
of repeated cards); the second reads their rows: the attempt, its lane and terminal, the earlier attempt of a
possible duplicate, and the newest note that closed it.

``backoffice.selectors`` uses them where PostgreSQL keeps the day's cards and the ORM's reads elsewhere (SQLite,
``make run``'s embedded default); ``tests/app/test_reconciliation.py`` holds the two to the same exceptions.
"""

from __future__ import annotations

import functools
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
    day = "store_id = %(store)s AND created_at >= %(start)s AND created_at < %(end)s"
    return (  # names from the models' metadata; every value is a parameter
        "SELECT CASE WHEN status = %(unknown)s THEN %(k_unknown)s::text ELSE %(k_review)s::text END, id,"  # noqa: S608
        f" NULL::varchar, NULL::bigint FROM {attempts} WHERE {day} AND status IN (%(unknown)s, %(review)s)"
        f" UNION ALL SELECT %(k_missing)s::text, id, NULL, NULL FROM {attempts}"
        f"  WHERE {day} AND status = %(approved)s AND (card_brand = '' OR card_last4 = '' OR auth_num = '')"
        f" UNION ALL SELECT %(k_mismatch)s::text, attempt_id, detail, NULL FROM {findings}"
        "  WHERE run_id = %(run)s AND kind = %(mismatch)s AND cleared_at IS NULL"
        " UNION ALL SELECT %(k_duplicate)s::text, w.id, NULL, w.prev_id FROM ("
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
    )


@functools.cache
def _rows_statement() -> str:
    attempts, lanes, events = PaymentAttempt._meta.db_table, Lane._meta.db_table, PaymentEvent._meta.db_table
    return (  # names from the models' metadata; every value is a parameter
        "SELECT x.kind, a.id, a.created_at, a.status, l.code, t.device, a.amount, a.tip, a.currency, "  # noqa: S608
        "a.order_reference, a.card_last4, a.card_brand, a.auth_num, a.message, "
        "a.poll_deadline <= statement_timestamp(), x.detail, e.id, e.created_at, el.code, n.id "
        "FROM unnest(%(kinds)s::text[], %(ids)s::bigint[], %(details)s::text[], %(earlier)s::bigint[])"
        " AS x(kind, id, detail, earlier_id)"
        f" JOIN {attempts} a ON a.id = x.id"
        f" JOIN {lanes} l ON l.id = a.lane_id JOIN {Terminal._meta.db_table} t ON t.id = a.terminal_id"
        f" LEFT JOIN {attempts} e ON e.id = x.earlier_id LEFT JOIN {lanes} el ON el.id = e.lane_id"
        f" LEFT JOIN LATERAL (SELECT id FROM {events} WHERE attempt_id = a.id AND kind = %(note)s"
        "  AND starts_with(cause, %(closed)s) AND data ->> 'exception' = x.kind ORDER BY id DESC LIMIT 1) n ON true"
    )


def exception_rows(store_id: int, day: date, start: datetime, end: datetime, *, run_id: int | None,
                   window: timedelta, closed_prefix: str) -> list[ExceptionRow]:
    """Every exception of the store's business ``day`` ([start, end) in UTC), open or closed, unsorted: the
    mismatches are those of the verification ``run_id`` (none without one); a possible duplicate is an approval
    that follows another of the same card last 4 and total within ``window``.

    Two statements: the exceptions' keys, then their rows. As one, PostgreSQL planned the rows' look-ups for the
    thousands of keys it expected (it cannot know that few approvals repeat) and read the whole attempts table
    by its primary key; given the keys as arrays it looks each one up."""
    params: dict[str, Any] = {
        "store": store_id, "start": start, "end": end, "day": day, "run": run_id,
        "early_start": start - window, "early_end": start + window, "window": window,
        "unknown": S.UNKNOWN, "review": S.NEEDS_REVIEW, "approved": S.APPROVED,
        "mismatch": VerificationFinding.Kind.MISMATCH,
        "k_unknown": K.UNKNOWN, "k_review": K.NEEDS_REVIEW, "k_missing": K.MISSING_CARD_DATA,
        "k_mismatch": K.MISMATCH, "k_duplicate": K.POSSIBLE_DUPLICATE,
    }
    with connection.cursor() as cursor:
        cursor.execute(_keys_statement(), params)
        keys = cursor.fetchall()
        if not keys:
            return []
        kinds, ids, details, earlier = (list(column) for column in zip(*keys, strict=True))
        cursor.execute(_rows_statement(), {
            "kinds": kinds, "ids": ids, "details": details, "earlier": earlier, "note": PaymentEvent.Kind.NOTE,
            "closed": closed_prefix})
        found = cursor.fetchall()
    out = []
    for kind, *values, past_window, detail, earlier_id, earlier_at, earlier_lane, note_id in found:
        row = dict(zip(EXCEPTION_FIELDS, values, strict=True))
        row["past_window"] = past_window
        earlier_row = None if earlier_id is None else {"id": earlier_id, "created_at": earlier_at,
                                                       "lane__code": earlier_lane}
        out.append(ExceptionRow(kind, row, detail, earlier_row, note_id))
    return out
