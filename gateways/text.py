"""Reading untrusted values out of gateway JSON: text cleaned of control characters, money, integers, times.

Gateway text (messages, the terminal's text, card fields) is stored in PostgreSQL (whose ``jsonb`` refuses
``\\u0000``), pushed to browsers and printed on ESC/POS printers (which obey ESC and GS): it is cleaned
here, once, before anything else sees it. None of these helpers raises on junk.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "TEXT_LIMIT",
    "clean_text",
    "json_object",
    "json_safe",
    "money",
    "ms_datetime",
    "to_int",
    "to_text",
]

TEXT_LIMIT = 255
"""No gateway text field we keep is longer than this (the reference page's longest is ``body``, 255)."""

# Bidirectional overrides and isolates: they reorder what a person reads on a screen or a receipt.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPACES = re.compile(r"\s+")


def clean_text(value: str, limit: int = TEXT_LIMIT) -> str:
    """``value`` without control characters (C0, DEL, C1: NUL, ESC, GS among them), lone surrogates or
    bidirectional overrides; runs of white space become one space; at most ``limit`` characters."""
    if value.isprintable():  # most gateway text: none of those (they are all unprintable), only spaces to tidy
        return _SPACES.sub(" ", value).strip()[:limit]
    kept = []
    for char in value:
        if char in "\t\n\r\v\f":
            kept.append(" ")
            continue
        if char in _BIDI or unicodedata.category(char) in ("Cc", "Cs"):
            continue
        kept.append(char)
    return _SPACES.sub(" ", "".join(kept)).strip()[:limit]


def to_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A string or an integer as cleaned text; anything else (objects, floats, booleans, None) is ""."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)[:limit]
    return ""


def to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    return None


_DECIMAL = re.compile(r"\s*(?P<sign>-?)\$?\s*(?P<whole>\d{1,15})\.(?P<frac>\d{1,2})\s*")


def money(value: Any) -> tuple[int | None, str]:
    """(cents, raw) of a money field. Integers and digit strings are cents (as gateways send money);
    a decimal string ("20.00", "1.5") is dollars. ("" or absent) → (None, ""); unreadable → (None, raw text),
    so a caller can show what the gateway sent rather than drop the line."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, ""
    cents = to_int(value)
    if cents is not None:
        return cents, ""
    if isinstance(value, str) and (match := _DECIMAL.fullmatch(value)):
        cents = int(match["whole"]) * 100 + int(match["frac"].ljust(2, "0"))
        return (-cents if match["sign"] else cents), ""
    raw = value if isinstance(value, str) else json.dumps(value, default=str)[:40]
    return None, clean_text(raw, 40) or "?"


def ms_datetime(value: Any) -> datetime | None:
    """The gateway's times are epoch milliseconds (int or digit string); "" means not set."""
    ms = to_int(value)
    if ms is None or ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def json_object(value: Any) -> Mapping[str, Any] | None:
    """A mapping, or a JSON string holding an object; anything else (or nesting too deep) is None."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


_UNSAFE = re.compile("[\x00\ud800-\udfff]")
MAX_DEPTH = 24


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as PostgreSQL's ``jsonb`` takes it: NUL and lone surrogates replaced by U+FFFD.

    Raises ValueError for nesting deeper than MAX_DEPTH (jsonb's own parser would run out of stack).
    """
    if depth > MAX_DEPTH:
        raise ValueError("nested too deep to store")
    kind = type(value)
    if kind is str:
        return value if value.isprintable() else _UNSAFE.sub("\ufffd", value)  # NUL, surrogates: unprintable
    if kind is int or kind is bool or value is None:
        return value
    if isinstance(value, str):
        return _UNSAFE.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return {_UNSAFE.sub("\ufffd", str(k)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, depth + 1) for v in value]
    return value
