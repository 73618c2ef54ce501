"""Applying what IOTPay says about an order to an attempt: shared by sending, polling and re-querying.

Every function here runs inside the caller's short transaction and changes state only through
``transition`` / ``update``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from payments.iotpay import CardData, PayOrder
from payments.models import AttemptStatus, PaymentAttempt
from payments.money import format_money
from payments.queue import POLL_ATTEMPT, enqueue_on_commit
from payments.services.transitions import transition

S = AttemptStatus

# Statuses a verified answer about the order may still settle.
OPEN = [S.SENT, S.UNKNOWN, S.NEEDS_REVIEW]


def poll_later(attempt_id: int, *, countdown: float) -> None:
    enqueue_on_commit(POLL_ATTEMPT, attempt_id, countdown=countdown)


def go_unknown(attempt_id: int, *, cause: str, from_statuses: list[str], **fields: Any) -> bool:
    """Start polling: UNKNOWN with a deadline of IOTPAY_POLL_WINDOW from now by the database's clock."""
    window = timedelta(seconds=settings.IOTPAY_POLL_WINDOW)

    def deadline(now: datetime) -> datetime:
        return now + window

    moved = transition(attempt_id, from_statuses=from_statuses, to=S.UNKNOWN, cause=cause, poll_deadline=deadline,
                       **fields)
    if moved is not None:
        poll_later(attempt_id, countdown=settings.IOTPAY_POLL_INTERVAL)
    return moved is not None


def order_differences(attempt: PaymentAttempt, order: PayOrder) -> str:
    """What in IOTPay's order differs from ours; a missing amount or currency counts as different, a
    missing tip does not (query_order answers need not carry one)."""
    problems = []
    if order.mch_order_no != attempt.mch_order_no:
        problems.append(f"mchOrderNo {order.mch_order_no!r}")
    if order.amount is None:
        problems.append("no amount")
    elif order.amount != attempt.amount:
        problems.append(f"amount {format_money(order.amount, attempt.currency)} instead of "
                        f"{format_money(attempt.amount, attempt.currency)}")
    if order.tip is not None and order.tip != attempt.tip:
        problems.append(f"tip {format_money(order.tip, attempt.currency)} instead of "
                        f"{format_money(attempt.tip, attempt.currency)}")
    if (order.currency or "").upper() != attempt.currency.upper():
        problems.append(f"currency {order.currency!r}")
    return ", ".join(problems)


def card_fields(card: CardData | None, receipt_disp: str = "") -> dict[str, object]:
    """The attempt's columns for the card data IOTPay sent (never the expiry: CardData has none)."""
    if card is None:
        return {"receipt_disp": receipt_disp[:255]}
    return {
        "card": card.as_dict(),
        "card_brand": card.brand[:40],
        "card_last4": card.last4,
        "auth_num": card.auth_num[:20],
        "batch_num": card.batch_num[:10],
        "receipt_disp": (card.receipt_disp or receipt_disp)[:255],
    }


def order_fields(order: PayOrder, fallback_card: CardData | None = None) -> dict[str, Any]:
    """What a verified order sets on the attempt: IOTPay's status, figures and card data."""
    return {
        "gateway_status": order.status,
        "gateway_amount": order.amount,
        "gateway_tip": order.tip,
        **card_fields(order.card or fallback_card, order.receipt_disp),
    }


def apply_order(attempt: PaymentAttempt, order: PayOrder, *, source: str, from_statuses: list[str] | None = None,
                fallback_card: CardData | None = None, **answered: Any) -> bool:
    """Apply a verified order state; False when IOTPay does not have a final outcome yet.

    ``fallback_card``: card data an earlier answer carried, kept when this one has none.
    """
    from_statuses = from_statuses or OPEN
    common = {**answered, "terminal_outcome": "",
              "pay_order_id": order.pay_order_id or answered.get("pay_order_id") or attempt.pay_order_id}
    if problems := order_differences(attempt, order):
        transition(attempt.pk, from_statuses=[s for s in from_statuses if s != S.NEEDS_REVIEW], to=S.NEEDS_REVIEW,
                   cause=f"{source}: IOTPay's order differs from ours ({problems})",
                   message=f"IOTPay's record differs from this sale: {problems}"[:255],
                   **common, **order_fields(order, fallback_card))
        return True
    if order.paid:
        transition(attempt.pk, from_statuses=from_statuses, to=S.APPROVED, cause=f"{source}: paid",
                   message="", paid_at=order.pay_succ_time, **common, **order_fields(order, fallback_card))
        return True
    if order.final:
        transition(attempt.pk, from_statuses=from_statuses, to=S.DECLINED,
                   cause=f"{source}: not paid (status {order.status})", message="", **common,
                   **order_fields(order, fallback_card))
        return True
    return False
