"""What every log line of the current request or task says it is about: a correlation id that follows a payment
from the HTTP request into its Celery tasks and its event trail, and the payment itself (attempt id, lane, store,
our order reference) once known.

Context variables: each request (Daphne) and each task (a worker's thread) has its own. store_console.logs sets
the id for a request, store_console.celery carries it into the tasks the request enqueues, and
store_console.logs.JsonFormatter writes it on each line (LOG_FORMAT=json).
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any

# The Celery message header that carries the id into a task.
HEADER = "console_correlation_id"  # not "correlation_id": Celery gives that name to the task id

_correlation: ContextVar[str] = ContextVar("correlation_id", default="")
_payment: ContextVar[dict[str, Any] | None] = ContextVar("payment", default=None)


def new_id() -> str:
    return uuid.uuid4().hex


def correlation_id() -> str:
    """The current request's or task's id; "" outside both (a PaymentEvent's default)."""
    return _correlation.get()


def start(correlation: str) -> None:
    """A request or a task begins: its id, and no payment yet."""
    _correlation.set(correlation)
    _payment.set(None)


def clear() -> None:
    _correlation.set("")
    _payment.set(None)


def bind_payment(*, attempt_id: int, lane_id: int | None = None, store_id: int | None = None,
                 order_reference: str = "") -> None:
    """From now on this request's or task's lines name the payment (what is known of it)."""
    found = {"attempt_id": attempt_id, "lane_id": lane_id, "store_id": store_id, "order_reference": order_reference}
    _payment.set({name: value for name, value in found.items() if value not in (None, "")})


def fields() -> dict[str, Any]:
    """What a log line carries: the correlation id and the payment, when there are."""
    out: dict[str, Any] = {}
    if correlation := _correlation.get():
        out["correlation_id"] = correlation
    out.update(_payment.get() or {})
    return out
