"""The cashier's checkout page in Chromium, against Daphne, the real worker and the sandbox."""

from __future__ import annotations

import time

import pytest
import requests

from payments.models import PaymentAttempt
from tests.browser.conftest import screenshot
from tests.conftest import wait_for_status

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def open_checkout(login_page, live, lane, cashier):
    page = login_page(cashier)
    # A cashier with one lane lands on it.
    page.wait_for_url(f"{live.url}/lanes/{lane.code}/")
    page.wait_for_selector("#connection[data-state=connected]")
    return page


def test_pay_with_the_keyboard_and_see_approved_with_brand_and_last4(login_page, live, lane, cashier):
    page = open_checkout(login_page, live, lane, cashier)
    screenshot(page, "checkout-idle")
    page.keyboard.type("12.50")  # the amount field has the focus on load
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=APPROVED]")
    attempt = PaymentAttempt.objects.get(lane=lane)
    assert attempt.amount == 1250
    card = page.inner_text("#card-info")
    assert attempt.card_brand in card
    assert attempt.card_last4 in card
    assert attempt.auth_num in page.inner_text("#auth-num")
    screenshot(page, "checkout-approved")
    page.click("#receipt-link")
    page.wait_for_selector("text=MERCHANT COPY")
    receipt = page.inner_text("body")
    assert f"************{attempt.card_last4}" in receipt
    assert "CUSTOMER COPY" in receipt
    screenshot(page, "receipt-from-checkout")


def test_declined_shows_its_reason_and_retry_makes_a_new_attempt_of_the_sale(login_page, live, lane, cashier):
    page = open_checkout(login_page, live, lane, cashier)
    page.fill("#amount-input", "8.01")
    page.click("#pay-button")
    page.wait_for_selector("#lane-state[data-status=DECLINED]")
    assert "051 Declined 05 Do Not Honour" in page.inner_text("#state-detail")
    screenshot(page, "checkout-declined")
    page.click("#retry-button")
    deadline = time.monotonic() + 15
    while PaymentAttempt.objects.filter(lane=lane).count() < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    wait_for_status(PaymentAttempt.objects.filter(lane=lane).order_by("-pk").first().pk, "DECLINED")
    attempts = list(PaymentAttempt.objects.filter(lane=lane).order_by("pk"))
    assert len(attempts) == 2
    assert attempts[0].sale_id == attempts[1].sale_id
    assert attempts[1].amount == 801


def test_reload_mid_payment_still_shows_the_live_outcome(login_page, live, lane, cashier):
    page = open_checkout(login_page, live, lane, cashier)
    page.fill("#amount-input", "25.99")  # interactive: waits for a press on the virtual terminal
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=SENT]")
    screenshot(page, "checkout-waiting-for-card")
    page.reload()
    page.wait_for_selector("#connection[data-state=connected]")
    page.wait_for_selector("#lane-state[data-status=SENT]")
    requests.post(f"{live.sandbox_url}/terminals/{lane.terminal.device}/press", data={"action": "approve"},
                  timeout=5)
    page.wait_for_selector("#lane-state[data-status=APPROVED]")
    assert PaymentAttempt.objects.get(lane=lane).status == "APPROVED"


def test_checking_the_outcome_after_a_timeout_shows_the_poll_count(login_page, live, lane, cashier):
    page = open_checkout(login_page, live, lane, cashier)
    page.fill("#amount-input", "30.99")  # the cardholder takes longer than the console's time-out
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=UNKNOWN]", timeout=30_000)
    # A function, not an expression: the page's Content-Security-Policy forbids eval, which Playwright would use.
    page.wait_for_function("() => document.querySelector('#poll-count').textContent.match(/[1-9]/)")
    assert "Do not charge again" in page.inner_text("#lane-state")
    screenshot(page, "checkout-checking")
    requests.post(f"{live.sandbox_url}/terminals/{lane.terminal.device}/press", data={"action": "approve"},
                  timeout=5)
    page.wait_for_selector("#lane-state[data-status=APPROVED]")


def test_needs_review_tells_the_cashier_what_to_do(login_page, live, lane, cashier):
    page = open_checkout(login_page, live, lane, cashier)
    page.fill("#amount-input", "40.11")  # IOTPay's amount differs from ours
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=NEEDS_REVIEW]")
    assert "Do not charge" in page.inner_text("#lane-state")
    # The main action is to find out, not a new sale.
    assert "btn--primary" in page.get_attribute("#check-again-button", "class")
    assert "btn--primary" not in page.get_attribute("#new-sale-button", "class")
    assert page.is_visible("#override-button") and not page.is_visible("#retry-button")
    screenshot(page, "checkout-needs-review")
    attempt = PaymentAttempt.objects.get(lane=lane)
    page.click("#check-again-button")
    page.wait_for_selector("#form-error:has-text('Asked IOTPay again')")
    deadline = time.monotonic() + 10
    while not PaymentAttempt.objects.filter(pk=attempt.pk, last_polled_at__isnull=False).exists():
        assert time.monotonic() < deadline, "the re-query never reached the worker"
        time.sleep(0.1)


def test_a_supervisor_approves_charging_a_sale_under_review_again(login_page, live, lane, cashier):
    from tests.conftest import PASSWORD
    from tests.factories import staff

    supervisor = staff("supervisor", lane.store, username="sup-on-the-floor")
    page = open_checkout(login_page, live, lane, cashier)
    page.fill("#amount-input", "40.11")
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=NEEDS_REVIEW]")
    first = PaymentAttempt.objects.get(lane=lane)
    page.click("#override-button")
    page.fill("#override-reason", "IOTPay portal shows the first one cancelled")
    page.fill("#override-supervisor", supervisor.username)
    page.fill("#override-password", "not-the-password")
    page.click("#override-submit")
    page.wait_for_selector("#override-error:not(:empty)")
    assert PaymentAttempt.objects.filter(lane=lane).count() == 1
    page.fill("#override-password", PASSWORD)
    screenshot(page, "checkout-override")
    page.click("#override-submit")
    deadline = time.monotonic() + 15
    while PaymentAttempt.objects.filter(lane=lane).count() < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    second = PaymentAttempt.objects.filter(lane=lane).order_by("-pk").first()
    assert second.pk != first.pk and second.sale_id == first.sale_id
    page.wait_for_selector(f"#state-meta:has-text('Payment #{second.pk}')")
    assert page.is_hidden("#override-form")


def test_approved_by_the_terminal_while_iotpay_confirms(login_page, live, lane, cashier):
    page = open_checkout(login_page, live, lane, cashier)
    page.fill("#amount-input", "12.22")  # paid; query_order down for 2 s afterwards
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=UNKNOWN]")
    assert "Approved by the terminal, confirming" in page.inner_text("#state-title")
    assert page.is_visible("#receipt-link") and page.inner_text("#card-info")
    screenshot(page, "checkout-approved-confirming")
    page.wait_for_selector("#lane-state[data-status=APPROVED]")


def test_bad_amount_is_refused_on_the_page(login_page, live, lane, cashier):
    page = open_checkout(login_page, live, lane, cashier)
    page.fill("#amount-input", "12.345")
    page.keyboard.press("Enter")
    page.wait_for_selector("#field-error-amount:not(:empty)")
    assert PaymentAttempt.objects.filter(lane=lane).count() == 0
