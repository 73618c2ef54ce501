"""Reading a request's JSON body and its Idempotency-Key, with the API's own limits and messages."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext

from checkout.api.errors import ApiError

MAX_BODY = 64 * 1024
KEY_MAX = 100


def read_json(request: HttpRequest) -> Any:
    """The request's JSON. Raises 413 over MAX_BODY (refused before it is read, when the request says its
    length), 400 for anything that is not JSON (nesting too deep included)."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_BODY or len(request.body) > MAX_BODY:
        raise ApiError(413, gettext("The body is larger than {size} KB.").format(size=MAX_BODY // 1024),
                       code="body_too_large")
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, gettext("The body is not valid JSON."), code="invalid_json",
                       errors={"body": [gettext("Send a JSON object.")]}) from None


def checked_key(header: str | None, errors: dict[str, list[str]]) -> str | None:
    """The Idempotency-Key header, or None; a bad one is added to ``errors``."""
    key = header or None
    if key is not None and (len(key) > KEY_MAX or not key.isprintable()):
        errors.setdefault("Idempotency-Key", []).append(
            gettext("at most {count} printable characters.").format(count=KEY_MAX))
    return key


def replayed_elsewhere() -> ApiError:
    return ApiError(422, gettext("This Idempotency-Key was already used with a different request: use a new key "
                                 "for a new request."), code="idempotency_key_reused")
