"""The few ways a gateway call can fail. Every error carries the ``Exchange`` that produced it.

What a caller does with each (docs/iotpay.md):
- ``GatewayRefused`` / ``OrderNotFound``: the gateway answered no. For create_order, a refusal is final only
  once a query_order agrees (docs/iotpay.md): the caller asks.
- ``OutcomeUnknown``, ``InvalidResponse``, ``InvalidSignature``: we cannot tell what happened. After a
  create_order, never send it again for that mchOrderNo: poll query_order. ``outcome_unknown`` is True on
  these three classes so callers can branch on one attribute.
- plain ``IOTPayError``: the request never left (bad URL, bad configuration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateways.exchange import Exchange

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
    """No usable answer: time-out, dropped or refused connection, HTTP 5xx, a 4xx without a JSON body, a body
    that is not a JSON object or cannot be read at all, a refusal that may hide a time-out at the bank.

    ``reason`` is one of ``"timeout"``, ``"connection"``, ``"http_5xx"``, ``"http_4xx"``, ``"unparsable"``,
    ``"too_large"``, ``"unreadable"``, ``"gateway_error"`` (errCode 0010/0110/0111/0118),
    ``"unverifiable"`` (a refusal whose nested objects' sign could not be verified).
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
    """``retCode`` or ``resCode`` is FAIL with an errCode that says the request itself was refused.

    ``err_code`` is the gateway's ``errCode`` ("" when it sent none); ``message`` is its ``errCodeDes`` /
    ``retMsg``, cleaned of control characters.
    """

    def __init__(self, message: str, *, err_code: str = "", exchange: Exchange | None = None) -> None:
        where = exchange.endpoint if exchange is not None else "request"
        code = f" [{err_code}]" if err_code else ""
        super().__init__(f"IOTPay refused {where}{code}: {message}", exchange=exchange)
        self.err_code = err_code
        self.message = message


class OrderNotFound(GatewayRefused):
    """query_order refused with errCode 0112: the gateway has no order with that id."""
