"""Turn the one REDIS_URL setting into the forms Celery and channels_redis expect.

Kept free of Django so the runner (`store_console.runner`) can use it before settings load.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


def celery_broker_url(redis_url: str) -> str:
    """Celery names a unix socket `redis+socket://`; TCP URLs pass through."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        db = parse_qs(parts.query).get("db", ["0"])[0]
        return f"redis+socket://{parts.path}?virtual_host={db}"
    return redis_url


def channels_host(redis_url: str) -> dict[str, object]:
    """channels_redis takes a host dict; a unix socket keeps its `unix://` address.

    No read time-out: redis-py's default (5 s) races channels_redis' 5 s blocking reads, and a quiet
    websocket would be closed with 1011 after five seconds.
    """
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        db = int(parse_qs(parts.query).get("db", ["0"])[0])
        return {"address": f"unix://{parts.path}", "db": db, "socket_timeout": None}
    return {"address": redis_url, "socket_timeout": None}
