"""Reads of the reconciliation dashboard: a store's business day, its exceptions, its CSV rows (its totals:
``backoffice.totals``).

Every figure is computed by PostgreSQL (or SQLite) over the day's range of `created_at`, which the
`attempt_store_created` index (store, created_at) serves; Python only rolls up a few hundred groups.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
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
from django.utils.translation import gettext, gettext_lazy

from backoffice.day_statements import ExceptionKey, exception_keys, exception_rows_of
from backoffice.exception_kinds import EXCEPTION_FIELDS, ExceptionKind, ExceptionRow
from backoffice.models import VerificationFinding, VerificationRun
from backoffice.open_exceptions import (
    ClosedException,
    DayException,
    Found,
    Load,
    OpenExceptions,
    built,
    exception_of,
    most_serious_first,
)
from backoffice.sentences import said
from lanes import access
from lanes.models import Store
from payments import day_summary
from payments.models import AttemptStatus, DayCard, PaymentAttempt, PaymentEvent, Refund

S = AttemptStatus
CLOSED_NOTE_PREFIX = "exception closed:"


# ------------------------------------------------------------------------------------------ the day


def stores_for_user(user: access.User, perm: str = access.VIEW_RECONCILIATION) -> QuerySet[Store]:
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


# ------------------------------------------------------------------------------------------ exceptions


def _missing(row: dict[str, Any]) -> str:
    names = [str(label) for key, label in (("card_brand", gettext_lazy("card brand")),
                                           ("card_last4", gettext_lazy("card last 4")),
                                           ("auth_num", gettext_lazy("authorisation number"))) if not row[key]]
    return gettext("Approved without {missing}: the receipt and the batch cannot be matched.").format(
        missing=", ".join(names))


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
    approvals = (PaymentAttempt.objects.filter(store=store, status=S.APPROVED, created_at__gte=start - window,
                                               created_at__lt=end)
                 .exclude(card_last4=""))
    if day_summary.kept():
        approvals = approvals.filter(_may_repeat(store, day, start + window))
    pairs = [
        (later, earlier) for later, earlier, at in
        approvals
        .annotate(prev_id=Window(Lag("id"), partition_by=partition, order_by=order),
                  prev_at=Window(Lag("created_at"), partition_by=partition, order_by=order))
        .filter(prev_at__gte=F("created_at") - window)
        .values_list("id", "prev_id", "created_at")
        .order_by()
        if at >= start
    ]
    details = {r["id"]: r for r in PaymentAttempt.objects.filter(pk__in={i for pair in pairs for i in pair})
               .values(*EXCEPTION_FIELDS)}
    return [(details[later], details[earlier]) for later, earlier in pairs if later in details and earlier in details]


def _may_repeat(store: Store, day: date, early_end: datetime) -> Q:
    """The approvals a pair of the day can be made of: those with the last 4 of a card and total approved more
    than once that day (``DayCard``, kept by the database), and those of the day's first window (a pair across
    midnight). The window query then reads a few hundred approvals of the day instead of all of them, and finds
    the same pairs: each (last 4, total) partition it reads is either whole or holds no approval of the day after
    the first window."""
    last4s = sorted(set(DayCard.objects.filter(store=store, day=day, approvals__gte=2)
                        .values_list("card_last4", flat=True)))
    return Q(created_at__lt=early_end) | Q(card_last4__in=last4s)


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


def _unknown_detail(past_window: bool) -> str:
    if past_window:
        return gettext("The gateway has not given a final outcome, and the console's polling window has ended: check "
                       "the gateway's portal and close it by hand.")
    return gettext("The gateway has not given a final outcome yet; the console is still asking. Do not charge the "
                   "customer again.")


def _review_detail(message: str) -> str:
    return said(message) or gettext("No final outcome from the gateway. Check the terminal's own record.")


def _duplicate_detail(later: dict[str, Any], earlier: dict[str, Any], local_time: zoneinfo.ZoneInfo) -> str:
    seconds = round((later["created_at"] - earlier["created_at"]).total_seconds())
    gap = f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"
    when = earlier["created_at"].astimezone(local_time).strftime("%H:%M:%S")
    return gettext("Same card ••••{last4} and total as #{id} on {lane} at {when}, {gap} earlier. Check it was not "
                   "charged twice.").format(last4=later["card_last4"], id=earlier["id"], lane=earlier["lane__code"],
                                            when=when, gap=gap)


def _read_by_orm(store: Store, day: date, run: VerificationRun | None) -> list[ExceptionRow]:
    """Every exception of the day, open or closed, unsorted, by the ORM's reads; the mismatches are those of
    ``run``, the day's latest finished verification."""
    base = day_attempts(store, day).order_by()
    found: list[ExceptionRow] = []
    open_rows = base.filter(status__in=[S.UNKNOWN, S.NEEDS_REVIEW]).annotate(
        past_window=ExpressionWrapper(Q(poll_deadline__lte=Now()), output_field=BooleanField()))
    for row in open_rows.values(*EXCEPTION_FIELDS, "past_window"):
        kind = ExceptionKind.UNKNOWN if row["status"] == S.UNKNOWN else ExceptionKind.NEEDS_REVIEW
        found.append(ExceptionRow(kind, row))
    for row in base.filter(Q(card_brand="") | Q(card_last4="") | Q(auth_num=""), status=S.APPROVED).values(
            *EXCEPTION_FIELDS):
        found.append(ExceptionRow(ExceptionKind.MISSING_CARD_DATA, row))
    for later, earlier in possible_duplicates(store, day):
        found.append(ExceptionRow(ExceptionKind.POSSIBLE_DUPLICATE, later, earlier=earlier))
    if run is not None:
        findings = (VerificationFinding.objects.filter(run=run, kind=VerificationFinding.Kind.MISMATCH,
                                                       cleared_at__isnull=True)
                    .values("attempt_id", "detail"))
        details = {f["attempt_id"]: f["detail"] for f in findings}
        for row in PaymentAttempt.objects.filter(pk__in=details).values(*EXCEPTION_FIELDS):
            found.append(ExceptionRow(ExceptionKind.MISMATCH, row, finding=details[row["id"]]))
    return found


def _described(store: Store, rows: list[ExceptionRow]) -> list[Found]:
    """The exceptions read, each with the way to write its detail in the reader's language when it is shown."""
    # Many rows share a sentence ("no final outcome..."): each is recognised and translated once per report.
    review, finding = functools.cache(_review_detail), functools.cache(said)
    local_time = zoneinfo.ZoneInfo(store.time_zone)

    def described(found: ExceptionRow) -> Found:
        row, kind = found.row, found.kind
        if kind == ExceptionKind.UNKNOWN:
            return Found(kind, row, functools.partial(_unknown_detail, bool(row["past_window"])))
        if kind == ExceptionKind.NEEDS_REVIEW:
            return Found(kind, row, functools.partial(review, row["message"]))
        if kind == ExceptionKind.MISSING_CARD_DATA:
            return Found(kind, row, functools.partial(_missing, row))
        if kind == ExceptionKind.MISMATCH:
            return Found(kind, row, functools.partial(finding, found.finding or ""))
        assert found.earlier is not None  # a possible duplicate has its earlier attempt
        return Found(kind, row, functools.partial(_duplicate_detail, row, found.earlier, local_time),
                     related_id=found.earlier["id"])

    return [described(found) for found in rows]


def _found(store: Store, day: date, run: VerificationRun | None) -> list[Found]:
    """Every exception of the day by the ORM's reads, their details not written yet (SQLite's way)."""
    return _described(store, _read_by_orm(store, day, run))


def _found_and_closed(store: Store, day: date, run: VerificationRun | None
                      ) -> tuple[list[Found], dict[tuple[int, str], PaymentEvent]]:
    """Every exception of the day with its row, and the notes that closed some of them."""
    items, closed, load = _exceptions_and_closed(store, day, run)
    return built(items, load), closed


def _exceptions_and_closed(store: Store, day: date, run: VerificationRun | None
                           ) -> tuple[Sequence[Found | ExceptionKey], dict[tuple[int, str], PaymentEvent], Load | None]:
    """Every exception of the day, the notes that closed some of them, and how to read the rows of those found as
    keys. Where PostgreSQL keeps the day's cards, the hand-written statements (``backoffice.day_statements``) find
    keys, with their closing notes (a second statement reads those notes' authors when a note closed one), and the
    rows are read when shown; elsewhere (SQLite) the ORM's reads find each with its row."""
    if not day_summary.kept():
        found = _found(store, day, run)
        return found, closed_exceptions({f.row["id"] for f in found}), None
    start, end = day_bounds(store, day)
    keys = exception_keys(store.pk, day, start, end, run_id=None if run is None else run.pk,
                          window=duplicate_window(), closed_prefix=CLOSED_NOTE_PREFIX)
    closing = {k.closing_note_id: k.key for k in keys if k.closing_note_id is not None}
    notes = PaymentEvent.objects.filter(pk__in=closing).select_related("actor") if closing else []
    return keys, {closing[note.pk]: note for note in notes}, functools.partial(_rows_found, store)


def _rows_found(store: Store, keys: list[ExceptionKey]) -> list[Found]:
    return _described(store, exception_rows_of(keys))


@dataclass(frozen=True)
class ExceptionReport:
    open: OpenExceptions  # most serious first
    closed: list[ClosedException]  # newest first
    run: VerificationRun | None  # the day's latest verification, finished or not


def day_exception_report(store: Store, day: date) -> ExceptionReport:
    """The day's open exceptions, most serious first, those a person closed with a note (newest first), and the
    day's latest verification run (its mismatches are among the exceptions once it has finished).

    Closing notes are looked up only for the attempts found, never over the day's whole event history. The open
    ones are counted and sorted on their keys; each is built (its row read, where the statements found it as a key)
    only when read: a page of them."""
    run = latest_run(store, day)
    finished = run if run is None or run.status == VerificationRun.Status.FINISHED else latest_run(
        store, day, finished=True)
    items, closed, load = _exceptions_and_closed(store, day, finished)
    still_open = sorted((item for item in items if item.key not in closed), key=most_serious_first)
    done = sorted((ClosedException(exception_of(f), closed[f.key])
                   for f in built([item for item in items if item.key in closed], load)),
                  key=lambda c: -c.note.pk)
    return ExceptionReport(OpenExceptions(still_open, load), done, run)


def day_exceptions(store: Store, day: date) -> list[DayException]:
    """Open exceptions of the day, most serious first; those closed by a person's note are left out."""
    return list(day_exception_report(store, day).open)


# ----------------------------------------------------------------------------------- verification runs




def verification_stalled_after() -> timedelta:
    """A running run whose steps stopped this long ago lost its task (worker killed): it may be resumed."""
    return timedelta(seconds=max(60.0, 10 / max(settings.CONSOLE_VERIFY_RATE, 0.01)))


# ------------------------------------------------------------------------------------------- export

def day_export_values(store: Store, day: date) -> QuerySet[PaymentAttempt, tuple[Any, ...]]:
    """Tuples in ``payments.contract.EXPORT_HEADER``'s order (times still UTC): no model instances, refunds summed by a subquery."""
    refunded = (Refund.objects.filter(attempt=OuterRef("pk"), status=S.APPROVED).order_by()
                .values("attempt").annotate(s=Sum("amount")).values("s"))
    return (
        day_attempts(store, day)
        .annotate(total_cents=F("amount") + F("tip"),
                  refunded_cents=Coalesce(Subquery(refunded, output_field=IntegerField()), Value(0)))
        .order_by("created_at", "id")
        .values_list("created_at", "lane__code", "terminal__device", "order_reference", "gateway_reference", "status",
                     "amount", "tip", "total_cents", "currency", "card_brand", "card_last4", "auth_num",
                     "batch_num", "terminal_text", "refunded_cents", "finalized_at", "reference")
    )
