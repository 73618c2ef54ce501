"""The Python API used by benchmarks: start_sandbox / SandboxConfig / RunningSandbox."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from iotpay_sandbox import SandboxConfig, start_sandbox

from .conftest import KEY, MCH_ID, Client


def test_interactive_order_times_out_as_not_completed():
    config = SandboxConfig(merchants={MCH_ID: KEY}, think_time=0.05, data_path=":memory:", interactive_timeout=0.3)
    with start_sandbox(config) as sandbox:
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}" and sandbox.base_url == sandbox.url + "/v1"
        answer = Client(sandbox.url).create(1099, "LANE-T").json()
        assert answer["payOrder"]["status"] == 9
        assert json.loads(answer["payOrder"]["extra"])["receiptDisp"] == "Transaction Not Completed 05"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sandbox.url}/_sandbox/health", timeout=1)


def test_busy_cents_are_refused_without_the_think_time():
    config = SandboxConfig(merchants={MCH_ID: KEY}, think_time=2.0, data_path=":memory:")
    with start_sandbox(config) as sandbox:
        started = time.monotonic()
        answer = Client(sandbox.url).create(1204, "LANE-B").json()
        assert time.monotonic() - started < 1.0 and answer["errCode"] == "0111"


def test_a_restart_in_the_middle_of_a_payment_still_resolves_it(tmp_path):
    config = SandboxConfig(merchants={MCH_ID: KEY}, think_time=1.0, data_path=str(tmp_path / "sb.sqlite3"))
    first = start_sandbox(config)
    errors = []

    def pay():
        try:
            Client(first.url).create(1250, "LANE-R", "MID-RESTART")
        except requests.RequestException as exc:
            errors.append(exc)

    worker = threading.Thread(target=pay)
    worker.start()
    time.sleep(0.3)
    first.stop()  # the waiting call is closed unanswered
    worker.join(5)
    assert len(errors) == 1

    with start_sandbox(config) as second:
        client = Client(second.url)
        assert client.query(mchOrderNo="MID-RESTART")["status"] == 1
        time.sleep(1.0)
        assert client.query(mchOrderNo="MID-RESTART")["status"] == 2
