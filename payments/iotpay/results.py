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
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from payments.iotpay.errors import InvalidResponse

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


# ---------------------------------------------------------------------------------- tolerant conversions


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    return None


def _ms_datetime(value: Any) -> datetime | None:
    """The gateway's times are epoch milliseconds (int or digit string); "" means not set."""
    ms = _int(value)
    if ms is None or ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _json_object(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


# -------------------------------------------------------------------------------------------- exchange


@dataclass(frozen=True)
class Exchange:
    """One HTTP call to the gateway as it happened: what to store in an event row (use ``as_log()``).

    ``request`` holds the fields sent, sign included, never the key. Raw fields stay out of the repr
    because they may hold the card expiry date.
    """

    endpoint: str
    request: dict[str, str] = field(repr=False)
    http_status: int | None
    response_text: str | None = field(repr=False)
    response: dict[str, Any] | None = field(repr=False)
    elapsed_ms: int
    error: str | None
    verified: bool | None

    def __post_init__(self) -> None:
        if self.response_text is not None and len(self.response_text) > RESPONSE_TEXT_LIMIT:
            object.__setattr__(self, "response_text", self.response_text[:RESPONSE_TEXT_LIMIT])

    def as_log(self) -> dict[str, Any]:
        """JSON-serialisable and redacted (no expiry date, no ``key`` field)."""
        response = _redact(self.response) if self.response is not None else None
        if response is not None:
            text: str | None = json.dumps(response, ensure_ascii=False)
        elif self.response_text is not None:
            text = _scrub_text(self.response_text)
        else:
            text = None
        return {
            "endpoint": self.endpoint,
            "request": _redact(self.request),
            "http_status": self.http_status,
            "response_text": text,
            "response": response,
            "elapsed_ms": self.elapsed_ms,
            "error": self.error,
            "verified": self.verified,
        }


# ------------------------------------------------------------------------------------------- card data

_CARD_TYPE_BRANDS = {
    "V": "VISA",
    "M": "MASTERCARD",
    "AX": "AMEX",
    "A": "AMEX",
    "P": "INTERAC",
    "DP": "INTERAC",
    "D": "DISCOVER",
    "J": "JCB",
    "U": "UNIONPAY",
    "UP": "UNIONPAY",
    "CUP": "UNIONPAY",
    "DC": "DINERS CLUB",
}
_ENTRY_METHODS = {"C": "CHIP", "T": "TAP", "S": "SWIPE", "M": "MANUAL"}
_PIN_CVMS = frozenset({"01", "02", "03", "04", "41", "42", "43", "44"})
_SIGNATURE_CVMS = frozenset({"1E", "5E"})
_NO_CVMS = frozenset({"1F", "3F", "5F"})

_CARD_INT_FIELDS = frozenset({"cashback_amount", "surcharge_amount"})


@dataclass(frozen=True)
class CardData:
    """The card transaction data of a CC_PAX order (``payOrder.extra``). Never holds the expiry date.

    Amounts are cents. ``CardData.from_dict(card.as_dict())`` round-trips.
    """

    card_type: str = ""
    card_num: str = ""
    emv_label: str = ""
    emv_aid: str = ""
    emv_tvr: str = ""
    emv_tsi: str = ""
    emv_tc: str = ""
    term_num: str = ""
    bank_term_num: str = ""
    term_invoice_num: str = ""
    seq_num: str = ""
    auth_num: str = ""
    batch_num: str = ""
    trx_method: str = ""
    account_type: str = ""
    receipt_disp: str = ""
    cashback_amount: int | None = None
    surcharge_amount: int | None = None
    time_stamp: str = ""
    lang_code: str = ""
    trx_date: str = ""
    trx_time: str = ""
    cvm_results: str = ""
    trx_code: str = ""

    @classmethod
    def from_extra(cls, extra: str | Mapping[str, Any] | None) -> CardData | None:
        """None when ``extra`` is missing, empty or not a JSON object; junk values become "" / None."""
        source = _json_object(extra)
        if source is None:
            return None
        # The gateway's names are these attributes in camelCase (``emvAID``): match them case-blind.
        by_lower = {str(k).lower(): v for k, v in source.items()}
        return cls._build({f.name: by_lower.get(f.name.replace("_", "")) for f in fields(cls)})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CardData:
        """Rebuild from ``as_dict()`` output (unknown keys ignored, junk tolerated)."""
        return cls._build({f.name: data.get(f.name) for f in fields(cls)})

    @classmethod
    def _build(cls, values: Mapping[str, Any]) -> CardData:
        return cls(
            **{
                attr: (_int(value) if attr in _CARD_INT_FIELDS else _text(value))
                for attr, value in values.items()
            }
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def last4(self) -> str:
        match = re.search(r"(\d{4})$", self.card_num)
        return match.group(1) if match else ""

    @property
    def brand(self) -> str:
        if self.emv_label:
            return self.emv_label.upper()
        code = self.card_type.upper()
        return _CARD_TYPE_BRANDS.get(code, code)

    @property
    def entry_method(self) -> str:
        return _ENTRY_METHODS.get(self.trx_method.upper(), "")

    @property
    def cvm(self) -> str:
        """From EMV tag 9F34 (first byte): "SIGNATURE", "PIN", "NONE", or "" when unknown."""
        first = self.cvm_results[:2].upper()
        if first in _SIGNATURE_CVMS:
            return "SIGNATURE"
        if first in _PIN_CVMS:
            return "PIN"
        if first in _NO_CVMS:
            return "NONE"
        return ""

    @property
    def is_empty(self) -> bool:
        """No brand, no card number, no authorisation: the terminal never read a card."""
        return not (self.brand or self.card_num or self.auth_num)


# ----------------------------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class PayOrder:
    """An order as the gateway reports it (create_order's ``payOrder`` or query_order's flat fields)."""

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
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> PayOrder:
        card = CardData.from_extra(m.get("extra"))
        return cls(
            pay_order_id=_text(m.get("payOrderId")),
            mch_order_no=_text(m.get("mchOrderNo")),
            mch_id=_text(m.get("mchId")),
            channel_id=_text(m.get("channelId")),
            currency=_text(m.get("currency")),
            amount=_int(m.get("amount")),
            tip=_int(m.get("tip")),
            status=_int(m.get("status")),
            device=_text(m.get("deviceId")) or _text(m.get("device")),
            pay_succ_time=_ms_datetime(m.get("paySuccTime")),
            card=card,
            receipt_disp=card.receipt_disp if card is not None else "",
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
    """A create_order answer with SUCCESS codes; ``paid`` says whether the card was approved."""

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
        pay_order = _json_object(data.get("payOrder"))
        if pay_order is None:
            raise InvalidResponse("create_order: SUCCESS without a payOrder object", exchange=exchange)
        order = PayOrder.from_mapping(pay_order)
        _require_status(order, "payOrder.", exchange)
        top_no = _text(data.get("mchOrderNo"))
        _check_same("mchOrderNo", mch_order_no, top_no, exchange)
        _check_same("mchOrderNo", mch_order_no, order.mch_order_no, exchange)
        _require_named(mch_order_no, (top_no, order.mch_order_no), exchange)
        return cls(
            pay_order_id=_text(data.get("payOrderId")) or order.pay_order_id,
            mch_order_no=top_no or order.mch_order_no,
            pay_order=order,
            verified=exchange.verified is True,
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
        order = PayOrder.from_mapping(data)
        _require_status(order, "", exchange)
        _check_same("mchOrderNo", mch_order_no, order.mch_order_no, exchange)
        _check_same("payOrderId", pay_order_id, order.pay_order_id, exchange)
        _require_named(mch_order_no, (order.mch_order_no,), exchange)
        return cls(order=order, exchange=exchange)


@dataclass(frozen=True)
class RefundOrderResult:
    """A refund the gateway accepted. ``refund_order_id`` is "" if the gateway named none."""

    refund_order_id: str
    mch_refund_no: str
    refund_amount: int | None
    refundable: int | None
    status: int | None
    raw: dict[str, Any] = field(repr=False)
    exchange: Exchange = field(repr=False)

    @classmethod
    def from_response(
        cls, data: Mapping[str, Any], exchange: Exchange, *, mch_refund_no: str | None = None
    ) -> RefundOrderResult:
        # The refund order may come flat or nested; nested fields describe the refund itself.
        merged: dict[str, Any] = {k: v for k, v in data.items() if not isinstance(v, (dict, list))}
        for name in ("refundOrder", "payOrder"):
            nested = _json_object(data.get(name))
            if nested is not None:
                merged.update(nested)
                break
        got_no = _text(merged.get("mchRefundNo"))
        _check_same("mchRefundNo", mch_refund_no, got_no, exchange)
        amount = _int(merged.get("refundAmount"))
        return cls(
            refund_order_id=_text(merged.get("refundOrderId")) or _text(merged.get("payOrderId")),
            mch_refund_no=got_no or (mch_refund_no or ""),
            refund_amount=amount if amount is not None else _int(merged.get("amount")),
            refundable=_int(merged.get("refundable")),
            status=_int(merged.get("status")),
            raw=_redact(data),
            exchange=exchange,
        )
