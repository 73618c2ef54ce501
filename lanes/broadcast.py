"""Pushes attempt snapshots to the lane's websocket group, only after the transaction commits.

Called only by payments services. Group names: `lane.<id>` for a lane's checkout page,
`store.<id>` for pages that watch every lane of a store.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from payments.selectors import AttemptSnapshot, attempt_snapshot

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


def attempt_changed(attempt: PaymentAttempt) -> None:
    """Schedule the push of the attempt's snapshot as it stands now, for when the transaction commits."""
    message: AttemptMessage = {"type": "attempt.changed", "attempt": attempt_snapshot(attempt)}
    groups = (lane_group(attempt.lane_id), store_group(attempt.store_id))
    transaction.on_commit(lambda: _send(groups, message))


def _send(groups: tuple[str, ...], message: AttemptMessage) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The state is committed; a page that missed the push re-reads it on (re)connect.
        log.exception("could not push attempt %s", message["attempt"]["id"])
