"""Beat's Celery app: the console's settings and schedule, none of Django's apps.

Beat sends the scheduled tasks by name (settings.CELERY_BEAT_SCHEDULE) to their queues (CELERY_TASK_ROUTES); it
runs no task and reads no model. From the workers' app (store_console/celery.py), Celery's Django fix-up would
set Django's apps up in beat and import every app's tasks with their models, the ORM and the gateway code: about
128 MiB for a process that wakes every few seconds, against about 67 MiB from this one (docs/performance.md).

Its heartbeat, error reports and garbage-collector freeze are the beat_init handlers of store_console/celery.py,
loaded with the package; its log lines are configured from settings.LOGGING as Django would.
"""

from __future__ import annotations

import logging

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings
from django.utils.log import configure_logging

# DJANGO_SETTINGS_MODULE: set by store_console/celery.py, which the package imports first.
# No fix-ups: Celery's Django fix-up is what sets Django's apps up when beat starts.
app = Celery("store_console", fixups=[])
app.config_from_object("django.conf:settings", namespace="CELERY")


@setup_logging.connect
def _configure_logging(loglevel: int | str | None = None, **_: object) -> None:
    """Beat logs as the workers do: settings.LOGGING's handlers and format, at the level of `--loglevel` (which
    Celery gives the root logger in the workers, after Django has configured it)."""
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
