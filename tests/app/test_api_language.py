"""The API answers its errors in the language the request asks for (Accept-Language: fr or fr-CA), English
otherwise, with the same status, the same ``code`` and the same fields at fault: whoever refused it (ninja's
validation, the authentication, an unknown route or method, the routes' own checks or the services)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.http import HttpResponse
from django.test import Client

from integrations.keys import api_key_create
from payments.models import PaymentAttempt
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier

pytestmark = pytest.mark.django_db
NB = "\u00a0"  # French puts a non-breaking space before a colon


def fr(text: str) -> str:
    return text.replace(" :", NB + ":")


@pytest.fixture
def lane():
    return TerminalFactory(lane=LaneFactory(store=StoreFactory(tips_enabled=False, max_amount=100_000))).lane


@pytest.fixture
def token(lane):
    return api_key_create(store=lane.store, label="Caisse 1", scopes=["payments:write", "payments:read",
                                                                      "refunds:write"]).token


@pytest.fixture
def read_only(lane):
    return api_key_create(store=lane.store, label="Lecture", scopes=["payments:read"]).token


def attempt_on(lane, status: str) -> PaymentAttempt:
    return PaymentAttempt.objects.create(
        order_reference=f"L{PaymentAttempt.objects.count()}{lane.pk}", sale_id="6f1c2d9e-8a41-4b7e-9c55-0d3f7a1e2b64",
        merchant=lane.store.merchant, store=lane.store, lane=lane, terminal=lane.terminal, amount=1250,
        currency="CAD", status=status, gateway_reference="P1")


Call = Callable[[Client, dict[str, str]], HttpResponse]


def _charge(code: str, body: object) -> Call:
    def call(client: Client, headers: dict[str, str]) -> HttpResponse:
        data = body if isinstance(body, str) else json.dumps(body)
        return client.post(f"/api/lanes/{code}/payments", data=data, content_type="application/json",
                           headers=headers)
    return call


# (what is refused, the call, whether it needs the full key, the status, the code, the French error, French
# field messages {field: first message} or None)
CASES = [
    ("ninja's validation", lambda lane: lambda c, h: c.get("/api/payments?page=0", headers=h), "token", 400,
     "invalid_request", fr("La requête n'a pas été acceptée : vérifiez page."), {"page": "doit être d'au moins 1."}),
    ("a check of ours inside ninja's validation", lambda lane: lambda c, h: c.get("/api/payments?since=hier", headers=h),
     "token", 400, "invalid_request", fr("La requête n'a pas été acceptée : vérifiez since."),
     {"since": "donnez une date et une heure ISO 8601 avec leur décalage horaire, p. ex. 2026-12-04T08:00:00-05:00"}),
    ("not JSON", lambda lane: _charge(lane.code, "{"), "token", 400, "invalid_json",
     "Le corps de la requête n'est pas du JSON valide.", {"body": "Envoyez un objet JSON."}),
    ("the payment's fields", lambda lane: _charge(lane.code, {"tip": 5}), "token", 400, "invalid_request",
     fr("Le paiement n'a pas été envoyé : vérifiez le montant."),
     {"amount": f"amount est requis (en cents entiers, p. ex. 1250 pour 12,50{NB}$)."}),
    ("no credentials", lambda lane: _charge(lane.code, {"amount": 100}), None, 401, "login_required",
     "Connectez-vous d'abord.", None),
    ("a wrong key", lambda lane: _charge(lane.code, {"amount": 100}), "wrong", 401, "invalid_api_key",
     fr("La clé d'API n'a pas été acceptée : inconnue, mal saisie ou révoquée."), None),
    ("a key without the scope", lambda lane: _charge(lane.code, {"amount": 100}), "read_only", 403,
     "insufficient_scope", "Cette clé d'API n'a pas la portée payments:write.", None),
    ("an unknown lane", lambda lane: _charge("nope", {"amount": 100}), "token", 404, "unknown_lane",
     "Caisse 'nope' inconnue.", None),
    ("an unknown route", lambda lane: lambda c, h: c.get("/api/nowhere", headers=h), "token", 404, "not_found",
     "Cette route d'API n'existe pas.", None),
    ("a method the route does not take", lambda lane: lambda c, h: c.delete(f"/api/lanes/{lane.code}/payments",
                                                                           headers=h),
     "token", 405, "method_not_allowed", "Cette route n'accepte pas cette méthode.", None),
    ("the service: a paid sale", lambda lane: _charge(lane.code, {
        "amount": 100, "sale_id": str(attempt_on(lane, "APPROVED").sale_id)}), "token", 409, "sale_already_paid",
     None, None),
    ("the service: a refund of a declined payment",
     lambda lane: lambda c, h: c.post(f"/api/payments/{attempt_on(lane, 'DECLINED').pk}/refunds",
                                      data=json.dumps({"amount": 100, "reason": "retour"}),
                                      content_type="application/json", headers=h),
     "token", 409, "not_refundable",
     fr("Ce paiement ne peut pas être remboursé : seuls les paiements approuvés peuvent être remboursés."), None),
]


def _ask(lane, make, credential, keys, language: str) -> HttpResponse:
    headers = {"Accept-Language": language}
    if credential is not None:
        headers["Authorization"] = f"Bearer {keys.get(credential, 'sck_wrong_token')}"
    return make(lane)(Client(), headers)


@pytest.mark.parametrize(("what", "make", "credential", "status", "code", "text", "fields"), CASES,
                         ids=[case[0] for case in CASES])
def test_errors_are_in_french_with_the_same_code(lane, token, read_only, what, make, credential, status, code,
                                                 text, fields):
    keys = {"token": token, "read_only": read_only}
    english = _ask(lane, make, credential, keys, "en")
    french = _ask(lane, make, credential, keys, "fr-CA")
    assert english.status_code == french.status_code == status
    en, fr_body = english.json(), french.json()
    assert en["code"] == fr_body["code"] == code
    assert sorted(en.get("errors", {})) == sorted(fr_body.get("errors", {}))
    assert en["error"] != fr_body["error"], "the French answer is still in English"
    if text is not None:
        assert fr_body["error"] == text
    for field, message in (fields or {}).items():
        assert fr_body["errors"][field][0] == message
    assert english["Content-Language"] == "en" and french["Content-Language"] == "fr"


def test_a_blocked_sale_says_why_in_french(lane, token):
    paid = attempt_on(lane, "APPROVED")
    answer = _charge(lane.code, {"amount": 100, "sale_id": str(paid.sale_id)})(
        Client(), {"Accept-Language": "fr", "Authorization": f"Bearer {token}"})
    assert answer.json()["error"] == fr(f"Cette vente est déjà payée (paiement no {paid.pk}) : elle n'est pas "
                                        "débitée de nouveau.")
    assert answer.json()["attempt"]["status"] == "APPROVED"  # machine values are never translated


@pytest.mark.parametrize("language", ["", "de", "en-CA", "es, de;q=0.8"])
def test_other_languages_get_english(lane, language):
    answer = _charge(lane.code, {"amount": 100})(Client(), {"Accept-Language": language} if language else {})
    assert answer.json() == {"error": "Log in first.", "code": "login_required"}


def test_a_session_without_csrf_is_refused_in_french(lane):
    user = UserFactory()
    assign_cashier(lane, user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    answer = client.post(f"/api/lanes/{lane.code}/payments", data="{}", content_type="application/json",
                         headers={"Accept-Language": "fr"})
    assert answer.status_code == 403
    assert answer.json() == {"error": fr("La vérification CSRF a échoué : envoyez l'en-tête X-CSRFToken."),
                             "code": "csrf"}
