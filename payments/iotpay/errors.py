"""The few ways a gateway call can fail. Every error carries the ``Exchange`` that produced it.

What a caller does with each (IOTPAY.md):
- ``GatewayRefused`` / ``OrderNotFound``: the gateway answered no; nothing reached the bank.
- ``OutcomeUnknown``, ``InvalidResponse``, ``InvalidSignature``: we cannot tell what happened. After a
  create_order, never send it again for that mchOrderNo: poll query_order. ``outcome_unknown`` is True on
  these three classes so callers can branch on one attribute.
- plain ``IOTPayError``: the request never left (bad URL, bad configuration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from payments.iotpay.results import Exchange

__all__ = [
    "GatewayRefused",
    "IOTPayError",
    "InvalidResponse",
    "InvalidSignature",
    "OrderNotFound",
    "OutcomeUnknown",
]


class IOTPayError(Exception):
    """Base of every error raised by the client."""

    outcome_unknown: bool = False

    def __init__(self, message: str, *, exchange: Exchange | None = None) -> None:
        super().__init__(message)
        self.exchange = exchange

    @property
    def endpoint(self) -> str:
        return self.exchange.endpoint if self.exchange is not None else ""


class OutcomeUnknown(IOTPayError):
    """No usable answer: time-out, dropped or refused connection, HTTP 5xx, body not a JSON object.

    ``reason`` is one of ``"timeout"``, ``"connection"``, ``"http_5xx"``, ``"unparsable"``.
    """

    outcome_unknown = True

    def __init__(self, message: str, *, reason: str, exchange: Exchange | None = None) -> None:
        super().__init__(message, exchange=exchange)
        self.reason = reason


class InvalidSignature(IOTPayError):
    """The response's sign does not verify, or a SUCCESS response came without a sign."""

    outcome_unknown = True


class InvalidResponse(IOTPayError):
    """Parsed JSON, but a field the result needs is missing or of the wrong type; treat as unknown."""

    outcome_unknown = True


class GatewayRefused(IOTPayError):
    """``retCode`` or ``resCode`` is FAIL (or HTTP 4xx without JSON): the request was refused.

    ``err_code`` is the gateway's ``errCode`` ("" when it sent none, ``HTTP4xx`` for a bare 4xx);
    ``message`` is its ``errCodeDes`` / ``retMsg``.
    """

    def __init__(self, message: str, *, err_code: str = "", exchange: Exchange | None = None) -> None:
        where = exchange.endpoint if exchange is not None else "request"
        code = f" [{err_code}]" if err_code else ""
        super().__init__(f"IOTPay refused {where}{code}: {message}", exchange=exchange)
        self.err_code = err_code
        self.message = message


class OrderNotFound(GatewayRefused):
    """query_order refused with errCode 0112: the gateway has no order with that id."""
