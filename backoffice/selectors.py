"""Reads of the reconciliation dashboard: a store's business day, its totals, its exceptions, its CSV rows.

Every figure is computed by PostgreSQL (or SQLite) over the day's range of `created_at`, which the
`attempt_store_created` index (store, created_at) serves; Python only rolls up a few hundred groups.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, Collate, Lag, Now
from django.utils import timezone

from backoffice.models import VerificationFinding, VerificationRun
from lanes import access
from lanes.models import Lane, Store, Terminal
from payments.models import AttemptStatus, PaymentAttempt, PaymentEvent, Refund
from payments.money import format_money

S = AttemptStatus
CLOSED_NOTE_PREFIX = "exception closed:"


class ExceptionKind:
    MISMATCH = "mismatch"
    NEEDS_REVIEW = "needs_review"
    UNKNOWN = "unknown"
    POSSIBLE_DUPLICATE = "possible_duplicate"
    MISSING_CARD_DATA = "missing_card_data"

    LABELS = {
        MISMATCH: "IOTPay disagrees",
        NEEDS_REVIEW: "Needs review",
        UNKNOWN: "Outcome unknown",
        POSSIBLE_DUPLICATE: "Possible duplicate",
        MISSING_CARD_DATA: "Missing card data",
    }
    # Closed by a note; NEEDS_REVIEW is closed by resolving the attempt, UNKNOWN not at all (still polled).
    CLOSABLE_BY_NOTE = (MISMATCH, POSSIBLE_DUPLICATE, MISSING_CARD_DATA)
    ORDER = (MISMATCH, NEEDS_REVIEW, UNKNOWN, POSSIBLE_DUPLICATE, MISSING_CARD_DATA)


# ------------------------------------------------------------------------------------------ the day


def stores_for_user(user: AbstractBaseUser | AnonymousUser, perm: str = access.VIEW_RECONCILIATION) -> QuerySet[Store]:
    """The stores whose dashboard (or, with ``perm``, whose actions) the user may use: their own stores as a
    supervisor or manager, every store for owners and admins."""
    return access.stores_for(user, perm)


def store_today(store: Store) -> date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(store.time_zone)).date()


def local_day(store: Store, moment: datetime) -> date:
    return moment.astimezone(zoneinfo.ZoneInfo(store.time_zone)).date()


def day_bounds(store: Store, day: date) -> tuple[datetime, datetime]:
    """[00:00, next 00:00) of `day` in the store's time zone, in UTC (23 or 25 hours on DST days)."""
    tz = zoneinfo.ZoneInfo(store.time_zone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def day_attempts(store: Store, day: date) -> QuerySet[PaymentAttempt]:
    start, end = day_bounds(store, day)
    return PaymentAttempt.objects.filter(store=store, created_at__gte=start, created_at__lt=end)


# --------------------------------------------------------------------------------------------- totals


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
                cursor.execute("SET LOCAL work_mem = %s", [settings.CONSOLE_DASHBOARD_WORK_MEM])
        yield


def day_totals(store: Store, day: date) -> DayTotals:
    """Two aggregate queries: the day's attempts grouped by (lane, terminal, batch, brand, status), and
    the approved refunds of those attempts grouped the same way; every table is rolled up from them."""
    start, end = day_bounds(store, day)
    groups = list(
        day_attempts(store, day)
        .values("lane_id", "terminal_id", "batch_num", "card_brand", "status")
        .annotate(n=Count("id"), amount=Sum("amount"), tip=Sum("tip"))
        .order_by()
    )
    refunds = list(
        # A refund is never older than its payment: created_at >= start lets the (status, created_at)
        # index bound the refunds read, however many the store has.
        Refund.objects.filter(status=S.APPROVED, created_at__gte=start, attempt__store=store,
                              attempt__created_at__gte=start, attempt__created_at__lt=end)
        .values("attempt__lane_id", "attempt__terminal_id", "attempt__batch_num", "attempt__card_brand")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by()
    )
    summary = Line(key=())
    statuses = {s: StatusLine(s) for s in S.values}
    lanes: dict[tuple, Line] = {}
    batches: dict[tuple, Line] = {}
    brands: dict[tuple, Line] = {}

    def lines_for(lane_id: int, terminal_id: int, batch: str, brand: str, status: str | None) -> list[Line]:
        # Batches and brands are about what was charged: approvals (and their refunds) only.
        out = [lanes.setdefault((lane_id, terminal_id), Line(key=(lane_id, terminal_id)))]
        if status in (None, S.APPROVED):
            out.append(batches.setdefault((terminal_id, batch), Line(key=(terminal_id, batch))))
            out.append(brands.setdefault((brand,), Line(key=(brand,))))
        return out

    for g in groups:
        amount, tip = g["amount"] or 0, g["tip"] or 0
        status_line = statuses[g["status"]]
        status_line.count += g["n"]
        status_line.amount += amount
        status_line.tip += tip
        _add(summary, g["status"], g["n"], amount, tip)
        for line in lines_for(g["lane_id"], g["terminal_id"], g["batch_num"], g["card_brand"], g["status"]):
            _add(line, g["status"], g["n"], amount, tip)
    for r in refunds:
        summary.refunded += r["amount"] or 0
        summary.refunds += r["n"]
        for line in lines_for(r["attempt__lane_id"], r["attempt__terminal_id"], r["attempt__batch_num"],
                              r["attempt__card_brand"], None):
            line.refunded += r["amount"] or 0
            line.refunds += r["n"]

    lane_codes = dict(Lane.objects.filter(pk__in={k[0] for k in lanes}).values_list("pk", "code"))
    devices = dict(Terminal.objects.filter(pk__in={k[1] for k in lanes} | {k[0] for k in batches})
                   .values_list("pk", "device"))
    for (lane_id, terminal_id), line in lanes.items():
        line.label = lane_codes.get(lane_id, f"lane #{lane_id}")
        line.sublabel = devices.get(terminal_id, f"terminal #{terminal_id}")
    for (terminal_id, batch), line in batches.items():
        line.label = batch or "no batch number"
        line.sublabel = devices.get(terminal_id, f"terminal #{terminal_id}")
    for (brand,), line in brands.items():
        line.label = brand or "no brand"
    return DayTotals(
        summary=summary,
        by_status=[line for line in statuses.values() if line.count],
        by_lane=sorted(lanes.values(), key=lambda x: (_natural(x.label), x.sublabel)),
        by_batch=sorted((b for b in batches.values() if b.approved or b.refunded),
                        key=lambda x: (x.sublabel, x.label)),
        by_brand=sorted((b for b in brands.values() if b.approved or b.refunded),
                        key=lambda x: -x.approved_total),
    )


def _natural(text: str) -> tuple:
    """L2 before L10."""
    digits = "".join(c for c in text if c.isdigit())
    return (text.rstrip("0123456789"), int(digits) if digits else 0, text)


# ------------------------------------------------------------------------------------------ exceptions


@dataclass
class DayException:
    kind: str
    attempt_id: int
    created_at: datetime
    status: str
    lane: str
    device: str
    total: int
    currency: str
    mch_order_no: str
    card_last4: str
    detail: str
    related_id: int | None = None
    past_window: bool = False  # UNKNOWN only: its polling window has ended, so a person may close it

    @property
    def label(self) -> str:
        return ExceptionKind.LABELS[self.kind]

    @property
    def total_display(self) -> str:
        return format_money(self.total, self.currency)

    @property
    def closable(self) -> bool:
        return (self.kind in ExceptionKind.CLOSABLE_BY_NOTE or self.kind == ExceptionKind.NEEDS_REVIEW
                or (self.kind == ExceptionKind.UNKNOWN and self.past_window))

    @property
    def needs_outcome(self) -> bool:
        """Closing it means saying what happened (and on what evidence), not only why it is no problem."""
        return self.kind in (ExceptionKind.NEEDS_REVIEW, ExceptionKind.UNKNOWN)


@dataclass(frozen=True)
class ClosedException:
    exception: DayException
    note: PaymentEvent  # who (actor), when (created_at), why (data["reason"])


_EXCEPTION_FIELDS = ("id", "created_at", "status", "lane__code", "terminal__device", "amount", "tip", "currency",
                     "mch_order_no", "card_last4", "card_brand", "auth_num", "message")


def _exception(kind: str, row: dict[str, Any], detail: str, related_id: int | None = None) -> DayException:
    return DayException(
        kind=kind, attempt_id=row["id"], created_at=row["created_at"], status=row["status"],
        lane=row["lane__code"], device=row["terminal__device"], total=row["amount"] + row["tip"],
        currency=row["currency"], mch_order_no=row["mch_order_no"], card_last4=row["card_last4"],
        detail=detail, related_id=related_id,
    )


def _missing(row: dict[str, Any]) -> str:
    names = [label for key, label in (("card_brand", "card brand"), ("card_last4", "card last 4"),
                                      ("auth_num", "authorisation number")) if not row[key]]
    return f"Approved without {', '.join(names)}: the receipt and the batch cannot be matched."


def duplicate_window() -> timedelta:
    return timedelta(minutes=settings.CONSOLE_DUPLICATE_WINDOW_MINUTES)


def possible_duplicates(store: Store, day: date) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Approvals of the day that follow another approval with the same card last 4 and total, on any lane
    of the store, within the window: (later attempt, earlier attempt). One window query (LAG over
    card_last4, total ordered by time) on the few columns it needs, then the pairs' details; the range
    starts one window early so a pair across midnight counts."""
    start, end = day_bounds(store, day)
    window = duplicate_window()
    last4: Any = F("card_last4")
    if connection.vendor == "postgresql":
        # Grouping needs equality only: bytewise comparison sorts a busy day's approvals several times
        # faster than the database's language collation.
        last4 = Collate(last4, "C")
    partition = [last4, F("amount") + F("tip")]
    order = [F("created_at").asc(), F("id").asc()]
    pairs = [
        (later, earlier) for later, earlier, at in
        PaymentAttempt.objects.filter(store=store, status=S.APPROVED, created_at__gte=start - window,
                                      created_at__lt=end)
        .exclude(card_last4="")
        .annotate(prev_id=Window(Lag("id"), partition_by=partition, order_by=order),
                  prev_at=Window(Lag("created_at"), partition_by=partition, order_by=order))
        .filter(prev_at__gte=F("created_at") - window)
        .values_list("id", "prev_id", "created_at")
        .order_by()
        if at >= start
    ]
    details = {r["id"]: r for r in PaymentAttempt.objects.filter(pk__in={i for pair in pairs for i in pair})
               .values(*_EXCEPTION_FIELDS)}
    return [(details[later], details[earlier]) for later, earlier in pairs if later in details and earlier in details]


def latest_run(store: Store, day: date, *, finished: bool = False) -> VerificationRun | None:
    runs = VerificationRun.objects.filter(store=store, day=day).select_related("started_by", "store")
    if finished:
        runs = runs.filter(status=VerificationRun.Status.FINISHED)
    return runs.order_by("-started_at", "-pk").first()


def closed_exceptions(attempt_ids: Iterable[int]) -> dict[tuple[int, str], PaymentEvent]:
    """(attempt id, kind) → the note that closed it."""
    notes = PaymentEvent.objects.filter(
        attempt_id__in=list(attempt_ids), kind=PaymentEvent.Kind.NOTE, cause__startswith=CLOSED_NOTE_PREFIX
    ).select_related("actor").order_by("pk")
    return {(n.attempt_id, str(n.data.get("exception", ""))): n for n in notes}


def day_exception_report(store: Store, day: date) -> tuple[list[DayException], list[ClosedException]]:
    """The day's open exceptions, most serious first, and those a person closed with a note (newest first).

    Closing notes are looked up only for the attempts found, never over the day's whole event history."""
    base = day_attempts(store, day).order_by()
    found: list[DayException] = []
    local_time = zoneinfo.ZoneInfo(store.time_zone)
    open_rows = base.filter(status__in=[S.UNKNOWN, S.NEEDS_REVIEW]).annotate(
        past_window=ExpressionWrapper(Q(poll_deadline__lte=Now()), output_field=BooleanField()))
    for row in open_rows.values(*_EXCEPTION_FIELDS, "past_window"):
        if row["status"] == S.UNKNOWN:
            detail = ("IOTPay has not given a final outcome, and the console's polling window has ended: check "
                      "IOTPay's portal and close it by hand." if row["past_window"] else
                      "IOTPay has not given a final outcome yet; the console is still asking. Do not charge "
                      "the customer again.")
            exception = _exception(ExceptionKind.UNKNOWN, row, detail)
            exception.past_window = bool(row["past_window"])
            found.append(exception)
        else:
            found.append(_exception(ExceptionKind.NEEDS_REVIEW, row, row["message"] or
                                    "No final outcome from IOTPay. Check the terminal's own record."))
    for row in base.filter(Q(card_brand="") | Q(card_last4="") | Q(auth_num=""), status=S.APPROVED).values(
            *_EXCEPTION_FIELDS):
        found.append(_exception(ExceptionKind.MISSING_CARD_DATA, row, _missing(row)))
    for later, earlier in possible_duplicates(store, day):
        seconds = round((later["created_at"] - earlier["created_at"]).total_seconds())
        gap = f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"
        when = earlier["created_at"].astimezone(local_time).strftime("%H:%M:%S")
        found.append(_exception(
            ExceptionKind.POSSIBLE_DUPLICATE, later,
            f"Same card ••••{later['card_last4']} and total as #{earlier['id']} on {earlier['lane__code']} "
            f"at {when}, {gap} earlier. Check it was not charged twice.", related_id=earlier["id"]))
    run = latest_run(store, day, finished=True)
    if run is not None:
        findings = (VerificationFinding.objects.filter(run=run, kind=VerificationFinding.Kind.MISMATCH,
                                                       cleared_at__isnull=True)
                    .values("attempt_id", "detail"))
        details = {f["attempt_id"]: f["detail"] for f in findings}
        for row in PaymentAttempt.objects.filter(pk__in=details).values(*_EXCEPTION_FIELDS):
            found.append(_exception(ExceptionKind.MISMATCH, row, details[row["id"]]))
    closed = closed_exceptions({e.attempt_id for e in found})
    order = {kind: i for i, kind in enumerate(ExceptionKind.ORDER)}
    still_open = sorted((e for e in found if (e.attempt_id, e.kind) not in closed),
                        key=lambda e: (order[e.kind], e.created_at, e.attempt_id))
    done = sorted((ClosedException(e, closed[(e.attempt_id, e.kind)]) for e in found
                   if (e.attempt_id, e.kind) in closed), key=lambda c: -c.note.pk)
    return still_open, done


def day_exceptions(store: Store, day: date) -> list[DayException]:
    """Open exceptions of the day, most serious first; those closed by a person's note are left out."""
    return day_exception_report(store, day)[0]


# ----------------------------------------------------------------------------------- verification runs


GATEWAY_STATUS_LABELS = {0: "created", 1: "paying", 2: "paid", 3: "paid", 4: "cancelled by the system",
                         9: "cancelled / not paid"}


def verification_stalled_after() -> timedelta:
    """A running run whose steps stopped this long ago lost its task (worker killed): it may be resumed."""
    return timedelta(seconds=max(60.0, 10 / max(settings.CONSOLE_VERIFY_RATE, 0.01)))


# ------------------------------------------------------------------------------------------- export

EXPORT_HEADER = ("created_at", "lane", "terminal_device", "mch_order_no", "pay_order_id", "status", "amount",
                 "tip", "total", "currency", "card_brand", "card_last4", "auth_num", "batch_num", "receipt_disp",
                 "refunded", "finalized_at")


def day_export_values(store: Store, day: date) -> QuerySet:
    """Tuples in EXPORT_HEADER's order (times still UTC): no model instances, refunds summed by a subquery."""
    refunded = (Refund.objects.filter(attempt=OuterRef("pk"), status=S.APPROVED).order_by()
                .values("attempt").annotate(s=Sum("amount")).values("s"))
    return (
        day_attempts(store, day)
        .annotate(total_cents=F("amount") + F("tip"),
                  refunded_cents=Coalesce(Subquery(refunded, output_field=IntegerField()), Value(0)))
        .order_by("created_at", "id")
        .values_list("created_at", "lane__code", "terminal__device", "mch_order_no", "pay_order_id", "status",
                     "amount", "tip", "total_cents", "currency", "card_brand", "card_last4", "auth_num",
                     "batch_num", "receipt_disp", "refunded_cents", "finalized_at")
    )
