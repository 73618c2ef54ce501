"""The console in Canadian French, in Chromium: a browser that asks for fr-CA walks the checkout (approved, declined,
the outcome being checked, needs review), the lanes wall, reconciliation and the payment page.

Each walk checks French words from the templates and the page scripts, amounts as CLDR writes them in French
(``12,50 $``, a non-breaking space before the sign) where the page's script formats them, and that the English
labels of the page are gone. Machine values (the statuses in ``data-status``) stay as they are. The screenshots
are docs/screenshots/fr-*.png.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import requests
from django.utils import timezone

from payments.models import PaymentAttempt
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_reconciliation_page import more_than_a_page_of_exceptions
from tests.conftest import login_session, wait_for_status
from tests.factories import LaneFactory, TerminalFactory, staff

pytestmark = [pytest.mark.browser, pytest.mark.integration]

NBSP = "\u00a0"


@pytest.fixture
def lane(lane: object) -> object:
    """The lane of a Quebec City grocery store, named in French (only the screenshots see the names)."""
    lane.store.name = "Épicerie Saint-Roch"
    lane.store.save()
    lane.name = "Caisse 1"
    lane.save()
    return lane


@pytest.fixture
def french_page(browser: object, live: object) -> Iterator[object]:
    """`french_page(user)`: a page of a browser whose language is Canadian French, logged in as the user."""
    contexts = []

    def login(user: object) -> object:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-CA")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.script_errors = errors  # type: ignore[attr-defined]
        page.goto(f"{live.url}/accounts/login/")
        assert page.get_attribute("html", "lang") == "fr"
        assert text(page, "h1") == "Se connecter"
        return sign_in(page, user)

    yield login
    for context in contexts:
        context.close()


def english_left(page: object, selector: str, words: list[str]) -> list[str]:
    """The English words (whole words, any case) still shown in the visible text of what the selector finds."""
    text = " ".join(page.locator(selector).all_inner_texts())
    return [w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.IGNORECASE)]


def text(page: object, selector: str) -> str:
    """The element's text as written (CSS may show it in capitals), spaces collapsed; non-breaking ones kept."""
    return re.sub(r"[ \t\n]+", " ", page.text_content(selector)).strip()


money = text


# ------------------------------------------------------------------ the checkout

CHECKOUT_ENGLISH = ["Approved", "Declined", "New sale", "Pay", "Receipt", "Retry", "Check again", "Charge again",
                    "Ready", "Payment complete", "Payment not completed", "Charge a card", "Amount", "Connected",
                    "Log out", "Card", "Entry", "Checked", "Result pending", "Needs review", "Action needed",
                    "Do not charge"]
# The state panel and the form, less what the server or the terminal wrote (the decline's text, the review's cause).
CHECKOUT_WORDS = "#pay-form, #state-caption, #state-title, #state-hint, #poll-count, #card-details, #state-actions, " \
                 "#state-meta, .site-header"


def open_french_checkout(french_page, live, lane, cashier):
    page = french_page(cashier)
    page.wait_for_url(f"{live.url}/lanes/{lane.code}/")
    page.wait_for_selector("#connection[data-state=connected]")
    assert text(page, "#connection-text") == "Connecté"
    assert text(page, "#sale-title") == "Débiter une carte"
    assert page.get_attribute("#amount-input", "placeholder") == "0,00"
    return page


def pay_on_the_page(page, typed):
    page.fill("#amount-input", typed)
    page.keyboard.press("Enter")


def test_the_checkout_in_french_approved(french_page, live, lane, cashier):
    page = open_french_checkout(french_page, live, lane, cashier)
    assert text(page, "#pay-button-label") == "Payer"
    page.fill("#amount-input", "12,50")  # a comma is the decimal mark in French
    assert text(page, "#pay-button-label") == f"Payer 12,50{NBSP}$"
    assert money(page, "#total-display") == f"12,50{NBSP}$"
    page.keyboard.press("Enter")
    page.wait_for_selector("#lane-state[data-status=APPROVED]")
    assert PaymentAttempt.objects.get(lane=lane).amount == 1250
    assert text(page, "#state-caption") == "Paiement terminé"
    assert text(page, "#state-title") == "Approuvé"
    assert money(page, "#state-amount") == f"12,50{NBSP}$"
    assert text(page, "#new-sale-button") == "Nouvelle vente"
    assert text(page, "#receipt-link") == "Reçu"
    assert "Carte" in text(page, "#card-details") and "Autorisation" in text(page, "#card-details")
    assert re.search(r"Paiement n°\u00a0\d+ · \d{1,2} h \d{2}", text(page, "#state-meta"))
    assert english_left(page, CHECKOUT_WORDS, CHECKOUT_ENGLISH) == []
    assert page.script_errors == []
    screenshot(page, "fr-checkout-approved")


def test_the_checkout_in_french_declined(french_page, live, lane, cashier):
    page = open_french_checkout(french_page, live, lane, cashier)
    pay_on_the_page(page, "8,01")
    page.wait_for_selector("#lane-state[data-status=DECLINED]")
    assert text(page, "#state-caption") == "Paiement non terminé"
    assert text(page, "#state-title") == "Refusé"
    assert money(page, "#state-amount") == f"8,01{NBSP}$"
    assert text(page, "#retry-button") == "Réessayer"
    assert english_left(page, CHECKOUT_WORDS, CHECKOUT_ENGLISH) == []
    assert page.script_errors == []
    screenshot(page, "fr-checkout-declined")


def test_the_checkout_in_french_while_the_outcome_is_checked(french_page, live, lane, cashier):
    page = open_french_checkout(french_page, live, lane, cashier)
    pay_on_the_page(page, "30,99")  # the cardholder takes longer than the console's time-out
    page.wait_for_selector("#lane-state[data-status=UNKNOWN]", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#poll-count').textContent.match(/[1-9]/)")
    assert text(page, "#state-caption") == "Résultat en attente"
    assert text(page, "#state-title") == "Vérification en cours…"
    assert text(page, "#state-hint").startswith("Ne facturez pas de nouveau.")
    assert re.fullmatch(r"Vérifié \d+ fois", text(page, "#poll-count"))
    assert text(page, "#pay-button-label") == "Paiement en cours"
    assert english_left(page, CHECKOUT_WORDS, CHECKOUT_ENGLISH) == []
    assert page.script_errors == []
    screenshot(page, "fr-checkout-checking")
    requests.post(f"{live.sandbox_url}/terminals/{lane.terminal.device}/press", data={"action": "approve"},
                  timeout=5)
    page.wait_for_selector("#lane-state[data-status=APPROVED]")
    assert text(page, "#state-title") == "Approuvé"


def test_the_checkout_in_french_needs_review(french_page, live, lane, cashier):
    page = open_french_checkout(french_page, live, lane, cashier)
    pay_on_the_page(page, "40,11")  # the gateway's amount differs from ours
    page.wait_for_selector("#lane-state[data-status=NEEDS_REVIEW]")
    assert text(page, "#state-caption") == "Intervention requise"
    assert text(page, "#state-title") == "À vérifier"
    assert text(page, "#state-hint").startswith("Ne facturez pas le client de nouveau.")
    assert text(page, "#check-again-button") == "Vérifier de nouveau"
    assert text(page, "#override-button") == "Facturer de nouveau…"
    assert english_left(page, CHECKOUT_WORDS, CHECKOUT_ENGLISH) == []
    page.click("#check-again-button")
    page.wait_for_selector("#form-error:has-text('a été interrogé de nouveau')")
    page.click("#override-button")
    assert text(page, "label[for=override-reason]") == "Pourquoi facturer de nouveau"
    assert page.script_errors == []
    screenshot(page, "fr-checkout-needs-review")


# ------------------------------------------------------------------ the lanes wall

def test_the_lanes_wall_in_french(french_page, live, lane, cashier):
    store = lane.store
    express = TerminalFactory(lane=LaneFactory(store=store, code="L2", name="Caisse express")).lane
    for cents, card in ((1250, "4242"), (4320, "0019")):  # the express lane's morning, as the wall finds it
        PaymentAttempt.objects.create(
            order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=store.merchant, store=store,
            lane=express, terminal=express.terminal, amount=cents, currency="CAD", status="APPROVED",
            finalized_at=timezone.now(), card_brand="INTERAC", card_last4=card, gateway_reference=f"P{card}",
        )
    session = login_session(live.url, cashier.username)
    page = french_page(staff("supervisor", store, username="sylvie", first_name="Sylvie", last_name="Gagnon"))
    page.goto(f"{live.url}/backoffice/lanes/?store={store.pk}")
    page.wait_for_selector("#connection[data-state=connected]")
    assert text(page, "#connection-text") == "En direct"
    assert text(page, "h1") == "Tableau des caisses"
    express_tile = '[data-lane="L2"]'
    assert text(page, f"{express_tile} .tile-state") == "Libre"
    assert money(page, f"{express_tile} .tile-sum") == f"55,70{NBSP}$"
    assert re.match(r"Approuvé 43,20\u00a0\$ à \d{2} h \d{2}", text(page, f"{express_tile} .tile-last__result"))
    assert money(page, "#wall-sum") == f"55,70{NBSP}$"
    assert "Approuvés aujourd\u2019hui" in text(page, ".wall-summary")
    assert text(page, f'[data-lane="{lane.code}"] .tile-last__result') == "Aucun paiement pour l\u2019instant"

    response = session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": 2599},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)  # waits for a press
    assert response.status_code == 201, response.text
    page.wait_for_selector(f'[data-lane="{lane.code}"][data-status="SENT"]')
    assert text(page, f'[data-lane="{lane.code}"] .tile-state') == "En attente de la carte"
    assert money(page, f'[data-lane="{lane.code}"] .tile-amount') == f"25,99{NBSP}$"
    assert text(page, f'[data-lane="{lane.code}"] .tile-note') == "Sur le terminal"
    english = ["Lanes wall", "Approved", "Idle", "Waiting for card", "Sales today", "In progress", "Need attention",
               "Last", "Sum", "No payment yet", "Live", "Highlighted", "On the terminal"]
    assert english_left(page, "body", english) == []
    assert page.script_errors == []
    screenshot(page, "fr-lanes-wall")
    requests.post(f"{live.sandbox_url}/terminals/{lane.terminal.device}/press", data={"action": "approve"},
                  timeout=5)
    page.wait_for_selector(f'[data-lane="{lane.code}"][data-status="IDLE"]')
    assert money(page, "#wall-sum") == f"81,69{NBSP}$"


# ------------------------------------------------------------------ reconciliation

def test_reconciliation_in_french(french_page, live, lane, cashier_session):
    for cents in (1250, 801, 4011):  # approved, declined, needs review
        response = cashier_session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": cents},
                                        headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
        wait_for_status(response.json()["id"], {"APPROVED", "DECLINED", "NEEDS_REVIEW"})
    page = french_page(staff("manager", lane.store, username="marie", first_name="Marie", last_name="Tremblay"))
    page.goto(f"{live.url}/backoffice/reconciliation/?store={lane.store.pk}")
    page.wait_for_selector("#verify-button")
    assert text(page, "h1") == "Rapprochement"
    assert text(page, "#verify-button") == "Vérifier la journée avec IOTPay"
    assert text(page, "#export-link") == "Exporter en CSV"
    assert text(page, ".bo-stat--approved .bo-stat__label") == "Approuvés"
    assert text(page, ".bo-stat--approved .bo-stat__meta").startswith("1 paiement")
    assert "Par caisse et terminal" in text(page, "#day-data")
    statuses = [s.strip() for s in page.locator("#table-status tbody th").all_text_contents()]
    assert sorted(statuses) == ["Approuvé", "Refusé", "À vérifier"]
    assert page.get_attribute("#table-status .bo-status--APPROVED", "class")  # the machine value stays in the class
    english = ["Reconciliation", "Back office", "Export CSV", "Verify the day", "Business day", "Approved",
               "Declined", "Refunded", "By lane and terminal", "By status", "By card brand", "All lanes",
               "Re-query", "Today", "Show", "Find"]
    assert english_left(page, ".bo-head, .bo-toolbar, .bo-stats, .bo-table thead, .bo-table tfoot, #table-status tbody, "
                              ".bo-panel__title, [data-action]", english) == []

    page.click("#verify-button")
    page.wait_for_selector("#verification[data-status=FINISHED]", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#verify-progress').textContent.includes('terminée')")
    assert page.script_errors == []
    screenshot(page, "fr-reconciliation")


def test_reconciliation_pages_in_french(french_page, live, lane):
    review = more_than_a_page_of_exceptions(lane)
    page = french_page(staff("owner", username="julien", first_name="Julien", last_name="Gagnon"))
    page.goto(f"{live.url}/backoffice/reconciliation/?store={lane.store.pk}&exceptions_page=2")
    page.wait_for_selector("#exceptions-pager")
    assert text(page, "#exceptions-range") == "Affichage de 51 à 55 sur 55, les plus graves d\u2019abord"
    assert "Page 2 sur 2" in text(page, "#exceptions-pager")
    assert "Précédente" in text(page, "#exceptions-pager a[rel=prev]")
    assert text(page, "#exceptions [data-action=requery]") == "Interroger de nouveau"
    screenshot(page, "fr-reconciliation-second-page")
    item = page.locator("#exceptions [data-kind=missing_card_data]").first
    item.locator("summary").click()
    item.locator("form.bo-close__form").wait_for()
    assert item.locator("label[for=close-reason]").inner_text() == "Motif"
    assert english_left(page, "#exceptions", ["Showing", "of", "Previous", "Next", "Re-query", "Close", "Reason",
                                              "Missing card data", "Approved"]) == []
    page.click("#exceptions-pager a[rel=prev]")
    first = page.locator(f"[data-attempt='{review.pk}']")
    first.locator("summary").click()
    first.locator("form.bo-close__form").wait_for()
    assert first.locator("label[for=close-outcome]").inner_text() == "Résultat que vous avez établi"
    assert page.script_errors == []


# ------------------------------------------------------------------ the payment page

def test_the_payment_page_in_french(french_page, live, lane, cashier_session):
    response = cashier_session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": 2000},
                                    headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    attempt = wait_for_status(response.json()["id"], "APPROVED")
    page = french_page(staff("manager", lane.store, username="marc", first_name="Marc", last_name="Bouchard"))
    page.goto(f"{live.url}/backoffice/payments/{attempt.pk}/")
    page.wait_for_selector("#refund-form")
    assert text(page, "#details-title") == "Détails"
    assert text(page, "#refund-title") == "Remboursement"
    assert text(page, ".balance__label") == "Reste à rembourser"
    assert text(page, "#trail-title") == "Historique des événements"
    assert text(page, "#receipt-merchant") == "Copie du commerçant"
    assert text(page, "#refund-submit") == "Rembourser"
    page.fill("#id_amount", "5.00")
    page.fill("#id_reason", "Article retourné")
    assert text(page, "#refund-submit") == f"Rembourser 5,00{NBSP}$"
    english = ["Details", "Refund", "Refunds", "Left to refund", "Event trail", "Merchant copy", "Customer copy",
               "Amount", "Tip", "Card", "Cashier", "Reason", "No refunds yet", "Order reference"]
    assert english_left(page, ".payment-head__actions, .pd-card__title, .facts dt, .balance__label, "
                              ".refund-form label, #refund-submit, .muted", english) == []
    assert page.script_errors == []
    screenshot(page, "fr-payment-detail")
    page.click("#refund-submit")
    page.wait_for_url(f"**/backoffice/payments/{attempt.pk}/?refund=*")
    page.wait_for_selector("#refund-banner[data-status=APPROVED]")
    assert text(page, "#refund-banner .refund-banner__action") == "Reçu de remboursement"
    assert "a confirmé le remboursement" in text(page, "#refund-banner")
    screenshot(page, "fr-payment-detail-refunded")
