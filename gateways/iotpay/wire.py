"""Reading one HTTP answer off the wire and recording the call: size cap, decoding, the exchange, the log."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import requests

from gateways.exchange import Exchange
from gateways.iotpay.errors import GatewayRefused, IOTPayError
from gateways.iotpay.signing import Signature

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
    """One call's context: builds its ``Exchange`` records (the console's gateway door logs them)."""

    def __init__(self, endpoint: str, params: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.params = params
        self.ref = params.get("mchOrderNo") or params.get("mchRefundNo") or params.get("payOrderId") or ""
        self.started = time.monotonic()

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
            reference=self.ref,
        )

    def fail(self, cls: type[IOTPayError], exchange: Exchange, **kwargs: str) -> IOTPayError:
        """The error that carries the call's exchange (marked with the error's kind)."""
        exchange = replace(exchange, outcome=cls.__name__)
        if issubclass(cls, GatewayRefused):
            message = kwargs.pop("message", "refused")
            return cls(message, exchange=exchange, **kwargs)
        return cls(f"{exchange.endpoint}: {exchange.error}", exchange=exchange, **kwargs)
