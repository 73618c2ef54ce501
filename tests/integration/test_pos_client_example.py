"""examples/pos_client.py, the integrator's first step in the README, run as a register runs it: a process of
its own with an API key and a webhook secret, against the live console (Daphne, workers, sandbox)."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from tests.conftest import _free_port
from tests.processes import ROOT

pytestmark = pytest.mark.integration


def last_line(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


@pytest.mark.parametrize(("amount", "status", "code"), [(1250, "APPROVED", 0), (1201, "DECLINED", 1)])
def test_the_example_register_charges_a_sale_and_hears_the_signed_webhook(live, lane, amount, status, code):
    port = _free_port()
    key = last_line("create_api_key", "--store", lane.store.name, "--name", "register-1",
                    "--scopes", "payments:write", "payments:read")
    secret = last_line("add_webhook", "--store", lane.store.name, "--url", f"http://127.0.0.1:{port}/webhooks")
    done = subprocess.run(
        [sys.executable, "examples/pos_client.py", "--console", live.url, "--lane", lane.code,
         "--amount", str(amount), "--listen", str(port), "--wait", "60", "--reference", f"INV-{amount}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "CONSOLE_API_KEY": key, "CONSOLE_WEBHOOK_SECRET": secret},
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert f"for INV-{amount}, signature verified" in done.stdout, done.stdout  # the webhook echoes the reference
    assert f"outcome: {status}" in done.stdout, done.stdout
    assert key not in done.stdout and secret not in done.stdout
