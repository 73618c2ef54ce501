"""A manager's actions when IOTPay gave no clear answer: closing a payment by hand from its page, checking and
settling a refund (one check at a time), and the sale rules of the API (`db` tests: nothing reaches IOTPay)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from payments.models import PaymentAttempt, PaymentEvent, Refund
from payments.services import refund_check, refund_settle, refundable_balance
from payments.services.refund_steps import _claim_check, refund_finding
from payments.services.refunds import new_refund_reference
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier, staff

pytestmark = pytest.mark.django_db(transaction=True)  # the gateway door refuses calls inside a transaction


@pytest.fixture
def lane():
    return TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane


def make_attempt(lane, status="APPROVED", amount=2000, **fields):
    return PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=fields.pop("sale_id", uuid.uuid4()),
        merchant=lane.store.merchant, store=lane.store, lane=lane, terminal=lane.terminal, amount=amount,
        currency="CAD", status=status, gateway_reference="CP1", **fields)


def user_in(role, lane):
    return staff(role, lane.store)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_closes_a_payment_needing_review_from_its_page(lane):
    attempt = make_attempt(lane, status="NEEDS_REVIEW")
    manager = user_in("manager", lane)
    page = client_for(manager).get(f"/backoffice/payments/{attempt.pk}/").content.decode()
    assert 'id="close-form"' in page
    response = client_for(manager).post(f"/backoffice/payments/{attempt.pk}/resolve",
                                        {"outcome": "DECLINED", "reason": "not in the batch",
                                         "evidence": "portal: cancelled"}, follow=True)
    assert "closed as DECLINED" in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.status == "DECLINED"
    event = PaymentEvent.objects.filter(attempt=attempt, kind="state").last()
    assert event.actor == manager and event.data["evidence"] == "portal: cancelled"


def test_an_unknown_payment_is_closable_only_after_its_window_and_supervisors_cannot(lane):
    attempt = make_attempt(lane, status="UNKNOWN", poll_deadline=timezone.now() + timedelta(minutes=1))
    manager = user_in("manager", lane)
    assert 'id="close-form"' not in client_for(manager).get(f"/backoffice/payments/{attempt.pk}/").content.decode()
    body = {"outcome": "FAILED", "reason": "r", "evidence": "e"}
    refused = client_for(manager).post(f"/backoffice/payments/{attempt.pk}/resolve", body, follow=True)
    assert "Not closed" in refused.content.decode()
    PaymentAttempt.objects.filter(pk=attempt.pk).update(poll_deadline=timezone.now() - timedelta(seconds=1))
    assert client_for(user_in("supervisor", lane)).post(f"/backoffice/payments/{attempt.pk}/resolve",
                                                  body).status_code == 403
    client_for(manager).post(f"/backoffice/payments/{attempt.pk}/resolve", body)
    assert PaymentAttempt.objects.get(pk=attempt.pk).status == "FAILED"


def test_a_refund_needing_review_holds_its_amount_until_it_is_settled(lane):
    attempt = make_attempt(lane)
    refund = Refund.objects.create(attempt=attempt, refund_reference=new_refund_reference(), amount=700,
                                   currency="CAD", reason="x", status="NEEDS_REVIEW")
    assert refundable_balance(attempt) == 1300
    manager = user_in("manager", lane)
    with pytest.raises(ValueError, match="reason"):
        refund_settle(refund_id=refund.pk, refunded=False, user=manager, reason=" ")
    assert refund_settle(refund_id=refund.pk, refunded=False, user=manager, reason="portal shows none").status \
        == "FAILED"
    assert refundable_balance(attempt) == 2000
    assert refund_settle(refund_id=refund.pk, refunded=True, user=manager, reason="again") is None  # settled once


def test_what_iotpays_balance_says_of_a_refund(lane):
    attempt = make_attempt(lane)
    Refund.objects.create(attempt=attempt, refund_reference=new_refund_reference(), amount=300, currency="CAD",
                          reason="x", status="APPROVED")
    refund = Refund.objects.create(attempt=attempt, refund_reference=new_refund_reference(), amount=700,
                                   currency="CAD", reason="x", status="NEEDS_REVIEW")
    assert "went through" in refund_finding(refund, 1000)
    assert "did not go through" in refund_finding(refund, 1700)
    assert "matches neither" in refund_finding(refund, 1234)
    assert "does not say" in refund_finding(refund, None)


def test_one_check_of_a_refund_at_a_time(lane):
    attempt = make_attempt(lane)
    refund = Refund.objects.create(attempt=attempt, refund_reference=new_refund_reference(), amount=700,
                                   currency="CAD", reason="x", status="NEEDS_REVIEW")
    assert _claim_check(refund.pk)
    assert not _claim_check(refund.pk)
    assert "being checked right now" in refund_check(refund_id=refund.pk, user=user_in("manager", lane))
    assert not PaymentEvent.objects.filter(refund=refund, kind="gateway").exists()


def pay(client, lane, **body):
    return client.post(f"/api/lanes/{lane.code}/payments", json.dumps({"amount": 1000, **body}),
                       content_type="application/json")


@pytest.mark.parametrize(("status", "code", "overridable"), [
    ("APPROVED", "sale_already_paid", True), ("NEEDS_REVIEW", "sale_needs_review", True),
    ("UNKNOWN", "sale_needs_review", True), ("SENT", "sale_in_progress", False),
])
def test_a_sale_that_may_have_been_charged_is_refused(lane, status, code, overridable):
    other = TerminalFactory(lane=LaneFactory(store=lane.store)).lane  # any lane: the sale is what counts
    earlier = make_attempt(other, status=status)
    cashier = UserFactory()
    assign_cashier(lane, cashier)
    response = pay(client_for(cashier), lane, sale_id=str(earlier.sale_id))
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["overridable"], body["attempt"]["id"]) == (code, overridable, earlier.pk)
    assert PaymentAttempt.objects.filter(sale_id=earlier.sale_id).count() == 1


def test_an_override_needs_a_reason_and_a_sale(lane):
    cashier = UserFactory()
    assign_cashier(lane, cashier)
    response = pay(client_for(cashier), lane, override_reason="because")
    assert response.status_code == 400 and "override_reason" in response.json()["errors"]


def test_a_declined_sale_may_be_retried(lane):
    earlier = make_attempt(lane, status="DECLINED")
    cashier = UserFactory()
    assign_cashier(lane, cashier)
    assert pay(client_for(cashier), lane, sale_id=str(earlier.sale_id)).status_code == 201
