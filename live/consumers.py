"""The websockets: a lane's (the checkout page's live view of its current attempt) and a store's (the lanes wall).

Each socket also listens on its user's group: when the user logs out (that session), is deactivated, or loses
the role or the lane the socket needs, it is closed (4401: the session ended; 4403: no longer allowed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header
from prometheus_client import Gauge

from lanes import access
from lanes.models import Lane, Store
from live.broadcast import lane_group, store_group, user_group
from live.wall import lanes_wall_snapshot, wall_stores
from payments.causes import said
from payments.contract import attempt_snapshot
from payments.selectors import lane_latest_attempt

SESSION_ENDED = 4401
NOT_ALLOWED = 4403


@database_sync_to_async
def _lane_for(user: Any, code: str) -> Lane | None:
    lane = Lane.objects.select_related("store").filter(code=code).first()
    if lane is None or not access.can_operate(user, lane):
        return None
    return lane


@database_sync_to_async
def _current_snapshot(lane_id: int, language: str) -> dict[str, Any] | None:
    attempt = lane_latest_attempt(lane_id)
    with translation.override(language):
        return dict(attempt_snapshot(attempt)) if attempt is not None else None


def _supported(code: str) -> str | None:
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def scope_language(scope: Mapping[str, Any]) -> str:
    """The language of the page that opened the socket: its ``?lang=``, else the language cookie, else the
    browser's Accept-Language, else the console's default."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
    cookie = SimpleCookie(headers.get("cookie", "")).get(settings.LANGUAGE_COOKIE_NAME)
    asked = [*query.get("lang", [])[:1], *([cookie.value] if cookie is not None else []),
             *(code for code, _ in parse_accept_lang_header(headers.get("accept-language", "")) if code != "*")]
    return next((found for code in asked if (found := _supported(code))), settings.LANGUAGE_CODE)


@database_sync_to_async
def _fresh_user(user_id: int) -> Any:
    """The user as the database has them now (active or not), with no remembered roles."""
    return get_user_model().objects.filter(pk=user_id).first()


# Open websockets of lane pages and walls, summed over the live Daphne processes.
WEBSOCKETS = Gauge("console_websocket_connections", "Open websockets (lane pages and lane walls)",
                   multiprocess_mode="livesum")


class _GroupConsumer(AsyncJsonWebsocketConsumer):
    """A page following one group: joined, then its first snapshot, then every attempt change pushed to it."""

    groups_joined: tuple[str, ...] = ()
    counted = False
    # Channels closes the thread's stale database connections before every message, a hop to a worker thread
    # (a quarter of this process's CPU under a burst of pushes, docs/performance.md). These handlers never touch
    # the database; those that do go through database_sync_to_async, which closes them around its own call.
    WITHOUT_DATABASE = frozenset({"attempt.changed", "websocket.receive"})

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") in self.WITHOUT_DATABASE:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)

    async def follow(self, group: str, snapshot: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        user = self.scope["user"]
        assert user is not None  # AuthMiddlewareStack (store_console/asgi.py) always sets it
        self.groups_joined = (group, user_group(user.pk))
        for name in self.groups_joined:
            await self.channel_layer.group_add(name, self.channel_name)
        await self.accept()
        WEBSOCKETS.inc()
        self.counted = True
        # Joined first, then read: a change committed in between arrives as a push, never lost.
        await self.send_json(await snapshot())

    async def disconnect(self, code: int) -> None:
        if self.counted:
            WEBSOCKETS.dec()
            self.counted = False
        for name in self.groups_joined:
            await self.channel_layer.group_discard(name, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    @cached_property
    def language(self) -> str:
        """Read from the socket's opening request once (its query, cookie and headers do not change), not on
        every push."""
        return scope_language(self.scope)

    async def attempt_changed(self, event: dict[str, Any]) -> None:
        """The snapshot was made once for every socket, in the source language: its message is said in this
        page's language (most changes carry none: nothing to translate)."""
        attempt = dict(event["attempt"])
        if message := attempt.get("message"):
            with translation.override(self.language):
                attempt["message"] = said(message)
        else:
            attempt["message"] = ""
        await self.send_json({"type": "attempt", "attempt": attempt})

    async def access_changed(self, event: dict[str, Any]) -> None:
        session = self.scope.get("session")
        if event.get("session_key") and session is not None and event["session_key"] == session.session_key:
            await self.close(code=SESSION_ENDED)
            return
        signed_in = self.scope["user"]
        assert signed_in is not None  # AuthMiddlewareStack (store_console/asgi.py) always sets it
        user = await _fresh_user(signed_in.pk)
        if user is None or not await self.still_allowed(user):
            await self.close(code=NOT_ALLOWED)

    async def still_allowed(self, user: Any) -> bool:
        raise NotImplementedError


class LaneConsumer(_GroupConsumer):
    """Session-authenticated; refused for users not allowed on the lane."""

    lane: Lane

    async def connect(self) -> None:
        code = self.scope["url_route"]["kwargs"]["code"]
        lane = await _lane_for(self.scope["user"], code)
        if lane is None:
            await self.close(code=NOT_ALLOWED)
            return
        self.lane = lane

        async def snapshot() -> dict[str, Any]:
            return {"type": "snapshot", "lane": lane.code, "attempt": await _current_snapshot(lane.pk, self.language)}

        await self.follow(lane_group(lane.pk), snapshot)

    async def still_allowed(self, user: Any) -> bool:
        return await _lane_for(user, self.lane.code) is not None


@database_sync_to_async
def _wall_store(user: Any, store_id: int) -> Store | None:
    """The store if the user may watch its wall; another store's wall, or none, is refused alike."""
    return wall_stores(user).filter(pk=store_id).first()


@database_sync_to_async
def _wall_snapshot(store: Store, language: str) -> dict[str, Any]:
    with translation.override(language):
        return dict(lanes_wall_snapshot(store))


class StoreLanesConsumer(_GroupConsumer):
    """The lanes wall of one store: a full snapshot on connect, then every attempt change of its lanes.

    Session-authenticated; refused for users who may not watch this store's wall.
    """

    store: Store

    async def connect(self) -> None:
        store = await _wall_store(self.scope["user"], self.scope["url_route"]["kwargs"]["store_id"])
        if store is None:
            await self.close(code=NOT_ALLOWED)
            return
        self.store = store
        await self.follow(store_group(store.pk), lambda: _wall_snapshot(store, self.language))

    async def still_allowed(self, user: Any) -> bool:
        return await _wall_store(user, self.store.pk) is not None
