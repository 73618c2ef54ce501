"""Applying what a gateway says about an order to an attempt: shared by sending, polling and re-querying.

Every function here runs inside the caller's short transaction and changes state only through
``transition`` / ``update``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from gateways.base import CardDetails, OrderState, Outcome
from payments import causes
from payments.models import AttemptStatus, PaymentAttempt
from payments.queue import POLL_ATTEMPT, enqueue_on_commit
from payments.services.transitions import transition

S = AttemptStatus

# Statuses a verified answer about the order may still settle.
OPEN = [S.SENT, S.UNKNOWN, S.NEEDS_REVIEW]


def poll_later(attempt_id: int, *, countdown: float) -> None:
    enqueue_on_commit(POLL_ATTEMPT, attempt_id, countdown=countdown)


def go_unknown(attempt_id: int, *, cause: str, from_statuses: list[str], **fields: Any) -> bool:
    """Start polling: UNKNOWN with a deadline of PAYMENT_POLL_WINDOW from now by the database's clock."""
    window = timedelta(seconds=settings.PAYMENT_POLL_WINDOW)

    def deadline(now: datetime) -> datetime:
        return now + window

    moved = transition(attempt_id, from_statuses=from_statuses, to=S.UNKNOWN, cause=cause, poll_deadline=deadline,
                       **fields)
    if moved is not None:
        poll_later(attempt_id, countdown=settings.PAYMENT_POLL_INTERVAL)
    return moved is not None


def order_differences(attempt: PaymentAttempt, order: OrderState) -> str:
    """What in the gateway's order differs from ours; a missing amount or currency counts as different, a
    missing tip does not (a look-up need not carry one)."""
    problems = []
    if order.order_reference != attempt.order_reference:
        problems.append(causes.DIFF_REFERENCE.format(reference=repr(order.order_reference)))
    if order.amount is None:
        problems.append(causes.DIFF_NO_AMOUNT)
    elif order.amount != attempt.amount:
        problems.append(causes.DIFF_AMOUNT.format(amount=causes.stored_money(order.amount, attempt.currency),
                                                  asked=causes.stored_money(attempt.amount, attempt.currency)))
    if order.tip is not None and order.tip != attempt.tip:
        problems.append(causes.DIFF_TIP.format(amount=causes.stored_money(order.tip, attempt.currency),
                                               asked=causes.stored_money(attempt.tip, attempt.currency)))
    if (order.currency or "").upper() != attempt.currency.upper():
        problems.append(causes.DIFF_CURRENCY.format(currency=repr(order.currency)))
    return ", ".join(problems)


def card_fields(card: CardDetails | None, text: str = "") -> dict[str, object]:
    """The attempt's columns for the card data the gateway sent (never the expiry: CardDetails has none)."""
    if card is None:
        return {"terminal_text": text[:255]}
    return {
        "card": card.as_dict(),
        "card_brand": card.brand[:40],
        "card_last4": card.last4,
        "auth_num": card.auth_num[:20],
        "batch_num": card.batch_num[:10],
        "terminal_text": (card.terminal_text or text)[:255],
    }


def order_fields(order: OrderState, fallback_card: CardDetails | None = None) -> dict[str, Any]:
    """What a gateway's order state sets on the attempt: where it stands, its figures and card data."""
    fields: dict[str, Any] = {
        "gateway_outcome": order.outcome.value,
        "gateway_amount": order.amount,
        "gateway_tip": order.tip,
        **card_fields(order.card or fallback_card, order.text),
    }
    if order.gateway_reference:
        fields["gateway_reference"] = order.gateway_reference[:40]
    return fields


def apply_order(attempt: PaymentAttempt, order: OrderState, *, source: str,
                from_statuses: Sequence[str] | None = None, fallback_card: CardDetails | None = None,
                **answered: Any) -> bool:
    """Apply a confirmed order state; False when the gateway does not have a final outcome yet.

    ``fallback_card``: card data an earlier answer carried, kept when this one has none.
    """
    if order.outcome is Outcome.NOT_FOUND:
        return False  # nothing to compare: the callers decide what an order the gateway lacks means
    from_statuses = from_statuses or OPEN
    common = {**answered, "terminal_outcome": "", **order_fields(order, fallback_card)}
    if problems := order_differences(attempt, order):
        transition(attempt.pk, from_statuses=[s for s in from_statuses if s != S.NEEDS_REVIEW], to=S.NEEDS_REVIEW,
                   cause=causes.ORDER_DIFFERS.format(source=source, problems=problems),
                   message=causes.MSG_DIFFERS.format(name=attempt.merchant.gateway_name, problems=problems)[:255],
                   **common)
        return True
    if order.outcome is Outcome.PAID:
        transition(attempt.pk, from_statuses=from_statuses, to=S.APPROVED, cause=causes.PAID.format(source=source),
                   message="", paid_at=order.paid_at, **common)
        return True
    if order.outcome is Outcome.DECLINED:
        cause = (causes.NOT_PAID_STATUS.format(source=source, status=order.status) if order.status
                 else causes.NOT_PAID.format(source=source))
        transition(attempt.pk, from_statuses=from_statuses, to=S.DECLINED, cause=cause,
                   message="", **common)
        return True
    return False
