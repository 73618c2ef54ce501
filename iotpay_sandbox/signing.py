"""IOTPay MD5 signing, written out independently of the project's client.

Sign: drop ``sign`` and empty values (None or ""), sort names case-insensitively, join
``name=value`` with ``&``, append ``&key=KEY``, MD5 of the UTF-8 bytes, upper-case hex. Answers are signed
the same way over all their fields, a nested object (``payOrder``) taking part as its JSON text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
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


NESTED_STYLES = ("compact", "sorted", "spaced")


def signed_fields(response: Mapping[str, Any], nested: str = "compact") -> dict[str, Any]:
    """The fields a response is signed over: nested objects as their JSON text, like IOTPay's gateway.

    ``nested``: "compact" (no spaces, keys in the order they are sent: the gateway's way), "sorted" (keys
    sorted, as a gateway that builds its objects from sorted maps does) or "spaced" (with spaces after ``,``
    and ``:``: a serialisation a client cannot guess, so it cannot verify the answer).
    """
    if nested not in NESTED_STYLES:
        raise ValueError(f"nested must be one of {NESTED_STYLES}")
    separators = (", ", ": ") if nested == "spaced" else (",", ":")
    return {
        name: json.dumps(value, separators=separators, ensure_ascii=False, sort_keys=nested == "sorted")
        if isinstance(value, dict | list) else value
        for name, value in response.items()
    }


def sign_response(response: dict[str, Any], key: str, nested: str = "compact") -> dict[str, Any]:
    """Add ``sign`` over every field of ``response`` (nested objects as JSON text), in place; return it."""
    response.pop("sign", None)
    response["sign"] = sign(signed_fields(response, nested), key)
    return response
