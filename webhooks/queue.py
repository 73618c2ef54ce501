"""Enqueueing the webhook tasks by name (``webhooks.tasks`` imports the services that enqueue them).

CELERY_TASK_ROUTES sends them to the `webhooks` queue, whose worker does nothing else: a slow endpoint never
holds up a payment's tasks.
"""

from __future__ import annotations

from django.db import transaction

from payments.queue import send_by_name

DELIVER = "webhooks.tasks.deliver"
RESUME_DELIVERIES = "webhooks.tasks.resume_deliveries"


def enqueue_delivery(delivery_id: int, *, countdown: float | None = None) -> None:
    send_by_name(DELIVER, (delivery_id,), countdown=countdown)


def enqueue_delivery_on_commit(delivery_id: int) -> None:
    """After the caller's transaction commits. robust: a broker that cannot take it now must not turn a
    committed payment into an error; the beat job sends what was never enqueued."""
    transaction.on_commit(lambda: enqueue_delivery(delivery_id), robust=True)
