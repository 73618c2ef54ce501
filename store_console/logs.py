"""Logs as JSON, one object per line (LOG_FORMAT=json), and the correlation id of each HTTP request.

Each line carries the correlation id of the request or task it was written in, and the payment it is about once
known (payments/logcontext.py). Only what the code logs is written: the messages themselves never hold a key or
card data (the gateway door logs exchanges redacted), and nothing of a request but its method, path and status.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

from payments import logcontext

log = logging.getLogger("console.http")
# An id a proxy or a register sent (X-Request-ID) is kept when it looks like one; otherwise a new one is made.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
            "thread": record.threadName,
        }
        entry.update(logcontext.fields())
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class CorrelationIdMiddleware:
    """Gives each request its correlation id (X-Request-ID in and out) and logs one line when it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get("X-Request-ID", "")
        correlation = sent if _ACCEPTED_ID.match(sent) else logcontext.new_id()
        logcontext.start(correlation)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = correlation
            log.info("%s %s %s in %d ms", request.method, request.path, response.status_code,
                     (time.monotonic() - started) * 1000)
            return response
        finally:
            logcontext.clear()
