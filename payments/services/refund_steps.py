"""Sending a refund once, and settling one that got no clear answer.

A refund_order is sent once, by the caller that moves the refund CREATED → SENT. Nothing public says IOTPay
answers a repeated mchRefundNo with the first refund rather than refunding again (IOTPAY.md), so a refund
without a clear answer is never re-sent: it needs review, its amount stays held from the refundable balance,
and a person settles it (refunded or not, with a reason), helped by a check of the original payment with
query_order when IOTPay says there what is left to refund. As for attempts, no transaction or database
connection is held during a call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Now
from django.utils import timezone

from payments.gateway import client_for
from payments.iotpay import (
    GatewayRefused,
    InvalidResponse,
    InvalidSignature,
    IOTPayError,
    OrderNotFound,
    OutcomeUnknown,
    RefundOrderResult,
)
from payments.models import AttemptStatus, Refund
from payments.money import format_money
from payments.services.door import db_slot
from payments.services.refunds import enqueue_refund_task
from payments.services.transitions import record_exchange, record_note, transition

S = AttemptStatus
log = logging.getLogger(__name__)

ALLOWED = {
    S.CREATED: {S.SENT, S.FAILED},
    S.SENT: {S.APPROVED, S.FAILED, S.NEEDS_REVIEW},
    S.UNKNOWN: {S.APPROVED, S.FAILED, S.NEEDS_REVIEW},  # refunds left UNKNOWN by older versions
    S.NEEDS_REVIEW: {S.APPROVED, S.FAILED},
}
NO_ANSWER = (OutcomeUnknown, InvalidSignature, InvalidResponse)
RefundOutcome = RefundOrderResult | IOTPayError | ValueError
REVIEW_MESSAGE = ("No clear answer from IOTPay: the refund may have gone through. It is not sent again; check "
                  "it (IOTPay's portal, or Check with IOTPay here), then settle it.")


def _transition(refund_id: int, **kwargs: Any) -> Refund | None:
    """The attempts' state machine mechanism, with the refunds' own table of allowed moves."""
    return transition(refund_id, model=Refund, allowed=ALLOWED, **kwargs)


def _load(refund_id: int) -> Refund:
    return Refund.objects.select_related("attempt__merchant", "attempt__terminal").get(pk=refund_id)


def _too_old() -> Q:
    return Q(created_at__lt=Now() - timedelta(seconds=settings.CONSOLE_STALE_CREATED_AFTER_MAX))


def refund_send(*, refund_id: int) -> None:
    """Send refund_order once: only the caller that moves CREATED → SENT sends."""
    with db_slot():
        if _transition(refund_id, from_statuses=[S.CREATED], to=S.FAILED, where=_too_old(),
                       cause="not sent: too old (its task did not run in time)",
                       message="Not sent, too old: nothing was refunded. Ask for the refund again.") is not None:
            return
        if _transition(refund_id, from_statuses=[S.CREATED], to=S.SENT, where=~_too_old(),
                       cause="refund_order sent to IOTPay", sent_at=timezone.now()) is None:
            return
        refund = _load(refund_id)
        attempt = refund.attempt
        client = client_for(attempt.merchant)
    outcome: RefundOutcome
    try:
        outcome = client.refund_order(
            mch_refund_no=refund.mch_refund_no,
            pay_order_id=attempt.pay_order_id,
            refund_amount=refund.amount,
            currency=refund.currency,
            client_ip=settings.CONSOLE_CLIENT_IP,
            login_name=attempt.terminal.job_no or attempt.merchant.job_no,
            device=attempt.terminal.device,
        )
    except (IOTPayError, ValueError) as exc:
        outcome = exc
    with db_slot():
        _record_safely(refund, lambda: _apply(refund, outcome))


def _record_safely(refund: Refund, apply: Callable[[], None]) -> None:
    """Whatever fails while recording an answer leaves the refund needing review, never stuck in SENT."""
    try:
        with transaction.atomic():
            apply()
    except Exception as exc:
        log.exception("refund %s: the answer could not be recorded", refund.pk)
        with transaction.atomic():
            record_note(refund.attempt_id, refund=refund, data={"error": exc.__class__.__name__},
                        cause=f"refund_order's answer could not be recorded ({exc.__class__.__name__})")
            _transition(refund.pk, from_statuses=[S.SENT], to=S.NEEDS_REVIEW, message=REVIEW_MESSAGE,
                        cause="refund_order's answer could not be recorded: needs review")


def _apply(refund: Refund, outcome: RefundOutcome) -> None:
    exchange = getattr(outcome, "exchange", None)
    record_exchange(refund.attempt_id, exchange, refund=refund,
                    cause=f"refund_order: {outcome}" if isinstance(outcome, Exception) else "refund_order answered")
    money = format_money(refund.amount, refund.currency)
    if isinstance(outcome, ValueError) or (isinstance(outcome, IOTPayError) and not isinstance(
            outcome, (*NO_ANSWER, GatewayRefused))):
        _transition(refund.pk, from_statuses=[S.SENT], to=S.FAILED, cause="refund_order not sent",
                    message=str(outcome)[:255])
        return
    if isinstance(outcome, GatewayRefused):
        text = outcome.message or outcome.err_code or "refused by IOTPay"
        _transition(refund.pk, from_statuses=[S.SENT], to=S.FAILED, cause=f"IOTPay refused the refund: {text}",
                    message=text[:255])
        return
    if isinstance(outcome, NO_ANSWER):
        _transition(refund.pk, from_statuses=[S.SENT], to=S.NEEDS_REVIEW, message=REVIEW_MESSAGE,
                    cause=f"no clear answer to refund_order ({outcome}): needs review, never re-sent")
        return
    assert isinstance(outcome, RefundOrderResult)
    found = {"refund_order_id": outcome.refund_order_id[:40],
             "refundable_after": outcome.refundable if (outcome.refundable or 0) >= 0 else None,
             "card": outcome.card.as_dict() if outcome.card is not None else None,
             "receipt_disp": (outcome.card.receipt_disp if outcome.card is not None else "")[:255]}
    problems = []
    if outcome.refund_amount is not None and outcome.refund_amount != refund.amount:
        problems.append(f"amount {format_money(outcome.refund_amount, refund.currency)} instead of {money}")
    if not outcome.verified:
        problems.append("an answer whose sign could not be verified")
    if outcome.refused and not problems:
        _transition(refund.pk, from_statuses=[S.SENT], to=S.FAILED, **found,
                    cause=f"IOTPay answered refund status {outcome.status}: not refunded",
                    message=f"IOTPay did not refund it (status {outcome.status}).")
        return
    if not outcome.refunded:
        problems.append(f"refund status {outcome.status if outcome.status is not None else 'missing'}")
    if problems:
        _transition(refund.pk, from_statuses=[S.SENT], to=S.NEEDS_REVIEW, **found,
                    cause=f"IOTPay's refund answer is not clear ({', '.join(problems)})",
                    message=f"IOTPay's answer is not a clear refund: {', '.join(problems)}. Check it, then "
                            "settle it."[:255])
        return
    _transition(refund.pk, from_statuses=[S.SENT], to=S.APPROVED, cause=f"refund_order: {money} refunded",
                message="", **found)


# ------------------------------------------------------------------------- settling by a person


def _claim_check(refund_id: int) -> bool:
    ttl = timedelta(seconds=settings.IOTPAY_CONNECT_TIMEOUT + settings.IOTPAY_QUERY_TIMEOUT + 5)
    free = Q(check_claimed_until__isnull=True) | Q(check_claimed_until__lt=Now())
    return Refund.objects.filter(free, pk=refund_id, status__in=[S.NEEDS_REVIEW, S.UNKNOWN]).update(
        check_claimed_until=Now() + ttl) == 1


def refund_check(*, refund_id: int, user: AbstractBaseUser) -> str:
    """A person's "Check with IOTPay": query_order of the original payment, and what its ``refundable`` says
    of this refund. Changes no status (a person settles it); one check at a time per refund."""
    if not _claim_check(refund_id):
        return "This refund is not waiting for review, or it is being checked right now."
    refund = _load(refund_id)
    attempt = refund.attempt
    try:
        try:
            result = client_for(attempt.merchant).query_order(mch_order_no=attempt.mch_order_no)
        except OrderNotFound as exc:
            record_exchange(attempt.pk, exc.exchange, refund=refund, cause="refund check: IOTPay has no such order")
            return "IOTPay has no record of the original payment: check its portal."
        except (IOTPayError, ValueError) as exc:
            record_exchange(attempt.pk, getattr(exc, "exchange", None), refund=refund, cause=f"refund check: {exc}")
            return f"No usable answer from IOTPay ({exc}). Try again later."
        record_exchange(attempt.pk, result.exchange, refund=refund,
                        cause=f"refund check by {user.get_username()}: query_order of the payment")
        finding = refund_finding(refund, result.order.refundable)
        Refund.objects.filter(pk=refund_id).update(gateway_refundable=result.order.refundable, checked_at=Now())
        record_note(attempt.pk, refund=refund, actor=user, cause=f"refund check: {finding}",
                    data={"refundable": result.order.refundable})
        return finding
    finally:
        Refund.objects.filter(pk=refund_id).update(check_claimed_until=None)


def refund_finding(refund: Refund, refundable: int | None) -> str:
    """What IOTPay's "left to refund" says of this refund, in a sentence for the person settling it."""
    if refundable is None:
        return "IOTPay's answer does not say what is left to refund: check the refund in IOTPay's portal."
    attempt = refund.attempt
    done = (Refund.objects.filter(attempt=attempt, status=S.APPROVED).exclude(pk=refund.pk)
            .aggregate(total=Sum("amount"))["total"] or 0)
    others = Refund.objects.filter(attempt=attempt, status__in=[S.NEEDS_REVIEW, S.UNKNOWN]).exclude(pk=refund.pk)
    if_not = attempt.total - done
    left = format_money(refundable, attempt.currency)
    if others.exists():
        return (f"IOTPay says {left} is left to refund; another refund of this payment also needs review, so "
                "settle them one at a time with IOTPay's portal.")
    if refundable == if_not - refund.amount:
        return f"IOTPay says {left} is left to refund: this refund went through. Settle it as refunded."
    if refundable == if_not:
        return f"IOTPay says {left} is left to refund: this refund did not go through. Settle it as not refunded."
    return f"IOTPay says {left} is left to refund, which matches neither case: check IOTPay's portal."


def refund_settle(*, refund_id: int, refunded: bool, user: AbstractBaseUser, reason: str) -> Refund | None:
    """A person settles a refund that needs review: refunded (APPROVED) or not (FAILED: its amount is
    refundable again). None when it is not waiting for review."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("a reason is required")
    outcome = "refunded" if refunded else "not refunded"
    return _transition(refund_id, from_statuses=[S.NEEDS_REVIEW, S.UNKNOWN], to=S.APPROVED if refunded else S.FAILED,
                       cause=f"settled by {user.get_username()} as {outcome}: {reason}"[:255], actor=user,
                       data={"reason": reason, "refunded": refunded},
                       message=f"Settled by hand as {outcome}: {reason}"[:255])


def refunds_resume_stalled() -> dict[str, int]:
    """Beat job: CREATED refunds whose task died are sent (or fail when too old); SENT ones older than a
    refund_order can take, and UNKNOWN ones left by older versions, need review: never re-sent."""
    counts = {"sent": 0, "to_review": 0}
    stale = Now() - timedelta(seconds=settings.CONSOLE_STALE_CREATED_AFTER)
    for refund_id in Refund.objects.filter(status=S.CREATED, created_at__lt=stale).values_list("pk", flat=True)[:500]:
        enqueue_refund_task("send_refund", refund_id)
        counts["sent"] += 1
    lost = Now() - timedelta(seconds=settings.IOTPAY_QUERY_TIMEOUT + settings.IOTPAY_CONNECT_TIMEOUT + 5)
    stuck = Refund.objects.filter(Q(status=S.SENT, sent_at__lt=lost) | Q(status=S.UNKNOWN))
    for refund_id in stuck.values_list("pk", flat=True)[:500]:
        counts["to_review"] += _transition(
            refund_id, from_statuses=[S.SENT, S.UNKNOWN], to=S.NEEDS_REVIEW, message=REVIEW_MESSAGE,
            cause="refund_order task lost (no answer recorded in time): needs review, never re-sent") is not None
    if any(counts.values()):
        log.info("refund resume job: %s", counts)
    return counts
