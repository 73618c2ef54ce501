"""A cashier presses Pay; the real worker talks to the sandbox over HTTP; the outcome lands in the database.

Amounts pick the sandbox's scripted outcome by their cents (iotpay_sandbox/README.md).
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis

from payments.models import PaymentAttempt, PaymentEvent
from tests.conftest import wait_for_status

pytestmark = pytest.mark.integration


def pay(session, console, lane, amount, tip=0, key=None):
    headers = {"Idempotency-Key": key or str(uuid.uuid4())}
    return session.post(f"{console.url}/api/lanes/{lane.code}/payments", json={"amount": amount, "tip": tip},
                        headers=headers, timeout=10)


def statuses_seen(attempt_id):
    return list(PaymentEvent.objects.filter(attempt_id=attempt_id, kind="state").values_list("to_status", flat=True))


OUTCOMES = [
    # cents, final status, text expected in terminal_text or message, went through UNKNOWN
    pytest.param(1250, "APPROVED", "000 Approved", False, id="approve"),
    pytest.param(1201, "DECLINED", "051 Declined 05 Do Not Honour", False, id="decline"),
    pytest.param(1202, "DECLINED", "Transaction Not Completed 05", False, id="not-completed"),
    # errCode 0111 is a third-party exception: no answer, so IOTPay is asked until it knows.
    pytest.param(1203, "DECLINED", "Transaction Not Completed", True, id="gateway-fail-0111-then-not-completed"),
    pytest.param(1204, "NEEDS_REVIEW", "no final outcome", True, id="terminal-busy-0111-no-order"),
    pytest.param(1205, "APPROVED", "000 Approved", True, id="late-answer-then-paid"),
    pytest.param(1207, "APPROVED", "000 Approved", True, id="dropped-connection-then-paid"),
    pytest.param(1208, "DECLINED", "Transaction Not Completed", True, id="http-500"),
    pytest.param(1209, "DECLINED", "Transaction Not Completed", True, id="html-body"),
    # Unverifiable (its nested payOrder does not match its sign): the confirming query decides, at once.
    pytest.param(1210, "DECLINED", "Transaction Not Completed", False, id="forged-approval-wrong-sign"),
    pytest.param(1211, "NEEDS_REVIEW", "differs", False, id="amount-mismatch"),
    pytest.param(1206, "NEEDS_REVIEW", "no final outcome", True, id="never-answers"),
]


@pytest.mark.parametrize(("amount", "final", "text", "via_unknown"), OUTCOMES)
def test_each_sandbox_outcome_ends_in_the_right_status(live, lane, cashier_session, sandbox_order,
                                                        amount, final, text, via_unknown):
    response = pay(cashier_session, live, lane, amount)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] in {"CREATED", "SENT"}
    assert len(body["order_reference"]) <= 30

    attempt = wait_for_status(body["id"], {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}, timeout=30)

    assert attempt.status == final
    shown = f"{attempt.terminal_text} {attempt.message}"
    events = " ".join(PaymentEvent.objects.filter(attempt=attempt).values_list("cause", flat=True))
    assert text in shown or text in events
    seen = statuses_seen(attempt.pk)
    assert seen[:2] == ["CREATED", "SENT"]
    assert ("UNKNOWN" in seen) == via_unknown
    if final != "APPROVED":
        assert "APPROVED" not in seen
    # Exactly one create_order reached the gateway for this attempt.
    assert sandbox_order(attempt.order_reference)["create_calls"] == 1


def test_approval_carries_card_data_and_the_api_snapshot(live, lane, cashier_session):
    response = pay(cashier_session, live, lane, 1350)  # dollars 13 → Mastercard, chip, PIN
    attempt = wait_for_status(response.json()["id"], "APPROVED")
    assert attempt.card_brand == "MASTERCARD"
    assert len(attempt.card_last4) == 4
    assert attempt.auth_num
    assert attempt.response_verified is True
    assert "expire" not in str(attempt.card).lower()
    snapshot = cashier_session.get(f"{live.url}/api/payments/{attempt.pk}", timeout=5).json()
    assert snapshot["status"] == "APPROVED"
    assert snapshot["card_brand"] == "MASTERCARD"
    assert snapshot["card_last4"] == attempt.card_last4
    assert snapshot["entry_method"] == "CHIP"
    assert snapshot["total"] == 1350
    for field in ("id", "status", "order_reference", "amount", "tip", "terminal_text", "poll_count", "created_at",
                  "sent_at", "answered_at", "finalized_at", "gateway_reference"):
        assert field in snapshot
    # The names the API had first stay, for the clients written against them.
    assert (snapshot["mch_order_no"], snapshot["pay_order_id"], snapshot["receipt_disp"]) == (
        snapshot["order_reference"], snapshot["gateway_reference"], snapshot["terminal_text"])


def test_every_gateway_exchange_is_recorded_without_the_key(live, lane, cashier_session):
    import os

    response = pay(cashier_session, live, lane, 1450)
    attempt = wait_for_status(response.json()["id"], "APPROVED")
    exchanges = PaymentEvent.objects.filter(attempt=attempt, kind="gateway")
    endpoints = [e.data.get("endpoint") for e in exchanges]
    assert endpoints[:2] == ["create_order", "query_order"]
    dump = str(list(PaymentEvent.objects.filter(attempt=attempt).values_list("data", flat=True)))
    assert os.environ["TEST_SANDBOX_KEY"] not in dump
    assert "expireDate" not in dump


def test_two_concurrent_pays_on_one_lane_give_one_attempt_and_one_409(live, lane, cashier_session):
    from tests.conftest import login_session

    other = login_session(live.url, lane.cashiers.first().username)
    results = []
    barrier = threading.Barrier(2)

    def press(session):
        barrier.wait()
        results.append(pay(session, live, lane, 1601))

    threads = [threading.Thread(target=press, args=(s,)) for s in (cashier_session, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409], [r.text for r in results]
    busy = next(r for r in results if r.status_code == 409).json()
    assert busy["code"] == "terminal_busy"
    assert PaymentAttempt.objects.filter(lane=lane).count() == 1
    wait_for_status(PaymentAttempt.objects.get(lane=lane).pk, "DECLINED", timeout=20)


def test_a_second_pay_while_one_is_in_flight_is_refused(live, lane, cashier_session):
    first = pay(cashier_session, live, lane, 1299)  # interactive: waits on the virtual terminal
    assert first.status_code == 201
    second = pay(cashier_session, live, lane, 500)
    assert second.status_code == 409
    assert second.json()["attempt"]["id"] == first.json()["id"]
    import requests

    device = lane.terminal.device
    wait_for_status(first.json()["id"], "SENT")
    time.sleep(0.5)
    requests.post(f"{live.sandbox_url}/terminals/{device}/press", data={"action": "approve"}, timeout=5)
    wait_for_status(first.json()["id"], "APPROVED")
    assert pay(cashier_session, live, lane, 500).status_code == 201


def test_same_idempotency_key_returns_the_first_attempt(live, lane, cashier_session, sandbox_order):
    key = str(uuid.uuid4())
    first = pay(cashier_session, live, lane, 2050, key=key)
    again = pay(cashier_session, live, lane, 2050, key=key)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    attempt = wait_for_status(first.json()["id"], "APPROVED")
    assert PaymentAttempt.objects.filter(lane=lane).count() == 1
    assert sandbox_order(attempt.order_reference)["create_calls"] == 1


def test_worker_killed_mid_call_is_resumed_by_beat_without_a_second_create(live, lane, cashier_session,
                                                                         sandbox_order):
    response = pay(cashier_session, live, lane, 2105)  # paid at the gateway, answer held 6 s
    attempt_id = response.json()["id"]
    wait_for_status(attempt_id, "SENT")
    time.sleep(0.5)
    live.procs["gateway"].kill()
    try:
        attempt = wait_for_status(attempt_id, "APPROVED", timeout=40)
    finally:
        live.procs["gateway"].start()
        live.procs["gateway"].wait_ready()
    assert "UNKNOWN" in statuses_seen(attempt_id)
    causes = list(PaymentEvent.objects.filter(attempt_id=attempt_id).values_list("cause", flat=True))
    assert any("task lost" in c for c in causes)
    assert sandbox_order(attempt.order_reference)["create_calls"] == 1


def test_a_lost_send_task_is_sent_by_the_resume_job(live, lane, cashier_session, sandbox_order, redis_url):
    live.procs["gateway"].stop()
    try:
        response = pay(cashier_session, live, lane, 2250)
        attempt_id = response.json()["id"]
        time.sleep(0.5)
        # The broker lost the message (restarted without persistence): only the resume job can send it.
        redis.Redis.from_url(redis_url).delete("gateway")
        assert PaymentAttempt.objects.get(pk=attempt_id).status == "CREATED"
    finally:
        live.procs["gateway"].start()
        live.procs["gateway"].wait_ready()
    attempt = wait_for_status(attempt_id, "APPROVED", timeout=30)
    assert sandbox_order(attempt.order_reference)["create_calls"] == 1
