"""Refunds of approved payments through IOTPay's refund_order: create, send, retry, and the resume job.

A refund is attempt-like: CREATED → SENT → APPROVED | FAILED | UNKNOWN, and UNKNOWN → APPROVED | FAILED |
NEEDS_REVIEW. Unlike a create_order, a refund_order may be sent again after no answer, but only with the
same mchRefundNo: IOTPay (and the sandbox) answer a repeated mchRefundNo with the first refund and refund
nothing more. So an UNKNOWN refund is re-sent as is every IOTPAY_POLL_INTERVAL for IOTPAY_POLL_WINDOW,
then needs review. As for attempts, no transaction or database connection is held during the call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from lanes import broadcast
from payments.gateway import client_for
from payments.iotpay import (
    PAID_STATUSES,
    Exchange,
    GatewayRefused,
    InvalidResponse,
    InvalidSignature,
    IOTPayError,
    OutcomeUnknown,
    RefundOrderResult,
)
from payments.models import AttemptStatus, PaymentAttempt, PaymentEvent, Refund
from payments.money import format_money
from payments.services.attempts import new_merchant_reference
from payments.services.transitions import record_exchange, transition

S = AttemptStatus
log = logging.getLogger(__name__)

IN_FLIGHT = (S.CREATED, S.SENT, S.UNKNOWN)
# What counts against the refundable balance: done, in flight, and those whose outcome nobody knows yet
# (a refund needing review may have gone through; counting it keeps a second one from doubling it).
HELD = (S.APPROVED, *IN_FLIGHT, S.NEEDS_REVIEW)
ALLOWED = {
    S.CREATED: {S.SENT, S.FAILED},
    S.SENT: {S.APPROVED, S.FAILED, S.UNKNOWN, S.NEEDS_REVIEW},
    S.UNKNOWN: {S.APPROVED, S.FAILED, S.NEEDS_REVIEW},
    S.NEEDS_REVIEW: {S.APPROVED, S.FAILED},
}
NO_ANSWER = (OutcomeUnknown, InvalidSignature, InvalidResponse)
REASON_MAX = 255


class RefundNotAllowed(Exception):
    """The refund was refused before anything was sent. ``field`` names the input at fault, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class RefundInProgress(Exception):
    """Another refund of this payment is in flight; it is in ``refund``."""

    def __init__(self, refund: Refund | None) -> None:
        super().__init__("a refund of this payment is already in progress: wait for its outcome")
        self.refund = refund


@dataclass(frozen=True)
class RefundCreation:
    refund: Refund
    created: bool


def new_mch_refund_no() -> str:
    return new_merchant_reference("RF")


def refundable_balance(attempt: PaymentAttempt) -> int:
    """Cents still refundable: the payment's total less its refunds done, in flight or under review."""
    held = Refund.objects.filter(attempt=attempt, status__in=HELD).aggregate(total=Sum("amount"))["total"] or 0
    return max(attempt.amount + attempt.tip - held, 0)


def refund_in_flight(attempt: PaymentAttempt) -> Refund | None:
    return Refund.objects.filter(attempt=attempt, status__in=IN_FLIGHT).first()


def _for_key(attempt_id: int, key: str | None) -> Refund | None:
    return Refund.objects.filter(attempt_id=attempt_id, idempotency_key=key).first() if key else None


def _check_refundable(attempt: PaymentAttempt) -> None:
    if attempt.status != S.APPROVED:
        raise RefundNotAllowed("only approved payments can be refunded")
    if not attempt.pay_order_id:
        raise RefundNotAllowed("this payment has no IOTPay order id, so IOTPay cannot refund it")


def _check_request(attempt: PaymentAttempt, amount: object, reason: object) -> str:
    """The cleaned reason; raises RefundNotAllowed naming the field at fault."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise RefundNotAllowed("the refund amount must be a whole number of cents", field="amount")
    if amount <= 0:
        raise RefundNotAllowed("the refund amount must be more than 0", field="amount")
    cleaned = reason.strip() if isinstance(reason, str) else ""
    if not cleaned:
        raise RefundNotAllowed("a reason is required", field="reason")
    if len(cleaned) > REASON_MAX:
        raise RefundNotAllowed(f"the reason is too long (at most {REASON_MAX} characters)", field="reason")
    balance = refundable_balance(attempt)
    if amount > balance:
        raise RefundNotAllowed(
            f"refund amount is above what is left to refund ({format_money(balance, attempt.currency)})",
            field="amount",
        )
    return cleaned


def refund_create(
    *,
    attempt_id: int,
    amount: int,
    reason: str,
    user: AbstractBaseUser | AnonymousUser | None,
    idempotency_key: str | None = None,
) -> RefundCreation:
    """Create a refund of (part of) an approved payment and send it once committed.

    The attempt row is locked while the balance is checked and the refund inserted, so two submits
    cannot both pass the check; the database also refuses a second in-flight refund per attempt. A
    repeated idempotency key returns the first refund. Permissions are the caller's to check.
    """
    if (existing := _for_key(attempt_id, idempotency_key)) is not None:
        return RefundCreation(existing, created=False)
    actor = user if user is not None and user.is_authenticated else None
    try:
        with transaction.atomic():
            attempt = PaymentAttempt.objects.select_for_update().filter(pk=attempt_id).first()
            if attempt is None:
                raise PaymentAttempt.DoesNotExist(f"no payment {attempt_id}")
            # Read again under the lock: a concurrent submit with the same key has committed by now.
            if (existing := _for_key(attempt_id, idempotency_key)) is not None:
                return RefundCreation(existing, created=False)
            _check_refundable(attempt)
            if (busy := refund_in_flight(attempt)) is not None:
                raise RefundInProgress(busy)
            cleaned_reason = _check_request(attempt, amount, reason)
            refund = Refund.objects.create(
                attempt=attempt,
                mch_refund_no=new_mch_refund_no(),
                amount=amount,
                currency=attempt.currency,
                reason=cleaned_reason,
                requested_by=actor,
                idempotency_key=idempotency_key or None,
            )
            PaymentEvent.objects.create(
                attempt=attempt,
                refund=refund,
                kind=PaymentEvent.Kind.STATE,
                to_status=S.CREATED,
                cause=f"refund of {format_money(amount, attempt.currency)} requested: {cleaned_reason}"[:255],
                actor=actor,
                data={"amount": amount, "reason": cleaned_reason, "mch_refund_no": refund.mch_refund_no},
            )
            attempt = PaymentAttempt.objects.select_related("lane").get(pk=attempt.pk)
            broadcast.attempt_changed(attempt)
            transaction.on_commit(lambda: _enqueue("send_refund", refund.pk))
    except IntegrityError:
        if (existing := _for_key(attempt_id, idempotency_key)) is not None:
            return RefundCreation(existing, created=False)
        raise RefundInProgress(Refund.objects.filter(attempt_id=attempt_id, status__in=IN_FLIGHT).first()) from None
    return RefundCreation(refund, created=True)


def _enqueue(task_name: str, refund_id: int, *, countdown: float = 0) -> None:
    from payments import tasks

    getattr(tasks, task_name).apply_async((refund_id,), countdown=countdown)


# ------------------------------------------------------------------------------------- state changes


def _transition(refund_id: int, **kwargs: Any) -> Refund | None:
    """The attempts' state machine mechanism, with the refunds' own table of allowed moves."""
    return transition(refund_id, model=Refund, allowed=ALLOWED, **kwargs)


def _record_exchange(refund: Refund, exchange: Exchange | None, *, cause: str) -> None:
    record_exchange(refund.attempt_id, exchange, cause=cause, refund=refund)


# ------------------------------------------------------------------------------------- gateway steps


def _call(refund: Refund, *, label: str) -> RefundOrderResult | IOTPayError | ValueError:
    """One refund_order with the refund's own mchRefundNo. Called with no transaction open."""
    attempt = refund.attempt
    client = client_for(attempt.merchant)
    connection.close()  # nothing to hold while IOTPay answers
    try:
        result = client.refund_order(
            mch_refund_no=refund.mch_refund_no,
            pay_order_id=attempt.pay_order_id,
            refund_amount=refund.amount,
            currency=refund.currency,
            client_ip=settings.CONSOLE_CLIENT_IP,
            login_name=attempt.terminal.job_no or attempt.merchant.job_no,
            device=attempt.terminal.device,
        )
    except (IOTPayError, ValueError) as exc:
        _record_exchange(refund, getattr(exc, "exchange", None), cause=f"{label}: {exc}")
        return exc
    _record_exchange(refund, result.exchange, cause=f"{label} answered")
    return result


def _apply(refund: Refund, outcome: RefundOrderResult | IOTPayError | ValueError, *,
           from_statuses: list[str], label: str) -> bool:
    """Apply a refund_order outcome; False when there was no clear answer (the caller goes on retrying)."""
    money = format_money(refund.amount, refund.currency)
    if isinstance(outcome, ValueError):
        _transition(refund.pk, from_statuses=from_statuses, to=S.FAILED, cause=f"{label} not sent: refused locally",
                    message=str(outcome)[:255])
        return True
    if isinstance(outcome, GatewayRefused):
        text = outcome.message or outcome.err_code or "refused by IOTPay"
        # A refusal of our own repeated mchRefundNo would mean IOTPay already has this refund.
        doubtful = S.SENT not in from_statuses and "mchrefundno" in text.lower().replace(" ", "")
        _transition(refund.pk, from_statuses=from_statuses, to=S.NEEDS_REVIEW if doubtful else S.FAILED,
                    cause=f"IOTPay refused the refund: {text}", message=text[:255])
        return True
    if isinstance(outcome, (*NO_ANSWER, IOTPayError)):
        return False
    problems = []
    if outcome.refund_amount is not None and outcome.refund_amount != refund.amount:
        problems.append(f"amount {format_money(outcome.refund_amount, refund.currency)} instead of {money}")
    if outcome.status is not None and outcome.status not in PAID_STATUSES:
        if outcome.status in (0, 1):
            return False  # IOTPay is still processing it: ask again with the same mchRefundNo
        problems.append(f"refund status {outcome.status}")
    if problems:
        _transition(refund.pk, from_statuses=from_statuses, to=S.NEEDS_REVIEW,
                    cause=f"IOTPay's refund differs from ours ({', '.join(problems)})",
                    message=f"IOTPay's refund differs from this request: {', '.join(problems)}"[:255],
                    refund_order_id=outcome.refund_order_id[:40],
                    refundable_after=outcome.refundable if (outcome.refundable or 0) >= 0 else None)
        return True
    _transition(refund.pk, from_statuses=from_statuses, to=S.APPROVED, cause=f"{label}: {money} refunded",
                message="", refund_order_id=outcome.refund_order_id[:40],
                refundable_after=outcome.refundable if (outcome.refundable or 0) >= 0 else None)
    return True


def _load(refund_id: int) -> Refund:
    return Refund.objects.select_related("attempt__merchant", "attempt__terminal").get(pk=refund_id)


def _go_unknown(refund_id: int, *, cause: str) -> None:
    with transaction.atomic():
        if _transition(refund_id, from_statuses=[S.SENT], to=S.UNKNOWN, cause=cause) is not None:
            transaction.on_commit(
                lambda: _enqueue("retry_refund", refund_id, countdown=settings.IOTPAY_POLL_INTERVAL)
            )


def refund_send(*, refund_id: int) -> None:
    """Send refund_order once: only the caller that moves CREATED → SENT sends."""
    if _transition(refund_id, from_statuses=[S.CREATED], to=S.SENT, cause="refund_order sent to IOTPay",
                   sent_at=timezone.now()) is None:
        return
    refund = _load(refund_id)
    outcome = _call(refund, label="refund_order")
    if not _apply(refund, outcome, from_statuses=[S.SENT], label="refund_order"):
        _go_unknown(refund_id, cause=f"no clear answer to refund_order ({outcome})")


def _unknown_since(refund: Refund) -> datetime:
    event = (PaymentEvent.objects.filter(refund=refund, kind=PaymentEvent.Kind.STATE, to_status=S.UNKNOWN)
             .order_by("-id").first())
    return event.created_at if event is not None else (refund.sent_at or refund.created_at)


def refund_retry(*, refund_id: int) -> None:
    """Re-send refund_order with the same mchRefundNo for a refund with no clear answer yet.

    Safe because IOTPay answers a repeated mchRefundNo with the first refund; schedules the next try
    until IOTPAY_POLL_WINDOW has passed since the refund became UNKNOWN, then it needs review.
    """
    refund = Refund.objects.filter(pk=refund_id, status=S.UNKNOWN).first()
    if refund is None:
        return
    refund = _load(refund_id)
    outcome = _call(refund, label="refund_order re-sent (same mchRefundNo)")
    if _apply(refund, outcome, from_statuses=[S.UNKNOWN], label="refund_order re-sent"):
        return
    tries = PaymentEvent.objects.filter(refund=refund, kind=PaymentEvent.Kind.GATEWAY).count()
    if timezone.now() >= _unknown_since(refund) + timedelta(seconds=settings.IOTPAY_POLL_WINDOW):
        _transition(refund_id, from_statuses=[S.UNKNOWN], to=S.NEEDS_REVIEW,
                    cause=f"no clear answer from IOTPay after {tries} refund_order calls",
                    message="IOTPay gave no clear answer in time. Check the refund in IOTPay's portal before "
                            "refunding again.")
        return
    with transaction.atomic():
        # Touch updated_at so the resume job sees the chain alive.
        Refund.objects.filter(pk=refund_id, status=S.UNKNOWN).update(updated_at=timezone.now())
        transaction.on_commit(lambda: _enqueue("retry_refund", refund_id, countdown=settings.IOTPAY_POLL_INTERVAL))


def refund_recheck(*, refund_id: int) -> None:
    """Re-send a refund that needs review with its mchRefundNo: a late answer settles it either way."""
    refund = Refund.objects.filter(pk=refund_id, status=S.NEEDS_REVIEW).first()
    if refund is None:
        return
    refund = _load(refund_id)
    Refund.objects.filter(pk=refund_id).update(updated_at=timezone.now())
    _apply(refund, _call(refund, label="refund_order re-check"), from_statuses=[S.NEEDS_REVIEW],
           label="refund_order re-check")


def refunds_resume_stalled() -> dict[str, int]:
    """Beat job: pick up refunds whose task died.

    CREATED ones are sent (the CREATED → SENT claim keeps that to one send); SENT ones older than a
    refund_order can take move to UNKNOWN and retrying; UNKNOWN ones whose retry chain stopped are
    retried; NEEDS_REVIEW ones of the last day are re-checked now and then.
    """
    now = timezone.now()
    counts = {"sent": 0, "to_retry": 0, "retried": 0, "rechecked": 0}
    stale = now - timedelta(seconds=settings.CONSOLE_STALE_CREATED_AFTER)
    for refund_id in Refund.objects.filter(status=S.CREATED, created_at__lt=stale).values_list("pk", flat=True)[:500]:
        _enqueue("send_refund", refund_id)
        counts["sent"] += 1
    lost = now - timedelta(seconds=settings.IOTPAY_QUERY_TIMEOUT + settings.IOTPAY_CONNECT_TIMEOUT + 5)
    for refund_id in Refund.objects.filter(status=S.SENT, sent_at__lt=lost).values_list("pk", flat=True)[:500]:
        _go_unknown(refund_id, cause="refund_order task lost (no answer recorded in time)")
        counts["to_retry"] += 1
    quiet = now - timedelta(seconds=max(5 * settings.IOTPAY_POLL_INTERVAL, 10))
    for refund_id in Refund.objects.filter(status=S.UNKNOWN, updated_at__lt=quiet).values_list("pk", flat=True)[:500]:
        _enqueue("retry_refund", refund_id)
        counts["retried"] += 1
    every = now - timedelta(seconds=settings.CONSOLE_REVIEW_REQUERY_INTERVAL)
    for refund_id in Refund.objects.filter(
        status=S.NEEDS_REVIEW, updated_at__lt=every, created_at__gt=now - timedelta(days=1)
    ).values_list("pk", flat=True)[:100]:
        _enqueue("recheck_refund", refund_id)
        counts["rechecked"] += 1
    if any(counts.values()):
        log.info("refund resume job: %s", counts)
    return counts
