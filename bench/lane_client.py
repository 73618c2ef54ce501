"""The benchmark as a cashier's browser: a logged-in session, payments POSTed as the checkout page does,
and lane websockets that time-stamp every message they receive."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import requests
from django.db import connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin


def login(base_url: str, username: str, password: str) -> requests.Session:
    """A session logged in through the real login page, ready for the JSON API (CSRF header set)."""
    session = requests.Session()
    session.trust_env = False  # 127.0.0.1 only: never through a proxy from the environment
    session.get(f"{base_url}/accounts/login/", timeout=10)
    response = session.post(
        f"{base_url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base_url}/accounts/login/"}, timeout=10, allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"login as {username} failed: HTTP {response.status_code}")
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = f"{base_url}/"
    return session


def post_payment(session: requests.Session, base_url: str, code: str, amount: int) -> dict[str, Any]:
    """POST a payment on a lane as its checkout page does; returns the attempt (201 answer)."""

    response = session.post(f"{base_url}/api/lanes/{code}/payments", json={"amount": amount},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"lane {code}: POST payment answered {response.status_code}: {response.text[:300]}")
    attempt: dict[str, Any] = response.json()  # the attempt's snapshot, a JSON object
    return attempt


def first_push(received: list[Received], attempt_id: int, statuses: Collection[str]) -> Received | None:
    """The first push of ``attempt_id`` in one of ``statuses`` among a lane's messages (the snapshot sent on
    connect is a ``lane`` message, not an ``attempt`` one)."""
    return next((r for r in received if r.message.get("type") == "attempt"
                 and r.attempt.get("id") == attempt_id and r.attempt.get("status") in statuses), None)


def close_text(close_code: int | None, close_reason: str | None) -> str:
    """How a websocket was closed, as the benchmarks report it."""
    return f"code {close_code} {close_reason or ''}".strip()


@dataclass(frozen=True)
class Received:
    wall: float  # time.time() when read: comparable with timestamps other processes of this machine wrote
    mono: float  # time.monotonic() when read: for intervals measured in this process
    message: dict[str, Any]

    @property
    def attempt(self) -> dict[str, Any]:
        return self.message.get("attempt") or {}

    def written_at(self) -> float:
        """The attempt row's `updated_at` as committed with this change (the snapshot carries it)."""
        return datetime.fromisoformat(self.attempt["updated_at"]).timestamp()


class LaneWatcher:
    """A lane's websocket as its checkout page holds it; every message is kept with the time it was read."""

    def __init__(self, base_url: str, code: str, session: requests.Session) -> None:
        self.code = code
        self.received: list[Received] = []
        self.closed = False
        self.closing = False  # set when the bench itself closes it: any other close came from the server
        self._cond = threading.Condition()
        self.ws = connect(
            base_url.replace("http://", "ws://", 1) + f"/ws/lanes/{code}/",
            additional_headers={"Cookie": f"sessionid={session.cookies['sessionid']}"},
            origin=Origin(base_url), open_timeout=15, proxy=None,
        )
        self._thread = threading.Thread(target=self._read, name=f"ws-{code}", daemon=True)
        self._thread.start()

    def _read(self) -> None:

        try:
            for raw in self.ws:
                item = Received(time.time(), time.monotonic(), json.loads(raw))
                with self._cond:
                    self.received.append(item)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def changes(self, attempt_id: int) -> list[Received]:
        """Pushes of `attempt` messages about one attempt (the snapshot sent on connect is left out)."""
        with self._cond:
            return [r for r in self.received if r.message.get("type") == "attempt" and r.attempt.get("id") == attempt_id]

    def wait_status(self, attempt_id: int, statuses: set[str], timeout: float) -> Received:
        """The first push of the attempt in one of `statuses`."""

        def found() -> Received | None:
            return first_push(self.received, attempt_id, statuses)

        with self._cond:
            self._cond.wait_for(lambda: found() is not None or self.closed, timeout)
            item = found()
        if item is None:
            seen = [r.attempt.get("status") for r in self.changes(attempt_id)]
            raise TimeoutError(f"lane {self.code}: attempt {attempt_id} not {sorted(statuses)} on the websocket "
                               f"within {timeout:.0f}s (pushed so far: {seen}; closed: {self.closed})")
        return item

    @property
    def closed_by_server(self) -> str | None:
        """How the server closed this websocket (None while open or when the bench closed it)."""
        if not self.closed or self.closing:
            return None
        return close_text(self.ws.close_code, self.ws.close_reason)

    def close(self) -> None:
        self.closing = True
        with contextlib.suppress(Exception):
            self.ws.close()
        self._thread.join(5)


def open_lane_watchers(base_url: str, codes: list[str], session: requests.Session,
                       workers: int = 16) -> dict[str, LaneWatcher]:
    """Open many lanes' websockets at once (a few at a time: Daphne authenticates each on connect)."""

    with ThreadPoolExecutor(max_workers=workers) as pool:
        watchers = list(pool.map(lambda code: LaneWatcher(base_url, code, session), codes))
    return dict(zip(codes, watchers, strict=True))


class AttemptRow(TypedDict):
    """A PaymentAttempt as attempt_rows() reads it."""

    pk: int
    status: str
    updated_at: datetime
    finalized_at: datetime | None
    answered_at: datetime | None
    order_reference: str


def attempt_rows(attempt_ids: list[int]) -> dict[int, AttemptRow]:
    """The attempts as committed (status, updated_at, finalized_at, answered_at, order_reference), by id;
    needs setup_django() first. Closes its connection afterwards."""
    from payments.models import PaymentAttempt  # noqa: PLC0415  (models load after django.setup())

    rows = {row["pk"]: row for row in PaymentAttempt.objects.filter(pk__in=attempt_ids).values(
        "pk", "status", "updated_at", "finalized_at", "answered_at", "order_reference")}
    connection.close()
    return rows


class ThreadWatchers:
    """``open_lane_watchers``' lanes behind the interface of ``lane_watchers.LaneWatchers``: a thread per websocket
    in this process (``push_latency --lane-watchers threads``, the way it measured before 2026-12-05)."""

    def __init__(self, base_url: str, codes: list[str], session: requests.Session) -> None:
        self.watchers = open_lane_watchers(base_url, codes, session)

    def wait_finals(self, expected: dict[str, int], statuses: set[str], timeout: float) -> dict[str, Received]:
        deadline = time.monotonic() + timeout
        found = {}
        for code, attempt_id in expected.items():
            with contextlib.suppress(TimeoutError):
                found[code] = self.watchers[code].wait_status(attempt_id, statuses,
                                                              timeout=max(0.1, deadline - time.monotonic()))
        return found

    def closed_by_server(self) -> dict[str, str]:
        return {code: why for code, w in self.watchers.items() if (why := w.closed_by_server)}

    def close(self) -> None:
        for watcher in self.watchers.values():
            watcher.closing = True
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(LaneWatcher.close, self.watchers.values()))
