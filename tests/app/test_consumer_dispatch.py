"""A push reaches the page without a trip to a database thread; other messages still close stale connections."""

from __future__ import annotations

import asyncio
import json

import channels.consumer
import pytest
from channels.exceptions import StopConsumer

from live.consumers import LaneConsumer


@pytest.fixture
def consumer(monkeypatch):
    closed: list[str] = []

    async def close_old_connections() -> None:
        closed.append("closed")

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", close_old_connections)
    made = LaneConsumer()
    made.scope = {"type": "websocket", "headers": [], "query_string": b"lang=en"}
    made.sent = []

    async def base_send(message):
        made.sent.append(message)

    made.base_send = base_send
    made.closed_connections = closed
    return made


def test_a_push_is_sent_with_no_database_work_first(consumer):
    asyncio.run(consumer.dispatch({"type": "attempt.changed",
                                   "attempt": {"id": 7, "status": "APPROVED", "message": ""}}))
    assert [json.loads(m["text"]) for m in consumer.sent] == [
        {"type": "attempt", "attempt": {"id": 7, "status": "APPROVED", "message": ""}}]
    asyncio.run(consumer.dispatch({"type": "websocket.receive", "text": '{"type": "ping"}'}))
    assert json.loads(consumer.sent[-1]["text"]) == {"type": "pong"}
    assert consumer.closed_connections == []


def test_any_other_message_closes_stale_connections_first(consumer):
    with pytest.raises(StopConsumer):
        asyncio.run(consumer.dispatch({"type": "websocket.disconnect", "code": 1000}))
    assert consumer.closed_connections == ["closed"]
