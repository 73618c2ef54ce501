"""/readyz against the live console: the gateway worker stopped (warmly, or killed) makes it 503, and 200 again
once the worker is back. /healthz, the liveness check, stays 200 throughout."""

from __future__ import annotations

import time

import pytest
import requests

from store_console.heartbeats import MAX_AGE

pytestmark = [pytest.mark.integration]

CHECKS = {"database", "migrations", "redis", "gateway_worker", "beat"}


def wait_readyz(url: str, status: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{url}/readyz", timeout=10)
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status, response.text
            return response.json()
        time.sleep(0.2)


def assert_only_gateway_down(body: dict) -> None:
    assert body["ok"] is False
    assert body["checks"]["gateway_worker"]["ok"] is False
    assert {name for name, check in body["checks"].items() if check["ok"]} == CHECKS - {"gateway_worker"}


def test_readyz_is_503_while_the_gateway_worker_is_stopped_and_200_when_it_is_back(live):
    body = wait_readyz(live.url, 200, 30)
    assert body["ok"] is True
    assert set(body["checks"]) == CHECKS
    assert body["checks"]["migrations"] == {"ok": True, "unapplied": []}
    assert body["checks"]["gateway_worker"]["seen_seconds_ago"] <= MAX_AGE
    gateway = live.procs["gateway"]
    try:
        gateway.stop()
        # A warm shutdown takes the worker's heartbeat out: no 30 s wait.
        assert_only_gateway_down(wait_readyz(live.url, 503, 5))
        assert requests.get(f"{live.url}/healthz", timeout=5).status_code == 200
    finally:
        gateway.start()
        gateway.wait_ready()
    assert wait_readyz(live.url, 200, 15)["checks"]["gateway_worker"]["ok"] is True


def test_a_killed_gateway_worker_is_not_ready_once_its_last_heartbeat_is_30_s_old(live):
    wait_readyz(live.url, 200, 30)
    gateway = live.procs["gateway"]
    try:
        gateway.kill()
        killed = time.monotonic()
        body = wait_readyz(live.url, 503, MAX_AGE + 15)
        # Its last heartbeat stood until it aged out: no sooner than 30 s after the previous beat.
        assert time.monotonic() - killed >= MAX_AGE - 10.5
        assert_only_gateway_down(body)
        assert body["checks"]["gateway_worker"]["seen_seconds_ago"] >= MAX_AGE
    finally:
        gateway.start()
        gateway.wait_ready()
    wait_readyz(live.url, 200, 15)
