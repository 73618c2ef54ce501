"""A register's reference: validated, stored, echoed (API, CSV, back office), searchable by reference, lane and
time, a page at a time, only in the caller's stores and lanes. GET /api/lanes: the caller's lanes, busy or idle."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from integrations.keys import api_key_create
from payments.contract import EXPORT_HEADER
from payments.models import PaymentAttempt, PaymentEvent
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def lane():
    return TerminalFactory(lane=LaneFactory(store=StoreFactory(tips_enabled=True, max_amount=100_000))).lane


@pytest.fixture
def token(lane):
    return api_key_create(store=lane.store, label="till", scopes=["payments:write", "payments:read"]).token


def call(method, path, token, body=None):
    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    if body is None:
        return getattr(client, method)(path, headers=headers)
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json", headers=headers)


def attempt_on(lane, *, reference="", created_at=None, status="APPROVED"):
    attempt = PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=lane.store.merchant,
        store=lane.store, lane=lane, terminal=lane.terminal, amount=1250, currency="CAD", status=status,
        reference=reference)
    if created_at is not None:
        PaymentAttempt.objects.filter(pk=attempt.pk).update(created_at=created_at)
    return attempt


def test_the_reference_is_stored_and_echoed(lane, token):
    created = call("post", f"/api/lanes/{lane.code}/payments", token, {"amount": 1250, "reference": "POS-7-000123"})
    assert created.status_code == 201
    assert created.json()["reference"] == "POS-7-000123"
    attempt = PaymentAttempt.objects.get()
    assert attempt.reference == "POS-7-000123"
    assert PaymentEvent.objects.get(attempt=attempt).data["reference"] == "POS-7-000123"
    assert call("get", f"/api/payments/{attempt.pk}", token).json()["reference"] == "POS-7-000123"
    PaymentAttempt.objects.update(status="DECLINED")
    without = call("post", f"/api/lanes/{lane.code}/payments", token, {"amount": 1250})
    assert without.json()["reference"] == ""


@pytest.mark.parametrize("reference", ["x" * 65, 42, ["a"], "tab\there", " padded", "nul\x00"])
def test_a_bad_reference_is_a_clear_400_and_nothing_is_sent(lane, token, reference):
    response = call("post", f"/api/lanes/{lane.code}/payments", token, {"amount": 1250, "reference": reference})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request" and body["errors"]["reference"]
    assert "reference" in body["error"]
    assert not PaymentAttempt.objects.exists()


def test_a_64_character_reference_is_taken(lane, token):
    response = call("post", f"/api/lanes/{lane.code}/payments", token, {"amount": 1250, "reference": "é" * 64})
    assert response.status_code == 201 and response.json()["reference"] == "é" * 64


def test_a_replay_with_another_reference_is_refused(lane, token):
    client = Client()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"}
    first = client.post(f"/api/lanes/{lane.code}/payments", data=json.dumps({"amount": 1250, "reference": "A"}),
                        content_type="application/json", headers=headers)
    other = client.post(f"/api/lanes/{lane.code}/payments", data=json.dumps({"amount": 1250, "reference": "B"}),
                        content_type="application/json", headers=headers)
    assert (first.status_code, other.status_code) == (201, 422)


def test_search_by_reference_lane_and_time_in_pages(lane, token):
    second = TerminalFactory(lane=LaneFactory(store=lane.store)).lane
    now = timezone.now()
    old = attempt_on(lane, reference="R-1", created_at=now - timedelta(days=2))
    recent = [attempt_on(lane, reference="R-1", created_at=now - timedelta(minutes=i)) for i in range(1, 4)]
    on_second = attempt_on(second, reference="R-2", created_at=now - timedelta(minutes=5))

    def search(**params):
        response = call("get", "/api/payments?" + urlencode(params), token)
        assert response.status_code == 200, response.content
        return response.json()

    found = search(reference="R-1")
    assert found["count"] == 4 and [item["id"] for item in found["items"]] == [a.pk for a in recent] + [old.pk]
    assert all(item["reference"] == "R-1" for item in found["items"])
    assert [item["id"] for item in search(lane=second.code)["items"]] == [on_second.pk]
    since = (now - timedelta(days=1)).isoformat()
    assert search(reference="R-1", since=since)["count"] == 3
    assert [i["id"] for i in search(until=since)["items"]] == [old.pk]
    first_page = search(page_size=2)
    assert (first_page["count"], first_page["pages"], len(first_page["items"])) == (5, 3, 2)
    assert [i["id"] for i in search(page_size=2, page=3)["items"]] == [old.pk]
    assert search(page=9)["items"] == []


@pytest.mark.parametrize("query", ["since=yesterday", "since=2026-12-04T10:00:00", "page=0", "page_size=201",
                                   "reference=" + "x" * 65, "since=2026-12-04T10:00:00Z&until=2026-12-04T09:00:00Z"])
def test_a_bad_search_is_a_clear_400(token, query):
    response = call("get", f"/api/payments?{query}", token)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_request" and body["errors"] and body["error"]


def test_a_search_sees_only_the_callers_stores_and_lanes(lane, token):
    other = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    mine, theirs = attempt_on(lane, reference="same"), attempt_on(other, reference="same")
    assert [i["id"] for i in call("get", "/api/payments?reference=same", token).json()["items"]] == [mine.pk]
    cashier = UserFactory()
    assign_cashier(other, cashier)
    client = Client()
    client.force_login(cashier)
    assert [i["id"] for i in client.get("/api/payments?reference=same").json()["items"]] == [theirs.pk]
    supervisor = staff("supervisor", lane.store)
    client.force_login(supervisor)
    assert [i["id"] for i in client.get("/api/payments?reference=same").json()["items"]] == [mine.pk]
    client.force_login(UserFactory())
    assert client.get("/api/payments?reference=same").json()["count"] == 0


def test_lanes_show_idle_or_busy_with_the_attempt(lane, token):
    second = LaneFactory(store=lane.store)  # no terminal
    listed = call("get", "/api/lanes", token).json()
    by_code = {item["code"]: item for item in listed["items"]}
    assert listed["count"] == 2
    assert by_code[lane.code]["state"] == "idle" and by_code[lane.code]["attempt"] is None
    assert by_code[lane.code]["terminal"] == {"device": lane.terminal.device, "enabled": True}
    assert by_code[lane.code]["store"] == {"id": lane.store.pk, "name": lane.store.name}
    assert by_code[second.code]["terminal"] is None
    busy = attempt_on(lane, status="SENT")
    item = next(i for i in call("get", "/api/lanes", token).json()["items"] if i["code"] == lane.code)
    assert item["state"] == "busy" and item["attempt"]["id"] == busy.pk and item["attempt"]["status"] == "SENT"


def test_a_cashier_lists_their_own_lanes_only(lane):
    TerminalFactory(lane=LaneFactory(store=lane.store))
    cashier = UserFactory()
    assign_cashier(lane, cashier)
    client = Client()
    client.force_login(cashier)
    assert [i["code"] for i in client.get("/api/lanes").json()["items"]] == [lane.code]


def test_the_csv_and_the_back_office_show_the_reference(lane):
    attempt = attempt_on(lane, reference="=POS-1")  # a formula-like reference is made plain text in the CSV
    manager = staff("manager", lane.store)
    client = Client()
    client.force_login(manager)
    day = attempt.created_at.astimezone(ZoneInfo(lane.store.time_zone)).date()
    export = client.get("/backoffice/reconciliation/export.csv", {"store": lane.store.pk, "day": day.isoformat()})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert EXPORT_HEADER[-1] == "reference" and tuple(rows[0]) == EXPORT_HEADER
    assert dict(zip(rows[0], rows[1], strict=True))["reference"] == "'=POS-1"
    page = client.get(f"/backoffice/payments/{attempt.pk}/").content.decode()
    assert "=POS-1" in page and 'id="register-reference"' in page


def test_the_back_office_finds_a_payment_by_reference_in_the_users_stores(lane):
    mine = attempt_on(lane, reference="T-77")
    other = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    theirs = attempt_on(other, reference="T-77")
    client = Client()
    client.force_login(staff("supervisor", lane.store))
    page = client.get("/backoffice/payments/", {"reference": "T-77"}).content.decode()
    assert f'data-attempt="{mine.pk}"' in page and f'data-attempt="{theirs.pk}"' not in page
    assert "1 payment with the reference" in page
    assert "at most 64" in client.get("/backoffice/payments/", {"reference": "x" * 65}).content.decode()
    cashier = UserFactory()
    assign_cashier(lane, cashier)
    client.force_login(cashier)
    assert client.get("/backoffice/payments/", {"reference": "T-77"}).status_code == 403


@pytest.mark.parametrize(("query", "field"), [
    # found by Schemathesis: PostgreSQL takes offsets up to ±15:59 only
    ("until=0601-10-21T17%3A03%3A49.48%2B19%3A24", "until"),
    ("until=2026-12-04T08%3A00%3A00%2B19%3A24", None),  # a far offset in range: read in UTC, accepted
    ("until=0001-01-01T00%3A00%3A00%2B05%3A00", "until"),  # no UTC moment at all
    ("since=9999-12-31T23%3A59%3A00-05%3A00", "since"),
    ("reference=a%00b", "reference"),  # NUL: PostgreSQL refuses it in text
    ("reference=%F1%83%B5%95%0A%1C", "reference"),
    ("lane=1%00", "lane"),
])
def test_search_parameters_out_of_range_are_a_400_never_a_server_error(query, field):
    client = Client(raise_request_exception=False)
    client.force_login(staff("owner"))
    response = client.get(f"/api/payments?{query}")
    if field is None:
        assert response.status_code == 200, response.content
        return
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_request" and field in response.json()["errors"]
