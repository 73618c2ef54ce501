"""Asking for a refund of an approved payment: the checks, the balance, one refund in flight per payment.

Sending it, and settling one without a clear answer, is ``refund_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext

from payments import causes
from payments.models import AttemptStatus, PaymentAttempt, PaymentEvent, Refund
from payments.money import format_money
from payments.queue import enqueue
from payments.services.attempts import new_merchant_reference
from payments.services.idempotency import check_replay
from payments.signals import notify_attempt_changed

S = AttemptStatus

IN_FLIGHT = (S.CREATED, S.SENT, S.UNKNOWN)
# What counts against the refundable balance: done, in flight, and those whose outcome nobody knows yet
# (a refund needing review may have gone through; counting it keeps a second one from doubling it, until a
# person settles it).
HELD = (S.APPROVED, *IN_FLIGHT, S.NEEDS_REVIEW)
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


def new_refund_reference() -> str:
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
        raise RefundNotAllowed(gettext("only approved payments can be refunded"))
    if not attempt.gateway_reference:
        name = attempt.merchant.gateway_name
        raise RefundNotAllowed(gettext("this payment has no {name} order reference, so {name} cannot refund it")
                               .format(name=name))


def _check_request(attempt: PaymentAttempt, amount: object, reason: object) -> str:
    """The cleaned reason; raises RefundNotAllowed naming the field at fault."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise RefundNotAllowed(gettext("the refund amount must be a whole number of cents"), field="amount")
    if amount <= 0:
        raise RefundNotAllowed(gettext("the refund amount must be more than 0"), field="amount")
    cleaned = reason.strip() if isinstance(reason, str) else ""
    if not cleaned:
        raise RefundNotAllowed(gettext("a reason is required"), field="reason")
    if len(cleaned) > REASON_MAX:
        raise RefundNotAllowed(gettext("the reason is too long (at most {count} characters)").format(count=REASON_MAX),
                               field="reason")
    balance = refundable_balance(attempt)
    if amount > balance:
        raise RefundNotAllowed(
            gettext("refund amount is above what is left to refund ({amount})").format(
                amount=format_money(balance, attempt.currency)),
            field="amount",
        )
    return cleaned


def refund_create(
    *,
    attempt_id: int,
    amount: int,
    reason: str,
    user: User | AnonymousUser | None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    actor_key: str = "",
) -> RefundCreation:
    """Create a refund of (part of) an approved payment and send it once committed.

    The attempt row is locked while the balance is checked and the refund inserted, so two submits
    cannot both pass the check; the database also refuses a second in-flight refund per attempt. A
    repeated idempotency key returns the first refund. Permissions are the caller's to check; ``actor_key``
    names the API key that asked, when no person did.
    """
    if (existing := _for_key(attempt_id, idempotency_key)) is not None:
        check_replay(existing, fingerprint)
        return RefundCreation(existing, created=False)
    actor = user if user is not None and user.is_authenticated else None
    try:
        with transaction.atomic():
            attempt = PaymentAttempt.objects.select_for_update().filter(pk=attempt_id).first()
            if attempt is None:
                raise PaymentAttempt.DoesNotExist(f"no payment {attempt_id}")
            # Read again under the lock: a concurrent submit with the same key has committed by now.
            if (existing := _for_key(attempt_id, idempotency_key)) is not None:
                check_replay(existing, fingerprint)
                return RefundCreation(existing, created=False)
            _check_refundable(attempt)
            if (busy := refund_in_flight(attempt)) is not None:
                raise RefundInProgress(busy)
            cleaned_reason = _check_request(attempt, amount, reason)
            refund = Refund.objects.create(
                attempt=attempt,
                refund_reference=new_refund_reference(),
                amount=amount,
                currency=attempt.currency,
                reason=cleaned_reason,
                requested_by=actor,
                idempotency_key=idempotency_key or None,
                idempotency_fingerprint=fingerprint if idempotency_key else "",
            )
            _record_request(attempt, refund, actor, actor_key)
            attempt = PaymentAttempt.objects.select_related("lane").get(pk=attempt.pk)
            notify_attempt_changed(attempt)
            transaction.on_commit(lambda: enqueue_refund_task("send_refund", refund.pk))
    except IntegrityError:
        if (existing := _for_key(attempt_id, idempotency_key)) is not None:
            check_replay(existing, fingerprint)
            return RefundCreation(existing, created=False)
        raise RefundInProgress(Refund.objects.filter(attempt_id=attempt_id, status__in=IN_FLIGHT).first()) from None
    return RefundCreation(refund, created=True)


def _record_request(attempt: PaymentAttempt, refund: Refund, actor: User | None, actor_key: str) -> None:
    PaymentEvent.objects.create(
        attempt=attempt,
        refund=refund,
        kind=PaymentEvent.Kind.STATE,
        to_status=S.CREATED,
        cause=causes.REFUND_REQUESTED.format(amount=causes.stored_money(refund.amount, attempt.currency),
                                             reason=refund.reason)[:255],
        actor=actor,
        actor_key=actor_key if actor is None else "",
        data={"amount": refund.amount, "reason": refund.reason, "refund_reference": refund.refund_reference},
    )


def enqueue_refund_task(task_name: str, refund_id: int) -> None:
    enqueue(f"payments.tasks.{task_name}", refund_id)
