"""A push from sync code as one Redis round trip: ``PUBLISH`` to the pubsub layer's group channels, from the
calling thread.

Channels' way from sync code (``async_to_sync(group_send)``) hands each push to an event loop thread and waits for
it: two hand-overs of the GIL per push, among the gateway worker's 300 threads, at the very moment answers are
being recorded. Here the thread that committed the change publishes both groups (the lane's and the store's) in
one pipelined round trip, releasing the GIL while it waits, as Celery's own publish does.

What is written is what ``channels_redis.pubsub.RedisPubSubChannelLayer.group_send`` writes: the layer's own
serializer, the channel ``<prefix>__group__<group>`` on the host the layer's consistent hash picks.
tests/integration/test_push_publisher.py checks that a consumer subscribed through the layer receives it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash, decode_hosts

# At most this many connections per process: a push is one quick round trip, and a worker has hundreds of threads.
MAX_CONNECTIONS = 16


class GroupPublisher:
    """``group_send`` for a RedisPubSubChannelLayer, synchronous and thread-safe."""

    def __init__(self, layer: RedisPubSubChannelLayer, *, timeout: float) -> None:
        kwargs: dict[str, Any] = layer._kwargs  # the layer's own configuration: hosts and prefix
        self.prefix: str = kwargs.get("prefix", "asgi")
        self.serialize = layer.serialize
        self.clients = [self._client(host, timeout) for host in decode_hosts(kwargs.get("hosts"))]

    @staticmethod
    def _client(host: Mapping[str, Any], timeout: float) -> redis.Redis:
        options = dict(host)
        address = options.pop("address", None)
        if address is None:
            raise ValueError("the push publisher needs each channel layer host as an address (redis:// or unix://)")
        # A push waits at most `timeout` for Redis (the layer's own reads have no time-out: they block on purpose).
        options.update(socket_timeout=timeout, socket_connect_timeout=timeout)
        pool = redis.BlockingConnectionPool.from_url(address, max_connections=MAX_CONNECTIONS, timeout=timeout,
                                                     **options)
        return redis.Redis(connection_pool=pool)

    def channel(self, group: str) -> str:
        return f"{self.prefix}__group__{group}"

    def group_send(self, groups: Sequence[str], message: Mapping[str, Any]) -> None:
        """Publish ``message`` to every group: one pipelined round trip per Redis host involved."""
        payload = self.serialize(message)
        by_client: dict[int, list[str]] = {}
        for group in groups:
            channel = self.channel(group)
            by_client.setdefault(_consistent_hash(channel, len(self.clients)), []).append(channel)
        for index, channels in by_client.items():
            pipe = self.clients[index].pipeline(transaction=False)
            for channel in channels:
                pipe.publish(channel, payload)
            pipe.execute()


_publishers: dict[int, GroupPublisher] = {}
_lock = threading.Lock()


def publisher_for(layer: RedisPubSubChannelLayer, *, timeout: float) -> GroupPublisher:
    """One publisher per layer object (a test that swaps the layer gets a new one)."""
    with _lock:
        publisher = _publishers.get(id(layer))
        if publisher is None:
            _publishers.clear()
            publisher = _publishers[id(layer)] = GroupPublisher(layer, timeout=timeout)
        return publisher
