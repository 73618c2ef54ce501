"""The PostgreSQL connection pool as the settings build it from the environment (no database needed)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.processes import ROOT

SHOW = ("import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'options': s.DATABASES['default'].get('OPTIONS', {}), "
        "'checks': s.DATABASES['default']['CONN_HEALTH_CHECKS'], 'slots': s.CONSOLE_GATEWAY_DB_CONNECTIONS, "
        "'prepare_runs': s.CONSOLE_DB_PREPARE_RUNS}))")


def settings_with(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    base.update(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60), FIELD_ENCRYPTION_KEYS="k1",
                ALLOWED_HOSTS="console.example.com",
                DATABASE_URL="postgres://console@db.example.invalid:5432/console",
                REDIS_URL="redis://127.0.0.1:6379/0", CONSOLE_VAR_DIR=str(tmp_path),
                DJANGO_SETTINGS_MODULE="store_console.settings")
    base.update(env)
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=base, capture_output=True, text=True,
                          timeout=60)


def shown(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_gets_a_pool_of_twenty_checked_connections_by_default(tmp_path: Path) -> None:
    settings = shown(settings_with(tmp_path))
    pool = settings["options"]["pool"]

    assert settings["checks"] is True  # a connection the server closed is replaced before it is lent

    assert pool["max_size"] == 20
    assert pool["min_size"] == 2
    assert pool["timeout"] == 60.0


def test_the_pool_size_and_wait_come_from_the_environment(tmp_path: Path) -> None:
    pool = shown(settings_with(tmp_path, CONSOLE_DB_POOL_SIZE="8", CONSOLE_DB_POOL_TIMEOUT="5"))["options"]["pool"]

    assert (pool["max_size"], pool["timeout"]) == (8, 5.0)


def test_a_pool_size_of_zero_turns_the_pool_off(tmp_path: Path) -> None:
    assert "pool" not in shown(settings_with(tmp_path, CONSOLE_DB_POOL_SIZE="0"))["options"]


def test_sqlite_never_gets_a_pool(tmp_path: Path) -> None:
    result = settings_with(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    assert "pool" not in shown(result)["options"]


def test_persistent_connections_and_the_pool_together_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    result = settings_with(tmp_path, CONN_MAX_AGE="60")

    assert result.returncode != 0
    assert "CONN_MAX_AGE must be 0 while the connection pool is on" in result.stderr


def test_a_gateway_worker_never_takes_more_slots_than_its_pool_holds(tmp_path: Path) -> None:
    assert shown(settings_with(tmp_path, CONSOLE_DB_POOL_SIZE="8"))["slots"] == 8
    assert shown(settings_with(tmp_path, CONSOLE_DB_POOL_SIZE="0", CONSOLE_GATEWAY_DB_CONNECTIONS="30"))["slots"] == 30


def test_a_poll_window_under_a_minute_is_refused_in_production(tmp_path: Path) -> None:
    refused = settings_with(tmp_path, IOTPAY_POLL_WINDOW="30")
    assert refused.returncode != 0 and "IOTPAY_POLL_WINDOW must be at least 60" in refused.stderr
    assert settings_with(tmp_path, IOTPAY_POLL_WINDOW="60").returncode == 0
    assert settings_with(tmp_path, IOTPAY_POLL_WINDOW="30", DEBUG="true").returncode == 0


def test_a_negative_idle_limit_for_gateway_connections_is_refused(tmp_path: Path) -> None:
    refused = settings_with(tmp_path, IOTPAY_KEEPALIVE_IDLE_MAX="-1")
    assert refused.returncode != 0 and "IOTPAY_KEEPALIVE_IDLE_MAX must be 0 or more seconds" in refused.stderr
    assert settings_with(tmp_path, IOTPAY_KEEPALIVE_IDLE_MAX="0").returncode == 0


def test_postgresql_statements_are_bound_on_the_server_and_the_payment_paths_prepared_after_five_runs(
    tmp_path: Path
) -> None:
    settings = shown(settings_with(tmp_path))
    assert settings["options"]["server_side_binding"] is True
    assert "prepare_threshold" not in settings["options"]  # Django's default: no statement prepared outside prepared()
    assert settings["prepare_runs"] == 5
    assert shown(settings_with(tmp_path, CONSOLE_DB_PREPARE_THRESHOLD="0"))["prepare_runs"] == 0


def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler(tmp_path: Path) -> None:
    settings = shown(settings_with(tmp_path, CONSOLE_DB_PREPARE_THRESHOLD="off"))
    assert settings["prepare_runs"] is None
    assert settings["options"]["server_side_binding"] is True  # unnamed statements: a pooler serves them


def test_a_prepare_threshold_that_is_not_a_count_is_refused(tmp_path: Path) -> None:
    for wrong in ("five", "-1", ""):
        refused = settings_with(tmp_path, CONSOLE_DB_PREPARE_THRESHOLD=wrong)
        assert refused.returncode != 0 and "CONSOLE_DB_PREPARE_THRESHOLD must be" in refused.stderr, wrong


def test_sqlite_is_left_as_it_is(tmp_path: Path) -> None:
    options = shown(settings_with(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}"))["options"]
    assert "server_side_binding" not in options and "prepare_threshold" not in options
