"""The Celery app. Queues: `gateway` (long charge calls, a threads pool), `default` and `webhooks`."""

import os

from celery import Celery
from celery.signals import beat_init, worker_ready

from store_console.gc_tuning import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store_console.settings")

app = Celery("store_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _freeze_worker(**_: object) -> None:
    freeze_startup_objects()


@beat_init.connect
def _freeze_beat(**_: object) -> None:
    freeze_startup_objects()
