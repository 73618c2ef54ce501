"""IOTPay MD5 signing, written out independently of the project's client.

Sign: drop ``sign`` and empty values (None or ""), sort names case-insensitively, join
``name=value`` with ``&``, append ``&key=KEY``, MD5 of the UTF-8 bytes, upper-case hex.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signing_string(fields: Mapping[str, Any], key: str) -> str:
    """The exact text that is hashed (exposed for debugging a mismatch; it contains the key)."""
    kept = [(name, _text(value)) for name, value in fields.items() if name != "sign" and value not in (None, "")]
    kept.sort(key=lambda item: (item[0].lower(), item[0]))
    joined = "&".join(f"{name}={value}" for name, value in kept)
    return f"{joined}&key={key}" if joined else f"key={key}"


def sign(fields: Mapping[str, Any], key: str) -> str:
    """Upper-case MD5 signature of ``fields`` (their ``sign`` field, if any, ignored)."""
    return hashlib.md5(signing_string(fields, key).encode("utf-8")).hexdigest().upper()  # noqa: S324 - protocol


def verify(fields: Mapping[str, Any], key: str) -> bool:
    """True when ``fields['sign']`` matches; compared in constant time, hex case ignored."""
    given = fields.get("sign")
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.upper().encode("ascii", "replace"), sign(fields, key).encode("ascii"))


def flat_fields(response: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a response is signed over: top-level values that are not objects or lists."""
    return {name: value for name, value in response.items() if not isinstance(value, dict | list)}


def sign_response(response: dict[str, Any], key: str) -> dict[str, Any]:
    """Add ``sign`` computed over the flat fields of ``response`` (in place) and return it."""
    response.pop("sign", None)
    response["sign"] = sign(flat_fields(response), key)
    return response
