"""Back-office state changes: "verify the day" runs, re-querying and closing exceptions.

Attempts still change only through `payments.services`; what is written here is the run, its findings
and notes on attempts. Gateway look-ups go through the gateway door, with no transaction open.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, F, Max
from django.utils import timezone
from django.utils.translation import gettext

from backoffice import sentences
from backoffice.exception_kinds import ExceptionKind
from backoffice.models import VerificationFinding, VerificationRun
from backoffice.selectors import (
    closed_exceptions,
    day_attempts,
    day_bounds,
    verification_stalled_after,
)
from gateways.base import GatewayError, OrderState, Outcome
from lanes.models import Store
from payments import causes
from payments.models import FINAL_STATUSES, AttemptStatus, PaymentAttempt
from payments.queue import POLL_ATTEMPT, enqueue, enqueue_on_commit
from payments.services import attempt_requery, attempt_resolve, order_differences
from payments.services.door import Door, gateway_door
from payments.services.transitions import exchange_causes, record_exchanges, record_note

S = AttemptStatus
VERIFY_DAY_STEP = "backoffice.tasks.verify_day_step"  # named, not imported: the task module imports this one
Finding = VerificationFinding.Kind
log = logging.getLogger(__name__)


class ExceptionNotOpen(Exception):
    """The exception was already closed, or the attempt moved on (it no longer needs review)."""


# ------------------------------------------------------------------------------ comparing with the gateway


def _gateway_text(name: str, order: OrderState | None) -> str:
    if order is None or order.outcome is Outcome.NOT_FOUND:
        return sentences.HAS_NO_SUCH_ORDER.format(name=name)
    return sentences.REPORTS_IT.format(name=name, outcome=sentences.OUTCOME_WORDS[order.outcome])


def compare_with_gateway(attempt: PaymentAttempt, order: OrderState | None) -> str:
    """Why a final attempt disagrees with the gateway's order ("" when they agree); `order` None = not found.
    In English, as it is stored (``sentences.said`` shows it in the reader's language).

    Paid must go with APPROVED, anything else with DECLINED/FAILED; an approval must also be for our
    amount. A FAILED attempt the gateway never heard of agrees (refused before an order existed).
    """
    name = attempt.merchant.gateway_name
    paid = order is not None and order.outcome is Outcome.PAID
    if attempt.status == S.APPROVED and not paid:
        return sentences.APPROVED_NOT_TAKEN.format(gateway=_gateway_text(name, order))
    if attempt.status in (S.DECLINED, S.FAILED) and paid:
        charged = sentences.DECLINED_CHARGED if attempt.status == S.DECLINED else sentences.FAILED_CHARGED
        return charged.format(gateway=_gateway_text(name, order))
    if attempt.status == S.APPROVED and order is not None and (differences := order_differences(attempt, order)):
        return sentences.ORDER_DIFFERS.format(name=name, differences=differences)
    return ""


@dataclass(frozen=True)
class GatewayCheck:
    order: OrderState | None  # None: no such order (or no answer: see ``error``)
    error: str = ""

    @property
    def outcome(self) -> str:
        if self.error:
            return ""
        return self.order.outcome.value if self.order is not None else Outcome.NOT_FOUND.value


def _look_up(door: Door, attempt: PaymentAttempt, *, cause: str) -> GatewayCheck:
    """One look-up through the door, recorded as events."""
    try:
        order = door.call(attempt.merchant, "look up", lambda gateway: gateway.lookup(attempt.order_reference))
    except GatewayError as exc:
        record_exchanges(attempt.pk, exchange_causes(exc.exchanges, causes.STEP.format(step=cause, found=exc)))
        return GatewayCheck(order=None, error=str(exc)[:200] or exc.__class__.__name__)
    record_exchanges(attempt.pk, exchange_causes(order.exchanges, causes.STEP.format(step=cause, found=order.outcome.value)))
    return GatewayCheck(order=None if order.outcome is Outcome.NOT_FOUND else order)


def _apply_late_result(attempt: PaymentAttempt) -> str:
    """The gateway has a final outcome for an attempt we still call open: let the payments services apply it.

    Returns what happened, or "" when the attempt stays open (e.g. the gateway's amount differs from ours)."""
    if attempt.status == S.NEEDS_REVIEW:
        after = attempt_requery(attempt_id=attempt.pk)
        return sentences.NOW_STATUS.format(status=after.status) if after.status != S.NEEDS_REVIEW else ""
    if attempt.status == S.UNKNOWN:
        enqueue(POLL_ATTEMPT, attempt.pk)
        return sentences.POLL_QUEUED
    return ""


# ------------------------------------------------------------------------------------ verify the day


def verification_start(*, store: Store, day: date, user: User | None) -> VerificationRun:
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
    with gateway_door() as door:
        for attempt in chunk:
            attempt.merchant = run.store.merchant
            kind = _verify_one(door, run, attempt)
            counts["done"] += 1
            if kind is not None:
                counts[{Finding.MISMATCH: "mismatches", Finding.ERROR: "errors", Finding.APPLIED: "applied"}[kind]] += 1
    finished = len(chunk) < size
    fields: dict[str, Any] = {name: F(name) + value for name, value in counts.items() if value}
    if finished:
        fields.update(status=VerificationRun.Status.FINISHED, finished_at=timezone.now())
    VerificationRun.objects.filter(pk=run.pk).update(updated_at=timezone.now(), **fields)
    if finished:
        return StepResult(None)
    spent = time.monotonic() - started
    return StepResult(chunk[-1].pk, pause=max(0.0, len(chunk) / settings.CONSOLE_VERIFY_RATE - spent))


def _verify_one(door: Door, run: VerificationRun, attempt: PaymentAttempt) -> Finding | None:
    if attempt.status in (S.CREATED, S.SENT):
        return None  # in flight right now: the payment's own task will settle it
    check = _look_up(door, attempt, cause=causes.VERIFY_DAY)
    name = attempt.merchant.gateway_name
    if check.error:
        detail = sentences.NO_USABLE_ANSWER.format(name=name, error=check.error)
        return _finding(run, attempt, Finding.ERROR, check, detail)
    if attempt.status in FINAL_STATUSES:
        problem = compare_with_gateway(attempt, check.order)
        return _finding(run, attempt, Finding.MISMATCH, check, problem) if problem else None
    if check.order is not None and check.order.outcome.final and (applied := _apply_late_result(attempt)):
        detail = sentences.LATE_APPLIED.format(status=attempt.status, gateway=_gateway_text(name, check.order),
                                               applied=applied)
        return _finding(run, attempt, Finding.APPLIED, check, detail)
    return None


def _finding(run: VerificationRun, attempt: PaymentAttempt, kind: Finding, check: GatewayCheck,
             detail: str) -> Finding:
    VerificationFinding.objects.update_or_create(
        run=run, attempt=attempt,
        defaults={"kind": kind, "local_status": attempt.status, "gateway_outcome": check.outcome,
                  "detail": detail[:255]},
    )
    return kind


# ---------------------------------------------------------------------------------------- exceptions


def exception_requery(*, attempt_id: int, user: User) -> str:
    """A manager's Re-query: what the console now knows, in a sentence for the page.

    NEEDS_REVIEW: `attempt_requery` (a final result is applied). UNKNOWN: one more poll is queued.
    Final attempts: the gateway is asked and the answer recorded; a mismatch found earlier is cleared when
    both now agree.
    """
    attempt = PaymentAttempt.objects.select_related("merchant").get(pk=attempt_id)
    name = attempt.merchant.gateway_name
    if attempt.status == S.NEEDS_REVIEW:
        after = attempt_requery(attempt_id=attempt_id)
        if after.status == S.NEEDS_REVIEW:
            return gettext("#{id}: {name} still has no final outcome; it still needs review.").format(
                id=attempt_id, name=name)
        return gettext("#{id}: {name} had a final outcome; the payment is now {status}.").format(
            id=attempt_id, name=name, status=str(after.get_status_display()).lower())
    if attempt.status == S.UNKNOWN:
        enqueue(POLL_ATTEMPT, attempt_id)
        return gettext("#{id}: asking {name} again; the result appears here when it comes.").format(
            id=attempt_id, name=name)
    if attempt.status not in FINAL_STATUSES:
        return gettext("#{id} is still being sent to the terminal; nothing to re-query yet.").format(id=attempt_id)
    with gateway_door() as door:
        check = _look_up(door, attempt, cause=causes.REQUERY_BY.format(user=user.get_username()))
    if check.error:
        return gettext("#{id}: no usable answer from {name} ({error}). Try again later.").format(
            id=attempt_id, name=name, error=check.error)
    problem = compare_with_gateway(attempt, check.order)
    if problem:
        return f"#{attempt_id}: {sentences.said(problem)}"
    cleared = VerificationFinding.objects.filter(attempt_id=attempt_id, kind=Finding.MISMATCH,
                                                 cleared_at__isnull=True).update(cleared_at=timezone.now())
    found = gettext("#{id}: {gateway}, which agrees with {status}.").format(
        id=attempt_id, gateway=sentences.said(_gateway_text(name, check.order)), status=str(attempt.get_status_display()).lower())
    return found + (" " + gettext("The earlier mismatch is cleared.") if cleared else "")


REASON_MAX = 500


def exception_close(*, attempt_id: int, kind: str, reason: str, user: User,
                    outcome: str = "", evidence: str = "") -> PaymentAttempt:
    """A manager closes an exception with a reason: an attempt needing review (or UNKNOWN past its polling
    window) is resolved with the outcome they established and the evidence they checked (`attempt_resolve`);
    other kinds get a note naming the kind, the reason, who and when, and the dashboard stops listing them.
    Raises ValueError on bad input."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError(gettext("Write why the exception can be closed."))
    if len(reason) > REASON_MAX:
        raise ValueError(gettext("Keep the reason under {count} characters.").format(count=REASON_MAX))
    attempt = PaymentAttempt.objects.select_related("merchant").get(pk=attempt_id)
    if kind in (ExceptionKind.NEEDS_REVIEW, ExceptionKind.UNKNOWN):
        if outcome not in (S.APPROVED, S.DECLINED, S.FAILED):
            raise ValueError(gettext("Choose the outcome you established: approved, declined or failed."))
        resolved = attempt_resolve(attempt_id=attempt_id, status=outcome, user=user, reason=reason,
                                   evidence=evidence)
        if resolved is None:
            if attempt.status == S.UNKNOWN:
                raise ExceptionNotOpen(gettext("#{id}: the console is still asking {name} within its window; wait "
                                               "for it to end, or re-query.").format(
                    id=attempt_id, name=attempt.merchant.gateway_name))
            raise ExceptionNotOpen(gettext("#{id} no longer needs review (it is {status}).").format(
                id=attempt_id, status=str(attempt.get_status_display()).lower()))
        return resolved
    if kind not in ExceptionKind.CLOSABLE_BY_NOTE:
        raise ValueError(gettext("Unknown kind of exception."))
    with transaction.atomic():
        PaymentAttempt.objects.select_for_update().filter(pk=attempt_id).first()  # one close at a time
        if (attempt_id, kind) in closed_exceptions([attempt_id]):
            raise ExceptionNotOpen(gettext("This exception of #{id} was already closed.").format(id=attempt_id))
        record_note(attempt_id, cause=causes.EXCEPTION_CLOSED.format(kind=kind, reason=reason), actor=user,
                    data={"exception": kind, "reason": reason})
    return attempt
