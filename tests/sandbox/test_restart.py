"""Orders and refunds live in SQLite: a restarted sandbox still answers for them."""

from __future__ import annotations

import time

from .conftest import Client, SandboxProcess, response_sign_ok


def test_query_and_refund_after_a_restart(tmp_path):
    data = tmp_path / "sb.sqlite3"
    first = SandboxProcess(data, tmp_path)
    try:
        order_no = f"P{time.time_ns()}"
        paid = Client(first.url).create(1250, "RESTART-1", order_no).json()
        assert paid["payOrder"]["status"] == 2
    finally:
        assert first.stop() == 0
    assert first.stdout_path.read_text() == f"IOTPay sandbox listening on http://127.0.0.1:{first.port}/v1\n"

    second = SandboxProcess(data, tmp_path)
    try:
        client = Client(second.url)
        found = client.query(mchOrderNo=order_no)
        assert response_sign_ok(found) and found["status"] == 2 and found["payOrderId"] == paid["payOrderId"]
        assert found["extra"] == paid["payOrder"]["extra"]
        refund = client.refund(paid["payOrderId"], 250, f"{order_no}-r")
        assert refund["resCode"] == "SUCCESS" and refund["refundable"] == 1000
        again = client.create(1250, "RESTART-1", order_no).json()
        assert again["resCode"] == "FAIL" and again["errCode"] == "0014"
        assert client.inspect(order_no).json()["create_calls"] == 2
    finally:
        assert second.stop() == 0
