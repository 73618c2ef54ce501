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

from tests.processes import ROOT, START_UP

FROZEN_AT_LEAST = 50_000  # Django, Channels and Celery loaded: well over 100,000 objects in practice

# Beat loads Celery, the Redis client and Django's settings but no app (store_console/beat.py): fewer objects.
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


@pytest.mark.parametrize("process", sorted(START_UP))
def test_nothing_is_frozen_before_a_process_is_ready(tmp_path: Path, process: str) -> None:
    start, _ = START_UP[process]
    assert frozen_after(tmp_path, start) == 0


@pytest.mark.parametrize("process", sorted(START_UP))
def test_start_up_objects_are_frozen_once_the_process_is_ready(tmp_path: Path, process: str) -> None:
    start, ready = START_UP[process]
    least = FROZEN_AT_LEAST_IN_BEAT if process == "beat" else FROZEN_AT_LEAST
    assert frozen_after(tmp_path, f"{start}; {ready}") >= least
