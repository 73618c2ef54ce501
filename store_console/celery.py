"""The Celery app. Queues: `gateway` (long create_order calls, a threads pool) and `default`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store_console.settings")

app = Celery("store_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
