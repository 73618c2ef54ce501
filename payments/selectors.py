"""Reads used by views, consumers, the dashboard and tasks."""

from __future__ import annotations

from typing import TypedDict

from payments.models import AttemptStatus, PaymentAttempt


class AttemptSnapshot(TypedDict):
    id: int
    lane: str
    sale_id: str
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
    receipt_disp: str
    message: str
    poll_count: int
    pay_order_id: str
    created_at: str
    sent_at: str | None
    answered_at: str | None
    finalized_at: str | None
    poll_deadline: str | None
    updated_at: str
    terminal_outcome: str
    receipt_available: bool


def _iso(value: object) -> str | None:
    return value.isoformat() if value is not None else None  # type: ignore[attr-defined]


ENTRY_METHODS = {"C": "CHIP", "T": "TAP", "S": "SWIPE", "M": "MANUAL"}


def attempt_snapshot(attempt: PaymentAttempt) -> AttemptSnapshot:
    """The attempt as the API and the websocket show it. `lane` is the lane's code."""
    card = attempt.card or {}
    return {
        "id": attempt.pk,
        "lane": attempt.lane.code,
        "sale_id": str(attempt.sale_id),
        "mch_order_no": attempt.mch_order_no,
        "status": attempt.status,
        "amount": attempt.amount,
        "tip": attempt.tip,
        "total": attempt.amount + attempt.tip,
        "currency": attempt.currency,
        "card_brand": attempt.card_brand,
        "card_last4": attempt.card_last4,
        "entry_method": ENTRY_METHODS.get(str(card.get("trx_method", "")), ""),
        "auth_num": attempt.auth_num,
        "receipt_disp": attempt.receipt_disp,
        "message": attempt.message,
        "poll_count": attempt.poll_count,
        "pay_order_id": attempt.pay_order_id,
        "created_at": attempt.created_at.isoformat(),
        "sent_at": _iso(attempt.sent_at),
        "answered_at": _iso(attempt.answered_at),
        "finalized_at": _iso(attempt.finalized_at),
        "poll_deadline": _iso(attempt.poll_deadline),
        "updated_at": attempt.updated_at.isoformat(),
        "terminal_outcome": attempt.terminal_outcome,
        "receipt_available": receipt_available(attempt),
    }


def receipt_available(attempt: PaymentAttempt) -> bool:
    """A card receipt can be printed: a final outcome that reached the card network, or an approval by the
    terminal that IOTPay has not confirmed yet (printed marked as awaiting confirmation)."""
    if attempt.status in (AttemptStatus.APPROVED, AttemptStatus.DECLINED):
        return True
    return (attempt.status in (AttemptStatus.UNKNOWN, AttemptStatus.NEEDS_REVIEW)
            and attempt.terminal_outcome == "APPROVED" and bool(attempt.card))


def lane_latest_attempt(lane_id: int) -> PaymentAttempt | None:
    return PaymentAttempt.objects.select_related("lane").filter(lane_id=lane_id).order_by("-created_at", "-pk").first()
