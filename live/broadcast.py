"""Pushes attempt snapshots to the lane's websocket group, only after the transaction commits.

Driven by the payments services' ``attempt_changed`` signal (payments never import this module). Group names: `lane.<id>` for a lane's checkout page,
`store.<id>` for pages that watch every lane of a store.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
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


# Pushes from sync code (workers' threads, Daphne's sync views) go out from the calling thread: through the pubsub
# layer's Redis in one round trip (live/publisher.py), which is what the console runs; any other layer (the
# in-memory one of some tests) through its own group_send.
SEND_TIMEOUT = 5.0


def _send(groups: tuple[str, ...], message: AttemptMessage | AccessMessage) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        # Waits for the send: the push has left when the service returns.
        if isinstance(layer, RedisPubSubChannelLayer):
            publisher_for(layer, timeout=SEND_TIMEOUT).group_send(groups, message)
            return
        for group in groups:  # e.g. InMemoryChannelLayer, whose queues belong to the caller's loop
            # The channels stubs take dict[str, Any], which mypy never matches with a TypedDict (a dict at run time).
            async_to_sync(layer.group_send)(group, message)  # type: ignore[arg-type]
    except Exception:
        # The state is committed; a page that missed the push re-reads it on (re)connect.
        log.exception("could not push %s to %s", message["type"], ", ".join(groups))
