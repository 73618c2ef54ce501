"""The back office's payment page in Chromium: a manager refunds part of a payment and follows it live."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import wait_for_status
from tests.integration.test_refunds import pay, user_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_manager_refunds_part_of_a_payment_and_sees_it_live(login_page, live, lane, cashier_session):
    attempt = wait_for_status(pay(cashier_session, live, lane, 2000), "APPROVED")
    page = login_page(user_in("manager", lane.store, username="maria", first_name="Maria", last_name="Tremblay"))
    response = page.goto(f"{live.url}/backoffice/payments/{attempt.pk}/")
    assert response.status == 200 and "refundable-balance" in page.content(), (page.url, page.inner_text("body")[:2000])
    assert "$20.00" in page.inner_text("#refundable-balance")

    page.click("[data-fill-amount]")
    assert page.input_value("#id_amount") == "20.00"
    page.fill("#id_amount", "5.00")
    page.fill("#id_reason", "Returned one item")
    assert page.inner_text("#refund-submit").strip() == "Refund $5.00"
    page.click("#refund-submit")

    # Back on the page (POST/redirect/GET), the refund is followed until IOTPay answers.
    page.wait_for_url(f"**/backoffice/payments/{attempt.pk}/?refund=*")
    page.wait_for_selector("#refund-banner[data-status=APPROVED]")
    assert "$15.00" in page.inner_text("#refundable-balance")
    assert "Refunded" in page.inner_text("#refunds")
    assert "Returned one item" in page.inner_text("#refunds")
    # The trail is drawn with the page (the banner above follows the refund live): read it again now.
    page.reload()
    page.wait_for_selector("#refund-banner[data-status=APPROVED]")
    page.locator(".trail__details").last.locator("summary").click()  # the refund_order exchange, redacted
    assert "refund_order" in page.locator(".trail__json").last.inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "payment-detail")

    page.click("text=Refund receipt")
    page.wait_for_selector("text=MERCHANT COPY")
    assert "REFUND" in page.inner_text("body") and attempt.card_last4 in page.inner_text("body")


def test_a_refund_without_a_clear_answer_is_checked_and_settled_on_the_page(login_page, live, lane, cashier_session):
    """IOTPay is unreachable when the refund is sent: it is not sent again, it needs review and its amount is
    held; the manager checks with IOTPay and settles it, and the balance follows."""
    from tests.processes import wait_http

    attempt = wait_for_status(pay(cashier_session, live, lane, 2000), "APPROVED")
    page = login_page(user_in("manager", lane.store))
    page.goto(f"{live.url}/backoffice/payments/{attempt.pk}/")
    page.click("[data-fill-amount]")
    page.fill("#id_reason", "Charged twice")
    live.procs["sandbox"].stop()
    try:
        page.click("#refund-submit")
        page.wait_for_selector("#refund-banner[data-status=NEEDS_REVIEW]")
        assert "needs review" in page.inner_text("#refund-banner")
        assert "not sent again" in page.inner_text("#refund-banner")
        assert page.locator("#refund-form").count() == 0  # the amount is held: nothing left to refund
        assert "$0.00" in page.inner_text("#refundable-balance")
    finally:
        live.procs["sandbox"].start()
        wait_http(f"{live.sandbox_url}/_sandbox/health")
    settle = page.locator("[id^=refund-settle-]")
    settle.locator("[data-action=check-refund]").click()
    page.wait_for_selector("#page-messages")
    assert "did not go through" in page.inner_text("#page-messages")
    screenshot(page, "payment-detail-refund-needs-review")
    settle = page.locator("[id^=refund-settle-]")
    settle.locator("input[value=not_refunded]").check()
    settle.locator("input[name=reason]").fill("IOTPay shows the whole payment left to refund")
    settle.locator("[data-action=settle-refund]").click()
    page.wait_for_selector("#refund-form")
    assert "$20.00" in page.inner_text("#refundable-balance")
    assert "settled as not refunded" in page.inner_text("#page-messages")


