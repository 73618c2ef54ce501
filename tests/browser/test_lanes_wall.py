"""The supervisor's live lanes wall in Chromium: a cashier's payment changes its lane's tile without reload."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from django.utils import timezone

from payments.models import PaymentAttempt
from tests.browser.conftest import screenshot
from tests.conftest import login_session
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, staff

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def user_in(role, store, **fields):
    return staff(role, store, **fields)


def past_attempt(lane, status, cents, **fields):
    return PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=lane.store.merchant,
        store=lane.store, lane=lane, terminal=lane.terminal, amount=cents, currency="CAD", status=status,
        finalized_at=timezone.now() if status in ("APPROVED", "DECLINED", "FAILED") else None, **fields,
    )


@pytest.fixture
def store_lanes(lane):
    """The live lane (the `lane` fixture, paid on by the test) and three others with a history."""
    store = lane.store
    store.name = "Main Street"
    store.save()
    StoreFactory(name="Queen West", merchant=store.merchant)
    lane.code, lane.name = "L1", "Lane 1"
    lane.save()
    express = TerminalFactory(lane=LaneFactory(store=store, code="L2", name="Express")).lane
    past_attempt(express, "APPROVED", 1250, card_brand="VISA CREDIT", card_last4="4242", gateway_reference="P1")
    past_attempt(express, "DECLINED", 801, card_brand="MASTERCARD", card_last4="5100",
                 terminal_text="051 Declined 05 Do Not Honour")
    past_attempt(express, "APPROVED", 4320, card_brand="INTERAC", card_last4="0019", gateway_reference="P2")
    review = TerminalFactory(lane=LaneFactory(store=store, code="L3", name="Lane 3")).lane
    past_attempt(review, "APPROVED", 999, card_brand="VISA DEBIT", card_last4="7781", gateway_reference="P3")
    past_attempt(review, "NEEDS_REVIEW", 4011,
                 message="IOTPay's record differs from this sale: amount 4111 instead of 4011")
    TerminalFactory(lane=LaneFactory(store=store, code="L4", name="Garden centre"), enabled=False)
    return {"live": lane, "express": express, "review": review}


def tile(code):
    return f'[data-lane="{code}"]'


def open_wall(page, live, store):
    page.wait_for_selector(".user-chip")  # the login's redirect has landed: the session cookie is set
    page.goto(f"{live.url}/backoffice/lanes/?store={store.pk}")
    page.wait_for_selector("#connection[data-state=connected]")


def pay(live, cashier, lane, cents):
    session = login_session(live.url, cashier.username)
    response = session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": cents},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 201, response.text


def test_a_payment_on_a_lane_changes_the_wall_without_reload(login_page, live, store_lanes, cashier):
    lane = store_lanes["live"]
    page = login_page(user_in("supervisor", lane.store, username="sam", first_name="Sam", last_name="Okafor"))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_wall(page, live, lane.store)
    page.evaluate("window.__sameDocument = true")

    assert page.get_attribute(tile("L1"), "data-status") == "IDLE"
    assert page.inner_text(f"{tile('L1')} .tile-count") == "0"
    assert page.inner_text(f"{tile('L2')} .tile-count") == "2"
    assert page.inner_text(f"{tile('L2')} .tile-sum") == "$55.70"
    assert "Approved $43.20 at" in page.inner_text(f"{tile('L2')} .tile-last")
    assert page.get_attribute(tile("L3"), "data-status") == "NEEDS_REVIEW"
    assert page.get_attribute(tile("L3"), "data-stuck") == "true"
    assert page.get_attribute(tile("L2"), "data-stuck") == "false"
    assert page.inner_text("#wall-count") == "3"
    # The "since" timers tick in the page.
    before = page.inner_text(f"{tile('L2')} .tile-timer")
    page.wait_for_function(
        f"() => document.querySelector('{tile('L2')} .tile-timer').textContent !== {before!r}", timeout=5000
    )
    screenshot(page, "lanes-wall")

    pay(live, cashier, lane, 2599)  # .99: the virtual terminal waits for a press
    page.wait_for_selector(f'{tile("L1")}[data-status="SENT"]')
    assert page.inner_text(f"{tile('L1')} .tile-amount") == "$25.99"
    assert page.inner_text("#wall-busy") == "1"
    screenshot(page, "lanes-wall-live")

    requests.post(f"{live.sandbox_url}/terminals/{lane.terminal.device}/press", data={"action": "approve"},
                  timeout=5)
    page.wait_for_selector(f'{tile("L1")}[data-status="IDLE"]')
    page.wait_for_function(f"() => document.querySelector('{tile('L1')} .tile-count').textContent === '1'")
    assert page.inner_text(f"{tile('L1')} .tile-sum") == "$25.99"
    assert "Approved $25.99 at" in page.inner_text(f"{tile('L1')} .tile-last")
    assert page.inner_text("#wall-count") == "4"
    assert page.inner_text("#wall-sum") == "$91.68"
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    time.sleep(1.5)  # any late or repeated push of the approval must not count it again
    assert page.inner_text(f"{tile('L1')} .tile-count") == "1"
    assert PaymentAttempt.objects.get(lane=lane).status == "APPROVED"
    screenshot(page, "lanes-wall-approved")
    assert not errors


def test_an_outcome_being_checked_stands_out_until_it_is_known(login_page, live, lane, cashier):
    page = login_page(user_in("supervisor", lane.store))
    open_wall(page, live, lane.store)
    # Interactive: nobody presses, the console's create_order times out and the outcome is UNKNOWN
    # (polled) until the cardholder finally approves on the terminal.
    pay(live, cashier, lane, 3099)
    page.wait_for_selector(f'{tile(lane.code)}[data-status="UNKNOWN"][data-stuck="true"]', timeout=30_000)
    assert "Do not charge again" in page.inner_text(f"{tile(lane.code)} .tile-alert")
    assert page.inner_text("#wall-attention") == "1"
    screenshot(page, "lanes-wall-checking")
    requests.post(f"{live.sandbox_url}/terminals/{lane.terminal.device}/press", data={"action": "approve"},
                  timeout=5)
    page.wait_for_selector(f'{tile(lane.code)}[data-status="IDLE"][data-stuck="false"]', timeout=30_000)
    assert page.inner_text(f"{tile(lane.code)} .tile-count") == "1"
    assert page.is_hidden(f"{tile(lane.code)} .tile-alert")
    assert page.inner_text("#wall-attention") == "0"


def test_a_cashier_gets_403_on_the_wall(login_page, live, lane, cashier):
    page = login_page(cashier)
    page.wait_for_selector(".user-chip")
    response = page.goto(f"{live.url}/backoffice/lanes/")
    assert response.status == 403
    assert "Not allowed" in page.inner_text("h1")
