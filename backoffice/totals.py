"""The reconciliation dashboard's totals of a store's business day: by status, lane, batch and card brand.

On PostgreSQL they are read from the day summary that the database keeps as attempts and refunds change
(``payments.day_summary``): one indexed read of a few hundred rows, however busy the day. On SQLite (the embedded
default of ``make run``) two aggregate queries sum the day's attempts and refunds. Either way Python only rolls up
the groups, and both give the same totals (tests/app/test_day_summary.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext

from backoffice.selectors import day_attempts, day_bounds
from lanes.models import Lane, Store, Terminal
from payments import day_summary
from payments.models import AttemptStatus, DaySummary, Refund

S = AttemptStatus



@dataclass
class Line:
    """One row of a breakdown table. Money in cents."""

    key: tuple[Any, ...]
    label: str = ""
    sublabel: str = ""
    count: int = 0
    approved: int = 0
    approved_total: int = 0
    approved_tip: int = 0
    declined: int = 0
    failed: int = 0
    open: int = 0
    refunded: int = 0
    refunds: int = 0

    @property
    def net(self) -> int:
        return self.approved_total - self.refunded


@dataclass
class StatusLine:
    status: str
    count: int = 0
    amount: int = 0
    tip: int = 0

    @property
    def total(self) -> int:
        return self.amount + self.tip


@dataclass
class DayTotals:
    summary: Line
    by_status: list[StatusLine] = field(default_factory=list)
    by_lane: list[Line] = field(default_factory=list)
    by_batch: list[Line] = field(default_factory=list)
    by_brand: list[Line] = field(default_factory=list)


def _add(line: Line, status: str, count: int, amount: int, tip: int) -> None:
    line.count += count
    if status == S.APPROVED:
        line.approved += count
        line.approved_total += amount + tip
        line.approved_tip += tip
    elif status == S.DECLINED:
        line.declined += count
    elif status == S.FAILED:
        line.failed += count
    else:
        line.open += count


@contextmanager
def sorting_memory() -> Iterator[None]:
    """A read-only transaction in which PostgreSQL may sort and aggregate a busy day in memory.

    The dashboard's aggregates and its duplicate search sort a whole day; with PostgreSQL's default
    work_mem (4 MB) a day of 100,000 attempts spills those sorts to disk.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # set_config(..., true) is SET LOCAL as a function: it takes a bound parameter (SET takes none)
                cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.CONSOLE_DASHBOARD_WORK_MEM])
        yield


def day_totals(store: Store, day: date) -> DayTotals:
    """The day's tables: from the kept summary where the database keeps one, else from the attempts."""
    if not day_summary.kept():
        return day_totals_from_attempts(store, day)
    rollup = _Rollup()
    with connection.cursor() as cursor:
        cursor.execute(_summary_statement(), [store.pk, day])
        rows = cursor.fetchall()
    for lane_id, terminal_id, batch, brand, status, n, amount, tip, refunds, refunded, code, device in rows:
        if n:
            rollup.add_attempts(lane_id, terminal_id, batch, brand, status, n, amount, tip)
        if refunds:
            rollup.add_refunds(lane_id, terminal_id, batch, brand, refunds, refunded)
        rollup.lane_codes[lane_id], rollup.devices[terminal_id] = code, device
    return rollup.totals()


@functools.cache
def _summary_statement() -> str:
    """The day summary's rows with their lanes' codes and terminals' names: hand-written, as compiling it through
    the ORM (and the two reads of the labels) cost the dashboard more CPU than PostgreSQL's answer."""
    return (  # names from the models' metadata; every value is a parameter
        "SELECT s.lane_id, s.terminal_id, s.batch_num, s.card_brand, s.status, s.attempts, s.amount, s.tip, "  # noqa: S608
        f"s.refunds, s.refunded, l.code, t.device FROM {DaySummary._meta.db_table} s "
        f"LEFT JOIN {Lane._meta.db_table} l ON l.id = s.lane_id LEFT JOIN {Terminal._meta.db_table} t "
        "ON t.id = s.terminal_id WHERE s.store_id = %s AND s.day = %s "
        "AND (s.attempts <> 0 OR s.refunds <> 0)"  # not the rows that changes brought back to nothing
    )


def day_totals_from_attempts(store: Store, day: date) -> DayTotals:
    """Two aggregate queries: the day's attempts grouped by (lane, terminal, batch, brand, status), and
    the approved refunds of those attempts grouped the same way; every table is rolled up from them."""
    start, end = day_bounds(store, day)
    groups = (
        day_attempts(store, day)
        .values("lane_id", "terminal_id", "batch_num", "card_brand", "status")
        .annotate(n=Count("id"), amount=Sum("amount"), tip=Sum("tip"))
        .order_by()
    )
    refunds = (
        # A refund is never older than its payment: created_at >= start lets the (status, created_at)
        # index bound the refunds read, however many the store has.
        Refund.objects.filter(status=S.APPROVED, created_at__gte=start, attempt__store=store,
                              attempt__created_at__gte=start, attempt__created_at__lt=end)
        .values("attempt__lane_id", "attempt__terminal_id", "attempt__batch_num", "attempt__card_brand")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by()
    )
    rollup = _Rollup()
    for g in groups:
        rollup.add_attempts(g["lane_id"], g["terminal_id"], g["batch_num"], g["card_brand"], g["status"],
                            g["n"], g["amount"] or 0, g["tip"] or 0)
    for r in refunds:
        rollup.add_refunds(r["attempt__lane_id"], r["attempt__terminal_id"], r["attempt__batch_num"],
                           r["attempt__card_brand"], r["n"], r["amount"] or 0)
    return rollup.totals()


class _Rollup:
    """The tables of the day, filled from the grouped rows."""

    def __init__(self) -> None:
        self.summary = Line(key=())
        self.statuses = {s: StatusLine(s) for s in S.values}
        self.lanes: dict[tuple[Any, ...], Line] = {}
        self.batches: dict[tuple[Any, ...], Line] = {}
        self.brands: dict[tuple[Any, ...], Line] = {}
        # Labels read with the rows (the day summary's statement); those not read are looked up by totals().
        self.lane_codes: dict[int, str | None] = {}
        self.devices: dict[int, str | None] = {}

    def _lines(self, lane_id: int, terminal_id: int, batch: str, brand: str, status: str | None) -> list[Line]:
        # Batches and brands are about what was charged: approvals (and their refunds) only.
        out = [self.lanes.setdefault((lane_id, terminal_id), Line(key=(lane_id, terminal_id)))]
        if status in (None, S.APPROVED):
            out.append(self.batches.setdefault((terminal_id, batch), Line(key=(terminal_id, batch))))
            out.append(self.brands.setdefault((brand,), Line(key=(brand,))))
        return out

    def add_attempts(self, lane_id: int, terminal_id: int, batch: str, brand: str, status: str, n: int,
                     amount: int, tip: int) -> None:
        status_line = self.statuses[status]
        status_line.count += n
        status_line.amount += amount
        status_line.tip += tip
        _add(self.summary, status, n, amount, tip)
        for line in self._lines(lane_id, terminal_id, batch, brand, status):
            _add(line, status, n, amount, tip)

    def add_refunds(self, lane_id: int, terminal_id: int, batch: str, brand: str, n: int, amount: int) -> None:
        self.summary.refunded += amount
        self.summary.refunds += n
        for line in self._lines(lane_id, terminal_id, batch, brand, None):
            line.refunded += amount
            line.refunds += n

    def _label(self) -> None:
        lane_codes, devices = self.lane_codes, self.devices
        if unlabelled := {k[0] for k in self.lanes} - lane_codes.keys():
            lane_codes.update(Lane.objects.filter(pk__in=unlabelled).values_list("pk", "code"))
        if unlabelled := ({k[1] for k in self.lanes} | {k[0] for k in self.batches}) - devices.keys():
            devices.update(Terminal.objects.filter(pk__in=unlabelled).values_list("pk", "device"))
        for (lane_id, terminal_id), line in self.lanes.items():
            line.label = lane_codes.get(lane_id) or gettext("lane #{id}").format(id=lane_id)
            line.sublabel = devices.get(terminal_id) or gettext("terminal #{id}").format(id=terminal_id)
        for (terminal_id, batch), line in self.batches.items():
            line.label = batch or gettext("no batch number")
            line.sublabel = devices.get(terminal_id) or gettext("terminal #{id}").format(id=terminal_id)
        for (brand,), line in self.brands.items():
            line.label = brand or gettext("no brand")

    def totals(self) -> DayTotals:
        self._label()
        return DayTotals(
            summary=self.summary,
            by_status=[line for line in self.statuses.values() if line.count],
            by_lane=sorted(self.lanes.values(), key=lambda x: (_natural(x.label), x.sublabel)),
            by_batch=sorted((b for b in self.batches.values() if b.approved or b.refunded),
                            key=lambda x: (x.sublabel, x.label)),
            by_brand=sorted((b for b in self.brands.values() if b.approved or b.refunded),
                            key=lambda x: -x.approved_total),
        )


def _natural(text: str) -> tuple[str, int, str]:
    """L2 before L10."""
    digits = "".join(c for c in text if c.isdigit())
    return (text.rstrip("0123456789"), int(digits) if digits else 0, text)
