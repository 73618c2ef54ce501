"""The Celery app of the workers. Queues: `gateway` (long charge calls, a threads pool), `default` and `webhooks`.

Beat runs from store_console/beat.py, an app of its own without Django's apps; the signal handlers below
(heartbeats, error reports, the garbage collector, correlation ids) are loaded with this package in every
process, beat's included.
"""

import os
import socket
from typing import Any

from celery import Celery, Task
from celery.beat import Service
from celery.signals import (
    beat_init,
    before_task_publish,
    celeryd_init,
    task_postrun,
    task_prerun,
    worker_ready,
    worker_shutdown,
)
from celery.worker.consumer import Consumer

from payments import logcontext
from store_console.error_reports import init_error_reports
from store_console.gc_tuning import freeze_startup_objects
from store_console.heartbeats import BEAT, Heartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store_console.settings")
# Celery's Django fix-up runs Django's system checks in every worker it starts; they import the URLconf, and
# with it every view, the API (ninja, pydantic) and the admin, which a worker never serves (15 MiB a process).
# The checks run where they belong: `manage.py migrate` and `manage.py check --deploy` (docs/running.md).
os.environ.setdefault("CELERY_SKIP_CHECKS", "true")

app = Celery("store_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

@celeryd_init.connect
def _report_worker_errors(sender: str, **_: object) -> None:
    init_error_reports(f"worker {sender}")  # SENTRY_DSN set: this worker's failures go to Sentry


@beat_init.connect
def _report_beat_errors(sender: object, **_: object) -> None:
    init_error_reports("beat")


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


# The correlation id of the request (or task) that enqueues a task travels in its message, and each task's log
# lines and payment events carry it (payments/logcontext.py). A task beat started gets an id of its own.
@before_task_publish.connect
def _carry_correlation_id(headers: dict[str, object] | None = None, **_: object) -> None:
    correlation = logcontext.correlation_id()
    if correlation and headers is not None:
        headers.setdefault(logcontext.HEADER, correlation)


@task_prerun.connect
def _task_started(task: Task[Any, Any], **_: object) -> None:
    logcontext.start(task.request.get(logcontext.HEADER) or logcontext.new_id())


@task_postrun.connect
def _task_ended(**_: object) -> None:
    logcontext.clear()
