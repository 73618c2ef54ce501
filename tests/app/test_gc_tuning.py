"""Daphne, the workers and beat exempt their start-up objects from full garbage collections once ready.

Each check runs in a fresh interpreter: freezing is process-wide and would change this test process.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT

FROZEN_AT_LEAST = 50_000  # Django, Channels and Celery loaded: well over 100,000 objects in practice

SETUP = "import django; django.setup(); import store_console"
READY = {
    "daphne": f"{SETUP}; import store_console.asgi",
    "worker": f"{SETUP}; from celery.signals import worker_ready; worker_ready.send(sender=None)",
    # Beat sets no Django app up (store_console/beat.py): its own app, then its signal.
    "beat": "import store_console.beat; from celery.signals import beat_init; beat_init.send(sender=None)",
}
# Beat loads Celery, the Redis client and Django's settings but no app: fewer objects.
FROZEN_AT_LEAST_IN_BEAT = 30_000  # about 53,000 in practice


def frozen_after(tmp_path: Path, statement: str) -> int:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60), FIELD_ENCRYPTION_KEYS="k1",
               ALLOWED_HOSTS="console.example.com",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL="redis://127.0.0.1:6379/0",
               CONSOLE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="store_console.settings")
    code = f"import gc; {statement}; print(gc.get_freeze_count())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_nothing_is_frozen_before_a_process_is_ready(tmp_path: Path) -> None:
    assert frozen_after(tmp_path, SETUP) == 0


@pytest.mark.parametrize("process", sorted(READY))
def test_start_up_objects_are_frozen_once_the_process_is_ready(tmp_path: Path, process: str) -> None:
    assert frozen_after(tmp_path, READY[process]) >= (FROZEN_AT_LEAST_IN_BEAT if process == "beat" else FROZEN_AT_LEAST)
