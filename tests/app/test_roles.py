"""Roles: what each of the four groups may open, checked on every URL the URLconf has.

The back-office routes are found by walking `backoffice.urls` (and the whole root URLconf for
anonymous users), so pages and APIs added later are covered without touching this file. Path
converters are filled with existing objects, so a refusal is never hidden behind a 404.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from lanes.roles import ORGANISATION_ROLES, STORE_ROLES
from payments.models import PaymentAttempt
from tests.factories import (
    LaneFactory,
    MerchantFactory,
    StoreFactory,
    TerminalFactory,
    UserFactory,
    staff,
)

pytestmark = pytest.mark.django_db

METHODS = ("get", "post")
# Open to everyone by design: logging in, Django's password-reset pages, and the health and readiness checks;
# /metrics by address or token instead of a login (tests/integration/test_metrics_live.py); the languages (the
# scripts' catalog, Django's language cookie, the header's switch), which the login page uses too.
PUBLIC = {"login", "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete",
          "healthz", "readyz", "metrics", "javascript-catalog", "set_language", "switch-language"}


# ---------------------------------------------------------------- walking the URLconf


@dataclass(frozen=True)
class Route:
    path: str  # with its converters filled
    name: str

    def __str__(self) -> str:
        return f"{self.name or '?'} {self.path}"


_CONVERTER = re.compile(r"<(?:(?P<kind>\w+):)?(?P<name>\w+)>")


def _walk(patterns: list, prefix: str, values: dict[str, str]) -> list[Route]:
    routes = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if not hasattr(pattern.pattern, "converters"):  # re_path: only reversible ones, by name
            if isinstance(pattern, URLPattern) and pattern.name:
                kwargs = {key: values[key] for key in pattern.pattern.regex.groupindex}
                routes.append(Route(reverse(pattern.name, kwargs=kwargs), pattern.name))
            continue
        filled = prefix + _CONVERTER.sub(lambda m: _value(m["name"], values), route)
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # the admin site has its own login: tested on its own below
            routes.extend(_walk(pattern.url_patterns, filled, values))
        else:
            routes.append(Route(filled, pattern.name or ""))
    return routes


def _value(name: str, values: dict[str, str]) -> str:
    if name not in values:
        raise AssertionError(f"tests/app/test_roles.py: say which object fills <{name}> (url_values)")
    return values[name]


def backoffice_prefix() -> tuple[str, list]:
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and getattr(pattern.urlconf_module, "__name__", "") == "backoffice.urls":
            return "/" + str(pattern.pattern), pattern.url_patterns
    raise AssertionError("backoffice.urls is not included in the root URLconf")


# ---------------------------------------------------------------- data


@pytest.fixture
def world():
    lane = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    store = lane.store
    attempt = PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=store.merchant, store=store,
        lane=lane, terminal=lane.terminal, amount=1250, currency="CAD", status="APPROVED",
        gateway_reference="P123", card_brand="VISA CREDIT", card_last4="4242", finalized_at=timezone.now(),
    )
    return {"store": store, "lane": lane, "attempt": attempt}


@pytest.fixture
def url_values(world):
    """What fills each path converter, by its name: existing objects only."""
    attempt, store, lane = world["attempt"], world["store"], world["lane"]
    values = {"attempt_id": attempt.pk, "pk": attempt.pk, "payment_id": attempt.pk, "store_id": store.pk,
              "lane_id": lane.pk, "code": lane.code, "sale_id": attempt.sale_id,
              "uidb64": "MQ", "token": "set-password"}
    refund_model = apps.get_model("payments", "Refund")
    refund = refund_model.objects.create(attempt=attempt, refund_reference=f"R{uuid.uuid4().hex[:20]}", amount=100,
                                         currency="CAD", reason="roles test", status="APPROVED")
    values["refund_id"] = refund.pk
    try:
        run_model = apps.get_model("backoffice", "VerificationRun")
    except LookupError:
        pass
    else:
        values["run_id"] = run_model.objects.create(store=store, day=timezone.localdate()).pk
    return {key: str(value) for key, value in values.items()}


@pytest.fixture
def backoffice_routes(url_values) -> list[Route]:
    prefix, patterns = backoffice_prefix()
    routes = _walk(patterns, prefix, url_values)
    assert any(route.name == "lanes-wall" for route in routes)
    return routes


@pytest.fixture
def all_routes(url_values) -> list[Route]:
    return _walk(get_resolver().url_patterns, "/", url_values)


# The JSON API of the checkout page: a cashier's own. Every other /api/ route belongs to the back office.
CHECKOUT_API = {"api-create-payment", "api-payment-detail", "api-requery-payment"}


@pytest.fixture
def back_office_api(all_routes) -> list[Route]:
    return [r for r in all_routes if r.path.startswith("/api/") and r.name not in CHECKOUT_API]


def client_for(user: object | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def call(client: Client, method: str, path: str) -> object:
    return getattr(client, method)(path, HTTP_ACCEPT="text/html")


# ---------------------------------------------------------------- the roles


def test_the_organisation_roles_exist_with_their_permissions_and_the_old_groups_are_gone():
    for name, codes in ORGANISATION_ROLES.items():
        group = Group.objects.get(name=name)
        have = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert have == set(codes), name
    assert not Group.objects.filter(name__in=("cashier", "supervisor", "manager")).exists()
    assert STORE_ROLES["cashier"] == frozenset()
    assert "payments.refund_payment" in STORE_ROLES["manager"] and "payments.refund_payment" not in STORE_ROLES[
        "supervisor"]


# ---------------------------------------------------------------- anonymous users


def test_anonymous_users_are_sent_to_log_in_everywhere_but_the_login_page_and_healthz(all_routes):
    client = Client()
    login = reverse(settings.LOGIN_URL)
    wrong = []
    for route in all_routes:
        if route.name in PUBLIC:
            continue
        api = route.path.startswith("/api/")
        statuses = {}
        for method in METHODS:
            response = call(client, method, route.path)
            code = response.status_code
            to_login = code == 302 and response["Location"].split("?")[0] == login
            statuses[method] = "login" if to_login else code
        expected = 401 if api else "login"
        if set(statuses.values()) - {expected, 405} or expected not in statuses.values():
            wrong.append(f"{route}: {statuses}")
    assert not wrong, "open to anonymous users:\n" + "\n".join(wrong)


def test_login_page_and_healthz_are_open():
    client = Client()
    assert client.get(reverse("login")).status_code == 200
    assert client.get("/healthz").status_code == 200


# ---------------------------------------------------------------- the admin site


@pytest.mark.parametrize("role", ["cashier", "supervisor", "manager", "owner"])
def test_the_admin_is_closed_to_users_without_staff_status(role, world):
    user = staff(role) if role == "owner" else staff(role, world["store"])
    response = client_for(user).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_admin_sets_up_merchants_and_never_sees_their_key():
    merchant = MerchantFactory(gateway_account="20000999", key="SECRET-KEY-123")
    client = client_for(staff("admin", is_staff=True))
    assert client.get("/admin/").status_code == 200
    page = client.get(reverse("admin:payments_merchant_change", args=[merchant.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "SECRET-KEY-123" not in html
    assert merchant.key_ciphertext not in html
    assert client.get(reverse("admin:lanes_lane_changelist")).status_code == 200


# ---------------------------------------------------------------- the wall page as a supervisor reads it


def test_the_wall_reads_every_lane_in_a_fixed_number_of_queries(world):
    store = world["store"]
    for _ in range(5):
        lane = TerminalFactory(lane=LaneFactory(store=store)).lane
        PaymentAttempt.objects.create(
            order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=store.merchant, store=store,
            lane=lane, terminal=lane.terminal, amount=500, tip=100, currency="CAD", status="APPROVED",
            finalized_at=timezone.now(),
        )
    from live.wall import lanes_wall

    with CaptureQueriesContext(connection) as captured:
        wall = lanes_wall(store)
    assert len(wall) == 6
    queries = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert len(queries) == 3, queries  # the lanes, their latest attempts, the day's totals by lane
    assert "GROUP BY" in queries[-1]
    assert {lane["approved_count"] for lane in wall} == {1}
    assert sorted(lane["approved_total"] for lane in wall) == [600] * 5 + [1250]


def test_the_wall_shows_a_stuck_lane_and_the_store_chooser(world):
    store, lane = world["store"], world["lane"]
    PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=store.merchant, store=store,
        lane=lane, terminal=lane.terminal, amount=2599, currency="CAD", status="NEEDS_REVIEW",
        message="IOTPay gave no final outcome in time.",
    )
    other = StoreFactory(name="Zed Store")
    client = client_for(staff("owner"))
    html = client.get(reverse("lanes-wall"), {"store": store.pk}).content.decode()
    assert 'data-status="NEEDS_REVIEW"' in html
    assert 'data-stuck="true"' in html
    assert "$25.99" in html
    assert "Approved $12.50 at" in html  # the last result stays on the tile
    assert f'href="?store={other.pk}"' in html
    assert client.get(reverse("lanes-wall"), {"store": "999999"}).status_code == 404


def test_every_post_needs_the_csrf_token(all_routes):
    """Logged in with every permission, a POST without Django's CSRF token is refused everywhere."""
    admin = staff("admin", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    routes = [route for route in all_routes if not route.path.startswith("/admin/")]
    assert len(routes) > 10
    for route in routes:
        response = client.post(route.path, data={})
        assert response.status_code in (403, 405), (route.path, response.status_code)
        if response.status_code == 403 and route.path.startswith("/api/"):
            assert response.json()["code"] == "csrf"


def test_the_admin_group_cannot_make_or_change_superusers():
    admin = staff("admin", is_staff=True)
    boss = UserFactory(is_staff=True, is_superuser=True)
    clerk = UserFactory()
    client = client_for(admin)
    boss_page = client.get(reverse("admin:auth_user_change", args=[boss.pk])).content.decode()
    assert 'type="submit"' not in boss_page or 'name="_save"' not in boss_page  # view only
    assert client.post(reverse("admin:auth_user_change", args=[boss.pk]), {"username": "taken"}).status_code == 403
    page = client.get(reverse("admin:auth_user_change", args=[clerk.pk])).content.decode()
    assert 'name="is_superuser"' not in page  # shown read-only
    data = {"username": clerk.username, "is_superuser": "on", "is_active": "on", "is_staff": "on",
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "store_memberships-TOTAL_FORMS": "0", "store_memberships-INITIAL_FORMS": "0",
            "lanes-TOTAL_FORMS": "0", "lanes-INITIAL_FORMS": "0"}
    client.post(reverse("admin:auth_user_change", args=[clerk.pk]), data)
    clerk.refresh_from_db()
    assert not clerk.is_superuser


def test_a_lanes_cashiers_must_be_staff_of_its_store(world):
    admin = staff("admin", is_staff=True, is_superuser=True)
    lane, stranger = world["lane"], UserFactory(username="stranger")
    response = client_for(admin).post(reverse("admin:lanes_lane_change", args=[lane.pk]), {
        "store": lane.store.pk, "code": lane.code, "name": lane.name, "cashiers": [stranger.pk],
        "terminal-TOTAL_FORMS": "0", "terminal-INITIAL_FORMS": "0"})
    assert response.status_code == 200 and "Not staff of" in response.content.decode()
    assert not lane.cashiers.filter(pk=stranger.pk).exists()


def test_admin_actions_declare_their_permissions():
    from django.contrib import admin as django_admin

    ours = [m for m in django_admin.site._registry.values()
            if type(m).__module__.split(".")[0] in ("payments", "lanes", "backoffice", "integrations")]
    assert ours
    for model_admin in ours:
        for name in model_admin.actions or ():
            action = getattr(model_admin, name)
            assert getattr(action, "allowed_permissions", None), f"{type(model_admin).__name__}.{name}"
