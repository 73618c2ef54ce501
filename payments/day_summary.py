"""The day summary (``DaySummary``): what PostgreSQL keeps, how it is rebuilt, and the check that it agrees.

Triggers (migration ``0012_triggers_day_summary``) add each change of an attempt or a refund to the summary in the
change's own statement, so in its transaction: the services, the admin, ``seed_attempts``' COPY and a test's
factories all keep it alike. A late result (an attempt created on Monday and approved on Tuesday) moves Monday's
counts: a row's day is its attempt's ``created_at`` in the store's time zone. SQLite keeps no summary (no time
zones in its SQL): ``kept()`` is False there and the back office sums the attempts. ``DayCard`` counts an
attempt's update at its transaction's commit instead (migration ``0015_day_cards_at_commit``): still in its
transaction, without holding the row every approval of that card and total shares until then.

The rebuild recomputes one store-day in one transaction holding a SHARE ROW EXCLUSIVE lock on the summary, rather
than recomputing aside and swapping: a change committed between a recompute's read and its swap would be lost,
and the lock makes the read see every change that wrote the summary before it and makes later changes wait (for
the tens of milliseconds a busy day's recompute takes) and apply their own deltas on top of it.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction

from lanes.models import Store
from payments.models import DayCard, DaySummary

FIGURES = ("attempts", "amount", "tip", "refunds", "refunded")
Key = tuple[int, date, int, int, str, str, str]  # store, day, lane, terminal, status, card brand, batch
Figures = tuple[int, int, int, int, int]
CardKey = tuple[int, date, str, int]  # store, day, card last 4, total


@dataclass(frozen=True)
class Difference:
    """A key whose kept figures (attempts, amount, tip, refunds, refunded) are not the recomputed ones."""

    key: Key | CardKey
    kept: tuple[int, ...]
    recomputed: tuple[int, ...]

    def __str__(self) -> str:
        if len(self.key) == 4:
            store, day, last4, total = self.key
            return (f"store {store} {day} card {last4} total {total}: kept {self.kept[0]} approvals, recomputed "
                    f"{self.recomputed[0]}")
        store, day, lane, terminal, status, brand, batch = self.key
        return (f"store {store} {day} lane {lane} terminal {terminal} {status} {brand or '-'} {batch or '-'}: "
                f"kept {dict(zip(FIGURES, self.kept, strict=True))}, "
                f"recomputed {dict(zip(FIGURES, self.recomputed, strict=True))}")


def kept() -> bool:
    """Whether the database keeps the summary (PostgreSQL's triggers)."""
    return connection.vendor == "postgresql"


def bounds(store: Store, first: date, last: date) -> tuple[datetime, datetime]:
    """[00:00 of `first`, 00:00 after `last`) in the store's time zone, in UTC."""
    tz = zoneinfo.ZoneInfo(store.time_zone)
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _range(store: Store, first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The UTC bounds of the days asked for; None for no bound."""
    start = bounds(store, first, first)[0] if first is not None else None
    end = bounds(store, last, last)[1] if last is not None else None
    return start, end


def _recomputed(store: Store, first: date | None, last: date | None) -> dict[Key, Figures]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM payments_day_summary_recomputed(%s, coalesce(%s, '-infinity'::timestamptz), "
                       "coalesce(%s, 'infinity'::timestamptz))", [store.pk, *_range(store, first, last)])
        rows = cursor.fetchall()
    return {(r[0], r[1], r[2], r[3], r[4], r[5], r[6]): (r[7], r[8], r[9], r[10], r[11]) for r in rows}


def _recomputed_cards(store: Store, first: date | None, last: date | None) -> dict[CardKey, tuple[int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM payments_day_cards_recomputed(%s, coalesce(%s, '-infinity'::timestamptz), "
                       "coalesce(%s, 'infinity'::timestamptz))", [store.pk, *_range(store, first, last)])
        rows = cursor.fetchall()
    return {(r[0], r[1], r[2], r[3]): (r[4],) for r in rows}


def _kept_cards(store: Store, first: date | None, last: date | None) -> dict[CardKey, tuple[int]]:
    rows = DayCard.objects.filter(store=store).exclude(approvals=0)
    if first is not None:
        rows = rows.filter(day__gte=first)
    if last is not None:
        rows = rows.filter(day__lte=last)
    return {(r[0], r[1], r[2], r[3]): (r[4],)
            for r in rows.values_list("store_id", "day", "card_last4", "total", "approvals")}


def _compare(have: dict[Any, tuple[int, ...]], want: dict[Any, tuple[int, ...]], width: int) -> list[Difference]:
    zero = (0,) * width
    return [Difference(key, have.get(key, zero), want.get(key, zero))
            for key in sorted(have.keys() | want.keys(), key=str) if have.get(key, zero) != want.get(key, zero)]


def _kept(store: Store, first: date | None, last: date | None) -> dict[Key, Figures]:
    rows = DaySummary.objects.filter(store=store)
    if first is not None:
        rows = rows.filter(day__gte=first)
    if last is not None:
        rows = rows.filter(day__lte=last)
    return {
        (r[0], r[1], r[2], r[3], r[4], r[5], r[6]): (r[7], r[8], r[9], r[10], r[11])
        for r in rows.values_list("store_id", "day", "lane_id", "terminal_id", "status", "card_brand", "batch_num",
                                  *FIGURES)
        if any(r[7:])  # a row brought back to zero says the same as no row
    }


def differences(*, stores: Iterable[Store] | None = None, first: date | None = None,
                last: date | None = None) -> list[Difference]:
    """Every key where the summary (and the approvals per card) and the attempts (with their approved refunds)
    disagree, for these stores
    (default: all) and days (default: all), read in one snapshot so that changes going on do not show as
    differences. Empty on a database that keeps no summary."""
    if not kept():
        return []
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        found = []
        for store in (stores if stores is not None else Store.objects.order_by("pk")):
            found += _compare(_kept(store, first, last), _recomputed(store, first, last), len(FIGURES))  # type: ignore[arg-type]
            found += _compare(_kept_cards(store, first, last), _recomputed_cards(store, first, last), 1)  # type: ignore[arg-type]
    return found


def summary_days(store: Store) -> list[date]:
    """The days of a store that have attempts or summary rows (what "every day" rebuilds)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT (a.created_at AT TIME ZONE s.time_zone)::date FROM payments_paymentattempt a "
            "JOIN lanes_store s ON s.id = a.store_id WHERE a.store_id = %s "
            "UNION SELECT day FROM payments_daysummary WHERE store_id = %s "
            "UNION SELECT day FROM payments_daycard WHERE store_id = %s ORDER BY 1", [store.pk, store.pk, store.pk])
        return [row[0] for row in cursor.fetchall()]


def rebuild_day(store: Store, day: date) -> int:
    """Recompute one store-day from its attempts and refunds (and its approvals per card), in one transaction (see
    the module's docstring); returns the summary rows written."""
    start, end = bounds(store, day, day)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE payments_daysummary IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("DELETE FROM payments_daysummary WHERE store_id = %s AND day = %s", [store.pk, day])
        cursor.execute(
            "INSERT INTO payments_daysummary (store_id, day, lane_id, terminal_id, status, card_brand, batch_num, "
            "attempts, amount, tip, refunds, refunded) SELECT * FROM payments_day_summary_recomputed(%s, %s, %s)",
            [store.pk, start, end])
        written: int = cursor.rowcount
        cursor.execute("DELETE FROM payments_daycard WHERE store_id = %s AND day = %s", [store.pk, day])
        cursor.execute("INSERT INTO payments_daycard (store_id, day, card_last4, total, approvals) "
                       "SELECT * FROM payments_day_cards_recomputed(%s, %s, %s)", [store.pk, start, end])
        return written
