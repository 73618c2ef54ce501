"""The header's language switch in Chromium: on the login page for a visitor, and on a checkout page while a
payment waits on the terminal (the page comes back in French on the same attempt, which goes on to approval)."""

from __future__ import annotations

import pytest
import requests

from lanes.models import LanguagePreference
from payments.models import PaymentAttempt
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FRENCH = "#language-switch button[data-language=fr]"


def shown_attempt(page) -> dict:
    # A function, not an expression: the page's Content-Security-Policy forbids eval.
    return page.evaluate("() => { const a = window.checkout.state().attempt;"
                         " return a ? {id: a.id, amount: a.amount, status: a.status} : null; }")


def test_a_visitor_switches_the_login_page_to_french_and_keeps_it_after_signing_in(browser, live, lane, cashier):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-CA")
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live.url}/accounts/login/")
        assert page.get_attribute("html", "lang") == "en"
        page.click(FRENCH)
        page.wait_for_selector("html[lang=fr]")
        assert page.url == f"{live.url}/accounts/login/"
        assert page.get_attribute(FRENCH, "aria-pressed") == "true"
        screenshot(page, "login-fr")
        page.fill("input[name=username]", cashier.username)
        page.fill("input[name=password]", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live.url}/lanes/{lane.code}/")
        assert page.get_attribute("html", "lang") == "fr"  # the cookie, over an English browser
        assert not LanguagePreference.objects.filter(user=cashier).exists()  # a visitor's choice is not saved
    finally:
        context.close()


def test_switching_to_french_mid_payment_keeps_the_payment_and_shows_it_approved(login_page, live, lane, cashier):
    page = login_page(cashier)
    page.wait_for_url(f"{live.url}/lanes/{lane.code}/")
    page.wait_for_selector("#connection[data-state=connected]")
    assert page.get_attribute("html", "lang") == "en"
    page.fill("#amount-input", "25.99")  # interactive: the terminal waits for the cardholder
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=SENT]")
    before = shown_attempt(page)
    assert before is not None and before["amount"] == 2599

    page.click(FRENCH)
    page.wait_for_selector("html[lang=fr]")
    assert page.url == f"{live.url}/lanes/{lane.code}/"
    page.wait_for_selector("#connection[data-state=connected]")
    page.wait_for_selector("#lane-state[data-status=SENT]")
    after = shown_attempt(page)
    assert after == {"id": before["id"], "amount": 2599, "status": "SENT"}  # the same attempt, still waiting
    assert PaymentAttempt.objects.get(pk=before["id"]).status == "SENT"
    assert LanguagePreference.objects.get(user=cashier).language == "fr"
    screenshot(page, "checkout-fr-waiting-for-card")

    requests.post(f"{live.sandbox_url}/terminals/{lane.terminal.device}/press", data={"action": "approve"},
                  timeout=5)
    page.wait_for_selector("#lane-state[data-status=APPROVED]")
    assert shown_attempt(page)["id"] == before["id"]
    assert page.get_attribute("html", "lang") == "fr"
    assert list(PaymentAttempt.objects.filter(lane=lane).values_list("pk", "status")) == [(before["id"], "APPROVED")]
    screenshot(page, "checkout-fr-approved")
