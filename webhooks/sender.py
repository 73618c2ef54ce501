"""One POST of an event to an endpoint, bounded by the connect and read time-outs; plain ``requests``.

Called with no database connection held. What is kept of an answer is its status code; of a failure, the
exception's class (never its text: it may carry the URL, and a URL may carry credentials).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import requests
from django.utils import timezone

from webhooks.signing import signature_header

USER_AGENT = "store-console-webhooks/1"


@dataclass(frozen=True)
class Answer:
    started_at: datetime
    duration_ms: int
    code: int | None  # None: no answer
    error: str  # why there was no answer, or what was wrong with it

    @property
    def delivered(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def post_event(url: str, *, event_id: str, body: bytes, secret: str, timeouts: tuple[float, float]) -> Answer:
    """POST ``body`` signed now. Redirects are not followed: the endpoint's URL is the one the store gave."""
    started_at, start = timezone.now(), time.monotonic()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Console-Event-Id": event_id,
        "Console-Signature": signature_header(secret, timestamp, body),
    }
    code: int | None = None
    error = ""
    try:
        # stream: the answer's body is never read, so a slow one cannot hold the worker past the time-outs.
        with requests.post(url, data=body, headers=headers, timeout=timeouts, allow_redirects=False,
                           stream=True) as response:
            code = response.status_code
    except requests.Timeout as exc:
        error = f"time-out ({exc.__class__.__name__})"
    except requests.ConnectionError as exc:
        error = f"no connection ({exc.__class__.__name__})"
    except requests.RequestException as exc:
        error = f"request failed ({exc.__class__.__name__})"
    if code is not None and not 200 <= code < 300:
        error = f"answered {code}"
    return Answer(started_at, round((time.monotonic() - start) * 1000), code, error)
