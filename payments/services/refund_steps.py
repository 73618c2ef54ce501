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
from django.utils.translation import gettext

from gateways.base import GatewayError, NoAnswer, Outcome, RefundOutcome, RefundRequest, RefundResult, Refused
from payments import causes
from payments.causes import said
from payments.models import AttemptStatus, Merchant, Refund
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
    return causes.MSG_REFUND_REVIEW.format(name=name)


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
                       cause=causes.TOO_OLD, message=causes.MSG_REFUND_TOO_OLD) is not None:
            return
        if _transition(refund_id, from_statuses=[S.CREATED], to=S.SENT, where=~_too_old(),
                       cause=causes.REFUND_SENT, sent_at=timezone.now()) is None:
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
                        cause=causes.REFUND_NOT_RECORDED.format(error=exc.__class__.__name__))
            _transition(refund.pk, from_statuses=[S.SENT], to=S.NEEDS_REVIEW,
                        message=review_message(refund.attempt.merchant),
                        cause=causes.REFUND_NOT_RECORDED_REVIEW)


def _apply(refund: Refund, outcome: RefundCall) -> None:
    summary = str(outcome) if isinstance(outcome, GatewayError) else outcome.outcome.value
    record_exchanges(refund.attempt_id, exchange_causes(outcome.exchanges, causes.REFUND_CALL.format(summary=summary)), refund=refund)
    name = refund.attempt.merchant.gateway_name
    if isinstance(outcome, Refused):
        _transition(refund.pk, from_statuses=[S.SENT], to=S.FAILED, cause=causes.REFUND_REFUSED.format(reason=outcome),
                    message=str(outcome)[:255])
    elif isinstance(outcome, NoAnswer):
        _transition(refund.pk, from_statuses=[S.SENT], to=S.NEEDS_REVIEW, message=review_message(refund.attempt.merchant),
                    cause=causes.REFUND_NO_ANSWER.format(reason=outcome))
    elif isinstance(outcome, GatewayError):  # NotSent: nothing left
        _transition(refund.pk, from_statuses=[S.SENT], to=S.FAILED, cause=causes.REFUND_NOT_SENT,
                    message=str(outcome)[:255])
    else:
        _apply_result(refund, outcome, name)


def _apply_result(refund: Refund, result: RefundResult, name: str) -> None:
    money = causes.stored_money(refund.amount, refund.currency)
    found = {"gateway_refund_reference": result.gateway_refund_reference[:40],
             "refundable_after": result.refundable_after,
             "card": result.card.as_dict() if result.card is not None else None,
             "terminal_text": (result.card.terminal_text if result.card is not None else "")[:255]}
    problems = []
    if result.amount is not None and result.amount != refund.amount:
        problems.append(causes.REFUND_AMOUNT_DIFFERS.format(amount=causes.stored_money(result.amount, refund.currency),
                                                           asked=money))
    if result.outcome is RefundOutcome.REFUSED and not problems:
        _transition(refund.pk, from_statuses=[S.SENT], to=S.FAILED, **found,
                    cause=causes.REFUND_NOT_DONE.format(reason=result.reason),
                    message=causes.MSG_REFUND_NOT_DONE.format(name=name, reason=result.reason))
        return
    if result.outcome is not RefundOutcome.REFUNDED:
        problems.append(result.reason or causes.NO_CLEAR_REFUND)
    if problems:
        _transition(refund.pk, from_statuses=[S.SENT], to=S.NEEDS_REVIEW, **found,
                    cause=causes.REFUND_UNCLEAR.format(problems=", ".join(problems)),
                    message=causes.MSG_REFUND_UNCLEAR.format(name=name, problems=", ".join(problems))[:255])
        return
    _transition(refund.pk, from_statuses=[S.SENT], to=S.APPROVED, cause=causes.REFUNDED.format(amount=money),
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
            return gettext("This refund is not waiting for review, or it is being checked right now.")
        refund = _load(refund_id)
        attempt = refund.attempt
        name = attempt.merchant.gateway_name
        try:
            try:
                order = door.call(attempt.merchant, "look up",
                                  lambda gateway: gateway.lookup(attempt.order_reference))
            except GatewayError as exc:
                record_exchanges(attempt.pk, exchange_causes(exc.exchanges, causes.REFUND_CHECK.format(finding=exc)), refund=refund)
                return gettext("No usable answer from {name} ({error}). Try again later.").format(name=name, error=exc)
            if order.outcome is Outcome.NOT_FOUND:
                record_exchanges(attempt.pk, exchange_causes(order.exchanges, causes.REFUND_CHECK_NO_ORDER),
                                 refund=refund)
                return gettext("{name} has no record of the original payment: check its portal.").format(name=name)
            record_exchanges(attempt.pk, exchange_causes(
                order.exchanges, causes.REFUND_CHECK_BY.format(user=user.get_username())), refund=refund)
            finding = refund_finding(refund, order.refundable)
            Refund.objects.filter(pk=refund_id).update(gateway_refundable=order.refundable, checked_at=Now())
            record_note(attempt.pk, refund=refund, actor=user, cause=causes.REFUND_CHECK.format(finding=finding),
                        data={"refundable": order.refundable})
            return said(finding)
        finally:
            Refund.objects.filter(pk=refund_id).update(check_claimed_until=None)


def refund_finding(refund: Refund, refundable: int | None) -> str:
    """What the gateway's "left to refund" says of this refund, in a sentence for the person settling it."""
    attempt = refund.attempt
    name = attempt.merchant.gateway_name
    if refundable is None:
        return causes.FOUND_UNSAID.format(name=name)
    done = (Refund.objects.filter(attempt=attempt, status=S.APPROVED).exclude(pk=refund.pk)
            .aggregate(total=Sum("amount"))["total"] or 0)
    others = Refund.objects.filter(attempt=attempt, status__in=[S.NEEDS_REVIEW, S.UNKNOWN]).exclude(pk=refund.pk)
    if_not = attempt.total - done
    left = causes.stored_money(refundable, attempt.currency)
    if others.exists():
        return causes.FOUND_OTHERS.format(name=name, left=left)
    if refundable == if_not - refund.amount:
        return causes.FOUND_DONE.format(name=name, left=left)
    if refundable == if_not:
        return causes.FOUND_NOT_DONE.format(name=name, left=left)
    return causes.FOUND_NEITHER.format(name=name, left=left)


def refund_settle(*, refund_id: int, refunded: bool, user: User, reason: str) -> Refund | None:
    """A person settles a refund that needs review: refunded (APPROVED) or not (FAILED: its amount is
    refundable again). None when it is not waiting for review."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError(gettext("a reason is required"))
    outcome = causes.AS_REFUNDED if refunded else causes.AS_NOT_REFUNDED
    return _transition(refund_id, from_statuses=[S.NEEDS_REVIEW, S.UNKNOWN], to=S.APPROVED if refunded else S.FAILED,
                       cause=causes.SETTLED.format(user=user.get_username(), outcome=outcome, reason=reason)[:255], actor=user,
                       data={"reason": reason, "refunded": refunded},
                       message=causes.MSG_SETTLED.format(outcome=outcome, reason=reason)[:255])


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
            cause=causes.REFUND_TASK_LOST) is not None
    if any(counts.values()):
        log.info("refund resume job: %s", counts)
    return counts
