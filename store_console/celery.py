"""The Celery app. Queues: `gateway` (long charge calls, a threads pool), `default` and `webhooks`."""

import os
import socket

from celery import Celery
from celery.beat import Service
from celery.signals import beat_init, worker_ready, worker_shutdown
from celery.worker.consumer import Consumer

from store_console.gc_tuning import freeze_startup_objects
from store_console.heartbeats import BEAT, Heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store_console.settings")

app = Celery("store_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# This process's heartbeat (store_console/heartbeats.py), read by /readyz.
_heartbeats: list[Heartbeat] = []


@worker_ready.connect
def _worker_ready(sender: Consumer, **_: object) -> None:
    freeze_startup_objects()
    heartbeat = Heartbeat(sorted(sender.app.amqp.queues.consume_from), sender.hostname)
    heartbeat.start()
    _heartbeats.append(heartbeat)


@worker_shutdown.connect
def _worker_shutdown(**_: object) -> None:
    while _heartbeats:
        _heartbeats.pop().stop()


@beat_init.connect
def _beat_init(sender: Service, **_: object) -> None:
    freeze_startup_objects()
    heartbeat = Heartbeat([BEAT], f"beat@{socket.gethostname()}")
    heartbeat.start()
    _heartbeats.append(heartbeat)
