"""One call to a gateway as it happened, and the redaction applied before anything of it is stored or logged.

The card expiry date (``expireDate`` in a terminal's data) is never kept outside ``Exchange``'s raw fields,
which are not in its repr and are removed by ``Exchange.as_log()``, as is any field named ``key`` and the
request's ``sign``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateways.text import json_safe

__all__ = ["Exchange", "redact", "redact_extra"]

RESPONSE_TEXT_LIMIT = 20_000
REDACTED = "[redacted]"

# For text that is not valid JSON (a truncated body): drop `"expireDate":"…"`, escaped or not.
_EXPIRY_IN_TEXT = re.compile(
    r'\\*"expireDate\\*"\s*:\s*(?:\\*"[^"\\]*(?:\\*")?|[^,}\s]*)\s*,?', re.IGNORECASE
)


# ---------------------------------------------------------------------------------------------- redaction

# Exact types with nothing inside to redact (a subclass of str still goes the long way).
_LEAVES = frozenset({int, float, bool, type(None)})


def _mapping_without_expiry(value: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): _without_expiry(v) for k, v in value.items() if str(k).lower() != "expiredate"}


def _without_expiry(value: Any) -> Any:
    if type(value) in _LEAVES:  # most values: checked before the (slower) abstract Mapping
        return value
    if isinstance(value, Mapping):
        return _mapping_without_expiry(value)
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
        return _mapping_without_expiry(extra)
    if not isinstance(extra, str) or "expiredate" not in extra.lower():
        return extra
    try:
        parsed = json.loads(extra)
    except ValueError:
        return _scrub_text(extra)
    if isinstance(parsed, (dict, list)):
        return json.dumps(_without_expiry(parsed), separators=(",", ":"), ensure_ascii=False)
    return _scrub_text(extra)


def redact(value: Any) -> Any:
    """Expiry dates removed at any depth (also inside JSON strings), any field named ``key`` masked."""
    kind = type(value)
    if kind is str:
        return redact_extra(value) if "expiredate" in value.lower() else value
    if kind in _LEAVES:
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            name = str(k)
            if name.lower() == "expiredate":
                continue
            out[name] = REDACTED if name.lower() == "key" else redact(v)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
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
    reference: str = ""  # the order or refund it was about (ours, else the gateway's)
    outcome: str = ""  # how the client classed it: "success", "success (unverifiable)", or the error's kind

    def __post_init__(self) -> None:
        if self.response_text is not None and len(self.response_text) > RESPONSE_TEXT_LIMIT:
            object.__setattr__(self, "response_text", self.response_text[:RESPONSE_TEXT_LIMIT])

    def as_log(self) -> dict[str, Any]:
        """JSON-serialisable, storable in ``jsonb`` and redacted (no expiry date, no ``key``, no request
        ``sign``). A parsed answer too large or too deep to store is kept as its (cut) text only."""
        try:
            response = json_safe(redact(self.response)) if self.response is not None else None
            text: str | None = json.dumps(response, ensure_ascii=False) if response is not None else None
        except (ValueError, RecursionError):
            response, text = None, None
        if text is not None and len(text) > RESPONSE_TEXT_LIMIT:
            response, text = None, None
        if text is None and self.response_text is not None:
            text = _scrub_text(self.response_text)
        request = {k: v for k, v in redact(self.request).items() if k != "sign"}
        log: dict[str, Any] = json_safe({
            "endpoint": self.endpoint,
            "request": request,
            "http_status": self.http_status,
            "response_text": text,
            "response": response,
            "elapsed_ms": self.elapsed_ms,
            "error": self.error,
            "verified": self.verified,
            "signature": self.signature,
            "reference": self.reference,
            "outcome": self.outcome,
        })
        return log


