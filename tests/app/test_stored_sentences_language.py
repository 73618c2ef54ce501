"""The console's own sentences are stored in English (events' causes, payments' and refunds' messages, the back
office's findings) and shown in the reader's language, rows written before the console spoke French included;
the gateway's own words stay as they were sent. Receipts keep the card's language whatever the page's."""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import translation

from backoffice import sentences
from live.consumers import scope_language
from payments import causes
from payments.causes import said
from payments.contract import attempt_snapshot
from payments.models import PaymentAttempt, PaymentEvent
from payments.receipts import build_receipt, render_text
from store_console.asgi import application
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier, staff

NB = "\u00a0"


def _filled(template: str) -> tuple[str, dict[str, str]]:
    names = dict.fromkeys(re.findall(r"\{(\w+)[^}]*\}", template), "")
    values = {name: f"X{i}Y" for i, name in enumerate(names)}
    return template.format(**values), values


@pytest.mark.parametrize("template", [*causes.TEMPLATES, *sentences.TEMPLATES])
def test_each_stored_sentence_is_recognised_by_its_own_template(template):
    text, values = _filled(template)
    with translation.override("en"):
        assert sentences.said(text) == text  # English reads as it was stored
    with translation.override("fr"):
        french = sentences.said(text)
        assert french == translation.gettext(template).format(**values)
    if re.sub(r"\{\w+\}", "", template).strip(" :()#.,;"):
        assert french != text, f"no French for {template!r}"


@pytest.mark.parametrize(("stored", "french"), [
    ("payment requested at the lane", "paiement demandé à la caisse"),
    ("look-up while polling: paid", f"consultation pendant l'interrogation périodique{NB}: payé"),
    ("polling: the gateway has no such order (query: not_found)",
     f"interrogation périodique{NB}: la passerelle n'a pas cette commande (query: not_found)"),
    ("no clear answer yet (read time-out after 30 s)", "pas encore de réponse claire (read time-out after 30 s)"),
    ("settled by marie as not refunded: client parti", f"réglé par marie comme non remboursé{NB}: client parti"),
    ("Closed by hand: checked the terminal's batch", f"Fermé manuellement{NB}: checked the terminal's batch"),
    ("IOTPay's record differs from this sale: amount $5.00 instead of $6.00",
     f"Le dossier de IOTPay diffère de cette vente{NB}: montant de 5,00{NB}$ au lieu de 6,00{NB}$"),
])
def test_stored_english_is_shown_in_french(stored, french):
    with translation.override("fr"):
        assert said(stored) == french


def test_the_differences_an_order_has_are_said_item_by_item_with_french_amounts():
    stored = sentences.ORDER_DIFFERS.format(name="IOTPay", differences=", ".join([
        causes.DIFF_AMOUNT.format(amount="$1,240.12", asked="$40.11"), causes.DIFF_TIP.format(amount="$1.00",
                                                                                              asked="$0.00"),
        causes.DIFF_NO_AMOUNT, causes.DIFF_CURRENCY.format(currency="'USD'"),
        causes.DIFF_REFERENCE.format(reference="'SC12'")]))
    with translation.override("fr"):
        french = sentences.said(stored)
    assert french == ("La commande de IOTPay diffère de la nôtre\u00a0: montant de 1\u00a0240,12\u00a0$ au lieu de "
                      "40,11\u00a0$, pourboire de 1,00\u00a0$ au lieu de 0,00\u00a0$, aucun montant, devise 'USD', "
                      "référence de commande 'SC12'.")
    assert not re.search(r"\b(instead|amount|tip|currency|reference)\b", french)
    with translation.override("en"):
        assert sentences.said(stored) == stored
    message = causes.MSG_DIFFERS.format(name="IOTPay", problems=causes.DIFF_AMOUNT.format(amount="$5.00",
                                                                                         asked="$6.00"))
    with translation.override("fr"):
        assert said(message).endswith("montant de 5,00\u00a0$ au lieu de 6,00\u00a0$")


@pytest.mark.parametrize("theirs", ["DECLINED 05 DO NOT HONOUR", "Approuvee 00 Merci", "", "card: declined: 51"])
def test_the_gateways_words_stay_as_sent(theirs):
    with translation.override("fr"):
        assert said(theirs) == theirs


def test_a_finding_of_verify_the_day_is_shown_in_french():
    stored = sentences.APPROVED_NOT_TAKEN.format(gateway=sentences.REPORTS_IT.format(name="IOTPay",
                                                                                      outcome=sentences.NOT_PAID))
    assert stored == "Approved here, but IOTPay reports it not paid (declined or cancelled): the money may not have been taken."
    with translation.override("fr"):
        assert sentences.said(stored) == (f"Approuvé ici, mais IOTPay l'indique comme non payée (refusée ou annulée){NB}: "
                                          "l'argent n'a peut-être pas été prélevé.")


@pytest.fixture
def attempt(db):
    lane = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    attempt = PaymentAttempt.objects.create(
        order_reference="S1", sale_id="6f1c2d9e-8a41-4b7e-9c55-0d3f7a1e2b64", merchant=lane.store.merchant,
        store=lane.store, lane=lane, terminal=lane.terminal, amount=1250, currency="CAD", status="NEEDS_REVIEW",
        message="IOTPay gave no final outcome in time. Check the terminal's own record before charging again.")
    # Rows as an earlier version wrote them: English text, no key.
    PaymentEvent.objects.create(attempt=attempt, kind="state", to_status="CREATED",
                                cause="payment requested at the lane")
    PaymentEvent.objects.create(attempt=attempt, kind="gateway", cause="charge: no usable answer (charge: timeout)")
    PaymentEvent.objects.create(attempt=attempt, kind="state", from_status="UNKNOWN", to_status="NEEDS_REVIEW",
                                cause="no final outcome from the gateway after 12 look-ups")
    return attempt


def test_the_payment_page_gives_the_causes_in_the_readers_language(attempt):
    client = Client()
    client.force_login(staff("manager", attempt.store))
    page = client.get(f"/backoffice/payments/{attempt.pk}/", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert [row.cause for row in page.context["events"]] == [
        "paiement demandé à la caisse",
        f"débit{NB}: aucune réponse utilisable (charge: timeout)",  # the call's own words are data
        "aucun résultat final de la passerelle après 12 consultations",
    ]
    assert page.context["status_label"] == "À vérifier"
    assert page.context["status_message"] == ("IOTPay n'a donné aucun résultat final à temps. Vérifiez le relevé du "
                                              "terminal avant de débiter de nouveau.")
    english = client.get(f"/backoffice/payments/{attempt.pk}/", headers={"Accept-Language": "en"})
    assert [row.cause for row in english.context["events"]] == [e.cause for e in attempt.events.order_by("id")]


def test_the_api_gives_the_message_in_the_language_asked_and_the_status_as_is(attempt):
    client = Client()
    client.force_login(staff("manager", attempt.store))
    french = client.get(f"/api/payments/{attempt.pk}", headers={"Accept-Language": "fr-CA"}).json()
    assert french["status"] == "NEEDS_REVIEW"
    assert french["message"].startswith("IOTPay n'a donné aucun résultat final à temps.")
    english = client.get(f"/api/payments/{attempt.pk}", headers={"Accept-Language": "en"}).json()
    assert english["message"] == attempt.message


@pytest.mark.parametrize(("scope", "language"), [
    ({"query_string": b"lang=fr", "headers": [(b"accept-language", b"en")]}, "fr"),
    ({"query_string": b"", "headers": [(b"cookie", b"django_language=fr"), (b"accept-language", b"en")]}, "fr"),
    ({"query_string": b"", "headers": [(b"accept-language", b"fr-CA,fr;q=0.9,en;q=0.8")]}, "fr"),
    ({"query_string": b"lang=xx", "headers": [(b"accept-language", b"de, en;q=0.5")]}, "en"),
    ({}, "en"),
])
def test_a_socket_speaks_its_pages_language(scope, language):
    assert scope_language(scope) == language


def test_a_receipt_keeps_the_cards_language_whatever_the_page_speaks(attempt):
    attempt.status, attempt.card = "APPROVED", {"card_num": "************1234", "lang_code": "E"}
    with translation.override("fr"):
        merchant = build_receipt(attempt, copy="merchant")
        customer = build_receipt(attempt, copy="customer")
    assert merchant.language == customer.language == "en"
    assert merchant.sections[1].lines[0].text == "TRANSACTION RECORD"
    assert customer.copy_label == "CUSTOMER COPY"


async def _lane_socket_messages(path: str, cookie: str, language: str, lane_id: int, pushed: dict) -> list[dict]:
    headers = [(b"origin", b"http://testserver"), (b"cookie", f"sessionid={cookie}".encode()),
               (b"accept-language", language.encode())]
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    await get_channel_layer().group_send(f"lane.{lane_id}", {"type": "attempt.changed", "attempt": pushed})
    second = await communicator.receive_json_from(timeout=5)
    await communicator.disconnect()
    return [first, second]


@pytest.mark.django_db(transaction=True)
def test_the_lanes_socket_says_the_message_in_its_pages_language(attempt, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    cashier = UserFactory()
    assign_cashier(attempt.lane, cashier)
    client = Client()
    client.force_login(cashier)
    with translation.override("en"):  # pushed once for every page, in the source language
        pushed = dict(attempt_snapshot(attempt))
    first, second = async_to_sync(_lane_socket_messages)(
        f"/ws/lanes/{attempt.lane.code}/", client.cookies["sessionid"].value, "fr-CA,fr;q=0.9", attempt.lane_id,
        pushed)
    french = ("IOTPay n'a donné aucun résultat final à temps. Vérifiez le relevé du terminal avant de débiter de "
              "nouveau.")
    assert first["attempt"]["message"] == french
    assert second["attempt"]["message"] == french
    assert second["attempt"]["status"] == "NEEDS_REVIEW"


def test_a_receipt_not_yet_available_says_why_in_the_readers_language(attempt):
    attempt.status = "SENT"
    attempt.save()
    client = Client()
    client.force_login(staff("manager", attempt.store))
    answer = client.get(f"/payments/{attempt.pk}/receipt/?format=text", headers={"Accept-Language": "fr"})
    assert answer.status_code == 409
    assert answer.content.decode() == ("Le paiement est toujours en cours sur le terminal. Le reçu est disponible une "
                                       "fois le paiement approuvé ou refusé.\n")


def test_a_receipts_amounts_are_in_the_receipts_language_whatever_the_page_speaks(attempt):
    attempt.status, attempt.card = "APPROVED", {"card_num": "************1234", "lang_code": "F"}
    with translation.override("en"):
        english_page = render_text(build_receipt(attempt, copy="customer"))
    with translation.override("fr"):
        french_page = render_text(build_receipt(attempt, copy="customer"))
    assert english_page == french_page
    assert "MONTANT" in french_page and "12,50\u00a0$" in french_page and "$12.50" not in french_page
    attempt.card = {"card_num": "************1234", "lang_code": "E"}
    with translation.override("fr"):
        english_copy = render_text(build_receipt(attempt, copy="customer"))
    assert "AMOUNT" in english_copy and "$12.50" in english_copy


def test_the_payment_page_says_how_the_card_was_read_and_its_account_in_the_readers_language(attempt):
    attempt.status, attempt.card = "APPROVED", {"card_num": "************1234", "trx_method": "T",
                                                "account_type": "CHQ"}
    attempt.save()
    client = Client()
    client.force_login(staff("manager", attempt.store))
    french = client.get(f"/backoffice/payments/{attempt.pk}/", headers={"Accept-Language": "fr"})
    english = client.get(f"/backoffice/payments/{attempt.pk}/", headers={"Accept-Language": "en"})
    assert (french.context["entry_method"], french.context["account_type"]) == ("Sans contact", "Chèques")
    assert (english.context["entry_method"], english.context["account_type"]) == ("Tap", "Chequing")
    assert "Sans contact · Chèques" in french.content.decode()
