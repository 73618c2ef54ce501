"""Creating attempts (one charge per intent) and resolving them by hand."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from lanes import broadcast
from lanes.models import Lane, Terminal
from payments.models import IN_FLIGHT_STATUSES, AttemptStatus, PaymentAttempt, PaymentEvent
from payments.services.transitions import transition

S = AttemptStatus


class TerminalUnavailable(Exception):
    """The lane has no terminal, or it is disabled: nothing can be sent."""


class TerminalBusy(Exception):
    """Another attempt is in flight on this terminal; its id is in `attempt`."""

    def __init__(self, attempt: PaymentAttempt | None) -> None:
        super().__init__("terminal busy: a payment is already in progress on this lane")
        self.attempt = attempt


@dataclass(frozen=True)
class AttemptCreation:
    attempt: PaymentAttempt
    created: bool


def new_merchant_reference(prefix: str) -> str:
    """Our mchOrderNo ('SC') or mchRefundNo ('RF'): prefix + UTC time to the millisecond + 6 random
    characters, 23 characters in all (IOTPay allows 30)."""
    now = datetime.now(UTC)
    return f"{prefix}{now:%y%m%d%H%M%S}{now.microsecond // 1000:03d}{secrets.token_hex(3).upper()}"


def new_mch_order_no() -> str:
    return new_merchant_reference("SC")


def _existing_for_key(lane: Lane, idempotency_key: str | None) -> PaymentAttempt | None:
    if not idempotency_key:
        return None
    return PaymentAttempt.objects.filter(lane=lane, idempotency_key=idempotency_key).first()


def attempt_create(
    *,
    lane: Lane,
    amount: int,
    tip: int = 0,
    user: AbstractBaseUser | None = None,
    idempotency_key: str | None = None,
    sale_id: uuid.UUID | None = None,
) -> AttemptCreation:
    """Create the attempt and send it once committed.

    The database refuses a second in-flight attempt on the terminal (partial unique index), so two
    concurrent Pay presses give one attempt and one TerminalBusy. A repeated Idempotency-Key returns
    the first attempt instead of creating another.
    """
    if (existing := _existing_for_key(lane, idempotency_key)) is not None:
        return AttemptCreation(existing, created=False)
    try:
        terminal = lane.terminal
    except Terminal.DoesNotExist:
        raise TerminalUnavailable("this lane has no card terminal configured") from None
    if not terminal.enabled:
        raise TerminalUnavailable("the card terminal of this lane is disabled")
    store = lane.store
    merchant = store.merchant
    try:
        with transaction.atomic():
            attempt = PaymentAttempt.objects.create(
                mch_order_no=new_mch_order_no(),
                sale_id=sale_id or uuid.uuid4(),
                merchant=merchant,
                store=store,
                lane=lane,
                terminal=terminal,
                created_by=user if user is not None and user.is_authenticated else None,
                idempotency_key=idempotency_key or None,
                amount=amount,
                tip=tip,
                currency=merchant.currency,
            )
            PaymentEvent.objects.create(
                attempt=attempt,
                kind=PaymentEvent.Kind.STATE,
                to_status=S.CREATED,
                cause="payment requested at the lane",
                actor=attempt.created_by,
                data={"amount": amount, "tip": tip, "device": terminal.device},
            )
            broadcast.attempt_changed(attempt)
            transaction.on_commit(lambda: _enqueue_send(attempt.pk))
    except IntegrityError:
        if (existing := _existing_for_key(lane, idempotency_key)) is not None:
            return AttemptCreation(existing, created=False)
        busy = PaymentAttempt.objects.filter(terminal=terminal, status__in=IN_FLIGHT_STATUSES).first()
        raise TerminalBusy(busy) from None
    return AttemptCreation(attempt, created=True)


def _enqueue_send(attempt_id: int) -> None:
    from payments.tasks import send_attempt

    send_attempt.delay(attempt_id)


RESOLVABLE = {S.APPROVED, S.DECLINED, S.FAILED}


def attempt_resolve(
    *, attempt_id: int, status: str, user: AbstractBaseUser, reason: str
) -> PaymentAttempt | None:
    """A person closes an attempt that needs review, with the outcome they established and why."""
    if status not in RESOLVABLE:
        raise ValueError(f"an attempt can be resolved only as {', '.join(sorted(RESOLVABLE))}")
    if not reason.strip():
        raise ValueError("a reason is required")
    return transition(
        attempt_id,
        from_statuses=[S.NEEDS_REVIEW],
        to=status,
        cause=f"resolved by {user.get_username()}: {reason.strip()}"[:255],
        actor=user,
        data={"reason": reason.strip()},
    )
