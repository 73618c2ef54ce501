"""IOTPay MD5 signing of requests, and what a response's sign proves.

The sandbox (iotpay_sandbox/signing.py) has its own implementation on purpose: a test through it checks
this one independently. Nested objects in responses (``payOrder``) are signed by the gateway as their
JSON text, which a client can only reproduce by trying the likely serialisations.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

__all__ = [
    "Signature",
    "field_text",
    "flat_fields",
    "response_signature",
    "sign",
    "signing_candidates",
    "signing_string",
    "verify",
    "verify_response",
]


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
    """The top-level fields that are not objects or arrays."""
    return {name: value for name, value in data.items() if not isinstance(value, (dict, list, tuple))}


class Signature:
    """What a response's ``sign`` proves (docs/iotpay.md, "Signing", revised 2026-12-01)."""

    VERIFIED = "verified"
    """A candidate serialisation matched: every field, nested objects included, is the gateway's."""
    UNVERIFIABLE = "unverifiable"
    """Signed, with nested objects, and no candidate matched: not proof of forgery, not proof of anything."""
    INVALID = "invalid"
    """Flat answer (nothing we could have serialised differently) whose sign does not match: forged."""
    UNSIGNED = "unsigned"


def _nested_text(value: object, *, sort_keys: bool, ascii_only: bool) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only, sort_keys=sort_keys)


def signing_candidates(data: Mapping[str, object]) -> list[dict[str, object]]:
    """The field sets the gateway may have signed: nested objects as their compact JSON text, keys in the
    order received or sorted, non-ASCII as is or escaped (a Java gateway may do either). A flat answer has
    exactly one candidate: itself."""
    if not any(isinstance(value, (dict, list, tuple)) for value in data.values()):
        return [dict(data)]
    candidates: list[dict[str, object]] = []
    seen: set[tuple[str, ...]] = set()
    for sort_keys in (False, True):
        for ascii_only in (False, True):
            fields = {
                name: _nested_text(value, sort_keys=sort_keys, ascii_only=ascii_only)
                if isinstance(value, (dict, list, tuple)) else value
                for name, value in data.items()
            }
            texts = tuple(str(v) for v in fields.values())
            if texts not in seen:
                seen.add(texts)
                candidates.append(fields)
    return candidates


def response_signature(data: Mapping[str, object], key: str) -> str:
    """One of the ``Signature`` values for a parsed response (``sign`` among its fields)."""
    received = data.get("sign")
    if not isinstance(received, str) or not received.strip():
        return Signature.UNSIGNED
    candidates = signing_candidates(data)
    if any(verify(candidate, key) for candidate in candidates):
        return Signature.VERIFIED
    nested = len(candidates) > 1 or any(isinstance(v, (dict, list, tuple)) for v in data.values())
    return Signature.UNVERIFIABLE if nested else Signature.INVALID


def verify_response(data: Mapping[str, object], key: str) -> bool:
    """True when the response's sign is verified (nested objects included, as their JSON text)."""
    return response_signature(data, key) == Signature.VERIFIED
