"""The caller's lanes and whether each is taking a payment now."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import Router

from checkout.api.answers import answers
from checkout.api.auth import principal, require_scope
from checkout.api.schemas import LaneList
from lanes import access
from lanes.models import Lane, Terminal
from payments.contract import attempt_snapshot
from payments.selectors import lanes_in_flight

router = Router(tags=["lanes"])


def _terminal(lane: Lane) -> dict[str, Any] | None:
    try:
        terminal = lane.terminal
    except Terminal.DoesNotExist:
        return None
    return {"device": terminal.device, "enabled": terminal.enabled}


@router.get("/lanes", url_name="api-lanes", by_alias=True, summary="List lanes",
            response=answers({200: LaneList}))
def list_lanes(request: HttpRequest) -> JsonResponse:
    """The lanes the caller may use (a key: those it may charge, else its store's; a person: their lanes), by
    store and code, each ``busy`` with the payment in flight on it or ``idle``. Needs ``payments:read`` (a key)."""
    who = principal(request)
    require_scope(who, access.PAYMENTS_READ)
    lanes = list(access.lanes_for(who).order_by("store__name", "code"))
    busy = lanes_in_flight([lane.pk for lane in lanes])
    items = [
        {"code": lane.code, "name": lane.name, "store": {"id": lane.store_id, "name": lane.store.name},
         "terminal": _terminal(lane), "state": "busy" if lane.pk in busy else "idle",
         "attempt": attempt_snapshot(busy[lane.pk]) if lane.pk in busy else None}
        for lane in lanes
    ]
    return JsonResponse({"items": items, "count": len(items)})
