"""Typed results of gateway calls, card data, and the redaction applied before anything is stored or logged.

Everything here is built from untrusted JSON: builders never raise on junk values (they become "" or
None), except ``*.from_response`` which raise ``InvalidResponse`` when a piece the caller relies on is absent.
The card expiry date (``expireDate``) is never kept outside ``Exchange``'s raw fields, which are not in
its repr and are redacted by ``Exchange.as_log()``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from payments.iotpay.cards import CardData
from payments.iotpay.errors import InvalidResponse
from payments.iotpay.signing import Signature
from payments.iotpay.text import json_object, json_safe, money, ms_datetime, to_int, to_text

__all__ = [
    "FINAL_STATUSES",
    "PAID_STATUSES",
    "CardData",
    "CreateOrderResult",
    "Exchange",
    "PayOrder",
    "QueryOrderResult",
    "RefundOrderResult",
    "redact_extra",
]

REFUND_DONE_STATUS = 2
"""The only refund status that means refunded (decision, docs/reliability.md: 3 is "paid and notified" for
payments; nothing public says what it means for a refund, so it is not taken as success)."""
REFUND_FAILED_STATUSES = frozenset({4, 9})
PAID_STATUSES = frozenset({2, 3})
"""2 paid, 3 paid and merchant notified."""
FINAL_STATUSES = frozenset({2, 3, 4, 9})
"""Paid, cancelled by the system (4), cancelled/failed (9). 0 created and 1 paying are not; nor is any unknown value."""

RESPONSE_TEXT_LIMIT = 20_000
REDACTED = "[redacted]"

# For text that is not valid JSON (a truncated body): drop `"expireDate":"…"`, escaped or not.
_EXPIRY_IN_TEXT = re.compile(
    r'\\*"expireDate\\*"\s*:\s*(?:\\*"[^"\\]*(?:\\*")?|[^,}\s]*)\s*,?', re.IGNORECASE
)


# ---------------------------------------------------------------------------------------------- redaction


def _without_expiry(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _without_expiry(v) for k, v in value.items() if str(k).lower() != "expiredate"}
    if isinstance(value, (list, tuple)):
        return [_without_expiry(v) for v in value]
    return value


def _scrub_text(text: str) -> str:
    return _EXPIRY_IN_TEXT.sub("", text) if "expiredate" in text.lower() else text


def redact_extra(extra: str | Mapping[str, Any] | None) -> str | dict[str, Any] | None:
    """``extra`` in the same shape (JSON string or mapping) without ``expireDate``.

    A string without an expiry comes back unchanged; one with it is re-serialised compactly.
    """
    if extra is None:
        return None
    if isinstance(extra, Mapping):
        return _without_expiry(extra)
    if not isinstance(extra, str) or "expiredate" not in extra.lower():
        return extra
    try:
        parsed = json.loads(extra)
    except ValueError:
        return _scrub_text(extra)
    if isinstance(parsed, (dict, list)):
        return json.dumps(_without_expiry(parsed), separators=(",", ":"), ensure_ascii=False)
    return _scrub_text(extra)


def _redact(value: Any) -> Any:
    """Expiry dates removed at any depth (also inside JSON strings), any field named ``key`` masked."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            name = str(k)
            if name.lower() == "expiredate":
                continue
            out[name] = REDACTED if name.lower() == "key" else _redact(v)
        return out
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    if isinstance(value, str) and "expiredate" in value.lower():
        return redact_extra(value)
    return value


# -------------------------------------------------------------------------------------------- exchange


@dataclass(frozen=True)
class Exchange:
    """One HTTP call to the gateway as it happened: what to store in an event row (use ``as_log()``).

    ``request`` holds the fields sent, sign included, never the key. Raw fields stay out of the repr
    because they may hold the card expiry date. ``signature`` is a ``Signature`` value ("" before an
    answer was parsed); ``verified`` is True only for a verified one.
    """

    endpoint: str
    request: dict[str, str] = field(repr=False)
    http_status: int | None
    response_text: str | None = field(repr=False)
    response: dict[str, Any] | None = field(repr=False)
    elapsed_ms: int
    error: str | None
    verified: bool | None
    signature: str = ""

    def __post_init__(self) -> None:
        if self.response_text is not None and len(self.response_text) > RESPONSE_TEXT_LIMIT:
            object.__setattr__(self, "response_text", self.response_text[:RESPONSE_TEXT_LIMIT])

    def as_log(self) -> dict[str, Any]:
        """JSON-serialisable, storable in ``jsonb`` and redacted (no expiry date, no ``key``, no request
        ``sign``). A parsed answer too large or too deep to store is kept as its (cut) text only."""
        try:
            response = json_safe(_redact(self.response)) if self.response is not None else None
            text: str | None = json.dumps(response, ensure_ascii=False) if response is not None else None
        except (ValueError, RecursionError):
            response, text = None, None
        if text is not None and len(text) > RESPONSE_TEXT_LIMIT:
            response, text = None, None
        if text is None and self.response_text is not None:
            text = _scrub_text(self.response_text)
        request = {k: v for k, v in _redact(self.request).items() if k != "sign"}
        return json_safe({
            "endpoint": self.endpoint,
            "request": request,
            "http_status": self.http_status,
            "response_text": text,
            "response": response,
            "elapsed_ms": self.elapsed_ms,
            "error": self.error,
            "verified": self.verified,
            "signature": self.signature,
        })


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
    card: CardData | None
    receipt_disp: str
    refundable: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> PayOrder:
        card = CardData.from_extra(m.get("extra"))
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
            receipt_disp=card.receipt_disp if card is not None else "",
            refundable=money(m.get("refundable"))[0],
            raw=_redact(m),
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
    card: CardData | None
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
            card=CardData.from_extra(merged.get("extra")),
            verified=exchange.signature == Signature.VERIFIED,
            raw=_redact(data),
            exchange=exchange,
        )
