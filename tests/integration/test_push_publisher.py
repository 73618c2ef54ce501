"""A push from sync code reaches the consumers that subscribed through the pubsub channel layer: the publisher
writes what the layer's own group_send writes (channel name, serializer), on a real Redis."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer

from live import broadcast
from live.publisher import GroupPublisher, publisher_for
from store_console.redis_urls import channels_host


@pytest.fixture
def layer(redis_url, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [channels_host(redis_url)], "prefix": "pushtest"}}}
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    yield channel_layers["default"]
    channel_layers.backends.pop("default", None)


async def _receive_pushes(layer, groups, push, count):
    """Subscribe a channel to ``groups`` through the layer, run ``push`` in a thread, and read ``count`` messages."""
    channel = await layer.new_channel()
    for group in groups:
        await layer.group_add(group, channel)
    thread = threading.Thread(target=push)
    await asyncio.sleep(0.2)  # the subscription is in place before anything is published
    thread.start()
    try:
        return [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(count)]
    finally:
        thread.join()
        for group in groups:
            await layer.group_discard(group, channel)
        await layer.flush()


def test_a_sync_push_reaches_each_group_subscribed_through_the_layer(layer):
    assert isinstance(layer, RedisPubSubChannelLayer)
    message = {"type": "attempt.changed", "attempt": {"id": 7, "status": "APPROVED", "amount": 1250,
                                                      "message": "Payée — 12,50 $"}}
    received = asyncio.run(_receive_pushes(
        layer, ["lane.7", "store.3"], lambda: broadcast._send(("lane.7", "store.3"), message), 2))
    assert received == [message, message]


def test_the_publisher_names_the_channels_as_the_layer_does(layer):
    publisher = publisher_for(layer, timeout=5)
    assert isinstance(publisher, GroupPublisher)
    assert publisher_for(layer, timeout=5) is publisher  # one per process and layer

    async def layer_name():
        return layer._get_layer()._get_group_channel_name("lane.7")

    assert publisher.channel("lane.7") == asyncio.run(layer_name()) == "pushtest__group__lane.7"


def test_a_push_that_cannot_reach_redis_is_logged_and_does_not_raise(settings, caplog):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0"}]}}}
    from channels.layers import channel_layers

    channel_layers.backends.pop("default", None)
    try:
        broadcast._send(("lane.1",), {"type": "attempt.changed", "attempt": {"id": 1}})
    finally:
        channel_layers.backends.pop("default", None)
    assert "could not push attempt.changed to lane.1" in caplog.text
