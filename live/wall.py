"""The live wall of a store's lanes: every lane's state, its latest results and the day's approvals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from lanes import access
from lanes.models import Store
from payments.contract import AttemptSnapshot, attempt_snapshot
from payments.models import FINAL_STATUSES, AttemptStatus, PaymentAttempt, PaymentEvent

# An in-flight state lasting longer than this (seconds) stands out on the wall; NEEDS_REVIEW always does.
STUCK_AFTER_SECONDS: dict[str, int] = {"CREATED": 30, "SENT": 90, "UNKNOWN": 0}
IDLE = "IDLE"


class WallLane(TypedDict):
    code: str
    name: str
    terminal: str | None  # the PAX device id; None when the lane has no terminal
    terminal_enabled: bool
    state: str  # the latest attempt's status while it is not final (in flight or NEEDS_REVIEW), else IDLE
    since: str | None  # when the lane entered `state`; None for a lane that never took a payment
    current: AttemptSnapshot | None  # the lane's latest attempt (any day)
    last: AttemptSnapshot | None  # the lane's latest final attempt (APPROVED, DECLINED or FAILED)
    approved_count: int  # APPROVED attempts created on the wall's business day
    approved_total: int  # their totals in cents, tips included


class WallSnapshot(TypedDict):
    type: str  # "wall"
    store: int
    day: str  # the store's business day, YYYY-MM-DD in its time zone
    now: str  # the server's clock after the read: pages measure "since" with it, not with their own
    lanes: list[WallLane]


def wall_stores(user: access.User) -> QuerySet[Store]:
    """Stores whose wall the user may watch: their own stores as a supervisor or manager, every store for
    owners and admins."""
    return access.stores_for(user, access.VIEW_WALL)


def store_business_day(store: Store, at: datetime | None = None) -> date:
    return timezone.localtime(at or timezone.now(), ZoneInfo(store.time_zone)).date()


def business_day_bounds(store: Store, day: date) -> tuple[datetime, datetime]:
    """[start, end) of the day in the store's time zone (23 or 25 hours long when the clocks change)."""
    tz = ZoneInfo(store.time_zone)
    return datetime.combine(day, time.min, tzinfo=tz), datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def lanes_wall(store: Store, day: date | None = None) -> list[WallLane]:
    """Every lane of the store, by code, with its state, last result and the day's approved count and sum.

    Three queries whatever the number of lanes, read from one snapshot of the database (REPEATABLE READ
    on PostgreSQL; SQLite transactions always are) so the day's counts agree with the lanes' latest
    attempts: a page that then counts the approvals pushed to it counts each attempt once.
    """
    day = day or store_business_day(store)
    isolate = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if isolate:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _read_wall(store, day)


def lanes_wall_snapshot(store: Store) -> WallSnapshot:
    """The wall of the store's current business day, as the page and its websocket receive it.

    `now` is taken after the read: an approval finalized later than it was not counted in the snapshot.
    """
    day = store_business_day(store)
    lanes = lanes_wall(store, day)
    return {"type": "wall", "store": store.pk, "day": day.isoformat(), "now": timezone.now().isoformat(),
            "lanes": lanes}


def _read_wall(store: Store, day: date) -> list[WallLane]:
    by_lane = PaymentAttempt.objects.filter(lane=OuterRef("pk")).order_by("-created_at", "-pk").values("pk")
    lanes = list(
        store.lanes.select_related("terminal")
        .annotate(
            latest_id=Subquery(by_lane[:1]),
            last_final_id=Subquery(by_lane.filter(status__in=FINAL_STATUSES)[:1]),
        )
        .order_by("code")
    )
    entered_at = (
        PaymentEvent.objects.filter(attempt=OuterRef("pk"), kind=PaymentEvent.Kind.STATE, to_status=OuterRef("status"))
        .order_by("-pk")
        .values("created_at")[:1]
    )
    ids = {pk for lane in lanes for pk in (lane.latest_id, lane.last_final_id) if pk is not None}
    attempts = PaymentAttempt.objects.annotate(entered_at=Subquery(entered_at)).in_bulk(ids)
    start, end = business_day_bounds(store, day)
    totals: dict[int, Mapping[str, Any]] = {
        row["lane_id"]: row
        for row in PaymentAttempt.objects.filter(
            store=store, status=AttemptStatus.APPROVED, created_at__gte=start, created_at__lt=end
        )
        .values("lane_id")
        .annotate(count=Count("pk"), approved=Sum(F("amount") + F("tip")))
        .order_by()
    }
    wall = []
    for lane in lanes:
        terminal = getattr(lane, "terminal", None)
        latest = attempts.get(lane.latest_id) if lane.latest_id else None
        last = attempts.get(lane.last_final_id) if lane.last_final_id else None
        for attempt in (latest, last):
            if attempt is not None:
                attempt.lane = lane  # the snapshot names the lane by its code: no query per attempt
        day_totals = totals.get(lane.pk, {})
        wall.append(
            WallLane(
                code=lane.code,
                name=lane.name,
                terminal=terminal.device if terminal else None,
                terminal_enabled=bool(terminal and terminal.enabled),
                state=_state(latest),
                since=_since(latest),
                current=attempt_snapshot(latest) if latest else None,
                last=attempt_snapshot(last) if last else None,
                approved_count=day_totals.get("count", 0),
                approved_total=day_totals.get("approved") or 0,
            )
        )
    return wall


def _state(latest: PaymentAttempt | None) -> str:
    if latest is None or latest.status in FINAL_STATUSES:
        return IDLE
    return latest.status


def _since(latest: PaymentAttempt | None) -> str | None:
    """When the latest attempt entered its status (its state event), not its last poll."""
    if latest is None:
        return None
    if latest.status in FINAL_STATUSES:
        return (latest.finalized_at or latest.updated_at).isoformat()
    return (getattr(latest, "entered_at", None) or latest.updated_at).isoformat()
