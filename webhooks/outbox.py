"""The outbox: a payment's or a refund's status change becomes an event and one delivery per endpoint of its
store that wants it, written in the transaction that made the change (nothing is lost if a process dies before
sending), and sent by the `webhooks` worker once that transaction commits.

Driven by ``payments.signals.status_changed`` (payments never import this module).
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from lanes.rows import Columns
from payments.contract import AttemptSnapshot, RefundSnapshot, attempt_snapshot, refund_snapshot
from payments.models import AttemptStatus, PaymentAttempt, Refund
from webhooks.models import Delivery, Endpoint, Event, EventType
from webhooks.queue import enqueue_delivery_on_commit
from webhooks.signing import new_event_id

S = AttemptStatus
log = logging.getLogger(__name__)

PAYMENT_EVENTS = {
    S.APPROVED: EventType.PAYMENT_APPROVED,
    S.DECLINED: EventType.PAYMENT_DECLINED,
    S.FAILED: EventType.PAYMENT_FAILED,
    S.NEEDS_REVIEW: EventType.PAYMENT_NEEDS_REVIEW,
    S.UNKNOWN: EventType.PAYMENT_UNKNOWN,
}
REFUND_EVENTS = {
    S.APPROVED: EventType.REFUND_APPROVED,
    S.FAILED: EventType.REFUND_FAILED,
    S.NEEDS_REVIEW: EventType.REFUND_NEEDS_REVIEW,
}


class RefundEventData(RefundSnapshot):
    """A refund event's data: the refund's snapshot, and the payment it refunds."""

    payment: AttemptSnapshot


class EventBody(TypedDict):
    id: str
    type: str
    created: int  # unix seconds
    data: AttemptSnapshot | RefundEventData


def event_type_for(status: str, *, refund: bool) -> EventType | None:
    """The event a move to ``status`` makes; None for the statuses on the way (CREATED, SENT)."""
    return (REFUND_EVENTS if refund else PAYMENT_EVENTS).get(S(status))


def event_body(event_id: str, event_type: str, created: datetime, attempt: PaymentAttempt,
               refund: Refund | None) -> EventBody:
    data: AttemptSnapshot | RefundEventData
    if refund is None:
        data = attempt_snapshot(attempt)
    else:
        refund_data: RefundEventData = {**refund_snapshot(refund), "payment": attempt_snapshot(attempt)}
        data = refund_data
    return {"id": event_id, "type": event_type, "created": int(created.timestamp()), "data": data}


@functools.cache
def _endpoints_statement() -> tuple[str, Columns[Endpoint]]:
    columns = Columns(Endpoint, "e")
    return (f"SELECT {columns.sql} FROM {Endpoint._meta.db_table} AS e "  # noqa: S608 (names from the model)
            "WHERE e.store_id = %s AND e.active ORDER BY e.id"), columns


def active_endpoints(store_id: int) -> list[Endpoint]:
    """The store's active endpoints, by id: read on every payment's final change, so by a hand-written statement
    (lanes.rows), without the model's ordering by store name (a join of the stores)."""
    sql, columns = _endpoints_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [store_id])
        return [columns.build(row) for row in cursor.fetchall()]


def on_status_changed(sender: Any, *, attempt: PaymentAttempt, refund: Refund | None, previous: str, status: str,
                      **kwargs: Any) -> None:
    """Receiver of ``payments.signals.status_changed``, inside the transaction of the change."""
    event_type = event_type_for(status, refund=refund is not None)
    if event_type is None:
        return
    endpoints = [e for e in active_endpoints(attempt.store_id) if e.wants(event_type)]
    if not endpoints:
        return
    try:
        # A savepoint: whatever fails here must not undo the payment's change, only this event.
        with transaction.atomic():
            deliveries = event_record(event_type, attempt, refund, endpoints)
    except Exception:
        log.exception("webhook event %s of attempt %s could not be recorded", event_type, attempt.pk)
        return
    for delivery in deliveries:
        enqueue_delivery_on_commit(delivery.pk)


def event_record(event_type: str, attempt: PaymentAttempt, refund: Refund | None,
                 endpoints: list[Endpoint]) -> list[Delivery]:
    """The event and its deliveries, due now."""
    now = timezone.now()
    event_id = new_event_id()
    body = json.dumps(event_body(event_id, event_type, now, attempt, refund), separators=(",", ":"))
    event = Event.objects.create(event_id=event_id, type=event_type, store_id=attempt.store_id, attempt=attempt,
                                 refund=refund, body=body, created_at=now)
    give_up_at = now + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS)
    return Delivery.objects.bulk_create([
        Delivery(event=event, endpoint=endpoint, next_try_at=now, give_up_at=give_up_at) for endpoint in endpoints
    ])
