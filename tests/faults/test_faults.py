"""Faults injected into the real processes: each leaves no lost or double charge (invariants.check)."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from payments.models import PaymentAttempt
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, wait_for_status
from tests.faults.invariants import check

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def pay(session, live, lane, amount):
    response = session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": amount},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def press(live, lane, action="approve"):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = requests.post(f"{live.sandbox_url}/terminals/{lane.terminal.device}/press",
                               data={"action": action}, timeout=5)
        if answer.status_code == 200:
            return
        time.sleep(0.1)  # the order has not reached the terminal yet
    raise AssertionError(f"nothing to {action} on {lane.terminal.device}")


def assert_invariants(live, attempt_ids):
    report = check(live.sandbox_url, list(PaymentAttempt.objects.filter(pk__in=attempt_ids)))
    assert report.ok, report


def test_redis_restarted_while_the_terminal_waits(live, lane, cashier_session, embedded_redis):
    attempt_id = pay(cashier_session, live, lane, 2599)  # interactive: the call stays open
    wait_for_status(attempt_id, "SENT")
    embedded_redis.restart()  # queues, results and channel groups are gone
    press(live, lane)
    wait_for_status(attempt_id, "APPROVED", timeout=40)
    # The broker, the channel layer and beat came back: the next payment goes through as usual.
    second = pay(cashier_session, live, lane, 1250)
    wait_for_status(second, "APPROVED", timeout=40)
    assert_invariants(live, [attempt_id, second])


def test_redis_restart_loses_a_queued_send_and_the_resume_job_sends_it(live, lane, cashier_session,
                                                                       embedded_redis):
    live.procs["gateway"].stop()
    try:
        attempt_id = pay(cashier_session, live, lane, 1350)
        embedded_redis.restart()  # the queued send_attempt message is lost
    finally:
        live.procs["gateway"].start()
        live.procs["gateway"].wait_ready()
    wait_for_status(attempt_id, "APPROVED", timeout=60)
    assert_invariants(live, [attempt_id])


@pytest.mark.parametrize(("amount", "final"), [(3005, "APPROVED"), (3007, "APPROVED"), (3008, "DECLINED")],
                         ids=["slower-than-time-out-then-approved", "connection-dropped", "http-500"])
def test_gateway_faults_end_in_the_gateways_outcome(live, lane, cashier_session, amount, final):
    attempt_id = pay(cashier_session, live, lane, amount)
    wait_for_status(attempt_id, final, timeout=40)
    assert_invariants(live, [attempt_id])


def test_browser_closed_mid_payment_and_reopened(browser, live, lane, cashier, cashier_session):
    def open_lane():
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live.url}/accounts/login/")
        page.fill("input[name=username]", cashier.username)
        page.fill("input[name=password]", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live.url}/lanes/{lane.code}/")
        page.wait_for_selector("#connection[data-state=connected]")
        return context, page

    context, page = open_lane()
    page.fill("#amount-input", "45.99")
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=SENT]")
    context.close()  # the browser is gone; the payment goes on
    press(live, lane)
    attempt = wait_for_status(PaymentAttempt.objects.get(lane=lane).pk, "APPROVED", timeout=30)
    context, page = open_lane()
    page.wait_for_selector("#lane-state[data-status=APPROVED]")
    assert attempt.card_last4 in page.inner_text("#card-info")
    screenshot(page, "fault-browser-reopened")
    context.close()
    assert_invariants(live, [attempt.pk])
