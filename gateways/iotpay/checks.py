"""Checks on what we are about to send: IOTPay's field limits, cents, currency. Raise ValueError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["check_cents", "check_currency", "check_text"]

# Field limits from docs/iotpay.md / the reference page, in characters.
_LIMITS = {
    "mchId": 30,
    "mchOrderNo": 30,
    "mchRefundNo": 30,
    "currency": 3,
    "clientIp": 32,
    "device": 64,
    "subject": 64,
    "body": 255,
    "extra": 512,
    "jobNo": 50,
    "loginName": 50,
    "remarks": 200,
}
OPTIONAL = frozenset({"device", "remarks", "source"})


def check_text(fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {type(value).__name__}")
        if not value and name not in OPTIONAL:
            raise ValueError(f"{name} is required")
        limit = _LIMITS.get(name)
        if limit is not None and len(value) > limit:
            raise ValueError(f"{name} is {len(value)} characters long; IOTPay accepts at most {limit}")


def check_cents(name: str, value: object, *, allow_zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int number of cents, got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else 'positive'}, got {value}")
    return value


def check_currency(currency: str) -> None:
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise ValueError(f"currency must be 3 upper-case letters like 'CAD', got {currency!r}")


