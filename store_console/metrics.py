"""/metrics: the console's Prometheus metrics, for the addresses in METRICS_ALLOWED_IPS or a bearer token.

Every process (Daphne, the workers, beat) counts what it does in prometheus_client's multiprocess mode: with
PROMETHEUS_MULTIPROC_DIR set, each process writes its values to files there, and any Daphne on the host serves
the sum of them all (docs/running.md, "Metrics"). Without it, /metrics shows this Daphne process's own values
only. The attempts' figures are read from the database when scraped, so every Daphne agrees on them.
"""

from __future__ import annotations

import atexit
import hmac
import ipaddress
import logging
import math
import os
import time
from collections.abc import Iterator

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from payments.models import AttemptStatus
from payments.selectors import attempts_open_by_status, oldest_unresolved_created_at
from store_console import heartbeats
from store_console.security import client_ip

log = logging.getLogger(__name__)

# The metrics read at each scrape (the others are written by the processes as they work).
ATTEMPTS_OPEN = "console_attempts_open"
OLDEST_UNRESOLVED = "console_oldest_unresolved_attempt_seconds"
HEARTBEAT_AGE = "console_heartbeat_age_seconds"
SCRAPED = (ATTEMPTS_OPEN, OLDEST_UNRESOLVED, HEARTBEAT_AGE)
# The attempts a person or the gateway still has to settle, by status.
OPEN_STATUSES: tuple[str, ...] = (AttemptStatus.SENT, AttemptStatus.UNKNOWN, AttemptStatus.NEEDS_REVIEW)


class AttemptsCollector(Collector):
    """The open attempts, read from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        open_now = GaugeMetricFamily(ATTEMPTS_OPEN, "Payment attempts not final yet, by status",
                                     labels=["status"])
        for status, count in attempts_open_by_status(OPEN_STATUSES).items():
            open_now.add_metric([status], count)
        yield open_now
        oldest = oldest_unresolved_created_at()
        age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
        yield GaugeMetricFamily(OLDEST_UNRESOLVED,
                                "Age of the oldest attempt waiting on the gateway (CREATED, SENT, UNKNOWN); 0 if none",
                                value=age)


class HeartbeatsCollector(Collector):
    """Seconds since each role's newest heartbeat (store_console/heartbeats.py), +Inf for one never seen. Nothing
    when Redis does not answer: the alert on a missing gateway heartbeat fires then too."""

    ROLES = ("gateway", "default", "webhooks", heartbeats.BEAT)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(HEARTBEAT_AGE, "Seconds since a worker of a queue, or beat, "
                                   "was last seen (+Inf: never)", labels=["role"])
        try:
            client = heartbeats.client()
            seen = {role: heartbeats.last_seen(client, role) for role in self.ROLES}
        except redis.RedisError as exc:
            log.warning("metrics: heartbeats not read: %s", type(exc).__name__)
            return
        now = time.time()
        for role, last in seen.items():
            family.add_metric([role], math.inf if last is None else max(0.0, now - last))
        yield family


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def forget_process_at_exit() -> None:
    """A Daphne that exits takes its live gauges (its open websockets) out of the sums."""
    if multiprocess_dir() is not None:
        pid = os.getpid()
        atexit.register(multiprocess.mark_process_dead, pid)


def exposition() -> bytes:
    database = CollectorRegistry()
    database.register(AttemptsCollector())
    database.register(HeartbeatsCollector())
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY) + generate_latest(database)
    processes = CollectorRegistry()
    multiprocess.MultiProcessCollector(processes)  # type: ignore[no-untyped-call]  # untyped in prometheus_client
    # This Daphne process's basics; each worker's and beat's are console_process_* (store_console/heartbeats.py).
    ProcessCollector(registry=processes)
    PlatformCollector(registry=processes)
    GCCollector(registry=processes)
    return generate_latest(processes) + generate_latest(database)


def allowed(request: HttpRequest) -> bool:
    """From an address in METRICS_ALLOWED_IPS (as the trusted proxies tell it), or with the bearer token."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(item, strict=False) for item in settings.METRICS_ALLOWED_IPS)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
