"""Per-store access, table-driven: every URL, API route, CSV, action and websocket of the console, for every role,
on the user's own store, another store of the same merchant, and a store of another merchant.

RULES says what each route needs; a route without a rule fails `test_every_route_has_a_rule`, so a page added
later is covered or the suite says so. Allowed means an answer other than 401/403/404 (a form with nothing
in it may answer 400 or redirect); refused means 403 or 404 for a logged-in user (never the other store's
data), the login page (or 401 for the API) for an anonymous one.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from backoffice.models import VerificationRun
from lanes import access
from live.routing import websocket_urlpatterns
from payments.models import PaymentAttempt, Refund
from tests.factories import (
    LaneFactory,
    MerchantFactory,
    StoreFactory,
    TerminalFactory,
    UserFactory,
    assign_cashier,
    staff,
)

pytestmark = pytest.mark.django_db

PUBLIC, LOGIN, LANE, PAYMENT = "public", "login", "lane", "payment"
# What each route needs, per method. A store permission is held in the store of the object the URL names (or
# of its ?store=): a role there, or an organisation-wide role.
RULES: dict[str, dict[str, str]] = {
    "login": {"get": PUBLIC},
    "logout": {"post": PUBLIC},  # ends the session: checked last, on its own (test_logout_ends_the_session)
    "password_change": {"get": LOGIN},
    "password_change_done": {"get": LOGIN},
    "password_reset": {"get": PUBLIC},
    "password_reset_done": {"get": PUBLIC},
    "password_reset_confirm": {"get": PUBLIC},
    "password_reset_complete": {"get": PUBLIC},
    "healthz": {"get": PUBLIC},
    "readyz": {"get": PUBLIC},
    # By address (METRICS_ALLOWED_IPS; the test client's is loopback) or token, not by login:
    # tests/integration/test_metrics_live.py checks the refusals.
    "metrics": {"get": PUBLIC},
    # Languages, for the login page too: the scripts' catalog, Django's cookie, the header's switch.
    "javascript-catalog": {"get": PUBLIC},
    "set_language": {"post": PUBLIC},
    "switch-language": {"post": PUBLIC},
    "home": {"get": LOGIN},
    "lane-checkout": {"get": LANE},
    "api-create-payment": {"post": LANE},
    "api-payment-detail": {"get": PAYMENT},
    "api-requery-payment": {"post": LANE},
    "api-create-refund": {"post": access.REFUND},
    "api-refund-detail": {"get": access.VIEW_PAYMENTS},
    "api-payments": {"get": LOGIN},  # a search: only the payments the caller sees (tests/app/test_api_search.py)
    "api-lanes": {"get": LOGIN},  # only the caller's lanes (tests/app/test_api_search.py)
    "openapi-json": {"get": LOGIN},
    "openapi-view": {"get": LOGIN},
    "payment-search": {"get": access.VIEW_PAYMENTS},  # only the user's stores (tests/app/test_api_search.py)
    "payment-receipt": {"get": PAYMENT},
    "refund-receipt": {"get": PAYMENT},
    "backoffice": {"get": access.VIEW_WALL},  # the home of the back office: any store role above cashier
    "reconciliation": {"get": access.VIEW_RECONCILIATION},
    "reconciliation-export": {"get": access.VIEW_RECONCILIATION},
    "reconciliation-verify": {"post": access.RESOLVE},
    "reconciliation-verify-progress": {"get": access.VIEW_RECONCILIATION},
    "payment-requery": {"post": access.RESOLVE},
    "payment-close": {"post": access.RESOLVE},
    "payment-detail": {"get": access.VIEW_PAYMENTS},
    "payment-refund": {"post": access.REFUND},
    "payment-resolve": {"post": access.RESOLVE},
    "refund-check": {"post": access.REFUND},
    "refund-settle": {"post": access.REFUND},
    "lanes-wall": {"get": access.VIEW_WALL},
    # websockets, by route
    "ws/lanes/<str:code>/": {"ws": LANE},
    "ws/stores/<int:store_id>/lanes/": {"ws": access.VIEW_WALL},
}
# Routes that name no store: the same answer whatever store the test has in mind.
STORELESS = {"login", "logout", "password_change", "password_change_done", "password_reset", "password_reset_done",
             "password_reset_confirm", "password_reset_complete", "healthz", "readyz", "metrics", "home", "backoffice",
             "api-payments", "api-lanes", "openapi-json", "openapi-view", "payment-search", "javascript-catalog",
             "set_language", "switch-language"}

ROLES = ("anonymous", "outsider", "cashier", "supervisor", "manager", "owner", "admin")
TARGETS = ("own", "other_store", "other_merchant")


def _role_perms(role: str) -> set[str]:
    from lanes.roles import ORGANISATION_ROLES, STORE_ROLES

    if role in ORGANISATION_ROLES:
        return set(ORGANISATION_ROLES[role])
    return set(STORE_ROLES.get(role, ()))


def expected(rule: str, role: str, target: str, storeless: bool) -> bool:
    """Whether ``role`` may use a route needing ``rule`` on the ``target`` store's object."""
    if rule == PUBLIC:
        return True
    if role == "anonymous":
        return False
    if rule == LOGIN:
        return True
    organisation = role in ("owner", "admin")
    here = organisation or (target == "own" and not storeless)
    if rule == LANE:
        return role == "admin" or (role == "cashier" and target == "own")
    if rule == PAYMENT:
        return expected(LANE, role, target, storeless) or expected(access.VIEW_PAYMENTS, role, target, storeless)
    if storeless:  # the back office's home: somewhere
        return rule in _role_perms(role)
    return here and rule in _role_perms(role)


# ---------------------------------------------------------------- the world: three stores, two merchants


@dataclass
class StoreObjects:
    store: object
    lane: object
    attempt: object
    refund: object
    run: object


def _store_objects(store) -> StoreObjects:
    lane = TerminalFactory(lane=LaneFactory(store=store)).lane
    attempt = PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=store.merchant, store=store,
        lane=lane, terminal=lane.terminal, amount=1250, currency="CAD", status="APPROVED", gateway_reference="P1",
        card_brand="VISA CREDIT", card_last4="4242", finalized_at=timezone.now())
    refund = Refund.objects.create(attempt=attempt, refund_reference=f"R{uuid.uuid4().hex[:20]}", amount=100,
                                   currency="CAD", reason="access test", status="APPROVED")
    run = VerificationRun.objects.create(store=store, day=timezone.localdate())
    return StoreObjects(store, lane, attempt, refund, run)


@pytest.fixture
def world():
    own = StoreFactory()
    objects = {
        "own": _store_objects(own),
        "other_store": _store_objects(StoreFactory(merchant=own.merchant)),
        "other_merchant": _store_objects(StoreFactory(merchant=MerchantFactory(gateway_account="20000001", key="K2"))),
    }
    users = {"anonymous": None, "outsider": UserFactory()}
    for role in ("cashier", "supervisor", "manager"):
        users[role] = staff(role, own)
    assign_cashier(objects["own"].lane, users["cashier"])
    users["owner"] = staff("owner")
    users["admin"] = staff("admin", is_staff=True)
    return {"objects": objects, "users": users}


_CONVERTER = re.compile(r"<(?:\w+:)?(?P<name>\w+)>")


def _routes() -> list[tuple[str, str]]:
    """(name, pattern) of every route but the admin site's."""
    found = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace != "admin":
                    walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append((pattern.name or "", prefix + str(pattern.pattern)))

    walk(get_resolver().url_patterns, "/")
    return found


def _path(pattern: str, objects: StoreObjects) -> str:
    values = {"code": objects.lane.code, "attempt_id": objects.attempt.pk, "refund_id": objects.refund.pk,
              "run_id": objects.run.pk, "store_id": objects.store.pk, "uidb64": "MQ", "token": "set-password"}
    path = _CONVERTER.sub(lambda m: str(values[m["name"]]), pattern)
    if pattern.endswith(("reconciliation/", "export.csv", "lanes/")) and "ws/" not in pattern:
        path += f"?store={objects.store.pk}"
    return path


def _without_rules(routes: list[tuple[str, str]], sockets: set[str]) -> list[str]:
    """Routes (by name; "" for an unnamed one) and websockets that have no rule in RULES."""
    return sorted(({name for name, _ in routes} | sockets) - set(RULES))


def test_every_route_has_a_rule():
    missing = _without_rules(_routes(), {str(p.pattern) for p in websocket_urlpatterns})
    assert not missing, f"routes without an access rule (or a name) in tests/app/test_access.py: {missing}"


def test_the_rule_check_catches_a_new_route_and_an_unnamed_one():
    routes = [*_routes(), ("lane-new-thing", "/lanes/<str:code>/new-thing/"), ("", "/unnamed/")]
    assert _without_rules(routes, set()) == ["", "lane-new-thing"]


def page_problems(response) -> list[str]:
    """A page without the security headers, or with a script that is not a file of ours."""
    problems = []
    policy = response.get("Content-Security-Policy", "")
    if "script-src 'self'" not in policy or "unsafe-inline" in policy:
        problems.append(f"Content-Security-Policy {policy!r}")
    if response.get("Referrer-Policy") != "same-origin" or "camera=()" not in response.get("Permissions-Policy", ""):
        problems.append("Referrer-Policy or Permissions-Policy missing")
    html = response.content.decode(errors="replace")
    inline = [tag for tag in re.findall(r"<script\b[^>]*>", html)
              if "src=" not in tag and "application/json" not in tag]
    if inline or re.search(r"<[^>]+\son[a-z]+\s*=", html, re.IGNORECASE):
        problems.append(f"inline script {inline[:2]}")
    return problems


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _verdict(response) -> str:
    code = response.status_code
    if code == 302 and response["Location"].split("?")[0] == reverse(settings.LOGIN_URL):
        return "login"
    if code in (401, 403, 404):
        return "refused"
    # /readyz answers 503 where no worker runs (these tests start none): an answer, not a failure.
    not_ready = code == 503 and response.request["PATH_INFO"] == reverse("readyz")
    assert code < 500 or not_ready, f"{code}: {response.content[:300]!r}"
    return "allowed"


@pytest.mark.django_db(transaction=True)  # re-queries go through the gateway door, which refuses transactions
@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role_and_store(world, role):
    client = _client(world["users"][role])
    wrong = []
    for name, pattern in _routes():
        if name == "logout":
            continue
        for method, rule in RULES[name].items():
            for target in TARGETS:
                objects = world["objects"][target]
                path = _path(pattern, objects)
                data = {"store": objects.store.pk, "day": str(timezone.localdate()), "kind": "needs_review"}
                response = getattr(client, method)(path, data=data) if method == "post" else client.get(path)
                got = _verdict(response)
                want = expected(rule, role, target, name in STORELESS)
                if role == "anonymous" and not want:
                    ok = got == "login" or (got == "refused" and response.status_code == 401)
                else:
                    ok = (got == "allowed") == want
                if not ok:
                    wrong.append(f"{method.upper()} {path} ({name}) as {role} on {target}: {response.status_code}")
                if response.get("Content-Type", "").startswith("text/html"):
                    wrong.extend(f"{path}: {problem}" for problem in page_problems(response))
                if name in STORELESS:
                    break
    assert not wrong, "\n".join(wrong)


def test_the_store_picker_lists_only_the_users_stores(world):
    own = world["objects"]["own"].store
    for role in ("supervisor", "manager"):
        html = _client(world["users"][role]).get("/backoffice/reconciliation/").content.decode()
        others = [world["objects"][t].store for t in ("other_store", "other_merchant")]
        assert f'value="{own.pk}"' in html or f"?store={own.pk}" in html
        assert all(other.name not in html for other in others), role
        wall = _client(world["users"][role]).get("/backoffice/lanes/").content.decode()
        assert all(other.name not in wall for other in others), role
    owner_html = _client(world["users"]["owner"]).get("/backoffice/reconciliation/").content.decode()
    assert all(world["objects"][t].store.name in owner_html for t in TARGETS)


# ---------------------------------------------------------------- websockets


async def _opens(path: str, cookie: str | None) -> bool:
    from store_console.asgi import application

    headers = [(b"origin", b"http://testserver")]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    await communicator.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_every_websocket_for_every_role_and_store(role, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    own = StoreFactory()
    objects = {"own": _store_objects(own), "other_store": _store_objects(StoreFactory(merchant=own.merchant)),
               "other_merchant": _store_objects(StoreFactory(merchant=MerchantFactory(gateway_account="20000002",
                                                                                     key="K3")))}
    user = None
    if role == "outsider":
        user = UserFactory()
    elif role in ("cashier", "supervisor", "manager"):
        user = staff(role, own)
        if role == "cashier":
            assign_cashier(objects["own"].lane, user)
    elif role in ("owner", "admin"):
        user = staff(role)
    cookie = None
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"].value
    wrong = []
    for pattern in websocket_urlpatterns:
        route = str(pattern.pattern)
        for target in TARGETS:
            path = "/" + _path(route, objects[target])
            got = async_to_sync(_opens)(path, cookie)
            want = expected(RULES[route]["ws"], role, target, False)
            if got != want:
                wrong.append(f"{path} as {role} on {target}: {'opened' if got else 'refused'}")
    assert not wrong, "\n".join(wrong)


def test_logout_ends_the_session(world):
    client = _client(world["users"]["manager"])
    assert client.get("/backoffice/reconciliation/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/backoffice/reconciliation/")["Location"].startswith(reverse(settings.LOGIN_URL))
