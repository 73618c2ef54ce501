"""The payments API refuses bad requests with a clear message and changes nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payments.models import PaymentAttempt
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier

pytestmark = pytest.mark.django_db


@pytest.fixture
def lane():
    return TerminalFactory(lane=LaneFactory(store=StoreFactory(tips_enabled=False, max_amount=100_000))).lane


@pytest.fixture
def client_for(lane):
    def make(user=None, csrf=False):
        client = Client(enforce_csrf_checks=csrf)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def cashier(lane):
    user = UserFactory()
    assign_cashier(lane, user)
    return user


def post(client, code, body, **headers):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(f"/api/lanes/{code}/payments", data=data, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({}, "amount", "required"),
        ({"amount": "12.50"}, "amount", "integer"),
        ({"amount": 12.5}, "amount", "integer"),
        ({"amount": True}, "amount", "integer"),
        ({"amount": None}, "amount", "required"),
        ({"amount": 0}, "amount", "more than 0"),
        ({"amount": -100}, "amount", "more than 0"),
        ({"amount": 100_001}, "amount", "limit"),
        ({"amount": 100, "tip": 50}, "tip", "not enabled"),
        ({"amount": 100, "tip": "x"}, "tip", "integer"),
        ({"amount": 100, "sale_id": "nope"}, "sale_id", "UUID"),
        ([1, 2], "body", "JSON object"),
    ],
)
def test_bad_input_gets_400_with_a_message_per_field(client_for, cashier, lane, body, field, text):
    response = post(client_for(cashier), lane.code, body)
    assert response.status_code == 400
    assert text in " ".join(response.json()["errors"][field])
    assert PaymentAttempt.objects.count() == 0


def test_body_that_is_not_json(client_for, cashier, lane):
    response = post(client_for(cashier), lane.code, "amount=12")
    assert response.status_code == 400
    assert PaymentAttempt.objects.count() == 0


def test_unknown_lane_is_404(client_for, cashier):
    response = post(client_for(cashier), "NOPE", {"amount": 100})
    assert response.status_code == 404
    assert "Unknown lane" in response.json()["error"]


def test_lane_not_allowed_is_403(client_for, lane):
    response = post(client_for(UserFactory()), lane.code, {"amount": 100})
    assert response.status_code == 403
    assert PaymentAttempt.objects.count() == 0


def test_anonymous_is_401(client_for, lane):
    assert post(client_for(), lane.code, {"amount": 100}).status_code == 401


def test_disabled_terminal_is_409(client_for, cashier, lane):
    lane.terminal.enabled = False
    lane.terminal.save()
    response = post(client_for(cashier), lane.code, {"amount": 100})
    assert response.status_code == 409
    assert response.json()["code"] == "terminal_unavailable"
    assert PaymentAttempt.objects.count() == 0


def test_csrf_is_required(client_for, cashier, lane):
    response = post(client_for(cashier, csrf=True), lane.code, {"amount": 100})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf"


def test_created_attempt_and_idempotent_replay(client_for, cashier, lane):
    client = client_for(cashier)
    first = post(client, lane.code, {"amount": 1250}, **{"Idempotency-Key": "abc"})
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "CREATED"
    assert body["amount"] == 1250 and body["tip"] == 0 and body["total"] == 1250
    assert body["order_reference"].startswith("SC") and len(body["order_reference"]) <= 30
    again = post(client, lane.code, {"amount": 1250}, **{"Idempotency-Key": "abc"})
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    busy = post(client, lane.code, {"amount": 1250}, **{"Idempotency-Key": "other"})
    assert busy.status_code == 409
    assert busy.json()["code"] == "terminal_busy"
    assert PaymentAttempt.objects.count() == 1


def test_a_replay_after_the_payment_ended_returns_it(client_for, cashier, lane):
    """The key's unique index finds the replay (no look-up before each new payment): also once it is final."""
    client = client_for(cashier)
    first = post(client, lane.code, {"amount": 1250}, **{"Idempotency-Key": "k-final"}).json()
    PaymentAttempt.objects.filter(pk=first["id"]).update(status="APPROVED")
    again = post(client, lane.code, {"amount": 1250}, **{"Idempotency-Key": "k-final"})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first["id"] and again.json()["status"] == "APPROVED"
    other = post(client, lane.code, {"amount": 999}, **{"Idempotency-Key": "k-final"})
    assert other.status_code == 422
    assert PaymentAttempt.objects.count() == 1


def test_a_replay_after_the_terminal_was_disabled_returns_the_payment(client_for, cashier, lane):
    client = client_for(cashier)
    first = post(client, lane.code, {"amount": 1250}, **{"Idempotency-Key": "k-disabled"}).json()
    lane.terminal.enabled = False
    lane.terminal.save()
    again = post(client, lane.code, {"amount": 1250}, **{"Idempotency-Key": "k-disabled"})
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    refused = post(client, lane.code, {"amount": 1250}, **{"Idempotency-Key": "k-new"})
    assert refused.status_code != 201
    assert PaymentAttempt.objects.count() == 1


def test_a_replay_of_a_paid_sale_returns_the_payment_not_the_sale_refusal(client_for, cashier, lane):
    client = client_for(cashier)
    body = {"amount": 1250, "sale_id": str(uuid.uuid4())}
    first = post(client, lane.code, body, **{"Idempotency-Key": "k-sale"}).json()
    PaymentAttempt.objects.filter(pk=first["id"]).update(status="APPROVED")
    again = post(client, lane.code, body, **{"Idempotency-Key": "k-sale"})
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    charged_again = post(client, lane.code, body, **{"Idempotency-Key": "k-sale-2"})
    assert charged_again.status_code == 409
    assert PaymentAttempt.objects.count() == 1


def test_a_new_payment_is_not_looked_up_by_its_key_first(client_for, cashier, lane):
    client = client_for(cashier)
    with CaptureQueriesContext(connection) as queries:
        assert post(client, lane.code, {"amount": 1250}, **{"Idempotency-Key": "k-new"}).status_code == 201
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if "idempotency_key" in sql.split(" WHERE ")[-1]]


def test_payment_detail_is_only_for_the_lane_users(client_for, cashier, lane):
    attempt_id = post(client_for(cashier), lane.code, {"amount": 1250}).json()["id"]
    assert client_for(cashier).get(f"/api/payments/{attempt_id}").json()["id"] == attempt_id
    assert client_for(UserFactory()).get(f"/api/payments/{attempt_id}").status_code == 403
    assert client_for(cashier).get("/api/payments/999999").status_code == 404
