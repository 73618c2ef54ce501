"""Heartbeats: each Celery worker and beat write in Redis when they were last alive; /readyz reads them.

One sorted set per role (a worker's queue, or beat): its members are node names, their scores the time each was
last seen. A thread in the process writes every CONSOLE_HEARTBEAT_INTERVAL seconds, so a worker busy with 200
waiting charge calls still beats. A worker that stops warmly takes its name out at once; one that is killed ages
out after MAX_AGE seconds.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import redis
from django.conf import settings
from prometheus_client import Gauge, ProcessCollector, multiprocess

log = logging.getLogger(__name__)

KEY_PREFIX = "console:heartbeat:"
BEAT = "beat"
# A role is alive when one of its nodes was seen this recently (seconds).
MAX_AGE = 30.0
# Seconds a heartbeat or a readiness check waits on Redis.
REDIS_TIMEOUT = 2.0


# Each worker's and beat's process basics, by node, kept fresh by its heartbeat (multiprocess mode adds the pid).
# The Daphne answering /metrics shows its own as the usual process_* metrics.
PROCESS_GAUGES = {
    "process_resident_memory_bytes": Gauge("console_process_resident_memory_bytes", "Resident memory of a worker "
                                           "or beat", ["node"], multiprocess_mode="liveall"),
    "process_cpu_seconds": Gauge("console_process_cpu_seconds", "CPU time a worker or beat has used", ["node"],
                                 multiprocess_mode="liveall"),
    "process_open_fds": Gauge("console_process_open_fds", "Open file descriptors of a worker or beat", ["node"],
                              multiprocess_mode="liveall"),
    "process_start_time_seconds": Gauge("console_process_start_time_seconds", "When a worker or beat started "
                                        "(epoch seconds)", ["node"], multiprocess_mode="liveall"),
}
_process = ProcessCollector(registry=None)


def record_process_basics(node: str) -> None:
    for family in _process.collect():
        gauge = PROCESS_GAUGES.get(family.name)
        if gauge is not None and family.samples:
            gauge.labels(node=node).set(family.samples[0].value)


def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=REDIS_TIMEOUT,
                                socket_connect_timeout=REDIS_TIMEOUT)


def key(role: str) -> str:
    return f"{KEY_PREFIX}{role}"


def beat_once(connection: redis.Redis, roles: list[str], node: str, *, now: float | None = None) -> None:
    """Record that `node` is alive in each role, and forget nodes of those roles not seen for a day."""
    stamp = time.time() if now is None else now
    pipe = connection.pipeline()
    for role in roles:
        pipe.zadd(key(role), {node: stamp})
        pipe.zremrangebyscore(key(role), "-inf", stamp - 86400)
    pipe.execute()


def last_seen(connection: redis.Redis, role: str) -> float | None:
    """When a node of `role` was last seen (epoch seconds), or None if none ever was."""
    newest = connection.zrevrange(key(role), 0, 0, withscores=True)
    return float(newest[0][1]) if newest else None


class Heartbeat:
    """A daemon thread that beats for `roles` as `node` until stopped."""

    def __init__(self, roles: list[str], node: str) -> None:
        self.roles = roles
        self.node = node
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{node}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        connection = client()
        while True:
            record_process_basics(self.node)
            try:
                beat_once(connection, self.roles, self.node)
            except redis.RedisError as exc:
                # Redis down: /readyz says so itself; try again at the next beat.
                log.warning("heartbeat of %s not written: %s", self.node, type(exc).__name__)
            if self._stopped.wait(settings.CONSOLE_HEARTBEAT_INTERVAL):
                return

    def stop(self) -> None:
        """Stop beating and take the node's name out, so that readiness sees it gone at once."""
        self._stopped.set()
        self._thread.join(REDIS_TIMEOUT * 2)
        try:
            connection = client()
            pipe = connection.pipeline()
            for role in self.roles:
                pipe.zrem(key(role), self.node)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("heartbeat of %s not removed: %s", self.node, type(exc).__name__)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # its live gauges go
