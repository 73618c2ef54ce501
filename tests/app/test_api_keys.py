"""API keys: stored as a digest, refused once revoked, kept to their scopes, their store and their lanes; no CSRF
token with a key while a session still needs one; last use recorded at most once a minute; the command prints the
token alone on its last line."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from integrations.keys import api_key_create, api_keys_revoke
from integrations.models import ApiKey
from payments.models import PaymentAttempt, PaymentEvent
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier

pytestmark = pytest.mark.django_db
ALL = ["payments:write", "payments:read", "refunds:write"]


@pytest.fixture
def store():
    return StoreFactory(tips_enabled=True, max_amount=100_000)


@pytest.fixture
def lane(store):
    return TerminalFactory(lane=LaneFactory(store=store)).lane


@pytest.fixture
def other_lane():
    return TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane


def make_key(store, scopes=ALL, lanes=None, label="Lane 1 register"):
    return api_key_create(store=store, label=label, scopes=scopes, lanes=lanes)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pay(client, lane, token=None, body=None, **headers):
    if token is not None:
        headers.update(bearer(token))
    return client.post(f"/api/lanes/{lane.code}/payments", data=json.dumps(body or {"amount": 1250}),
                       content_type="application/json", headers=headers)


def attempt_on(lane, status="APPROVED"):
    return PaymentAttempt.objects.create(
        order_reference=f"T{PaymentAttempt.objects.count()}{lane.pk}", sale_id="6f1c2d9e-8a41-4b7e-9c55-0d3f7a1e2b64",
        merchant=lane.store.merchant, store=lane.store, lane=lane, terminal=lane.terminal, amount=1250,
        currency="CAD", status=status, gateway_reference="P1")


def test_the_token_is_stored_as_its_digest_only(store):
    created = make_key(store)
    row = ApiKey.objects.filter(pk=created.key.pk).values().get()
    assert created.token.startswith(f"sck_{row['prefix']}_") and len(created.token) > 40
    assert row["token_hash"] == hashlib.sha256(created.token.encode()).hexdigest()
    secret = created.token.removeprefix(f"sck_{row['prefix']}_")  # the secret itself may hold "_"
    assert len(secret) >= 40
    assert not any(secret in str(value) or created.token in str(value) for value in row.values())


def test_a_key_charges_its_lane_and_the_event_names_the_key(lane):
    created = make_key(lane.store)
    response = pay(Client(), lane, created.token, {"amount": 1250})
    assert response.status_code == 201, response.content
    attempt = PaymentAttempt.objects.get(pk=response.json()["id"])
    assert attempt.created_by is None
    event = PaymentEvent.objects.get(attempt=attempt)
    assert event.actor_key == f"API key sck_{created.key.prefix} (Lane 1 register)"


def test_a_revoked_key_is_refused(lane):
    created = make_key(lane.store)
    assert api_keys_revoke(ids=[created.key.pk]) == 1
    response = pay(Client(), lane, created.token)
    assert response.status_code == 401 and response.json()["code"] == "invalid_api_key"
    assert Client().get("/api/lanes", headers=bearer(created.token)).status_code == 401
    assert not PaymentAttempt.objects.exists()


@pytest.mark.parametrize("token", ["", "garbage", "sck_", "sck_12345678_", "sck_1234567_abc", "Basic abc"])
def test_a_wrong_token_is_refused_and_no_token_asks_to_log_in(lane, token):
    made = make_key(lane.store)
    mistyped = made.token[:-1] + ("A" if made.token[-1] != "A" else "B")
    for bad in (token, mistyped):
        response = Client().get("/api/lanes", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
    assert Client().get("/api/lanes").json()["code"] == "login_required"


def test_scopes_are_enforced(lane):
    attempt = attempt_on(lane)
    reader = make_key(lane.store, ["payments:read"]).token
    writer = make_key(lane.store, ["payments:write"]).token
    client = Client()
    refused = pay(client, lane, reader)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert client.get(f"/api/payments/{attempt.pk}", headers=bearer(reader)).status_code == 200
    assert client.get(f"/api/payments/{attempt.pk}", headers=bearer(writer)).json()["code"] == "insufficient_scope"
    assert client.get("/api/payments", headers=bearer(writer)).status_code == 403
    refund = client.post(f"/api/payments/{attempt.pk}/refunds", data=json.dumps({"amount": 100, "reason": "x"}),
                         content_type="application/json", headers=bearer(writer))
    assert refund.status_code == 403 and refund.json()["code"] == "insufficient_scope"
    assert pay(client, lane, writer).status_code == 201


def test_a_key_never_reaches_another_store(lane, other_lane):
    token = make_key(lane.store).token
    theirs = attempt_on(other_lane)
    client = Client()
    charge = pay(client, other_lane, token)
    assert charge.status_code == 403 and charge.json()["code"] == "forbidden"
    assert client.get(f"/api/payments/{theirs.pk}", headers=bearer(token)).status_code == 403
    assert client.post(f"/api/payments/{theirs.pk}/requery", headers=bearer(token)).status_code == 403
    refund = client.post(f"/api/payments/{theirs.pk}/refunds", data=json.dumps({"amount": 100, "reason": "x"}),
                         content_type="application/json", headers=bearer(token))
    assert refund.status_code == 403
    listed = client.get("/api/payments", headers=bearer(token)).json()
    assert listed["count"] == 0
    lanes = client.get("/api/lanes", headers=bearer(token)).json()
    assert [item["code"] for item in lanes["items"]] == [lane.code]
    assert not PaymentAttempt.objects.filter(lane=other_lane).exclude(pk=theirs.pk).exists()


def test_a_key_kept_to_some_lanes_charges_only_those(lane):
    second = TerminalFactory(lane=LaneFactory(store=lane.store)).lane
    token = make_key(lane.store, lanes=[lane]).token
    client = Client()
    assert pay(client, second, token).status_code == 403
    assert pay(client, lane, token).status_code == 201
    assert [item["code"] for item in client.get("/api/lanes", headers=bearer(token)).json()["items"]] == [lane.code]
    theirs = attempt_on(second)
    assert client.get(f"/api/payments/{theirs.pk}", headers=bearer(token)).status_code == 200  # reading is store-wide


def test_a_key_needs_no_csrf_token_and_a_session_still_does(lane):
    token = make_key(lane.store).token
    strict = Client(enforce_csrf_checks=True)
    assert pay(strict, lane, token).status_code == 201
    PaymentAttempt.objects.update(status="DECLINED")
    cashier = UserFactory()
    assign_cashier(lane, cashier)
    session = Client(enforce_csrf_checks=True)
    session.force_login(cashier)
    refused = pay(session, lane)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf"
    session.get(f"/lanes/{lane.code}/")  # the checkout page sets the CSRF cookie
    accepted = pay(session, lane, **{"X-CSRFToken": session.cookies["csrftoken"].value})
    assert accepted.status_code == 201


def test_a_session_with_a_bad_key_is_refused_not_let_through(lane):
    cashier = UserFactory()
    assign_cashier(lane, cashier)
    client = Client()
    client.force_login(cashier)
    assert pay(client, lane).status_code == 201
    PaymentAttempt.objects.update(status="DECLINED")
    assert pay(client, lane, "sck_00000000_nope").status_code == 401


def test_last_use_is_written_at_most_once_a_minute(lane):
    created = make_key(lane.store)
    client = Client()
    assert created.key.last_used_at is None
    client.get("/api/lanes", headers=bearer(created.token))
    first = ApiKey.objects.get(pk=created.key.pk).last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    recent = timezone.now() - timedelta(seconds=30)
    ApiKey.objects.filter(pk=created.key.pk).update(last_used_at=recent)
    client.get("/api/lanes", headers=bearer(created.token))
    assert ApiKey.objects.get(pk=created.key.pk).last_used_at == recent
    ApiKey.objects.filter(pk=created.key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get("/api/lanes", headers=bearer(created.token))
    assert timezone.now() - ApiKey.objects.get(pk=created.key.pk).last_used_at < timedelta(seconds=5)


def test_the_command_prints_the_token_alone_on_its_last_line(lane):
    out = io.StringIO()
    call_command("create_api_key", "--store", lane.store.name, "--name", "Lane 3 register",
                 "--scopes", "payments:read", "refunds:write", "--lanes", lane.code, stdout=out)
    token = out.getvalue().rstrip("\n").splitlines()[-1]
    key = ApiKey.objects.get()
    assert token.startswith(f"sck_{key.prefix}_") and " " not in token
    assert key.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert sorted(key.scopes) == ["payments:read", "refunds:write"] and list(key.lanes.all()) == [lane]
    assert Client().get("/api/lanes", headers=bearer(token)).status_code == 200


def test_the_command_defaults_and_refusals(lane, other_lane):
    out = io.StringIO()
    call_command("create_api_key", "--store", lane.store.name, "--name", "till", stdout=out)
    assert sorted(ApiKey.objects.get().scopes) == ["payments:read", "payments:write"]
    for args, text in ((["--store", "No such store", "--name", "x"], "No store"),
                       (["--store", lane.store.name, "--name", "x", "--scopes", "payments:delete"], "Unknown scope"),
                       (["--store", lane.store.name, "--name", "x", "--lanes", other_lane.code], "has no lane")):
        with pytest.raises(CommandError, match=text):
            call_command("create_api_key", *args, stdout=io.StringIO())
    assert ApiKey.objects.count() == 1


def test_the_admin_shows_the_token_once_and_revokes(lane):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    response = client.post("/admin/integrations/apikey/add/", {
        "store": lane.store.pk, "label": "Lane 9 register", "scopes": ["payments:write", "payments:read"],
        "lanes": [lane.pk]})
    assert response.status_code == 200, response.content[:500]
    key = ApiKey.objects.get()
    page = response.content.decode()
    token = page.split('id="api-key-token" readonly size="70" value="')[1].split('"')[0]
    assert key.token_hash == hashlib.sha256(token.encode()).hexdigest() and key.created_by == admin
    assert "no-store" in response["Cache-Control"]
    listing = client.get("/admin/integrations/apikey/").content.decode()
    change = client.get(f"/admin/integrations/apikey/{key.pk}/change/").content.decode()
    secret = token.removeprefix(f"sck_{key.prefix}_")  # the secret itself may hold "_"
    assert len(secret) >= 40
    assert f"sck_{key.prefix}_" in listing and secret not in listing and secret not in change
    assert key.token_hash not in change
    client.post("/admin/integrations/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert ApiKey.objects.get().revoked_at is not None
    assert Client().get("/api/lanes", headers=bearer(token)).status_code == 401


def test_the_admin_refuses_lanes_of_another_store(lane, other_lane):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    response = client.post("/admin/integrations/apikey/add/", {
        "store": lane.store.pk, "label": "x", "scopes": ["payments:read"], "lanes": [other_lane.pk]})
    assert response.status_code == 200 and "lanes of the key" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_admin_role_manages_api_keys_and_the_store_roles_do_not():
    from django.test import Client

    from tests.factories import StoreFactory, staff

    admin_user, manager = staff("admin", is_staff=True), staff("manager", StoreFactory())
    manager.is_staff = True  # even with staff status: no permission on keys
    manager.save()
    for user, expected in ((admin_user, 200), (manager, 403)):
        client = Client()
        client.force_login(user)
        for page in ("/admin/integrations/apikey/", "/admin/integrations/apikey/add/"):
            assert client.get(page).status_code == expected, (user.username, page)
