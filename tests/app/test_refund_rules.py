"""Refund rules that need no gateway: the balance, what is refused and why, one refund in flight per payment,
idempotency, the refund receipt, and who sees the refund form.

`db` tests: on_commit callbacks never run here, so nothing is sent to a worker or to the gateway.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from backoffice.views.payments import parse_dollars
from gateways.iotpay import card_from_extra
from payments.models import PaymentAttempt, PaymentEvent, Refund
from payments.receipts import ReceiptNotAvailable, build_refund_receipt, render_text
from payments.services import (
    RefundInProgress,
    RefundNotAllowed,
    refund_create,
    refundable_balance,
)
from payments.services.refund_steps import _transition
from payments.services.refunds import new_refund_reference
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier, staff

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "iotpay"
APPROVAL_EXTRA = json.loads((FIXTURES / "create_approved.json").read_text())["payOrder"]["extra"]


@pytest.fixture
def lane():
    return TerminalFactory(lane=LaneFactory(store=StoreFactory(name="Main Street Market"))).lane


@pytest.fixture
def manager(lane):
    return staff("manager", lane.store)


@pytest.fixture
def make_attempt(lane):
    def make(*, status="APPROVED", amount=2000, tip=0, **changes):
        fields = json.loads(APPROVAL_EXTRA)
        fields.update(changes.pop("card_changes", {}))
        card = card_from_extra(json.dumps(fields))
        values = {
            "order_reference": f"SC{uuid.uuid4().hex[:12].upper()}", "sale_id": uuid.uuid4(),
            "merchant": lane.store.merchant, "store": lane.store, "lane": lane, "terminal": lane.terminal,
            "amount": amount, "tip": tip, "currency": "CAD", "status": status, "card": card.as_dict(),
            "card_brand": card.brand, "card_last4": card.last4, "auth_num": card.auth_num,
            "gateway_reference": "CP20210120164033724172000001", "finalized_at": datetime(2021, 1, 20, 21, 40, tzinfo=UTC),
        }
        values.update(changes)
        return PaymentAttempt.objects.create(**values)

    return make


def add_refund(attempt, amount, status, **fields):
    return Refund.objects.create(attempt=attempt, refund_reference=new_refund_reference(), amount=amount,
                                 currency="CAD", reason="test", status=status, **fields)


# ------------------------------------------------------------------------------------------ balance


def test_the_balance_is_the_total_less_refunds_done_in_flight_or_under_review(make_attempt):
    attempt = make_attempt(amount=2000, tip=300)
    assert refundable_balance(attempt) == 2300
    add_refund(attempt, 500, "APPROVED")
    add_refund(attempt, 300, "FAILED")  # refused: nothing left the merchant
    assert refundable_balance(attempt) == 1800
    add_refund(attempt, 100, "NEEDS_REVIEW")  # may have gone through: held
    add_refund(attempt, 200, "UNKNOWN")
    assert refundable_balance(attempt) == 1500


def test_a_refund_is_created_with_its_event_and_an_mch_refund_no(make_attempt, manager):
    attempt = make_attempt()
    creation = refund_create(attempt_id=attempt.pk, amount=500, reason="  item returned ", user=manager)
    refund = creation.refund
    assert creation.created
    assert (refund.status, refund.amount, refund.currency, refund.reason) == ("CREATED", 500, "CAD", "item returned")
    assert refund.requested_by == manager
    assert refund.refund_reference.startswith("RF") and len(refund.refund_reference) <= 30
    event = PaymentEvent.objects.get(refund=refund)
    assert (event.attempt_id, event.kind, event.to_status, event.actor) == (attempt.pk, "state", "CREATED", manager)
    assert "item returned" in event.cause
    assert refundable_balance(attempt) == 1500


def test_refund_numbers_are_unique():
    numbers = {new_refund_reference() for _ in range(500)}
    assert len(numbers) == 500 and all(len(n) <= 30 for n in numbers)


# --------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("status", ["DECLINED", "FAILED", "NEEDS_REVIEW", "UNKNOWN", "SENT", "CREATED"])
def test_only_approved_payments_can_be_refunded(make_attempt, manager, status):
    attempt = make_attempt(status=status)
    with pytest.raises(RefundNotAllowed, match="only approved payments can be refunded") as caught:
        refund_create(attempt_id=attempt.pk, amount=100, reason="x", user=manager)
    assert caught.value.field is None
    assert not Refund.objects.exists()


def test_above_the_balance_is_refused_with_what_is_left(make_attempt, manager):
    attempt = make_attempt(amount=2000)
    add_refund(attempt, 1200, "APPROVED")
    with pytest.raises(RefundNotAllowed) as caught:
        refund_create(attempt_id=attempt.pk, amount=801, reason="x", user=manager)
    assert caught.value.message == "refund amount is above what is left to refund ($8.00)"
    assert caught.value.field == "amount"
    assert refund_create(attempt_id=attempt.pk, amount=800, reason="x", user=manager).created


@pytest.mark.parametrize(("amount", "reason", "field", "text"), [
    (0, "x", "amount", "more than 0"),
    (-5, "x", "amount", "more than 0"),
    ("5.00", "x", "amount", "whole number of cents"),
    (True, "x", "amount", "whole number of cents"),
    (None, "x", "amount", "whole number of cents"),
    (100, "", "reason", "a reason is required"),
    (100, "   ", "reason", "a reason is required"),
    (100, None, "reason", "a reason is required"),
    (100, "x" * 256, "reason", "too long"),
])
def test_amount_and_reason_are_checked(make_attempt, manager, amount, reason, field, text):
    attempt = make_attempt()
    with pytest.raises(RefundNotAllowed, match=text) as caught:
        refund_create(attempt_id=attempt.pk, amount=amount, reason=reason, user=manager)
    assert caught.value.field == field


def test_a_payment_without_an_iotpay_order_id_cannot_be_refunded(make_attempt, manager):
    attempt = make_attempt(gateway_reference="")
    with pytest.raises(RefundNotAllowed, match="no IOTPay order reference"):
        refund_create(attempt_id=attempt.pk, amount=100, reason="x", user=manager)


# -------------------------------------------------------------------------- in flight, idempotency


def test_a_second_refund_while_one_is_in_flight_is_refused(make_attempt, manager):
    attempt = make_attempt()
    first = refund_create(attempt_id=attempt.pk, amount=100, reason="x", user=manager).refund
    with pytest.raises(RefundInProgress) as caught:
        refund_create(attempt_id=attempt.pk, amount=100, reason="y", user=manager)
    assert caught.value.refund == first
    _transition(first.pk, from_statuses=["CREATED"], to="SENT", cause="t")
    _transition(first.pk, from_statuses=["SENT"], to="APPROVED", cause="t")
    assert refund_create(attempt_id=attempt.pk, amount=100, reason="y", user=manager).created


def test_the_database_refuses_two_refunds_in_flight_for_one_payment(make_attempt):
    attempt = make_attempt()
    add_refund(attempt, 100, "SENT")
    with pytest.raises(IntegrityError), transaction.atomic():
        add_refund(attempt, 100, "UNKNOWN")
    add_refund(attempt, 100, "FAILED")  # final ones are not limited


def test_the_same_idempotency_key_returns_the_first_refund(make_attempt, manager):
    attempt = make_attempt(amount=2000)
    first = refund_create(attempt_id=attempt.pk, amount=2000, reason="x", user=manager, idempotency_key="k1")
    again = refund_create(attempt_id=attempt.pk, amount=2000, reason="x", user=manager, idempotency_key="k1")
    assert first.created and not again.created
    assert again.refund.pk == first.refund.pk
    assert Refund.objects.count() == 1
    _transition(first.refund.pk, from_statuses=["CREATED"], to="SENT", cause="t")
    _transition(first.refund.pk, from_statuses=["SENT"], to="APPROVED", cause="t")
    # Nothing is left to refund, yet a replay is still answered with the first refund, not an error.
    assert refund_create(attempt_id=attempt.pk, amount=2000, reason="x", user=manager,
                         idempotency_key="k1").refund.pk == first.refund.pk


def test_refund_transitions_follow_the_allowed_moves(make_attempt):
    refund = add_refund(make_attempt(), 100, "CREATED")
    assert _transition(refund.pk, from_statuses=["CREATED"], to="APPROVED", cause="t") is None
    moved = _transition(refund.pk, from_statuses=["CREATED"], to="SENT", cause="t")
    assert moved.status == "SENT"
    done = _transition(refund.pk, from_statuses=["SENT"], to="APPROVED", cause="t", refundable_after=1900)
    assert done.finalized_at is not None and done.refundable_after == 1900
    for target in ("FAILED", "NEEDS_REVIEW", "SENT"):
        assert _transition(refund.pk, from_statuses=["APPROVED"], to=target, cause="t") is None
    events = PaymentEvent.objects.filter(refund=refund, kind="state")
    assert [(e.from_status, e.to_status) for e in events] == [("CREATED", "SENT"), ("SENT", "APPROVED")]


# ------------------------------------------------------------------------------------------ receipts


def test_the_refund_receipt_says_refund_with_the_refunded_total_and_never_the_expiry(make_attempt):
    attempt = make_attempt(amount=2000)
    refund = add_refund(attempt, 500, "APPROVED", gateway_refund_reference="RF20260101000000000001",
                        finalized_at=datetime(2026, 1, 5, 19, 3, 12, tzinfo=UTC))
    text = render_text(build_refund_receipt(refund, copy="merchant"), width=42)
    lines = [line.strip() for line in text.splitlines()]
    assert "TRANSACTION RECORD" in lines and "REFUND" in lines and "APPROVED" in lines
    assert "PURCHASE" not in lines
    assert "TOTAL" + "$5.00".rjust(42 - len("TOTAL")) in text
    assert "************1166" in text and "MASTERCARD" in text
    assert "01/05/2026 14:03:12" in text  # 19:03 UTC is 14:03 in Toronto
    assert refund.refund_reference in text and "RF20260101000000000001" in text and attempt.order_reference in text
    assert "MERCHANT COPY" in lines
    assert "1022" not in text and "expire" not in text.lower()


def test_the_customer_copy_is_in_french_for_a_french_card(make_attempt):
    attempt = make_attempt(card_changes={"langCode": "F", "cardType": "P", "emvLabel": "INTERAC",
                                         "accountType": "CHEQUING"})
    refund = add_refund(attempt, 700, "APPROVED", finalized_at=datetime(2026, 1, 5, 19, 3, 12, tzinfo=UTC))
    customer = build_refund_receipt(refund, copy="customer")
    text = render_text(customer, width=42)
    lines = [line.strip() for line in text.splitlines()]
    assert customer.language == "fr" and customer.refund_id == refund.pk
    assert "RELEVÉ DE TRANSACTION" in lines and "REMISE" in lines and "APPROUVÉE" in lines
    assert "COPIE DU CLIENT" in lines and "INTERAC" in text and "CHÈQUES" in text
    assert "2026-01-05 14:03:12" in text
    assert "7,00\u00a0$" in text and "$7.00" not in text
    merchant = build_refund_receipt(refund, copy="merchant")
    assert merchant.language == "en" and "REFUND" in render_text(merchant, width=42)


@pytest.mark.parametrize(("status", "permanent"), [("CREATED", False), ("UNKNOWN", False),
                                                   ("NEEDS_REVIEW", False), ("FAILED", True)])
def test_only_approved_refunds_have_a_receipt(make_attempt, status, permanent):
    refund = add_refund(make_attempt(), 100, status)
    with pytest.raises(ReceiptNotAvailable) as caught:
        build_refund_receipt(refund, copy="merchant")
    assert caught.value.permanent is permanent


# ----------------------------------------------------------------------------------- the page's form


@pytest.mark.parametrize(("text", "cents"), [
    ("5", 500), ("5.5", 550), ("5.00", 500), ("$5.05", 505), (" 12.34 ", 1234), ("1,234.56", 123456),
    (".5", 50), ("0.01", 1), ("0", 0),
])
def test_dollars_typed_in_the_form_become_cents_without_floats(text, cents):
    assert parse_dollars(text, "en") == cents


@pytest.mark.parametrize("text", ["", "abc", "5.001", "1,23", "5,00", "-5", "5.", "1e3", "$"])
def test_what_is_not_money_is_refused(text):
    assert parse_dollars(text, "en") is None


@pytest.mark.parametrize(("text", "cents"), [
    ("5,00", 500), ("5,5", 550), ("5.00", 500), ("12,50 $", 1250), ("12,50\u00a0$", 1250), ("1 234,56", 123456),
    ("1\u00a0234,56", 123456), ("1\u202f234,56", 123456), ("$5", 500), ("0,01", 1),
])
def test_french_amounts_are_read_with_their_decimal_comma(text, cents):
    assert parse_dollars(text, "fr") == cents


@pytest.mark.parametrize("text", ["1,234.56", "5,001", "12 34,00", "-5,00", "abc", "$"])
def test_what_is_not_money_in_french_is_refused(text):
    assert parse_dollars(text, "fr") is None


def login(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_refunds_from_the_page_and_a_double_submit_refunds_once(make_attempt, manager):
    attempt = make_attempt(amount=2000)
    client = login(manager)
    page = client.get(f"/backoffice/payments/{attempt.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="refund-form"' in html and "$20.00" in html
    key = page.context["form"].initial["idempotency_key"]
    body = {"amount": "5.00", "reason": "item returned", "idempotency_key": key}
    first = client.post(f"/backoffice/payments/{attempt.pk}/refunds", body)
    second = client.post(f"/backoffice/payments/{attempt.pk}/refunds", body)
    refund = Refund.objects.get()
    assert refund.amount == 500 and refund.reason == "item returned"
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/backoffice/payments/{attempt.pk}/?refund={refund.pk}"
    shown = client.get(first["Location"]).content.decode()
    assert "data-refund-live" in shown and "Do not refund again" in shown


def test_the_form_shows_per_field_errors(make_attempt, manager):
    attempt = make_attempt(amount=2000)
    client = login(manager)
    bad = client.post(f"/backoffice/payments/{attempt.pk}/refunds", {"amount": "5.001", "reason": " "})
    assert bad.status_code == 400
    assert "Enter dollars and cents" in bad.content.decode() and "A reason is required" in bad.content.decode()
    above = client.post(f"/backoffice/payments/{attempt.pk}/refunds", {"amount": "20.01", "reason": "x"})
    assert above.status_code == 400
    assert "Refund amount is above what is left to refund ($20.00)." in above.content.decode()
    assert not Refund.objects.exists()


def test_supervisors_read_the_page_without_the_form_and_cashiers_are_refused(make_attempt, lane):
    attempt = make_attempt()
    client = login(staff("supervisor", lane.store))
    page = client.get(f"/backoffice/payments/{attempt.pk}/")
    assert page.status_code == 200
    assert 'id="refund-form"' not in page.content.decode()
    assert client.post(f"/backoffice/payments/{attempt.pk}/refunds",
                       {"amount": "1.00", "reason": "x"}).status_code == 403
    cashier = UserFactory()
    assign_cashier(lane, cashier)  # even the payment's own lane: the back office is not for cashiers
    for user in (cashier, UserFactory()):
        assert login(user).get(f"/backoffice/payments/{attempt.pk}/").status_code == 403
    assert not Refund.objects.exists()


def test_the_admin_lists_refunds_read_only_and_shows_them_on_the_attempt(make_attempt):
    attempt = make_attempt()
    refund = add_refund(attempt, 500, "APPROVED", gateway_refund_reference="RF1")
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = login(admin)
    listing = client.get(f"/admin/payments/refund/?q={refund.refund_reference}")
    assert listing.status_code == 200 and refund.refund_reference in listing.content.decode()
    assert client.get(f"/admin/payments/refund/?q={attempt.order_reference}").content.decode().count(
        refund.refund_reference) >= 1
    assert client.get("/admin/payments/refund/add/").status_code == 403
    detail = client.get(f"/admin/payments/paymentattempt/{attempt.pk}/change/")
    assert detail.status_code == 200 and refund.refund_reference in detail.content.decode()
    assert client.get(f"/admin/payments/refund/{refund.pk}/change/").status_code == 200
