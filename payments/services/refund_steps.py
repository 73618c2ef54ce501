"""Sending a refund once, and settling one that got no clear answer.

A refund is sent once, by the caller that moves it CREATED → SENT. Nothing says a gateway answers a repeated
refund reference with the first refund rather than refunding again (docs/reliability.md), so a refund without a clear
answer is never re-sent: it needs review, its amount stays held from the refundable balance, and a person
settles it (refunded or not, with a reason), helped by a look-up of the original payment when the gateway
says there what is left to refund. As for attempts, every call goes through the gateway door.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Now
from django.utils import timezone

from gateways.base import GatewayError, NoAnswer, Outcome, RefundOutcome, RefundRequest, RefundResult, Refused
from payments.models import AttemptStatus, Merchant, Refund
from payments.money import format_money
from payments.services.door import gateway_door
from payments.services.refunds import enqueue_refund_task
from payments.services.transitions import exchange_causes, record_exchanges, record_note, transition

S = AttemptStatus
log = logging.getLogger(__name__)

ALLOWED = {
    S.CREATED: {S.SENT, S.FAILED},
    S.SENT: {S.APPROVED, S.FAILED, S.NEEDS_REVIEW},
    S.UNKNOWN: {S.APPROVED, S.FAILED, S.NEEDS_REVIEW},  # refunds left UNKNOWN by older versions
    S.NEEDS_REVIEW: {S.APPROVED, S.FAILED},
}
RefundCall = RefundResult | GatewayError


def review_message(merchant: Merchant) -> str:
    name = merchant.gateway_name
    return (f"No clear answer from {name}: the refund may have gone through. It is not sent again; check it "
            f"({name}'s portal, or Check with {name} here), then settle it.")


def _transition(refund_id: int, **kwargs: Any) -> Refund | None:
    """The attempts' state machine mechanism, with the refunds' own table of allowed moves."""
    return transition(refund_id, model=Refund, allowed=ALLOWED, **kwargs)


def _load(refund_id: int) -> Refund:
    return Refund.objects.select_related("attempt__merchant", "attempt__terminal").get(pk=refund_id)


def _too_old() -> Q:
    return Q(created_at__lt=Now() - timedelta(seconds=settings.CONSOLE_STALE_CREATED_AFTER_MAX))


def refund_send(*, refund_id: int) -> None:
    """Send the refund once: only the caller that moves CREATED → SENT sends."""
    with gateway_door() as door:
        if _transition(refund_id, from_statuses=[S.CREATED], to=S.FAILED, where=_too_old(),
                       cause="not sent: too old (its task did not run in time)",
                       message="Not sent, too old: nothing was refunded. Ask for the refund again.") is not None:
            return
        if _transition(refund_id, from_statuses=[S.CREATED], to=S.SENT, where=~_too_old(),
                       cause="refund sent to the gateway", sent_at=timezone.now()) is None:
            return
        refund = _load(refund_id)
        attempt = refund.attempt
        request = RefundRequest(
            refund_reference=refund.refund_reference, gateway_reference=attempt.gateway_reference,
            amount=refund.amount, currency=refund.currency, terminal=attempt.terminal.device,
            operator=attempt.terminal.gateway_login or attempt.merchant.gateway_login, client_ip=settings.CONSOLE_CLIENT_IP,
        )
        outcome: RefundCall
        try:
            outcome = door.call(attempt.merchant, "refund", lambda gateway: gateway.refund(request))
        except GatewayError as exc:
            outcome = exc
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
                        cause=f"the refund's answer could not be recorded ({exc.__class__.__name__})")
            _transition(refund.pk, from_statuses=[S.SENT], to=S.NEEDS_REVIEW,
                        message=review_message(refund.attempt.merchant),
                        cause="the refund's answer could not be recorded: needs review")


def _apply(refund: Refund, outcome: RefundCall) -> None:
    summary = str(outcome) if isinstance(outcome, GatewayError) else outcome.outcome.value
    record_exchanges(refund.attempt_id, exchange_causes(outcome.exchanges, f"refund: {summary}"), refund=refund)
    name = refund.attempt.merchant.gateway_name
    if isinstance(outcome, Refused):
        _transition(refund.pk, from_statuses=[S.SENT], to=S.FAILED, cause=f"the gateway refused the refund: {outcome}",
                    message=str(outcome)[:255])
    elif isinstance(outcome, NoAnswer):
        _transition(refund.pk, from_statuses=[S.SENT], to=S.NEEDS_REVIEW, message=review_message(refund.attempt.merchant),
                    cause=f"no clear answer to the refund ({outcome}): needs review, never re-sent")
    elif isinstance(outcome, GatewayError):  # NotSent: nothing left
        _transition(refund.pk, from_statuses=[S.SENT], to=S.FAILED, cause="refund not sent",
                    message=str(outcome)[:255])
    else:
        _apply_result(refund, outcome, name)


def _apply_result(refund: Refund, result: RefundResult, name: str) -> None:
    money = format_money(refund.amount, refund.currency)
    found = {"gateway_refund_reference": result.gateway_refund_reference[:40],
             "refundable_after": result.refundable_after,
             "card": result.card.as_dict() if result.card is not None else None,
             "terminal_text": (result.card.terminal_text if result.card is not None else "")[:255]}
    problems = []
    if result.amount is not None and result.amount != refund.amount:
        problems.append(f"amount {format_money(result.amount, refund.currency)} instead of {money}")
    if result.outcome is RefundOutcome.REFUSED and not problems:
        _transition(refund.pk, from_statuses=[S.SENT], to=S.FAILED, **found,
                    cause=f"the gateway did not refund it ({result.reason})",
                    message=f"{name} did not refund it ({result.reason}).")
        return
    if result.outcome is not RefundOutcome.REFUNDED:
        problems.append(result.reason or "no clear refund")
    if problems:
        _transition(refund.pk, from_statuses=[S.SENT], to=S.NEEDS_REVIEW, **found,
                    cause=f"the gateway's refund answer is not clear ({', '.join(problems)})",
                    message=f"{name}'s answer is not a clear refund: {', '.join(problems)}. Check it, then "
                            "settle it."[:255])
        return
    _transition(refund.pk, from_statuses=[S.SENT], to=S.APPROVED, cause=f"refund: {money} refunded",
                message="", **found)


# ------------------------------------------------------------------------- settling by a person


def _claim_check(refund_id: int) -> bool:
    ttl = timedelta(seconds=settings.GATEWAY_CONNECT_TIMEOUT + settings.GATEWAY_QUERY_TIMEOUT + 5)
    free = Q(check_claimed_until__isnull=True) | Q(check_claimed_until__lt=Now())
    return Refund.objects.filter(free, pk=refund_id, status__in=[S.NEEDS_REVIEW, S.UNKNOWN]).update(
        check_claimed_until=Now() + ttl) == 1


def refund_check(*, refund_id: int, user: User) -> str:
    """A person's "Check with the gateway": a look-up of the original payment, and what its ``refundable``
    says of this refund. Changes no status (a person settles it); one check at a time per refund."""
    with gateway_door() as door:
        if not _claim_check(refund_id):
            return "This refund is not waiting for review, or it is being checked right now."
        refund = _load(refund_id)
        attempt = refund.attempt
        name = attempt.merchant.gateway_name
        try:
            try:
                order = door.call(attempt.merchant, "look up",
                                  lambda gateway: gateway.lookup(attempt.order_reference))
            except GatewayError as exc:
                record_exchanges(attempt.pk, exchange_causes(exc.exchanges, f"refund check: {exc}"), refund=refund)
                return f"No usable answer from {name} ({exc}). Try again later."
            if order.outcome is Outcome.NOT_FOUND:
                record_exchanges(attempt.pk, exchange_causes(order.exchanges, "refund check: no such order"),
                                 refund=refund)
                return f"{name} has no record of the original payment: check its portal."
            record_exchanges(attempt.pk, exchange_causes(
                order.exchanges, f"refund check by {user.get_username()}: look-up of the payment"), refund=refund)
            finding = refund_finding(refund, order.refundable)
            Refund.objects.filter(pk=refund_id).update(gateway_refundable=order.refundable, checked_at=Now())
            record_note(attempt.pk, refund=refund, actor=user, cause=f"refund check: {finding}",
                        data={"refundable": order.refundable})
            return finding
        finally:
            Refund.objects.filter(pk=refund_id).update(check_claimed_until=None)


def refund_finding(refund: Refund, refundable: int | None) -> str:
    """What the gateway's "left to refund" says of this refund, in a sentence for the person settling it."""
    attempt = refund.attempt
    name = attempt.merchant.gateway_name
    if refundable is None:
        return f"{name}'s answer does not say what is left to refund: check the refund in {name}'s portal."
    done = (Refund.objects.filter(attempt=attempt, status=S.APPROVED).exclude(pk=refund.pk)
            .aggregate(total=Sum("amount"))["total"] or 0)
    others = Refund.objects.filter(attempt=attempt, status__in=[S.NEEDS_REVIEW, S.UNKNOWN]).exclude(pk=refund.pk)
    if_not = attempt.total - done
    left = format_money(refundable, attempt.currency)
    if others.exists():
        return (f"{name} says {left} is left to refund; another refund of this payment also needs review, so "
                f"settle them one at a time with {name}'s portal.")
    if refundable == if_not - refund.amount:
        return f"{name} says {left} is left to refund: this refund went through. Settle it as refunded."
    if refundable == if_not:
        return f"{name} says {left} is left to refund: this refund did not go through. Settle it as not refunded."
    return f"{name} says {left} is left to refund, which matches neither case: check {name}'s portal."


def refund_settle(*, refund_id: int, refunded: bool, user: User, reason: str) -> Refund | None:
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
    refund can take, and UNKNOWN ones left by older versions, need review: never re-sent."""
    counts = {"sent": 0, "to_review": 0}
    stale = Now() - timedelta(seconds=settings.CONSOLE_STALE_CREATED_AFTER)
    for refund_id in Refund.objects.filter(status=S.CREATED, created_at__lt=stale).values_list("pk", flat=True)[:500]:
        enqueue_refund_task("send_refund", refund_id)
        counts["sent"] += 1
    lost = Now() - timedelta(seconds=settings.GATEWAY_QUERY_TIMEOUT + settings.GATEWAY_CONNECT_TIMEOUT + 5)
    stuck = Refund.objects.filter(Q(status=S.SENT, sent_at__lt=lost) | Q(status=S.UNKNOWN))
    for refund in stuck.select_related("attempt__merchant")[:500]:
        counts["to_review"] += _transition(
            refund.pk, from_statuses=[S.SENT, S.UNKNOWN], to=S.NEEDS_REVIEW,
            message=review_message(refund.attempt.merchant),
            cause="refund task lost (no answer recorded in time): needs review, never re-sent") is not None
    if any(counts.values()):
        log.info("refund resume job: %s", counts)
    return counts
