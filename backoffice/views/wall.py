"""The live lanes wall: every lane of a store, its state and the day's approvals, for supervisors.

The server renders the whole wall (it reads fine without JavaScript); `static/js/lanes_wall.js` then
follows the store's websocket and applies each change to the tiles with the same wording as here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from lanes import access
from live.wall import IDLE, STUCK_AFTER_SECONDS, WallLane, lanes_wall_snapshot, wall_stores
from payments.causes import said
from payments.contract import AttemptSnapshot
from payments.formats import wall_clock
from payments.models import IN_FLIGHT_STATUSES
from payments.money import format_money

STATE_LABELS = {
    IDLE: gettext_lazy("Idle"),
    "CREATED": gettext_lazy("Sending"),
    "SENT": gettext_lazy("Waiting for card"),
    "UNKNOWN": gettext_lazy("Checking outcome"),
    "NEEDS_REVIEW": gettext_lazy("Needs review"),
}
RESULT_LABELS = {"APPROVED": gettext_lazy("Approved"), "DECLINED": gettext_lazy("Declined"),
                 "FAILED": gettext_lazy("Failed")}
ATTENTION = {
    "CREATED": gettext_lazy("Not sent to the terminal yet"),
    "SENT": gettext_lazy("Waiting on the terminal for a long time"),
    "UNKNOWN": gettext_lazy("No answer from the gateway yet: being checked. Do not charge again"),
    "NEEDS_REVIEW": gettext_lazy("Check the terminal's record before charging again"),
}


@never_cache
@login_required
@access.somewhere(access.VIEW_WALL)
@require_safe
def lanes_wall(request: HttpRequest) -> HttpResponse:
    """`?store=<id>` picks the store; the first one (by name) otherwise."""
    stores = list(wall_stores(request.user))
    wanted = request.GET.get("store")
    if wanted is not None:
        store = next((s for s in stores if str(s.pk) == wanted), None)
        if store is None:
            raise Http404(gettext("No such store."))
    else:
        store = stores[0] if stores else None
    context: dict[str, Any] = {"stores": stores, "store": store, "stuck_after": STUCK_AFTER_SECONDS}
    if store is not None:
        snapshot = lanes_wall_snapshot(store)
        tz = ZoneInfo(store.time_zone)
        now = parse_datetime(snapshot["now"]) or timezone.now()
        day = date.fromisoformat(snapshot["day"])
        currency = store.merchant.currency
        tiles = [_tile(lane, now=now, day=day, tz=tz, currency=currency) for lane in snapshot["lanes"]]
        context.update(
            snapshot=snapshot,
            tiles=tiles,
            day=day,
            currency=currency,
            day_count=sum(lane["approved_count"] for lane in snapshot["lanes"]),
            day_sum=format_money(sum(lane["approved_total"] for lane in snapshot["lanes"]), currency),
            busy=sum(1 for tile in tiles if tile["state"] in IN_FLIGHT_STATUSES),
            attention=sum(1 for tile in tiles if tile["stuck"]),
        )
    return render(request, "backoffice/lanes_wall.html", context)


def _tile(lane: WallLane, *, now: datetime, day: date, tz: ZoneInfo, currency: str) -> dict[str, Any]:
    state = lane["state"]
    current = lane["current"]
    since = parse_datetime(lane["since"]) if lane["since"] else None
    elapsed = int((now - since).total_seconds()) if since else None
    stuck = state == "NEEDS_REVIEW" or (
        state in STUCK_AFTER_SECONDS and elapsed is not None and elapsed >= STUCK_AFTER_SECONDS[state]
    )
    busy = current if state != IDLE else None  # the attempt in progress, if any
    return {
        "lane": lane,
        "state": state,
        "state_label": STATE_LABELS.get(state, state),
        "since": lane["since"] or "",
        "elapsed": _duration(elapsed) if elapsed is not None else "",
        "stuck": stuck,
        "attention": ATTENTION.get(state, "") if stuck else "",
        "current_amount": format_money(busy["total"], busy["currency"]) if busy is not None else "",
        "current_note": _current_note(busy) if busy is not None else "",
        "last_result": _result(lane["last"], day=day, tz=tz),
        "last_detail": _result_detail(lane["last"]) if lane["last"] else "",
        "count": lane["approved_count"],
        "sum": format_money(lane["approved_total"], currency),
    }


def _duration(seconds: int) -> str:
    """65 -> "1:05"; 3725 -> "1:02:05" (the page ticks it every second with the same format)."""
    seconds = max(0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _clock(value: str | None, *, day: date, tz: ZoneInfo) -> str:
    moment = parse_datetime(value) if value else None
    if moment is None:
        return ""
    return wall_clock(moment, day, zone=tz)


def _result(attempt: AttemptSnapshot | None, *, day: date, tz: ZoneInfo) -> str:
    """ "Approved $12.50 at 14:02" (with the date when it was not on the wall's day)."""
    if attempt is None:
        return gettext("No payment yet")
    label = RESULT_LABELS.get(attempt["status"], attempt["status"])
    at = _clock(attempt["finalized_at"] or attempt["updated_at"], day=day, tz=tz)
    return gettext("{status} {amount} at {time}").format(
        status=label, amount=format_money(attempt["total"], attempt["currency"]), time=at)


def _result_detail(attempt: AttemptSnapshot) -> str:
    card = " •••• ".join(part for part in (attempt["card_brand"], attempt["card_last4"]) if part)
    if attempt["status"] == "APPROVED":
        return card or attempt["terminal_text"]
    return attempt["terminal_text"] or said(attempt["message"]) or card


def _current_note(attempt: AttemptSnapshot) -> str:
    status = attempt["status"]
    if status == "UNKNOWN":
        queries = attempt["poll_count"]
        return ngettext("{count} query so far", "{count} queries so far", queries).format(count=queries)
    if status == "NEEDS_REVIEW":
        return said(attempt["message"]) or gettext("Outcome not confirmed")
    if status == "SENT":
        return gettext("On the terminal")
    return gettext("Sending to the terminal")
