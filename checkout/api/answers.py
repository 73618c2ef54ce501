"""What each route answers, for the schema: the success and the refusals it can give, all in the error shape."""

from __future__ import annotations

from typing import Any

from checkout.api.schemas import Error

# Every route may answer these: no or a refused key/session (401), a key without the scope or a caller without
# access to the object (403).
COMMON = (401, 403)


def answers(ok: dict[int, Any], *refusals: int, conflict: Any = None) -> dict[int, Any]:
    """``{status: schema}``: ``ok``, then ``refusals`` and the common ones as ``Error``, 409 as ``conflict``."""
    result: dict[int, Any] = dict(ok)
    for status in (*COMMON, *refusals):
        result[status] = Error
    if conflict is not None:
        result[409] = conflict
    return result


def documented_body(schema: Any, description: str) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body that the route reads itself (its own messages and limits)."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema.model_json_schema()}}}}
