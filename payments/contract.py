"""The JSON shapes and the export columns that clients are written against: contracts, kept as named.

The API and the websocket answered with IOTPay's names before the console spoke neutral words; stores'
scripts read them, so they stay (``mch_order_no``, ``pay_order_id``, ``receipt_disp``, ``mch_refund_no``,
``refund_order_id``), filled from the neutral fields, beside the neutral keys (``order_reference``,
``gateway_reference``, ``terminal_text``, ...) that new clients should read. The day export's columns
stay as they were. This is the one module outside ``gateways/iotpay/`` allowed these names
(``tests/architecture/test_gateway_words.py``).
"""

from __future__ import annotations

from typing import TypedDict

from payments.causes import said
from payments.models import AttemptStatus, PaymentAttempt, Refund

__all__ = ["EXPORT_HEADER", "FIRST_NAMES", "AttemptSnapshot", "RefundSnapshot", "attempt_snapshot", "receipt_available",
           "refund_snapshot"]

ENTRY_METHODS = {"C": "CHIP", "T": "TAP", "S": "SWIPE", "M": "MANUAL"}

class AttemptSnapshot(TypedDict):
    id: int
    lane: str
    sale_id: str
    order_reference: str
    mch_order_no: str
    status: str
    amount: int
    tip: int
    total: int
    currency: str
    card_brand: str
    card_last4: str
    entry_method: str
    auth_num: str
    terminal_text: str
    receipt_disp: str
    message: str
    poll_count: int
    gateway_reference: str
    pay_order_id: str
    created_at: str
    sent_at: str | None
    answered_at: str | None
    finalized_at: str | None
    poll_deadline: str | None
    updated_at: str
    terminal_outcome: str
    receipt_available: bool
    reference: str

class RefundSnapshot(TypedDict):
    id: int
    attempt: int
    refund_reference: str
    mch_refund_no: str
    status: str
    amount: int
    currency: str
    reason: str
    message: str
    gateway_refund_reference: str
    refund_order_id: str
    refundable_after: int | None
    created_at: str
    finalized_at: str | None

# The first names, each repeating a neutral key's value: {neutral key: first name}. The API's schema describes
# them from here (checkout/api/schemas.py).
FIRST_NAMES = {"order_reference": "mch_order_no", "gateway_reference": "pay_order_id", "terminal_text": "receipt_disp",
               "refund_reference": "mch_refund_no", "gateway_refund_reference": "refund_order_id"}

# The day's CSV export; its rows come from ``backoffice.selectors.day_export_values`` in this order.
EXPORT_HEADER = ("created_at", "lane", "terminal_device", "mch_order_no", "pay_order_id", "status", "amount",
                 "tip", "total", "currency", "card_brand", "card_last4", "auth_num", "batch_num", "receipt_disp",
                 "refunded", "finalized_at", "reference")


def _iso(value: object) -> str | None:
    return value.isoformat() if value is not None else None  # type: ignore[attr-defined]


def receipt_available(attempt: PaymentAttempt) -> bool:
    """A card receipt can be printed: a final outcome that reached the card network, or an approval by the
    terminal that the gateway has not confirmed yet (printed marked as awaiting confirmation)."""
    if attempt.status in (AttemptStatus.APPROVED, AttemptStatus.DECLINED):
        return True
    return (attempt.status in (AttemptStatus.UNKNOWN, AttemptStatus.NEEDS_REVIEW)
            and attempt.terminal_outcome == "APPROVED" and bool(attempt.card))


def attempt_snapshot(attempt: PaymentAttempt) -> AttemptSnapshot:
    """The attempt as the API and the websocket show it. `lane` is the lane's code."""
    card = attempt.card or {}
    return {
        "id": attempt.pk,
        "lane": attempt.lane.code,
        "sale_id": str(attempt.sale_id),
        "order_reference": attempt.order_reference,
        "mch_order_no": attempt.order_reference,
        "status": attempt.status,
        "amount": attempt.amount,
        "tip": attempt.tip,
        "total": attempt.amount + attempt.tip,
        "currency": attempt.currency,
        "card_brand": attempt.card_brand,
        "card_last4": attempt.card_last4,
        "entry_method": ENTRY_METHODS.get(str(card.get("trx_method", "")), ""),
        "auth_num": attempt.auth_num,
        "terminal_text": attempt.terminal_text,
        "receipt_disp": attempt.terminal_text,
        "message": said(attempt.message),
        "poll_count": attempt.poll_count,
        "gateway_reference": attempt.gateway_reference,
        "pay_order_id": attempt.gateway_reference,
        "created_at": attempt.created_at.isoformat(),
        "sent_at": _iso(attempt.sent_at),
        "answered_at": _iso(attempt.answered_at),
        "finalized_at": _iso(attempt.finalized_at),
        "poll_deadline": _iso(attempt.poll_deadline),
        "updated_at": attempt.updated_at.isoformat(),
        "terminal_outcome": attempt.terminal_outcome,
        "receipt_available": receipt_available(attempt),
        "reference": attempt.reference,
    }


def refund_snapshot(refund: Refund) -> RefundSnapshot:
    """A refund as the API shows it (and the payment page polls while it is in flight)."""
    return {
        "id": refund.pk,
        "attempt": refund.attempt_id,
        "refund_reference": refund.refund_reference,
        "mch_refund_no": refund.refund_reference,
        "status": refund.status,
        "amount": refund.amount,
        "currency": refund.currency,
        "reason": refund.reason,
        "message": said(refund.message),
        "gateway_refund_reference": refund.gateway_refund_reference,
        "refund_order_id": refund.gateway_refund_reference,
        "refundable_after": refund.refundable_after,
        "created_at": refund.created_at.isoformat(),
        "finalized_at": _iso(refund.finalized_at),
    }
