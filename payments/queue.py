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


class Sent:
    """What ``send_task`` returns here: the task's id, nothing more.

    Celery's default, an ``AsyncResult``, asks the app for its result backend, which Celery keeps per thread: every
    Pay request runs on a new thread under Daphne, so each one built a backend object (about 4% of Daphne's CPU
    per payment, py-spy, 2026-12-05). No caller waits for a result: none is ever stored (``ignore_result``).
    """

    __slots__ = ("id", "ignored")

    def __init__(self, task_id: str) -> None:  # Celery calls result_cls(task_id)
        self.id = task_id
        self.ignored = True


def send_by_name(task: str, args: tuple[object, ...], *, countdown: float | None = None) -> str:
    """Send the task named ``task`` (CELERY_TASK_ROUTES picks its queue); its id. No result is kept or asked for,
    and a task sent from inside another is not added to that task's trail."""
    # The stubs want an AsyncResult class; Celery only calls result_cls(task_id) and sets .ignored.
    sent = current_app.send_task(task, args=args, countdown=countdown, ignore_result=True,
                                 result_cls=Sent, add_to_parent=False)  # type: ignore[arg-type]
    return str(sent.id)


def enqueue(task: str, *args: object, countdown: float | None = None) -> None:
    send_by_name(task, args, countdown=countdown)


def enqueue_on_commit(task: str, *args: object, countdown: float | None = None) -> None:
    """Once the caller's transaction commits (at once outside one): a worker must find what it is sent for."""
    transaction.on_commit(lambda: enqueue(task, *args, countdown=countdown))
