"""Card receipts, built from the reference page's two samples: an approval and a "not completed" answer.

What a Canadian semi-integrated receipt must carry (docs/iotpay.md): the store, TRANSACTION RECORD, the card
brand and last 4 only, entry method, amounts and total, date and time, terminal/invoice/sequence/batch,
AUTH # (blank on a decline), EMV data, the terminal's text, the verification, the copy; never the expiry.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from gateways.cards import CardDetails
from gateways.iotpay import card_from_extra
from payments.models import PaymentAttempt
from payments.receipts import (
    ReceiptNotAvailable,
    build_receipt,
    format_money,
    render_text,
    render_texts,
)
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "iotpay"
APPROVAL_EXTRA = json.loads((FIXTURES / "create_approved.json").read_text())["payOrder"]["extra"]
NOT_COMPLETED_EXTRA = json.loads((FIXTURES / "create_not_completed.json").read_text())["payOrder"]["extra"]
EXPIRY = "1022"  # the approval sample's expireDate
SENTINEL_EXPIRY = "EXPIRY-1028"  # injected into stored card data: must never be printed
WIDTH = 42


def card_data(extra: str, **changes: str) -> dict:
    """``attempt.card`` as the services store it, from a sample ``extra`` with some fields changed."""
    fields = json.loads(extra)
    fields.update(changes)
    card = card_from_extra(json.dumps(fields))
    assert card is not None
    return card.as_dict()


@pytest.fixture
def store():
    return StoreFactory(name="Main Street Market", address="100 King St W\nToronto ON M5X 1A9",
                        time_zone="America/Toronto", tips_enabled=True)


@pytest.fixture
def lane(store):
    return TerminalFactory(lane=LaneFactory(store=store)).lane


@pytest.fixture
def cashier(lane):
    user = UserFactory()
    assign_cashier(lane, user)
    return user


@pytest.fixture
def make_attempt(lane):
    def make(*, status="APPROVED", extra=APPROVAL_EXTRA, card=None, amount=1250, tip=0, **fields):
        if card is None and extra is not None:
            card = card_data(extra)
        parsed = CardDetails.from_dict(card) if card else None
        approved = status == "APPROVED"
        values = {
            "order_reference": f"SC{uuid.uuid4().hex[:12].upper()}",
            "sale_id": uuid.uuid4(),
            "merchant": lane.store.merchant,
            "store": lane.store,
            "lane": lane,
            "terminal": lane.terminal,
            "amount": amount,
            "tip": tip,
            "currency": "CAD",
            "status": status,
            "card": card,
            "card_brand": parsed.brand if parsed else "",
            "card_last4": parsed.last4 if parsed else "",
            "auth_num": parsed.auth_num if parsed and approved else "",
            "batch_num": parsed.batch_num if parsed else "",
            "terminal_text": parsed.terminal_text if parsed else "",
            "gateway_reference": "CP20210120164033724172000001" if approved else "CP20210922192314685200722249",
            "finalized_at": datetime(2021, 9, 22, 19, 23, 19, tzinfo=UTC),
        }
        values.update(fields)
        return PaymentAttempt.objects.create(**values)

    return make


def text_of(attempt, copy="merchant"):
    return render_text(build_receipt(attempt, copy=copy), width=WIDTH)


def lines_of(text):
    return [line.strip() for line in text.splitlines()]


def pair(label, value):
    """A label…value line exactly as printed at 42 columns."""
    return label + value.rjust(WIDTH - len(label))


def words(text):
    return " ".join(text.split())


def html_of(response):
    return response.content.decode()


# ---------------------------------------------------------------------------------------- the approval


def test_approval_sample_merchant_copy(make_attempt):
    attempt = make_attempt(amount=1250)
    text = text_of(attempt)
    rows = text.splitlines()
    stripped = lines_of(text)

    assert stripped[:3] == ["Main Street Market", "100 King St W", "Toronto ON M5X 1A9"]
    assert rows[0] == "Main Street Market".center(WIDTH).rstrip()  # centered header
    for line in ("TRANSACTION RECORD", "PURCHASE", "APPROVED", "000 Approved 00 Thank You",
                 "NO SIGNATURE REQUIRED", "MERCHANT COPY"):
        assert line in stripped, line
    for label, value in [
        ("CARD TYPE", "MASTERCARD"),
        ("CARD #", "************1166"),
        ("ENTRY", "TAP"),
        ("DATE/TIME", "01/20/2021 16:40:33"),  # the terminal's trxDate + trxTime, 24-hour
        ("AMOUNT", "$12.50"),
        ("TIP", "$0.00"),  # the store takes tips
        ("TOTAL", "$12.50"),
        ("TERMINAL", "25957"),
        ("INVOICE", "724172"),
        ("SEQUENCE", "000001000061"),
        ("BATCH", "0008"),
        ("AUTH #", "01046Z"),
        ("AID", "A0000000041010"),
        ("TVR", "0000008000"),
        ("TSI", "0000"),
        ("ARQC", "3D36ACBD44BE512B"),
        ("ORDER #", attempt.order_reference),
        ("IOTPAY REF", "CP20210120164033724172000001"),
    ]:
        assert pair(label, value) in rows, (label, value)

    assert "XXXXXXXXXXXX1166" not in text
    assert not re.search(rf"\b{EXPIRY}\b|10/22|EXP", text)  # order numbers may hold the digits, never as a field
    assert "X___" not in text and "SIGNATURE" not in stripped  # 1F0302: no CVM, no signature line
    assert "CUSTOMER COPY" not in text and "IMPORTANT" not in text
    assert all(len(row) <= WIDTH for row in rows)


def test_approval_customer_copy_says_retain_and_has_no_signature_line(make_attempt):
    text = text_of(make_attempt(extra=json.dumps({**json.loads(APPROVAL_EXTRA), "cvmResults": "1E0300"})),
                   copy="customer")
    assert "CUSTOMER COPY" in lines_of(text)
    assert "IMPORTANT — retain this copy for your records" in words(text)
    assert "MERCHANT COPY" not in text
    assert "X___" not in text
    assert "NO SIGNATURE REQUIRED" not in text


def test_signature_line_only_on_the_merchant_copy_when_the_cvm_asks_for_it(make_attempt):
    attempt = make_attempt(card=card_data(APPROVAL_EXTRA, cvmResults="1E0300"))
    merchant = text_of(attempt)
    assert "X" + "_" * 16 in merchant
    assert "SIGNATURE" in lines_of(merchant)
    assert "NO SIGNATURE REQUIRED" not in merchant
    assert "VERIFIED BY PIN" not in merchant


@pytest.mark.parametrize(("cvm", "expected"), [("410302", "VERIFIED BY PIN"), ("1F0302", "NO SIGNATURE REQUIRED")])
def test_no_signature_line_for_pin_or_no_cvm(make_attempt, cvm, expected):
    attempt = make_attempt(card=card_data(APPROVAL_EXTRA, cvmResults=cvm))
    for copy in ("merchant", "customer"):
        text = text_of(attempt, copy)
        assert expected in lines_of(text)
        assert "X___" not in text


def test_tip_and_total_in_integer_cents(make_attempt):
    text = text_of(make_attempt(amount=1999, tip=301))
    rows = text.splitlines()
    assert pair("AMOUNT", "$19.99") in rows
    assert pair("TIP", "$3.01") in rows
    assert pair("TOTAL", "$23.00") in rows
    assert "-" * WIDTH in rows  # the rule above the total


def test_no_tip_line_when_the_store_takes_no_tips_and_there_is_none(make_attempt, store):
    store.tips_enabled = False
    store.save()
    text = text_of(make_attempt(amount=1250, tip=0))
    assert not any(row.startswith("TIP") for row in text.splitlines())
    assert pair("TOTAL", "$12.50") in text.splitlines()


def test_cashback_and_surcharge_are_shown_and_added_to_the_total(make_attempt):
    attempt = make_attempt(amount=1000, tip=0, card=card_data(APPROVAL_EXTRA, cashbackAmount="2000",
                                                              surchargeAmount="150"))
    rows = text_of(attempt).splitlines()
    assert pair("CASHBACK", "$20.00") in rows
    assert pair("SURCHARGE", "$1.50") in rows
    assert pair("TOTAL", "$31.50") in rows


@pytest.mark.parametrize(("cents", "text"), [(0, "$0.00"), (5, "$0.05"), (1999, "$19.99"), (100_000, "$1,000.00"),
                                             (123_456_789, "$1,234,567.89")])
def test_money_is_formatted_from_integer_cents(cents, text):
    assert format_money(cents, "CAD") == text


# ------------------------------------------------------------------------------------ the not-completed


def test_not_completed_sample(make_attempt):
    attempt = make_attempt(status="DECLINED", extra=NOT_COMPLETED_EXTRA, amount=1)
    receipt = build_receipt(attempt, copy="merchant")
    assert receipt.outcome == "NOT_COMPLETED"
    text = render_text(receipt)
    rows, stripped = text.splitlines(), lines_of(text)

    assert "NOT COMPLETED" in stripped
    assert "Transaction Not Completed 05" in stripped
    assert "AUTH #" in rows  # the label stays, the value is blank
    assert pair("TERMINAL", "25957") in rows
    assert pair("INVOICE", "167339") in rows
    # no trxDate/trxTime: the time we finalised it, in the store's time zone (EDT)
    assert pair("DATE/TIME", "09/22/2021 15:23:19") in rows
    assert pair("TOTAL", "$0.01") in rows
    for absent in ("APPROVED", "DECLINED", "CARD TYPE", "CARD #", "NO SIGNATURE REQUIRED", "VERIFIED BY PIN", "X___"):
        assert absent not in stripped and absent not in text.replace("NOT COMPLETED", ""), absent


def test_decline_keeps_the_auth_label_with_a_blank_value(make_attempt):
    # Even if a decline came back with an authorisation number, the receipt must not print one.
    card = card_data(APPROVAL_EXTRA, receiptDisp="051 Declined 05 Do Not Honour")
    attempt = make_attempt(status="DECLINED", card=card, terminal_text="051 Declined 05 Do Not Honour")
    receipt = build_receipt(attempt, copy="merchant")
    assert receipt.outcome == "DECLINED"
    text = render_text(receipt)
    assert "DECLINED" in lines_of(text)
    assert "051 Declined 05 Do Not Honour" in lines_of(text)
    assert "AUTH #" in text.splitlines()
    assert "01046Z" not in text
    assert "NO SIGNATURE REQUIRED" not in text


def test_declined_without_any_card_data_is_not_completed(make_attempt):
    attempt = make_attempt(status="DECLINED", extra=None, card=None, terminal_text="")
    receipt = build_receipt(attempt, copy="customer")
    assert receipt.outcome == "NOT_COMPLETED"
    assert "NOT COMPLETED" in lines_of(render_text(receipt))


# ----------------------------------------------------------------------------------------- French Interac


def test_french_interac_customer_copy(make_attempt):
    card = card_data(
        APPROVAL_EXTRA, cardType="P", emvLabel="Interac", cardNum="XXXXXXXXXXXX2748", emvAID="A0000002771010",
        trxMethod="C", accountType="CHEQUING", cvmResults="420300", langCode="F",
        receiptDisp="000 Approuvee 00 Merci",
    )
    attempt = make_attempt(card=card, amount=1400, tip=0)
    customer = build_receipt(attempt, copy="customer")
    assert customer.language == "fr"
    text = render_text(customer)
    rows, stripped = text.splitlines(), lines_of(text)
    for line in ("RELEVÉ DE TRANSACTION", "ACHAT", "APPROUVÉE", "000 Approuvee 00 Merci", "VÉRIFIÉ PAR NIP",
                 "COPIE DU CLIENT"):
        assert line in stripped, line
    assert "IMPORTANT — conservez cette copie pour vos dossiers" in words(text)
    for label, value in [("TYPE DE CARTE", "INTERAC"), ("NO DE CARTE", "************2748"), ("MODE", "INSÉRÉE"),
                         ("COMPTE", "CHÈQUES"), ("MONTANT", "14,00\u00a0$"), ("TOTAL", "14,00\u00a0$"),
                         ("DATE/HEURE", "2021-01-20 16:40:33")]:
        assert pair(label, value) in rows, (label, value)
    assert "APPROVED" not in text and "CUSTOMER COPY" not in text

    # The merchant copy is always in English.
    merchant = build_receipt(attempt, copy="merchant")
    assert merchant.language == "en"
    merchant_text = render_text(merchant)
    assert pair("ACCOUNT", "CHEQUING") in merchant_text.splitlines()
    assert pair("ENTRY", "CHIP") in merchant_text.splitlines()
    assert "VERIFIED BY PIN" in lines_of(merchant_text)
    assert "MERCHANT COPY" in lines_of(merchant_text)


# --------------------------------------------------------------------------------- what is never printed


def test_expiry_date_and_full_card_number_are_never_printed(make_attempt, lane, cashier):
    card = card_data(APPROVAL_EXTRA, cardNum="5413330089601166")
    card["expireDate"] = SENTINEL_EXPIRY  # stored data should never hold it; even if it did:
    card["expire_date"] = SENTINEL_EXPIRY
    attempt = make_attempt(card=card)
    client = Client()
    client.force_login(cashier)
    outputs = [text_of(attempt, "merchant"), text_of(attempt, "customer"),
               html_of(client.get(f"/payments/{attempt.pk}/receipt/")),
               html_of(client.get(f"/payments/{attempt.pk}/receipt/?format=text"))]
    for output in outputs:
        assert SENTINEL_EXPIRY not in output
        assert "5413330089601166" not in output and "541333" not in output
        assert "************1166" in output


def test_the_receipt_is_a_frozen_structure(make_attempt):
    receipt = build_receipt(make_attempt(), copy="merchant")
    assert isinstance(receipt.sections, tuple)
    assert all(isinstance(section.lines, tuple) for section in receipt.sections)
    with pytest.raises(dataclasses.FrozenInstanceError):
        receipt.copy = "customer"  # type: ignore[misc]
    assert receipt.sections[0].lines[0].text == "Main Street Market"


# ---------------------------------------------------------------------------------- no receipt (yet)


@pytest.mark.parametrize("status", ["CREATED", "SENT", "UNKNOWN", "NEEDS_REVIEW"])
def test_no_receipt_before_the_outcome_is_final(make_attempt, status):
    attempt = make_attempt(status=status, extra=None, card=None, finalized_at=None)
    with pytest.raises(ReceiptNotAvailable) as raised:
        build_receipt(attempt, copy="merchant")
    assert raised.value.permanent is False
    assert raised.value.status == status
    assert "receipt is available once" in raised.value.reason


def test_failed_payment_has_no_card_receipt(make_attempt):
    attempt = make_attempt(status="FAILED", extra=None, card=None, message="third-party exception")
    with pytest.raises(ReceiptNotAvailable) as raised:
        build_receipt(attempt, copy="customer")
    assert raised.value.permanent is True
    assert "no card receipt" in raised.value.reason


# ------------------------------------------------------------------------------------------- the page


def test_cashier_gets_both_copies_merchant_first(make_attempt, cashier, lane):
    attempt = make_attempt(amount=1999, tip=301)
    client = Client()
    client.force_login(cashier)
    response = client.get(f"/payments/{attempt.pk}/receipt/")
    assert response.status_code == 200
    html = html_of(response)
    assert html.count('class="receipt receipt--approved"') == 2
    assert html.index("MERCHANT COPY") < html.index("CUSTOMER COPY")
    assert 'class="receipt-cut"' in html
    assert f"/payments/{attempt.pk}/receipt/?copy=customer" in html
    assert f"/payments/{attempt.pk}/receipt/?format=text" in html
    assert "/static/css/receipt.css" in html and "/static/js/receipt.js" in html
    assert "data-receipt-print" in html and "onclick" not in html
    assert f'href="/lanes/{lane.code}/"' in html and "Back to the lane" in html
    for value in ("$3.01", "$23.00", "************1166", "01046Z", "000 Approved 00 Thank You"):
        assert value in html
    assert "no-cache" in response["Cache-Control"]


def test_one_copy_by_query(make_attempt, cashier):
    attempt = make_attempt()
    client = Client()
    client.force_login(cashier)
    html = html_of(client.get(f"/payments/{attempt.pk}/receipt/?copy=customer"))
    assert "CUSTOMER COPY" in html and "MERCHANT COPY" not in html
    assert client.get(f"/payments/{attempt.pk}/receipt/?copy=both").status_code == 400


def test_text_format_is_the_printer_rendering(make_attempt, cashier):
    attempt = make_attempt()
    client = Client()
    client.force_login(cashier)
    response = client.get(f"/payments/{attempt.pk}/receipt/?format=text")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    body = response.content.decode("utf-8")
    both = [build_receipt(attempt, copy="merchant"), build_receipt(attempt, copy="customer")]
    assert body == render_texts(both)
    assert body.index("MERCHANT COPY") < body.index("CUSTOMER COPY")
    assert all(len(row) <= WIDTH for row in body.splitlines())

    single = client.get(f"/payments/{attempt.pk}/receipt/?format=text&copy=merchant").content.decode()
    assert single == text_of(attempt, "merchant")


def test_stranger_is_refused_and_a_viewer_with_the_permission_is_not(make_attempt):
    attempt = make_attempt()
    client = Client()
    client.force_login(UserFactory())
    assert client.get(f"/payments/{attempt.pk}/receipt/").status_code == 403
    assert client.get(f"/payments/{attempt.pk}/receipt/?format=text").status_code == 403

    auditor = UserFactory()
    auditor.user_permissions.add(Permission.objects.get(codename="view_paymentattempt"))
    client.force_login(auditor)
    response = client.get(f"/payments/{attempt.pk}/receipt/")
    assert response.status_code == 200
    assert "Back to my lanes" in html_of(response)  # not on the lane: no link to its checkout


def test_login_required_and_unknown_attempt(make_attempt, cashier):
    attempt = make_attempt()
    response = Client().get(f"/payments/{attempt.pk}/receipt/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    client = Client()
    client.force_login(cashier)
    assert client.get(f"/payments/{attempt.pk + 1000}/receipt/").status_code == 404


def test_store_data_is_escaped(make_attempt, cashier, store):
    store.name = "<script>alert(1)</script>"
    store.address = '<img src=x onerror="alert(2)">'
    store.save()
    attempt = make_attempt(terminal_text="<b>000 Approved</b>")
    client = Client()
    client.force_login(cashier)
    html = html_of(client.get(f"/payments/{attempt.pk}/receipt/"))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<b>000 Approved</b>" not in html
    assert "&lt;b&gt;000 Approved&lt;/b&gt;" in html


@pytest.mark.parametrize("status", ["SENT", "UNKNOWN"])
def test_no_receipt_yet_is_a_friendly_409(make_attempt, cashier, status):
    attempt = make_attempt(status=status, extra=None, card=None, finalized_at=None)
    client = Client()
    client.force_login(cashier)
    response = client.get(f"/payments/{attempt.pk}/receipt/")
    assert response.status_code == 409
    html = html_of(response)
    assert "No receipt yet" in html and "Back to the lane" in html
    assert 'class="receipt ' not in html and "data-receipt-print" not in html
    text = client.get(f"/payments/{attempt.pk}/receipt/?format=text")
    assert text.status_code == 409 and text["Content-Type"] == "text/plain; charset=utf-8"


def test_failed_payment_page_says_there_is_no_card_receipt(make_attempt, cashier):
    attempt = make_attempt(status="FAILED", extra=None, card=None, message="terminal did not respond")
    client = Client()
    client.force_login(cashier)
    response = client.get(f"/payments/{attempt.pk}/receipt/")
    assert response.status_code == 409
    html = html_of(response)
    assert "There is no card receipt for this payment" in html
    assert "terminal did not respond" in html


def test_not_completed_page(make_attempt, cashier):
    attempt = make_attempt(status="DECLINED", extra=NOT_COMPLETED_EXTRA, amount=1)
    client = Client()
    client.force_login(cashier)
    response = client.get(f"/payments/{attempt.pk}/receipt/")
    assert response.status_code == 200
    html = html_of(response)
    assert 'class="receipt receipt--not_completed"' in html
    assert "NOT COMPLETED" in html and "Transaction Not Completed 05" in html
    assert '<span class="receipt__label">AUTH #</span><span class="receipt__value"></span>' in html


# --------------------------------------------- IOTPay's figures, both terminals, every CVM (issue 10)


def test_iotpays_amount_and_tip_are_printed_and_added_up(make_attempt):
    attempt = make_attempt(amount=1250, tip=200, gateway_amount=1250, gateway_tip=200)
    rows = text_of(attempt).splitlines()
    assert pair("AMOUNT", "$12.50") in rows and pair("TIP", "$2.00") in rows and pair("TOTAL", "$14.50") in rows


@pytest.mark.parametrize(("cashback", "surcharge", "total"), [("20.00", "1.50", "$34.00"), (2000, 150, "$34.00"),
                                                            ("2000", "", "$32.50"), ("", "0.75", "$13.25")])
def test_cash_back_and_surcharge_as_decimal_strings_or_cents(make_attempt, cashback, surcharge, total):
    attempt = make_attempt(amount=1250, tip=0, card=card_data(APPROVAL_EXTRA, cashbackAmount=cashback,
                                                              surchargeAmount=surcharge))
    assert pair("TOTAL", total) in text_of(attempt).splitlines()


def test_an_unreadable_figure_is_shown_as_sent_and_the_total_says_so(make_attempt):
    attempt = make_attempt(amount=1250, tip=0, card=card_data(APPROVAL_EXTRA, cashbackAmount="2O.OO"))
    rows = text_of(attempt).splitlines()
    assert pair("CASHBACK", "2O.OO (UNREADABLE)") in rows
    assert pair("TOTAL (SEE TERMINAL)", "$12.50") in rows


def test_both_terminal_ids_are_printed(make_attempt):
    rows = text_of(make_attempt()).splitlines()
    assert pair("TERMINAL", "25957") in rows and pair("BANK TERMINAL", "40880013") in rows


@pytest.mark.parametrize(("cvm", "lines", "signature"), [
    ("030002", ["VERIFIED BY PIN"], True),  # PIN and signature: both
    ("430302", ["VERIFIED BY PIN"], True),
    ("050000", ["VERIFIED BY PIN"], True),
    ("1E0300", [], True),
    ("410302", ["VERIFIED BY PIN"], False),
    ("420300", ["VERIFIED BY PIN"], False),
    ("1F0302", ["NO SIGNATURE REQUIRED"], False),
    ("3F0000", ["NO SIGNATURE REQUIRED"], False),
    ("410301", ["CARDHOLDER VERIFICATION FAILED"], False),  # the PIN failed: never "verified by PIN"
    ("000001", ["CARDHOLDER VERIFICATION FAILED"], False),
    ("2F0000", ["CARDHOLDER VERIFICATION 2F"], False),  # a code left to the payment systems: still a line
])
def test_every_cvm_maps_to_a_line(make_attempt, cvm, lines, signature):
    text = text_of(make_attempt(card=card_data(APPROVAL_EXTRA, cvmResults=cvm)))
    printed = lines_of(text)
    for line in lines:
        assert line in printed
    assert ("VERIFIED BY PIN" in printed) is ("VERIFIED BY PIN" in lines)
    assert ("SIGNATURE" in printed) is signature
    assert "SIGNATURE" not in lines_of(text_of(make_attempt(card=card_data(APPROVAL_EXTRA, cvmResults=cvm)),
                                               copy="customer"))


def test_an_approval_awaiting_confirmation_prints_marked_as_such(make_attempt):
    attempt = make_attempt(status="UNKNOWN", terminal_outcome="APPROVED", finalized_at=None)
    receipt = build_receipt(attempt, copy="customer")
    assert receipt.awaiting_confirmation and receipt.outcome == "APPROVED"
    printed = lines_of(text_of(attempt, copy="customer"))
    assert "AWAITING CONFIRMATION" in printed and "APPROVED" in printed
    assert "Approved by the terminal; IOTPay has not confirmed it yet" in words(text_of(attempt, copy="customer"))
    without = make_attempt(status="NEEDS_REVIEW", terminal_outcome="", finalized_at=None)
    with pytest.raises(ReceiptNotAvailable):
        build_receipt(without, copy="merchant")


def test_no_control_character_reaches_the_printer(make_attempt):
    # Stored data that bypassed the gateway's cleaning (an older version, an admin edit): the printer is safe.
    attempt = make_attempt(terminal_text="000 APPROVED\x1b@\x1dV\x07")
    attempt.store.name = "Store\x1bE"
    attempt.store.save()
    text = text_of(attempt)
    assert not any(ch in text for ch in "\x1b\x1d\x00\x07")
