"""Login throttling (behind proxies too), settings that fail closed, and the headers every page carries."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client, RequestFactory, override_settings

from store_console.security import SessionIdleTimeout, client_ip
from tests.factories import UserFactory
from tests.processes import ROOT

pytestmark = pytest.mark.django_db

def login(client: Client, username: str, password: str = "wrong", **headers: str) -> int:
    return client.post("/accounts/login/", {"username": username, "password": password}, **headers).status_code


def test_a_username_is_locked_after_five_failures_from_one_address_and_from_any_other():
    UserFactory(username="ana")
    client = Client(REMOTE_ADDR="10.1.2.3")
    assert [login(client, "ana") for _ in range(4)] == [200] * 4  # the form again, with its error
    fifth = client.post("/accounts/login/", {"username": "ana", "password": "wrong"})
    assert fifth.status_code == 429 and "Too many attempts" in fifth.content.decode()
    assert login(client, "ana", "pass-word-123") in (403, 429)
    assert "_auth_user_id" not in client.session
    # The account is locked wherever the next try comes from: rotating addresses does not help.
    assert login(Client(REMOTE_ADDR="10.9.9.9"), "ana", "pass-word-123") == 429
    # Other people at the same address (a store's lanes share one) still log in.
    UserFactory(username="ben")
    assert login(client, "ben", "pass-word-123") == 302


def test_rotating_addresses_for_one_username_still_locks_it():
    UserFactory(username="carl")
    codes = [login(Client(REMOTE_ADDR=f"10.0.0.{n}"), "carl") for n in range(1, 6)]
    assert codes[-1] == 429
    assert login(Client(REMOTE_ADDR="10.0.0.99"), "carl", "pass-word-123") == 429


def test_spraying_one_password_over_many_usernames_locks_the_address(settings):
    settings.AXES_ADDRESS_FAILURE_LIMIT = 20
    UserFactory(username="dora")
    sprayer = Client(REMOTE_ADDR="203.0.113.7")
    codes = [login(sprayer, f"user{n}", "Summer2026!") for n in range(20)]
    assert codes[:19] == [200] * 19 and codes[19] == 429
    assert login(sprayer, "dora", "pass-word-123") == 429  # even a right password, from that address
    assert login(Client(REMOTE_ADDR="198.51.100.1"), "dora", "pass-word-123") == 302


# ---------------------------------------------------------------- the client's address behind proxies


def _request(remote: str, forwarded: str = "") -> object:
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/accounts/login/", **extra)


@pytest.mark.parametrize(("count", "proxies", "remote", "forwarded", "client"), [
    (0, [], "10.0.0.5", "1.2.3.4", "10.0.0.5"),  # default: no proxy is trusted, the header is ignored
    (1, [], "127.0.0.1", "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # what nginx appended, not what came before
    (1, [], "127.0.0.1", "198.51.100.9", "198.51.100.9"),
    (1, [], "127.0.0.1", "", "127.0.0.1"),
    (2, [], "127.0.0.1", "6.6.6.6, 198.51.100.9, 10.0.0.2", "198.51.100.9"),  # a load balancer, then nginx
    (0, ["127.0.0.1", "10.0.0.0/8"], "127.0.0.1", "6.6.6.6, 198.51.100.9, 10.0.0.2", "198.51.100.9"),
    (0, ["127.0.0.1"], "192.0.2.50", "6.6.6.6", "192.0.2.50"),  # not sent by a trusted proxy: header ignored
    (1, [], "127.0.0.1", "not-an-address", "127.0.0.1"),
])
def test_the_client_address_comes_only_from_trusted_proxies(count, proxies, remote, forwarded, client):
    with override_settings(TRUSTED_PROXY_COUNT=count, TRUSTED_PROXIES=proxies):
        assert client_ip(_request(remote, forwarded)) == client


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_a_forged_header_changes_nothing():
    UserFactory(username="eve")
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    for n in range(5):  # each try claims another address before the one nginx appends
        login(proxy, "eve", HTTP_X_FORWARDED_FOR=f"10.66.0.{n}, 198.51.100.20")
    assert login(proxy, "eve", "pass-word-123", HTTP_X_FORWARDED_FOR="10.66.0.99, 198.51.100.20") == 429


# ---------------------------------------------------------------- settings fail closed


def _settings_env(tmp_path: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(CONSOLE_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="store_console.settings",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL="redis://127.0.0.1:6379/0")
    env.update(more)
    return env


def _check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", "check", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_debug_is_off_unless_asked_for_and_settings_create_nothing(tmp_path):
    env = _settings_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(60), FIELD_ENCRYPTION_KEYS="k1")
    shown = subprocess.run([sys.executable, "-c", "import django; django.setup(); from django.conf import settings;"
                            " print(settings.DEBUG)"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert shown.stdout.strip() == "False", shown.stderr
    assert not (tmp_path / "var").exists()  # no directory, no secret file, no static root made on import


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_its_keys(tmp_path, missing):
    env = _settings_env(tmp_path, SECRET_KEY=secrets.token_urlsafe(60), FIELD_ENCRYPTION_KEYS="k1")
    del env[missing]
    result = _check(env)
    assert result.returncode != 0 and f"{missing} " in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = _settings_env(tmp_path, DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60),
                        FIELD_ENCRYPTION_KEYS=secrets.token_urlsafe(32), ALLOWED_HOSTS="console.example.com")
    result = _check(env, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# ---------------------------------------------------------------- headers on every page


PAGES_BY_ROLE = {
    None: ["/accounts/login/"],
    "admin": ["/", "/backoffice/reconciliation/", "/backoffice/lanes/", "/admin/", "/admin/lanes/store/",
              "/accounts/password_change/"],
}


def test_every_page_carries_the_security_headers_and_no_inline_script():
    from tests.factories import staff

    user = staff("admin", is_staff=True, is_superuser=True)
    for role, paths in PAGES_BY_ROLE.items():
        client = Client()
        if role is not None:
            client.force_login(user)
        for path in paths:
            response = client.get(path, follow=True)
            assert response.status_code == 200, path
            policy = response["Content-Security-Policy"]
            assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
            assert "unsafe-inline" not in policy
            assert response["Referrer-Policy"] == "same-origin"
            assert "camera=()" in response["Permissions-Policy"]
            html = response.content.decode()
            inline = [tag for tag in re.findall(r"<script\b[^>]*>", html) if "src=" not in tag]
            assert not inline, (path, inline)
            assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), path  # no onclick= and the like


@pytest.mark.parametrize(("role", "idle"), [("cashier", 8 * 3600), ("manager", 30 * 60), ("owner", 30 * 60)])
def test_a_session_ends_after_its_roles_idle_time(role, idle):
    from tests.factories import LaneFactory, StoreFactory, TerminalFactory, assign_cashier, staff

    lane = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    user = staff(role) if role == "owner" else staff(role, lane.store)
    if role == "cashier":
        assign_cashier(lane, user)
    client = Client()
    assert login(client, user.username, "pass-word-123") == 302
    client.get("/")
    assert client.session.get_expiry_age() == idle
    assert client.session.get_expire_at_browser_close() is False


@pytest.mark.parametrize(("role", "quiet", "written"), [
    ("cashier", 120, False),  # 8 hours: written every 8 minutes, not at every sale
    ("cashier", 500, True),
    ("manager", 45, False),  # 30 minutes: every minute
    ("manager", 70, True),
])
def test_a_session_is_written_again_after_a_sixtieth_of_its_idle_time(role, quiet, written):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import StoreFactory, staff

    user = staff(role, StoreFactory())
    client = Client()
    assert login(client, user.username, "pass-word-123") == 302
    assert client.get("/").status_code in (200, 302)
    session = client.session
    seen = session[SessionIdleTimeout.SEEN_KEY]
    session[SessionIdleTimeout.SEEN_KEY] = seen - quiet  # the last write, `quiet` seconds ago
    session.save()
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "session" in q["sql"]]
    assert bool(writes) is written, writes
    assert (client.session[SessionIdleTimeout.SEEN_KEY] >= seen) is written


def test_an_idle_back_office_session_really_ends(settings):
    """Not only the expiry set: a manager who leaves the dashboard for longer than the idle time is asked to
    sign in again, by the session store's own clock."""
    from tests.factories import StoreFactory, staff

    settings.SESSION_IDLE_BACKOFFICE = 2
    user = staff("manager", StoreFactory())
    client = Client()
    assert login(client, user.username, "pass-word-123") == 302
    assert client.get("/backoffice/reconciliation/").status_code == 200
    time.sleep(2.5)
    response = client.get("/backoffice/reconciliation/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
