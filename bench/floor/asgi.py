"""The floor's ASGI application: Django for HTTP, one websocket consumer per lane (bench.floor)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.floor.settings")

import gc
import json
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

from bench.floor.celery import send_sale

django_application = get_asgi_application()
PLAIN_HTTP = os.environ.get("FLOOR_PLAIN_HTTP") == "1"
Scope = dict[str, Any]


async def plain_pay(scope: Scope, receive: Any, send: Any) -> None:
    """The Pay request outside Django's request stack: read the body, send the task, answer 201, all on
    Daphne's event loop (the task's publish is one quick Redis round trip, made there)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] != "POST":
        status, payload = 405, b""
    else:
        data = json.loads(body)
        ref, lane = str(data["ref"]), scope["path"].rsplit("/", 1)[1]
        send_sale(0, ref, lane, int(data["amount"]))
        status, payload = 201, json.dumps({"id": 0, "ref": ref, "status": "CREATED"}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


async def http_application(scope: Scope, receive: Any, send: Any) -> None:
    if PLAIN_HTTP:
        await plain_pay(scope, receive, send)
    else:
        await django_application(scope, receive, send)


class LaneConsumer(AsyncWebsocketConsumer):
    """Joins its lane's group; forwards each push as text."""

    async def connect(self) -> None:
        self.group = f"lane.{self.scope['url_route']['kwargs']['lane']}"
        assert self.channel_layer is not None
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def floor_done(self, event: dict[str, str]) -> None:
        await self.send(text_data=f'{{"ref": "{event["ref"]}", "status": "{event["status"]}"}}')


application = ProtocolTypeRouter({
    "http": http_application,
    "websocket": URLRouter([path("ws/<str:lane>", LaneConsumer.as_asgi())]),  # type: ignore[arg-type, list-item]
})

# As the console's Daphne (store_console.gc_tuning): start-up objects out of the full collections' sight.
gc.collect()
gc.freeze()
