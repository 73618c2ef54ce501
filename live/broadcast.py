"""Pushes attempt snapshots to the lane's websocket group, only after the transaction commits.

Driven by the payments services' ``attempt_changed`` signal (payments never import this module). Group names: `lane.<id>` for a lane's checkout page,
`store.<id>` for pages that watch every lane of a store.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import TYPE_CHECKING, Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db import transaction

from live.publisher import publisher_for
from payments.contract import AttemptSnapshot, attempt_snapshot

if TYPE_CHECKING:
    from payments.models import PaymentAttempt

log = logging.getLogger(__name__)


class AttemptMessage(TypedDict):
    type: str  # "attempt.changed": handled by the consumers' attempt_changed()
    attempt: AttemptSnapshot


def lane_group(lane_id: int) -> str:
    return f"lane.{lane_id}"


def store_group(store_id: int) -> str:
    return f"store.{store_id}"


def user_group(user_id: int) -> str:
    """Every websocket of one user: told when the user's access may have changed."""
    return f"user.{user_id}"


class AccessMessage(TypedDict):
    type: str  # "access.changed": handled by the consumers' access_changed()
    session_key: str  # "" unless one session ended (a log-out): only that session's sockets close at once


def access_changed(user_id: int, *, session_key: str = "") -> None:
    """Tell the user's open websockets to check their access again, once the change is committed."""
    message: AccessMessage = {"type": "access.changed", "session_key": session_key}
    transaction.on_commit(lambda: _send((user_group(user_id),), message))


def on_attempt_changed(sender: Any, attempt: PaymentAttempt, **kwargs: Any) -> None:
    """Receiver of ``payments.signals.attempt_changed``: payments tell, the live layer pushes."""
    attempt_changed(attempt)


def attempt_changed(attempt: PaymentAttempt) -> None:
    """Schedule the push of the attempt's snapshot as it stands now, for when the transaction commits."""
    message: AttemptMessage = {"type": "attempt.changed", "attempt": attempt_snapshot(attempt)}
    groups = (lane_group(attempt.lane_id), store_group(attempt.store_id))
    transaction.on_commit(lambda: _send(groups, message))


# Pushes from sync code (workers' threads, Daphne's sync views) go out from the calling thread through the pubsub
# layer's Redis (live/publisher.py). Another layer's pushes run on one event loop of this process that lives as
# long as the process. async_to_sync would start a new loop per call, and channels_redis keeps its
# Redis connections per loop: every push would open (and drop) a connection per group. Measured by
# bench/push_latency.py: ~7.6 ms per group that way, ~1 ms for both groups on the shared loop.
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0  # a forked child (prefork pool) does not inherit the loop's thread: it starts its own
_loop_lock = threading.Lock()
SEND_TIMEOUT = 5.0


def _push_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop.is_closed() or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="broadcast-loop", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


async def _send_all(layer: BaseChannelLayer, groups: tuple[str, ...],
                    message: AttemptMessage | AccessMessage) -> None:
    # The channels stubs take dict[str, Any], which mypy never matches with a TypedDict (a dict at run time).
    await asyncio.gather(*(layer.group_send(group, message) for group in groups))  # type: ignore[arg-type]


def _send(groups: tuple[str, ...], message: AttemptMessage | AccessMessage) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if isinstance(layer, InMemoryChannelLayer):  # its queues belong to the caller's loop
            for group in groups:
                async_to_sync(layer.group_send)(group, message)  # type: ignore[arg-type]  # as in _send_all
            return
        # Waits for the send: the push has left when the service returns.
        if isinstance(layer, RedisPubSubChannelLayer):
            publisher_for(layer, timeout=SEND_TIMEOUT).group_send(groups, message)
            return
        asyncio.run_coroutine_threadsafe(_send_all(layer, groups, message), _push_loop()).result(SEND_TIMEOUT)
    except Exception:
        # The state is committed; a page that missed the push re-reads it on (re)connect.
        log.exception("could not push %s to %s", message["type"], ", ".join(groups))
