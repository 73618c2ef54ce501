"""Reading one HTTP answer off the wire and recording the call: size cap, decoding, the exchange, the log."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

from payments.iotpay.errors import GatewayRefused, IOTPayError
from payments.iotpay.results import Exchange
from payments.iotpay.signing import Signature

__all__ = ["MAX_ANSWER_BYTES", "Call", "decode", "read_capped"]

MAX_ANSWER_BYTES = 1_000_000
"""No IOTPay answer comes near this (a payOrder is about 2 kB); a bigger body is refused unread."""


def read_capped(response: requests.Response) -> bytes:
    """The body, or IOTPayError when it is larger than MAX_ANSWER_BYTES (the connection is dropped)."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise IOTPayError(f"answer larger than {MAX_ANSWER_BYTES} bytes: not read")
            chunks.append(chunk)
    finally:
        if size > MAX_ANSWER_BYTES:
            response.close()
    return b"".join(chunks)


def decode(content: bytes) -> str:
    """UTF-8 (a byte-order mark dropped), else Latin-1, which decodes any bytes: the parse decides."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("latin-1")


class Call:
    """One call's context: builds its ``Exchange`` records and logs the call once, with no secret."""

    def __init__(self, endpoint: str, params: dict[str, str], log: logging.Logger) -> None:
        self.endpoint = endpoint
        self.params = params
        self.ref = params.get("mchOrderNo") or params.get("mchRefundNo") or params.get("payOrderId") or ""
        self.started = time.monotonic()
        self._log = log

    def exchange(self, error: str | None, *, status: int | None = None, text: str | None = None,
                 data: dict[str, Any] | None = None, signature: str = "") -> Exchange:
        return Exchange(
            endpoint=self.endpoint,
            request=dict(self.params),
            http_status=status,
            response_text=text,
            response=data,
            elapsed_ms=round((time.monotonic() - self.started) * 1000),
            error=error,
            verified=(signature == Signature.VERIFIED) if signature else None,
            signature=signature,
        )

    def fail(self, cls: type[IOTPayError], exchange: Exchange, **kwargs: str) -> IOTPayError:
        """Log the call once and build the error that carries its exchange."""
        self.log(exchange, cls.__name__)
        if issubclass(cls, GatewayRefused):
            message = kwargs.pop("message", "refused")
            return cls(message, exchange=exchange, **kwargs)
        return cls(f"{exchange.endpoint}: {exchange.error}", exchange=exchange, **kwargs)

    def log(self, exchange: Exchange, outcome: str) -> None:
        # Identifiers and outcome only: never the key, the sign or card data.
        self._log.info(
            "iotpay %s ref=%s http=%s elapsed_ms=%d outcome=%s%s",
            self.endpoint,
            self.ref,
            exchange.http_status,
            exchange.elapsed_ms,
            outcome,
            f" error={exchange.error!r}" if exchange.error and not outcome.startswith("success") else "",
            extra={
                "iotpay_endpoint": self.endpoint,
                "iotpay_ref": self.ref,
                "iotpay_http_status": exchange.http_status,
                "iotpay_elapsed_ms": exchange.elapsed_ms,
                "iotpay_outcome": outcome,
            },
        )


