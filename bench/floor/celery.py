"""The floor's Celery app and its one task: two calls to the stand-in gateway, then the push."""

from __future__ import annotations

import gc
import os
import threading

import requests
from celery import Celery
from celery.signals import worker_ready
from channels.layers import get_channel_layer
from django.db import connection

from bench.floor import settings
from live.publisher import publisher_for
from payments.queue import Sent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.floor.settings")

app = Celery("floor")
app.config_from_object("django.conf:settings", namespace="CELERY")

SEND = "bench.floor.send"


@worker_ready.connect
def _freeze_startup_objects(**_: object) -> None:
    """As the console's workers (store_console.gc_tuning): start-up objects out of the full collections' sight."""
    gc.collect()
    gc.freeze()


_local = threading.local()


def send_sale(attempt: int, ref: str, lane: str, amount: int) -> None:
    """Send the sale's task, as the console's Pay request does (payments.queue.send_by_name: its result class, no
    ``AsyncResult``), with the skeleton's own app."""
    app.send_task(SEND, args=(attempt, ref, lane, amount), queue="floor", ignore_result=True,
                  result_cls=Sent, add_to_parent=False)  # type: ignore[arg-type]


def _session() -> requests.Session:
    """One keep-alive session per thread, as the console's gateway client keeps one per thread."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False
    return session


def _write(statement: str, params: list[str | int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    connection.close()  # back to the pool while the call is open, as the console's gateway door does


@app.task(name=SEND, ignore_result=True)
def send(attempt: int, ref: str, lane: str, amount: int) -> None:
    if settings.WRITES:
        _write("UPDATE floor_attempt SET status = 'SENT', updated_at = now() WHERE id = %s AND status = 'CREATED'",
               [attempt])
    session = _session()
    form = {"ref": ref, "amount": str(amount), "lane": lane}
    answer = session.post(f"{settings.GATEWAY_URL}/create_order", data=form, timeout=30).json()
    confirmed = session.post(f"{settings.GATEWAY_URL}/query_order", data={"ref": ref}, timeout=30).json()
    status = "APPROVED" if answer.get("retCode") == "SUCCESS" and confirmed.get("status") == "2" else "UNKNOWN"
    if settings.WRITES:
        _write("UPDATE floor_attempt SET status = %s, updated_at = now() WHERE id = %s AND status = 'SENT'",
               [status, attempt])
    layer = get_channel_layer()
    publisher_for(layer, timeout=5).group_send([f"lane.{lane}"], {"type": "floor.done", "ref": ref, "status": status})
