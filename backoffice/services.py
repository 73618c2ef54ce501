"""Back-office state changes: "verify the day" runs, re-querying and closing exceptions.

Attempts still change only through `payments.services`; what is written here is the run, its findings
and notes on attempts. No transaction is held while IOTPay is asked.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from backoffice.models import VerificationFinding, VerificationRun
from backoffice.selectors import (
    CLOSED_NOTE_PREFIX,
    GATEWAY_STATUS_LABELS,
    ExceptionKind,
    closed_exceptions,
    day_attempts,
    day_bounds,
    verification_stalled_after,
)
from lanes.models import Store
from payments.gateway import client_for
from payments.iotpay import IOTPayClient, IOTPayError, OrderNotFound, PayOrder
from payments.models import FINAL_STATUSES, AttemptStatus, PaymentAttempt
from payments.queue import POLL_ATTEMPT, enqueue, enqueue_on_commit
from payments.services import attempt_requery, attempt_resolve, order_differences
from payments.services.transitions import record_exchange, record_note

S = AttemptStatus
VERIFY_DAY_STEP = "backoffice.tasks.verify_day_step"  # named, not imported: the task module imports this one
Finding = VerificationFinding.Kind
log = logging.getLogger(__name__)


class ExceptionNotOpen(Exception):
    """The exception was already closed, or the attempt moved on (it no longer needs review)."""


# --------------------------------------------------------------------------------- comparing with IOTPay


def _gateway_text(status: int | None) -> str:
    if status is None:
        return "IOTPay has no such order"
    return f"IOTPay reports status {status} ({GATEWAY_STATUS_LABELS.get(status, 'unknown')})"


def compare_with_gateway(attempt: PaymentAttempt, order: PayOrder | None) -> str:
    """Why a final attempt disagrees with IOTPay's order ("" when they agree); `order` None = not found.

    Paid (2/3) must go with APPROVED, anything else with DECLINED/FAILED; an approval must also be for
    our amount. A FAILED attempt IOTPay never heard of agrees (refused before an order existed).
    """
    status = order.status if order is not None else None
    paid = order is not None and order.paid
    if attempt.status == S.APPROVED and not paid:
        return f"Approved here, but {_gateway_text(status)}: the money may not have been taken."
    if attempt.status in (S.DECLINED, S.FAILED) and paid:
        return (f"{attempt.status.title()} here, but {_gateway_text(status)}: "
                "the customer may have been charged.")
    if attempt.status == S.APPROVED and order is not None and (differences := order_differences(attempt, order)):
        return f"IOTPay's order differs from ours: {differences}."
    return ""


@dataclass(frozen=True)
class GatewayCheck:
    order: PayOrder | None
    error: str = ""

    @property
    def status(self) -> int | None:
        return self.order.status if self.order is not None else None


def _query(client: IOTPayClient, attempt: PaymentAttempt, *, cause: str) -> GatewayCheck:
    """One query_order, recorded as an event. Called with no transaction open."""
    try:
        result = client.query_order(mch_order_no=attempt.mch_order_no)
    except OrderNotFound as exc:
        record_exchange(attempt.pk, exc.exchange, cause=f"{cause}: IOTPay has no such order")
        return GatewayCheck(order=None)
    except (IOTPayError, ValueError) as exc:
        record_exchange(attempt.pk, getattr(exc, "exchange", None), cause=f"{cause}: {exc}")
        return GatewayCheck(order=None, error=str(exc)[:200] or exc.__class__.__name__)
    record_exchange(attempt.pk, result.exchange, cause=cause)
    return GatewayCheck(order=result.order)


def _apply_late_result(attempt: PaymentAttempt) -> str:
    """IOTPay has a final outcome for an attempt we still call open: let the payments services apply it.

    Returns what happened, or "" when the attempt stays open (e.g. IOTPay's amount differs from ours)."""
    if attempt.status == S.NEEDS_REVIEW:
        after = attempt_requery(attempt_id=attempt.pk)
        return f"now {after.status}" if after.status != S.NEEDS_REVIEW else ""
    if attempt.status == S.UNKNOWN:
        enqueue(POLL_ATTEMPT, attempt.pk)
        return "a poll was queued to apply it"
    return ""


# ------------------------------------------------------------------------------------ verify the day


def verification_start(*, store: Store, day: date, user: AbstractBaseUser | None) -> VerificationRun:
    """Start verifying the store's day, or return the run already doing it (resumed if its task died)."""
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).first()  # one start at a time per store
        running = VerificationRun.objects.filter(store=store, day=day, status=VerificationRun.Status.RUNNING).first()
        if running is not None:
            if running.updated_at < timezone.now() - verification_stalled_after():
                running.save(update_fields=["updated_at"])
                cursor = running.cursor
                enqueue_on_commit(VERIFY_DAY_STEP, running.pk, cursor)
                log.warning("verification run %s had stalled; resumed after attempt %s", running.pk, cursor)
            return running
        counts = day_attempts(store, day).aggregate(total=Count("id"), last=Max("id"))
        run = VerificationRun.objects.create(
            store=store, day=day, started_by=user if user is not None and user.is_authenticated else None,
            total=counts["total"], last_attempt_id=counts["last"] or 0,
        )
        if run.total == 0:
            VerificationRun.objects.filter(pk=run.pk).update(status=VerificationRun.Status.FINISHED,
                                                             finished_at=timezone.now())
            run.refresh_from_db()
        else:
            enqueue_on_commit(VERIFY_DAY_STEP, run.pk, 0)
    return run


@dataclass(frozen=True)
class StepResult:
    next_cursor: int | None  # None: the run is finished (or this delivery was a duplicate)
    pause: float = 0.0  # seconds to wait before the next step, to keep to CONSOLE_VERIFY_RATE


def _chunk_size() -> int:
    return max(1, round(settings.CONSOLE_VERIFY_RATE))


def verification_step(*, run_id: int, cursor: int) -> StepResult:
    """Check the next chunk of attempts (one second's worth at CONSOLE_VERIFY_RATE) after `cursor`.

    The chunk is claimed by moving the run's cursor in a short transaction, only if it is still at
    `cursor`: a task delivered twice claims nothing the second time. The queries run afterwards with
    no transaction open.
    """
    started = time.monotonic()
    size = _chunk_size()
    with transaction.atomic():
        run = (VerificationRun.objects.select_for_update().select_related("store", "store__merchant")
               .filter(pk=run_id, status=VerificationRun.Status.RUNNING, cursor=cursor).first())
        if run is None:
            return StepResult(None)
        start, end = day_bounds(run.store, run.day)
        chunk = list(
            PaymentAttempt.objects.filter(store=run.store, created_at__gte=start, created_at__lt=end,
                                          pk__gt=cursor, pk__lte=run.last_attempt_id)
            .order_by("pk")[:size]
        )
        if chunk:
            VerificationRun.objects.filter(pk=run.pk).update(cursor=chunk[-1].pk, updated_at=timezone.now())
    counts = {"done": 0, "mismatches": 0, "errors": 0, "applied": 0}
    if chunk:
        client = client_for(run.store.merchant)
        for attempt in chunk:
            kind = _verify_one(run, client, attempt)
            counts["done"] += 1
            if kind is not None:
                counts[{Finding.MISMATCH: "mismatches", Finding.ERROR: "errors", Finding.APPLIED: "applied"}[kind]] += 1
    finished = len(chunk) < size
    fields = {name: F(name) + value for name, value in counts.items() if value}
    if finished:
        fields.update(status=VerificationRun.Status.FINISHED, finished_at=timezone.now())
    VerificationRun.objects.filter(pk=run.pk).update(updated_at=timezone.now(), **fields)
    if finished:
        return StepResult(None)
    spent = time.monotonic() - started
    return StepResult(chunk[-1].pk, pause=max(0.0, len(chunk) / settings.CONSOLE_VERIFY_RATE - spent))


def _verify_one(run: VerificationRun, client: IOTPayClient, attempt: PaymentAttempt) -> str | None:
    if attempt.status in (S.CREATED, S.SENT):
        return None  # in flight right now: the payment's own task will settle it
    check = _query(client, attempt, cause="verify the day: query_order")
    if check.error:
        detail = f"No usable answer from IOTPay: {check.error}"
        return _finding(run, attempt, Finding.ERROR, check, detail)
    if attempt.status in FINAL_STATUSES:
        problem = compare_with_gateway(attempt, check.order)
        return _finding(run, attempt, Finding.MISMATCH, check, problem) if problem else None
    if check.order is not None and check.order.final and (applied := _apply_late_result(attempt)):
        detail = f"{attempt.status} here; {_gateway_text(check.status)}: {applied}."
        return _finding(run, attempt, Finding.APPLIED, check, detail)
    return None


def _finding(run: VerificationRun, attempt: PaymentAttempt, kind: str, check: GatewayCheck, detail: str) -> str:
    VerificationFinding.objects.update_or_create(
        run=run, attempt=attempt,
        defaults={"kind": kind, "local_status": attempt.status, "gateway_status": check.status,
                  "detail": detail[:255]},
    )
    return kind


# ---------------------------------------------------------------------------------------- exceptions


def exception_requery(*, attempt_id: int, user: AbstractBaseUser) -> str:
    """A manager's Re-query: what the console now knows, in a sentence for the page.

    NEEDS_REVIEW: `attempt_requery` (a final result is applied). UNKNOWN: one more poll is queued.
    Final attempts: IOTPay is asked and the answer recorded; a mismatch found earlier is cleared when
    both now agree.
    """
    attempt = PaymentAttempt.objects.select_related("merchant").get(pk=attempt_id)
    if attempt.status == S.NEEDS_REVIEW:
        after = attempt_requery(attempt_id=attempt_id)
        if after.status == S.NEEDS_REVIEW:
            return f"#{attempt_id}: IOTPay still has no final outcome; it still needs review."
        return f"#{attempt_id}: IOTPay had a final outcome; the payment is now {after.status}."
    if attempt.status == S.UNKNOWN:
        enqueue(POLL_ATTEMPT, attempt_id)
        return f"#{attempt_id}: asking IOTPay again; the result appears here when it comes."
    if attempt.status not in FINAL_STATUSES:
        return f"#{attempt_id} is still being sent to the terminal; nothing to re-query yet."
    check = _query(client_for(attempt.merchant), attempt,
                   cause=f"re-query from the reconciliation dashboard by {user.get_username()}")
    if check.error:
        return f"#{attempt_id}: no usable answer from IOTPay ({check.error}). Try again later."
    problem = compare_with_gateway(attempt, check.order)
    if problem:
        return f"#{attempt_id}: {problem}"
    cleared = VerificationFinding.objects.filter(attempt_id=attempt_id, kind=Finding.MISMATCH,
                                                 cleared_at__isnull=True).update(cleared_at=timezone.now())
    note = " The earlier mismatch is cleared." if cleared else ""
    return f"#{attempt_id}: {_gateway_text(check.status)}, which agrees with {attempt.status}.{note}"


REASON_MAX = 500


def exception_close(*, attempt_id: int, kind: str, reason: str, user: AbstractBaseUser,
                    outcome: str = "", evidence: str = "") -> PaymentAttempt:
    """A manager closes an exception with a reason: an attempt needing review (or UNKNOWN past its polling
    window) is resolved with the outcome they established and the evidence they checked (`attempt_resolve`);
    other kinds get a note naming the kind, the reason, who and when, and the dashboard stops listing them.
    Raises ValueError on bad input."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("Write why the exception can be closed.")
    if len(reason) > REASON_MAX:
        raise ValueError(f"Keep the reason under {REASON_MAX} characters.")
    attempt = PaymentAttempt.objects.get(pk=attempt_id)
    if kind in (ExceptionKind.NEEDS_REVIEW, ExceptionKind.UNKNOWN):
        if outcome not in (S.APPROVED, S.DECLINED, S.FAILED):
            raise ValueError("Choose the outcome you established: approved, declined or failed.")
        resolved = attempt_resolve(attempt_id=attempt_id, status=outcome, user=user, reason=reason,
                                   evidence=evidence)
        if resolved is None:
            if attempt.status == S.UNKNOWN:
                raise ExceptionNotOpen(f"#{attempt_id}: the console is still asking IOTPay within its window; "
                                       "wait for it to end, or re-query.")
            raise ExceptionNotOpen(f"#{attempt_id} no longer needs review (it is {attempt.status}).")
        return resolved
    if kind not in ExceptionKind.CLOSABLE_BY_NOTE:
        raise ValueError("Unknown kind of exception.")
    with transaction.atomic():
        PaymentAttempt.objects.select_for_update().filter(pk=attempt_id).first()  # one close at a time
        if (attempt_id, kind) in closed_exceptions([attempt_id]):
            raise ExceptionNotOpen(f"This exception of #{attempt_id} was already closed.")
        record_note(attempt_id, cause=f"{CLOSED_NOTE_PREFIX} {kind}: {reason}", actor=user,
                    data={"exception": kind, "reason": reason})
    return attempt
