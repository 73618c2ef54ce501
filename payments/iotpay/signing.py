"""IOTPay MD5 signing, exactly as /work/shared/IOTPAY.md ("Signing") describes it.

The same function signs our requests and checks the gateway's responses; the project's sandbox
imports it too, so both sides agree byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

__all__ = ["field_text", "flat_fields", "sign", "signing_string", "verify", "verify_response"]


def field_text(value: object) -> str:
    """The text a value takes both on the wire and in the signed string.

    bool is tested before int because ``True`` is an ``int`` in Python; the gateway (Java/PHP) writes
    booleans as ``true``/``false``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def signing_string(fields: Mapping[str, object], key: str) -> str:
    """``name=value&...&key=<key>``: the text whose MD5 is the sign. Contains the key: never log it."""
    kept = [
        (str(name), field_text(value))
        for name, value in fields.items()
        if name != "sign" and value is not None and value != ""
    ]
    # Case-insensitive, like IOTPay's gateway; the plain name breaks ties so the order is total.
    kept.sort(key=lambda item: (item[0].lower(), item[0]))
    joined = "&".join(f"{name}={text}" for name, text in kept)
    return f"{joined}&key={key}" if joined else f"key={key}"


def sign(fields: Mapping[str, object], key: str) -> str:
    """The uppercase hex MD5 sign of ``fields`` (any ``sign`` field in them is ignored).

    MD5 because the gateway's protocol mandates it; the key stays out of every request and log.
    """
    return hashlib.md5(signing_string(fields, key).encode("utf-8")).hexdigest().upper()  # noqa: S324


def verify(fields: Mapping[str, object], key: str) -> bool:
    """True when ``fields["sign"]`` is the sign of every other field received (extra ones included)."""
    received = fields.get("sign")
    if not isinstance(received, str) or not received:
        return False
    expected = sign(fields, key)
    return hmac.compare_digest(expected.encode("ascii"), received.strip().upper().encode("utf-8"))


def flat_fields(data: Mapping[str, object]) -> dict[str, object]:
    """The top-level fields that are not objects or arrays: the part of a response a client can re-sign.

    The gateway signs nested objects (``payOrder``) as JSON text that cannot be reproduced byte for byte,
    so (our decision, IOTPAY.md) responses are verified over these fields only.
    """
    return {name: value for name, value in data.items() if not isinstance(value, (dict, list, tuple))}


def verify_response(data: Mapping[str, object], key: str) -> bool:
    """``verify`` over the flat fields of a parsed response (``sign`` included among them)."""
    return verify(flat_fields(data), key)
