"""LOG_FORMAT=json against real processes: a payment's HTTP request (Daphne) and its Celery task (the gateway
worker) write JSON lines carrying one correlation id, with the payment's attempt id, lane, store and order
reference; its event trail carries the same id; the merchant's key is in no line."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid

import pytest

from payments.models import PaymentEvent
from store_console import processes
from tests.conftest import login_session, wait_for_status
from tests.processes import Proc, wait_http

pytestmark = pytest.mark.integration

WORKERS = ("gateway", "default")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def json_console(live, tmp_path):
    """A Daphne, and the gateway and default workers in place of the session's, logging JSON at INFO."""
    env = {**live.procs["gateway"].env, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
    port = _free_port()
    started = {"daphne": Proc("daphne-json", processes.argv("daphne", processes.Context(var=tmp_path, port=port)),
                              env)}
    for name in WORKERS:
        live.procs[name].stop()
        started[name] = Proc(f"{name}-json", live.procs[name].argv, env, ready=live.procs[name].ready)
    try:
        for proc in started.values():
            proc.start()
        wait_http(f"http://127.0.0.1:{port}/healthz")
        for proc in started.values():
            proc.wait_ready()
        yield f"http://127.0.0.1:{port}", started
    finally:
        for proc in started.values():
            proc.stop()
        for name in WORKERS:
            live.procs[name].start()
            live.procs[name].wait_ready()


def json_lines(proc: Proc) -> list[dict]:
    """The process's log lines since it started, each a JSON object; Celery's banner is printed, not logged."""
    lines = []
    for line in proc.log_path.read_bytes()[proc.offset:].decode(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))  # a line that starts as JSON and is not: the test fails here
    return lines


def test_a_payments_request_and_its_task_log_json_lines_with_one_correlation_id(json_console, lane, cashier):
    url, procs = json_console
    session = login_session(url, cashier.username)
    correlation = f"register-{uuid.uuid4().hex[:12]}"  # a register's own id is kept
    response = session.post(f"{url}/api/lanes/{lane.code}/payments", json={"amount": 1250, "tip": 0},
                            headers={"Idempotency-Key": str(uuid.uuid4()), "X-Request-ID": correlation}, timeout=10)
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == correlation
    attempt = wait_for_status(response.json()["id"], "APPROVED")
    payment = {"attempt_id": attempt.pk, "lane_id": lane.pk, "store_id": lane.store_id,
               "order_reference": attempt.order_reference}

    [request] = [line for line in json_lines(procs["daphne"]) if line["logger"] == "console.http"
                 and line["message"].startswith(f"POST /api/lanes/{lane.code}/payments 201")]
    assert request["correlation_id"] == correlation and request["level"] == "INFO"
    assert {name: request[name] for name in payment} == payment
    deadline = time.monotonic() + 10
    while not (task := [line for line in json_lines(procs["gateway"]) if line.get("correlation_id") == correlation]):
        assert time.monotonic() < deadline, "no line of the gateway worker carries the request's correlation id"
        time.sleep(0.1)
    charge = [line for line in task if line["logger"] == "payments.gateway"]
    assert charge and all({name: line.get(name) for name in payment} == payment for line in charge)
    # The event trail: written by the request (CREATED) and by the task (SENT, the exchanges, APPROVED).
    events = PaymentEvent.objects.filter(attempt=attempt)
    assert events.count() >= 3 and {event.correlation_id for event in events} == {correlation}

    other = session.get(f"{url}/api/payments/{attempt.pk}", headers={"X-Request-ID": "no"}, timeout=10)
    assert other.headers["X-Request-ID"] not in {"no", correlation}  # too short to keep: a new one
    key = os.environ["TEST_SANDBOX_KEY"]
    for proc in procs.values():
        assert key not in proc.log_path.read_text(errors="replace"), proc.name
