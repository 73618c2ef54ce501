"""The OpenAPI schema (/api/schema/) is generated from the code, describes every route with its answers and
examples, and the docs page (/api/docs/) loads nothing from another site."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from checkout.api.schemas import Attempt, RefundOut
from integrations.keys import api_key_create
from payments.contract import AttemptSnapshot, RefundSnapshot
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

ROUTES = {
    ("post", "/api/lanes/{code}/payments"), ("get", "/api/payments/{attempt_id}"),
    ("post", "/api/payments/{attempt_id}/requery"), ("post", "/api/payments/{attempt_id}/refunds"),
    ("get", "/api/refunds/{refund_id}"), ("get", "/api/payments"), ("get", "/api/lanes"),
}


def test_the_answer_models_have_the_snapshots_keys():
    assert {field.alias or name for name, field in Attempt.model_fields.items()} == set(AttemptSnapshot.__annotations__)
    assert {field.alias or name for name, field in RefundOut.model_fields.items()} == set(RefundSnapshot.__annotations__)


@pytest.fixture
def signed_in():
    client = Client()
    client.force_login(UserFactory())
    return client


def test_the_schema_documents_every_route_with_answers_errors_and_examples(signed_in):
    response = signed_in.get("/api/schema/")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {(method, path): op for path, item in schema["paths"].items() for method, op in item.items()}
    assert set(operations) == ROUTES
    components = schema["components"]["schemas"]
    for (method, path), op in operations.items():
        assert op.get("description") and op.get("summary"), path
        assert {"401", "403"} <= set(op["responses"]), path
        for status, answer in op["responses"].items():
            ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            assert components[ref].get("examples"), (path, status, ref)
            if status.startswith(("4", "5")):
                assert "error" in components[ref]["properties"], (path, status)
        if method == "post" and not path.endswith("requery"):
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert body.get("examples") and body["required"], path
    assert set(schema["components"]["securitySchemes"]) >= {"ApiKeyAuth", "SessionAuth"}
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"


def test_the_schema_and_docs_need_a_caller(signed_in):
    store = StoreFactory()
    token = api_key_create(store=store, label="x", scopes=["payments:read"]).token
    for path in ("/api/schema/", "/api/docs/"):
        assert Client().get(path).status_code == 401
        assert Client().get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert Client().get(path, headers={"Authorization": "Bearer sck_00000000_x"}).status_code == 401
        assert signed_in.post(path).status_code == 405


def test_the_docs_page_loads_only_the_consoles_own_files(signed_in):
    response = signed_in.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert sources and all(source.startswith("/static/") for source in sources), sources
    assert "cdn" not in html.lower()
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_unknown_api_routes_and_methods_answer_in_the_error_shape(signed_in):
    missing = signed_in.get("/api/no-such-thing")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = signed_in.get("/api/lanes/L1/payments")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed" and "POST" in wrong["Allow"]


def test_a_locked_out_supervisor_sign_in_answers_in_the_error_shape(settings):
    limit = settings.AXES_FAILURE_LIMIT
    from payments.models import PaymentAttempt
    from tests.factories import LaneFactory, TerminalFactory, staff

    lane = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    staff("supervisor", lane.store, username="maria")
    paid = PaymentAttempt.objects.create(
        order_reference="T-paid", sale_id="6f1c2d9e-8a41-4b7e-9c55-0d3f7a1e2b64", merchant=lane.store.merchant,
        store=lane.store, lane=lane, terminal=lane.terminal, amount=1250, currency="CAD", status="APPROVED")
    token = api_key_create(store=lane.store, label="till", scopes=["payments:write"]).token
    body = {"amount": 1250, "sale_id": str(paid.sale_id), "override_reason": "charged again on purpose",
            "supervisor": "maria", "supervisor_password": "wrong"}
    answers = [Client().post(f"/api/lanes/{lane.code}/payments", data=body, content_type="application/json",
                             headers={"Authorization": f"Bearer {token}"}) for _ in range(limit + 1)]
    assert [a.status_code for a in answers] == [403] * (limit - 1) + [429, 429]  # the limit-th failure locks
    assert answers[0].json()["code"] == "override_not_allowed"
    assert answers[-1]["Content-Type"] == "application/json" and answers[-1].json()["code"] == "locked_out"
    assert PaymentAttempt.objects.count() == 1
