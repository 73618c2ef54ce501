"""What a console process holds in memory: the merchant key's encryption key derived once however many threads
ask for it first (payments/crypto.py), checked in a fresh interpreter where nothing is derived yet; the workers
and beat start without the modules only Daphne serves with (Twisted, the API's ninja and pydantic, the URLconf),
and beat without Django's apps. That no process loads the Sentry SDK without a DSN is checked beside the error
reports (tests/unit/test_error_reports.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from payments import crypto
from tests.processes import ROOT, START_UP

# The first payments of a burst reach a fresh worker together, and each decrypts its merchant's key. The key's
# derivation (scrypt, 16 MiB of memory and ~50 ms) must run once per process, not once per thread that asks
# before the first has finished: measured before this was fixed, 20-odd threads took 250 MiB at once.
FIRST_DECRYPTS = """
import os, resource, threading
import django
django.setup()
from payments import crypto
token = os.environ["TEST_TOKEN"]  # encrypted by the test's process: nothing derived in this one yet
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
together = threading.Barrier(24)
def decrypt():
    together.wait()
    assert crypto.decrypt(token) == "merchant-key"
threads = [threading.Thread(target=decrypt) for _ in range(24)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_burst_of_first_decrypts_derives_the_key_once():
    # The same FIELD_ENCRYPTION_KEYS here and in the child: tests.settings put them in the environment.
    token = crypto.encrypt("merchant-key")
    done = subprocess.run([sys.executable, "-c", FIRST_DECRYPTS], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TEST_TOKEN": token})
    assert done.returncode == 0, done.stderr
    grown_mib = int(done.stdout.strip().splitlines()[-1])
    assert grown_mib < 40, f"the process grew {grown_mib} MiB: the key was derived by several threads at once"


LOADED = """
import json, sys
from django.apps import apps
print(json.dumps({"modules": sorted(sys.modules), "apps_ready": apps.ready}))
"""
# Daphne's alone: a worker or beat with these would hold 15-30 MiB more each (docs/performance.md).
DAPHNES_OWN = ("twisted", "daphne", "ninja", "pydantic", "store_console.urls", "checkout.api")


def loaded_at_start(process: str) -> dict[str, object]:
    # As a deployment starts it: CELERY_SKIP_CHECKS is set by store_console/celery.py, not by the environment.
    env = {name: value for name, value in os.environ.items() if name != "CELERY_SKIP_CHECKS"}
    start, ready = START_UP[process]
    done = subprocess.run([sys.executable, "-c", f"{start}; {ready}\n{LOADED}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**env, "DJANGO_SETTINGS_MODULE": "tests.settings"})
    assert done.returncode == 0, done.stderr
    loaded: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("process", ["worker", "beat"])
def test_workers_and_beat_start_without_what_only_daphne_serves(process: str) -> None:
    modules = loaded_at_start(process)["modules"]
    assert isinstance(modules, list)
    held = sorted({name for name in modules for own in DAPHNES_OWN if name == own or name.startswith(f"{own}.")})
    assert not held, held


def test_beat_sets_no_django_app_up() -> None:
    loaded = loaded_at_start("beat")
    assert loaded["apps_ready"] is False
    assert "payments.models" not in loaded["modules"] and "django.db.models" not in loaded["modules"]


def test_a_worker_sets_every_app_and_its_tasks_up() -> None:
    loaded = loaded_at_start("worker")
    assert loaded["apps_ready"] is True
    assert {"payments.tasks", "webhooks.tasks"} <= set(loaded["modules"])  # type: ignore[arg-type]
