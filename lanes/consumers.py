"""The websockets: a lane's (the checkout page's live view of its current attempt) and a store's (the lanes wall)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from lanes.broadcast import lane_group, store_group
from lanes.models import Lane, Store
from lanes.selectors import lanes_wall_snapshot, user_can_operate_lane, wall_stores
from payments.selectors import attempt_snapshot, lane_latest_attempt


@database_sync_to_async
def _lane_for(user: Any, code: str) -> Lane | None:
    lane = Lane.objects.select_related("store").filter(code=code).first()
    if lane is None or not user_can_operate_lane(user, lane):
        return None
    return lane


@database_sync_to_async
def _current_snapshot(lane_id: int) -> dict[str, Any] | None:
    attempt = lane_latest_attempt(lane_id)
    return dict(attempt_snapshot(attempt)) if attempt is not None else None


class _GroupConsumer(AsyncJsonWebsocketConsumer):
    """A page following one group: joined, then its first snapshot, then every attempt change pushed to it."""

    group: str | None = None

    async def follow(self, group: str, snapshot: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self.group = group
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        # Joined first, then read: a change committed in between arrives as a push, never lost.
        await self.send_json(await snapshot())

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def attempt_changed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "attempt", "attempt": event["attempt"]})


class LaneConsumer(_GroupConsumer):
    """Session-authenticated; refused (close code 4403) for users not allowed on the lane."""

    async def connect(self) -> None:
        code = self.scope["url_route"]["kwargs"]["code"]
        lane = await _lane_for(self.scope["user"], code)
        if lane is None:
            await self.close(code=4403)
            return

        async def snapshot() -> dict[str, Any]:
            return {"type": "snapshot", "lane": lane.code, "attempt": await _current_snapshot(lane.pk)}

        await self.follow(lane_group(lane.pk), snapshot)


@database_sync_to_async
def _wall_store(user: Any, store_id: int) -> tuple[Store | None, int]:
    """The store, or None and the close code: 4403 for users who may not watch walls, 4404 for no such store."""
    if not (user.is_authenticated and user.is_active and user.has_perm("lanes.view_lanes_wall")):
        return None, 4403
    store = wall_stores(user).filter(pk=store_id).first()
    return (store, 0) if store is not None else (None, 4404)


@database_sync_to_async
def _wall_snapshot(store: Store) -> dict[str, Any]:
    return dict(lanes_wall_snapshot(store))


class StoreLanesConsumer(_GroupConsumer):
    """The lanes wall of one store: a full snapshot on connect, then every attempt change of its lanes.

    Session-authenticated; refused (close code 4403) for users without `lanes.view_lanes_wall`.
    """

    async def connect(self) -> None:
        store, refusal = await _wall_store(self.scope["user"], self.scope["url_route"]["kwargs"]["store_id"])
        if store is None:
            await self.close(code=refusal)
            return
        await self.follow(store_group(store.pk), lambda: _wall_snapshot(store))
