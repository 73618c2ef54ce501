"""/readyz: whether this console can take payments now. /healthz (checkout.views) only says the process is up.

Each check answers {"ok": bool, ...}; the page is 200 when every one is ok and 503 otherwise, so a load balancer
or an orchestrator stops sending cashiers to a console that would leave their payments waiting. Errors are
named by their type only: a driver's message may carry a host or a user name, never worth showing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from store_console import heartbeats

log = logging.getLogger(__name__)

Check = dict[str, Any]
GATEWAY_QUEUE = "gateway"


def check_database() -> Check:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def check_migrations() -> Check:
    """Every migration of the code this process runs is applied."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return {"ok": not plan, "unapplied": [f"{migration.app_label}.{migration.name}" for migration, _ in plan]}


def _seen(client: redis.Redis, role: str) -> Check:
    last = heartbeats.last_seen(client, role)
    if last is None:
        return {"ok": False, "seen_seconds_ago": None}
    age = max(0.0, time.time() - last)
    return {"ok": age <= heartbeats.MAX_AGE, "seen_seconds_ago": round(age, 1)}


def _run(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except (DatabaseError, redis.RedisError, OSError) as exc:
        log.warning("readiness check %s failed: %s", name, type(exc).__name__)
        return {"ok": False, "error": type(exc).__name__}


def checks() -> dict[str, Check]:
    client = heartbeats.client()
    return {
        "database": _run("database", check_database),
        "migrations": _run("migrations", check_migrations),
        "redis": _run("redis", lambda: {"ok": bool(client.ping())}),
        "gateway_worker": _run("gateway_worker", lambda: _seen(client, GATEWAY_QUEUE)),
        "beat": _run("beat", lambda: _seen(client, heartbeats.BEAT)),
    }


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    found = checks()
    ready = all(check["ok"] for check in found.values())
    return JsonResponse({"ok": ready, "checks": found}, status=200 if ready else 503)
