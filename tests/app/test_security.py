"""Login throttling and production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.processes import ROOT

pytestmark = pytest.mark.django_db


def test_login_is_throttled_after_repeated_failures():
    user = UserFactory(username="ana")
    client = Client(REMOTE_ADDR="10.1.2.3")
    for _ in range(4):
        response = client.post("/accounts/login/", {"username": "ana", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    fifth = client.post("/accounts/login/", {"username": "ana", "password": "wrong"})
    assert fifth.status_code == 429
    assert "Too many attempts" in fifth.content.decode()
    locked = client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"})
    assert locked.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by that one.
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert other.post("/accounts/login/", {"username": user.username, "password": "pass-word-123"}).status_code == 302


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="console.example.com",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL="redis://127.0.0.1:6379/0",
               CONSOLE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="store_console.settings")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(DEBUG="false", CONSOLE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="store_console.settings")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
