"""/metrics against the live console: scraped during a payment and a time-out and parsed with prometheus_client's
parser, the counters, gauges and histograms move as the payments do; refused to an address not allowed."""

from __future__ import annotations

import secrets
import socket
import time
import uuid

import pytest
import requests
from websockets.sync.client import connect

from store_console import processes
from tests.conftest import wait_for_status
from tests.metrics_scrape import scrape, value
from tests.processes import Proc, wait_http

pytestmark = pytest.mark.integration

CHARGE_TIMEOUT = 3.0  # IOTPAY_CREATE_TIMEOUT in tests/settings.py


def pay(session: requests.Session, url: str, lane: object, amount: int) -> int:
    response = session.post(f"{url}/api/lanes/{lane.code}/payments", json={"amount": amount, "tip": 0},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_payment_and_a_time_out_move_the_counters_gauges_and_histograms(live, lane, cashier_session):
    before = scrape(live.url)
    assert value(before, "console_attempts_open", status="SENT") == 0
    assert value(before, "console_oldest_unresolved_attempt_seconds") == 0

    approved = pay(cashier_session, live.url, lane, 1250)
    wait_for_status(approved, "APPROVED")
    after = scrape(live.url)
    assert value(after, "console_payments_total", status="APPROVED") == \
        value(before, "console_payments_total", status="APPROVED") + 1
    ok = {"endpoint": "charge", "outcome": "ok"}
    assert value(after, "console_gateway_request_duration_seconds_count", **ok) == \
        value(before, "console_gateway_request_duration_seconds_count", **ok) + 1
    assert value(after, "console_gateway_request_duration_seconds_sum", **ok) > \
        value(before, "console_gateway_request_duration_seconds_sum", **ok)

    # The sandbox holds a .05 answer past the charge's time-out: SENT, then UNKNOWN, then found paid by look-ups.
    late = pay(cashier_session, live.url, lane, 1205)
    wait_for_status(late, "SENT")
    during = scrape(live.url)
    assert value(during, "console_attempts_open", status="SENT") == 1
    assert value(during, "console_oldest_unresolved_attempt_seconds") > 0
    wait_for_status(late, "UNKNOWN")
    unknown = scrape(live.url)
    assert value(unknown, "console_attempts_open", status="UNKNOWN") == 1
    timed_out = {"endpoint": "charge", "outcome": "no_answer"}
    assert value(unknown, "console_gateway_request_duration_seconds_count", **timed_out) == \
        value(before, "console_gateway_request_duration_seconds_count", **timed_out) + 1
    # It waited the whole time-out: in the 5 s bucket, not in the 2.5 s one.
    assert value(unknown, "console_gateway_request_duration_seconds_sum", **timed_out) - \
        value(before, "console_gateway_request_duration_seconds_sum", **timed_out) >= CHARGE_TIMEOUT * 0.9
    assert value(unknown, "console_gateway_request_duration_seconds_bucket", le="2.5", **timed_out) == \
        value(before, "console_gateway_request_duration_seconds_bucket", le="2.5", **timed_out)
    assert value(unknown, "console_gateway_request_duration_seconds_bucket", le="5.0", **timed_out) == \
        value(before, "console_gateway_request_duration_seconds_bucket", le="5.0", **timed_out) + 1

    wait_for_status(late, "APPROVED", timeout=30)
    end = scrape(live.url)
    assert value(end, "console_payments_total", status="APPROVED") == \
        value(before, "console_payments_total", status="APPROVED") + 2
    assert value(end, "console_gateway_request_duration_seconds_count", endpoint="lookup", outcome="ok") > \
        value(before, "console_gateway_request_duration_seconds_count", endpoint="lookup", outcome="ok")
    assert value(end, "console_attempts_open", status="UNKNOWN") == 0
    assert value(end, "console_oldest_unresolved_attempt_seconds") == 0


def test_open_websockets_and_every_process_basics_are_counted(live, lane, cashier_session):
    before = value(scrape(live.url), "console_websocket_connections")
    url = live.url.replace("http://", "ws://") + f"/ws/lanes/{lane.code}/"
    with connect(url, additional_headers={"Cookie": f"sessionid={cashier_session.cookies['sessionid']}"},
                 origin=live.url, open_timeout=5) as ws:
        assert ws.recv(timeout=5)
        assert value(scrape(live.url), "console_websocket_connections") == before + 1
    deadline = time.monotonic() + 5
    while value(scrape(live.url), "console_websocket_connections") != before:
        assert time.monotonic() < deadline, "the closed websocket is still counted"
        time.sleep(0.1)
    samples = scrape(live.url)
    assert value(samples, "process_resident_memory_bytes") > 0  # the Daphne that answers
    nodes = {dict(labels)["node"].split("@")[0].split("-")[0]
             for name, labels in samples if name == "console_process_resident_memory_bytes"}
    assert {"gateway", "default", "webhooks", "beat"} <= nodes
    for role in ("gateway", "default", "webhooks", "beat"):
        assert 0 <= value(samples, "console_heartbeat_age_seconds", role=role) <= 30, role


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def strict_daphne(live, tmp_path):
    """A Daphne whose /metrics is for 198.51.100.7 alone (as a proxy it trusts reports it) or a bearer token."""
    token = secrets.token_urlsafe(24)
    port = _free_port()
    env = {**live.procs["daphne"].env, "METRICS_ALLOWED_IPS": "198.51.100.7", "METRICS_TOKEN": token,
           "TRUSTED_PROXY_COUNT": "1"}
    daphne = Proc("daphne-metrics", processes.argv("daphne", processes.Context(var=tmp_path, port=port)), env)
    daphne.start()
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}", token
    finally:
        daphne.stop()


def test_metrics_are_refused_to_an_address_not_allowed_and_to_a_wrong_token(strict_daphne):
    url, token = strict_daphne
    refused = requests.get(f"{url}/metrics", timeout=10)
    assert refused.status_code == 403 and "console_" not in refused.text
    # A client cannot pass for an allowed address: only the hop the trusted proxy appended counts.
    forged = requests.get(f"{url}/metrics", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}, timeout=10)
    assert forged.status_code == 403
    assert requests.get(f"{url}/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 403
    assert requests.get(f"{url}/metrics", headers={"Authorization": token}, timeout=10).status_code == 403
    samples = scrape(url, Authorization=f"Bearer {token}")
    assert ("console_oldest_unresolved_attempt_seconds", frozenset()) in samples
    via_proxy = requests.get(f"{url}/metrics", headers={"X-Forwarded-For": "198.51.100.7"}, timeout=10)
    assert via_proxy.status_code == 200
