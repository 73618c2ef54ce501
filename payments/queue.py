"""Enqueueing the Celery tasks that carry a payment forward, by their names.

The tasks (``payments.tasks``) call the services; the services start the next task. A service names the task
(Celery's own lookup by name, ``send_task``, which applies CELERY_TASK_ROUTES) rather than importing the
module that imports it: dependencies stay one way, services below tasks.
"""

from __future__ import annotations

from celery import current_app
from django.db import transaction

SEND_ATTEMPT = "payments.tasks.send_attempt"
POLL_ATTEMPT = "payments.tasks.poll_attempt"
REQUERY_ATTEMPT = "payments.tasks.requery_attempt"
SEND_REFUND = "payments.tasks.send_refund"


def enqueue(task: str, *args: object, countdown: float | None = None) -> None:
    # ignore_result: no result backend is asked for one (Celery would make a backend object per calling thread)
    current_app.send_task(task, args=args, countdown=countdown, ignore_result=True)


def enqueue_on_commit(task: str, *args: object, countdown: float | None = None) -> None:
    """Once the caller's transaction commits (at once outside one): a worker must find what it is sent for."""
    transaction.on_commit(lambda: enqueue(task, *args, countdown=countdown))
