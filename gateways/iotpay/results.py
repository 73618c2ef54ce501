"""IOTPay's answers, read into typed results: the order (``PayOrder``) and what each endpoint answered.

Everything here is built from untrusted JSON: builders never raise on junk values (they become "" or
None), except ``*.from_response`` which raise ``InvalidResponse`` when a piece the caller relies on is absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateways.cards import CardDetails
from gateways.exchange import Exchange, redact
from gateways.iotpay.errors import InvalidResponse
from gateways.iotpay.extra import card_from_extra
from gateways.iotpay.signing import Signature
from gateways.text import json_object, money, ms_datetime, to_int, to_text

__all__ = [
    "FINAL_STATUSES",
    "PAID_STATUSES",
    "CreateOrderResult",
    "PayOrder",
    "QueryOrderResult",
    "RefundOrderResult",
]

REFUND_DONE_STATUS = 2
"""The only refund status that means refunded (decision, docs/reliability.md: 3 is "paid and notified" for
payments; nothing public says what it means for a refund, so it is not taken as success)."""
REFUND_FAILED_STATUSES = frozenset({4, 9})
PAID_STATUSES = frozenset({2, 3})
"""2 paid, 3 paid and merchant notified."""
FINAL_STATUSES = frozenset({2, 3, 4, 9})
"""Paid, cancelled by the system (4), cancelled/failed (9). 0 created and 1 paying are not; nor is any unknown value."""

# ----------------------------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class PayOrder:
    """An order as the gateway reports it (create_order's ``payOrder`` or query_order's flat fields).

    ``amount`` and ``tip`` are cents (decimal strings read as dollars); None when absent or unreadable.
    ``refundable`` is what IOTPay says is left to refund, when it says so.
    """

    pay_order_id: str
    mch_order_no: str
    mch_id: str
    channel_id: str
    currency: str
    amount: int | None
    tip: int | None
    status: int | None
    device: str
    pay_succ_time: datetime | None
    card: CardDetails | None
    receipt_disp: str
    refundable: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> PayOrder:
        card = card_from_extra(m.get("extra"))
        return cls(
            pay_order_id=to_text(m.get("payOrderId"), 40),
            mch_order_no=to_text(m.get("mchOrderNo"), 40),
            mch_id=to_text(m.get("mchId"), 40),
            channel_id=to_text(m.get("channelId"), 24),
            currency=to_text(m.get("currency"), 8),
            amount=money(m.get("amount"))[0],
            tip=money(m.get("tip"))[0],
            status=to_int(m.get("status")),
            device=to_text(m.get("deviceId"), 64) or to_text(m.get("device"), 64),
            pay_succ_time=ms_datetime(m.get("paySuccTime")),
            card=card,
            receipt_disp=card.terminal_text if card is not None else "",
            refundable=money(m.get("refundable"))[0],
            raw=redact(m),
        )

    @property
    def paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


def _check_same(what: str, expected: str | None, got: str, exchange: Exchange) -> None:
    """An answer about another order than the one asked for must not settle ours."""
    if expected and got and got != expected:
        raise InvalidResponse(
            f"{exchange.endpoint}: response is for {what} {got!r}, not {expected!r}", exchange=exchange
        )


def _require_named(expected: str | None, names: tuple[str, ...], exchange: Exchange) -> None:
    """An answer that names no order at all cannot be tied to ours either."""
    if expected and not any(names):
        raise InvalidResponse(f"{exchange.endpoint}: response names no mchOrderNo", exchange=exchange)


def _require_status(order: PayOrder, where: str, exchange: Exchange) -> None:
    if order.status is None:
        raise InvalidResponse(
            f"{exchange.endpoint}: {where}status missing or not an integer", exchange=exchange
        )


@dataclass(frozen=True)
class CreateOrderResult:
    """A create_order answer with SUCCESS codes; ``paid`` says whether the card was approved.

    ``verified`` is False for an answer whose nested ``payOrder`` could not be verified: its card data is
    kept, its outcome is the confirming query_order's to decide.
    """

    pay_order_id: str
    mch_order_no: str
    pay_order: PayOrder | None
    verified: bool
    exchange: Exchange = field(repr=False)

    @property
    def paid(self) -> bool:
        return self.pay_order is not None and self.pay_order.paid

    @classmethod
    def from_response(
        cls, data: Mapping[str, Any], exchange: Exchange, *, mch_order_no: str | None = None
    ) -> CreateOrderResult:
        pay_order = json_object(data.get("payOrder"))
        if pay_order is None:
            raise InvalidResponse("create_order: SUCCESS without a payOrder object", exchange=exchange)
        order = PayOrder.from_mapping(pay_order)
        _require_status(order, "payOrder.", exchange)
        top_no = to_text(data.get("mchOrderNo"), 40)
        _check_same("mchOrderNo", mch_order_no, top_no, exchange)
        _check_same("mchOrderNo", mch_order_no, order.mch_order_no, exchange)
        _require_named(mch_order_no, (top_no, order.mch_order_no), exchange)
        return cls(
            pay_order_id=to_text(data.get("payOrderId"), 40) or order.pay_order_id,
            mch_order_no=top_no or order.mch_order_no,
            pay_order=order,
            verified=exchange.signature == Signature.VERIFIED,
            exchange=exchange,
        )


@dataclass(frozen=True)
class QueryOrderResult:
    order: PayOrder
    exchange: Exchange = field(repr=False)

    @classmethod
    def from_response(
        cls,
        data: Mapping[str, Any],
        exchange: Exchange,
        *,
        mch_order_no: str | None = None,
        pay_order_id: str | None = None,
    ) -> QueryOrderResult:
        if exchange.signature != Signature.VERIFIED:
            # query_order answers are flat, so anything but a verified one settles nothing.
            raise InvalidResponse(f"query_order: answer not verified ({exchange.signature})", exchange=exchange)
        order = PayOrder.from_mapping(data)
        _require_status(order, "", exchange)
        _check_same("mchOrderNo", mch_order_no, order.mch_order_no, exchange)
        _check_same("payOrderId", pay_order_id, order.pay_order_id, exchange)
        _require_named(mch_order_no, (order.mch_order_no,), exchange)
        return cls(order=order, exchange=exchange)


@dataclass(frozen=True)
class RefundOrderResult:
    """A refund_order answer with SUCCESS codes. ``refunded`` only for status 2 (REFUND_DONE_STATUS);
    ``refused`` for 4/9; anything else (no status, 0, 1, 3, unknown) is not a clear answer.

    ``card`` holds the refund's own terminal data (invoice, sequence, auth, approval text) when IOTPay
    returns them in the refund's ``extra``.
    """

    refund_order_id: str
    mch_refund_no: str
    refund_amount: int | None
    refundable: int | None
    status: int | None
    card: CardDetails | None
    verified: bool
    raw: dict[str, Any] = field(repr=False)
    exchange: Exchange = field(repr=False)

    @property
    def refunded(self) -> bool:
        return self.status == REFUND_DONE_STATUS

    @property
    def refused(self) -> bool:
        return self.status in REFUND_FAILED_STATUSES

    @classmethod
    def from_response(
        cls, data: Mapping[str, Any], exchange: Exchange, *, mch_refund_no: str | None = None
    ) -> RefundOrderResult:
        # The refund order may come flat or nested; nested fields describe the refund itself.
        merged: dict[str, Any] = {k: v for k, v in data.items() if not isinstance(v, (dict, list))}
        for name in ("refundOrder", "payOrder"):
            nested = json_object(data.get(name))
            if nested is not None:
                merged.update(nested)
                break
        got_no = to_text(merged.get("mchRefundNo"), 40)
        _check_same("mchRefundNo", mch_refund_no, got_no, exchange)
        amount = money(merged.get("refundAmount"))[0]
        return cls(
            refund_order_id=to_text(merged.get("refundOrderId"), 40) or to_text(merged.get("payOrderId"), 40),
            mch_refund_no=got_no or (mch_refund_no or ""),
            refund_amount=amount if amount is not None else money(merged.get("amount"))[0],
            refundable=money(merged.get("refundable"))[0],
            status=to_int(merged.get("status")),
            card=card_from_extra(merged.get("extra")),
            verified=exchange.signature == Signature.VERIFIED,
            raw=redact(data),
            exchange=exchange,
        )
