"""Sending a task by name (payments.queue): the message Celery publishes, and no result backend built for it.

Every Pay request runs on a thread of its own under Daphne, and Celery keeps its result backend per thread: a
send that built an ``AsyncResult`` made a backend object for each payment. These sends go to the real broker.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from celery import current_app
from celery.signals import after_task_publish

from payments.queue import SEND_ATTEMPT, Sent, enqueue, send_by_name
from webhooks.queue import DELIVER, enqueue_delivery

NO_SUCH_ATTEMPT = -1  # a worker that takes it finds nothing to claim and does nothing


@pytest.fixture
def published(redis_url: str) -> Any:
    seen: list[dict[str, Any]] = []

    def record(sender: str | None = None, headers: dict[str, Any] | None = None, body: Any = None,
               routing_key: str | None = None, **_: object) -> None:
        seen.append({"task": sender, "id": (headers or {}).get("id"), "args": list(body[0]) if body else None,
                     "routing_key": routing_key, "ignore_result": (headers or {}).get("ignore_result")})

    after_task_publish.connect(record, weak=False)
    try:
        yield seen
    finally:
        after_task_publish.disconnect(record)


def on_a_new_thread(fn: Any) -> tuple[Any, bool]:
    """``fn()`` on a fresh thread, as Daphne runs each request; its value, and whether that thread got a backend."""
    out: dict[str, Any] = {}

    def run() -> None:
        out["value"] = fn()
        out["backend"] = "backend" in vars(current_app._local)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    return out["value"], out["backend"]


def test_a_task_sent_by_name_is_published_to_its_queue_with_its_arguments(published: list[dict[str, Any]]) -> None:
    task_id, _ = on_a_new_thread(lambda: send_by_name(SEND_ATTEMPT, (NO_SUCH_ATTEMPT,)))
    assert published == [{"task": SEND_ATTEMPT, "id": task_id, "args": [NO_SUCH_ATTEMPT],
                          "routing_key": "gateway", "ignore_result": True}]


def test_sending_builds_no_result_backend_on_the_sending_thread(published: list[dict[str, Any]]) -> None:
    for send in (lambda: enqueue(SEND_ATTEMPT, NO_SUCH_ATTEMPT), lambda: enqueue_delivery(NO_SUCH_ATTEMPT)):
        _, built = on_a_new_thread(send)
        assert built is False
    assert [p["task"] for p in published] == [SEND_ATTEMPT, DELIVER]
    # What Celery's own default does, for contrast: the AsyncResult it returns asks for the thread's backend.
    _, built = on_a_new_thread(lambda: current_app.send_task(SEND_ATTEMPT, args=(NO_SUCH_ATTEMPT,), ignore_result=True))
    assert built is True


def test_what_a_send_returns_carries_the_id_only() -> None:
    sent = Sent("abc")
    assert (sent.id, sent.ignored) == ("abc", True)
    with pytest.raises(AttributeError):
        sent.backend  # noqa: B018 - the point: nothing reaches for a backend through it
