"""`make run` on the embedded default: it serves the console, its sandbox answers signed requests,
and Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
import requests

from gateways.iotpay import IOTPayClient, OrderNotFound
from tests.processes import ROOT

pytestmark = pytest.mark.integration

KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_serves_login_and_sandbox_and_ctrl_c_stops_everything(tmp_path):
    port, sandbox_port = free_port(), free_port()
    # A fresh machine's environment: no DATABASE_URL, REDIS_URL or IOTPAY_BASE_URL, so all is embedded.
    env = {k: v for k, v in os.environ.items() if k in KEEP}
    env.update(CONSOLE_VAR_DIR=str(tmp_path), PORT=str(port), SANDBOX_PORT=str(sandbox_port),
               CELERY_GATEWAY_CONCURRENCY="20", PYTHONUNBUFFERED="1")
    log = (tmp_path / "run.log").open("wb")
    runner = subprocess.Popen([sys.executable, "-m", "store_console.runner"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/accounts/login/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert runner.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            time.sleep(0.5)
        login = requests.get(f"{base}/accounts/login/", timeout=5)
        assert login.status_code == 200 and "password" in login.text.lower()

        # The sandbox answers a signed query_order: "order not found" means it accepted our signature.
        key = (tmp_path / "demo_merchant_key").read_text().strip()
        client = IOTPayClient(base_url=f"http://127.0.0.1:{sandbox_port}/v1", mch_id="10000576", key=key)
        with pytest.raises(OrderNotFound):
            client.query_order(mch_order_no="NO-SUCH-ORDER")

        # The demo cashier has the four demo lanes: they land on the list of them.
        passwords = json.loads((tmp_path / "demo_passwords.json").read_text())
        session = requests.Session()
        session.get(f"{base}/accounts/login/", timeout=5)
        page = session.post(f"{base}/accounts/login/", timeout=10, headers={"Referer": f"{base}/accounts/login/"},
                            data={"username": "cashier", "password": passwords["cashier"],
                                  "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        assert page.status_code == 200
        assert all(f"/lanes/{n}/" in page.text for n in range(1, 5))

        # A payment on the embedded default (SQLite) goes through to the sandbox and back: the claim and the status
        # changes take the ORM's path there (their one-statement forms are PostgreSQL's).
        paid = session.post(f"{base}/api/lanes/1/payments", json={"amount": 1250}, timeout=10,
                            headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{base}/",
                                     "Idempotency-Key": "runner-test-1"})
        assert paid.status_code == 201, paid.text
        status, deadline = paid.json()["status"], time.monotonic() + 90
        while status in {"CREATED", "SENT"} and time.monotonic() < deadline:
            time.sleep(0.5)
            status = session.get(f"{base}/api/payments/{paid.json()['id']}", timeout=5).json()["status"]
        assert status == "APPROVED", (tmp_path / "run.log").read_text()[-3000:]
        assert key not in (tmp_path / "run.log").read_text()

        children = psutil.Process(runner.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        for expected in ("daphne", "celery", "-Q webhooks", "beat", "iotpay_sandbox", "redis-server"):
            assert expected in names
        assert key not in names  # no secret on a command line
    finally:
        runner.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = runner.wait(60)
        log.close()
    assert code == 0, (tmp_path / "run.log").read_text()[-3000:]
    time.sleep(0.5)
    alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], [" ".join(c.cmdline()) for c in alive]


def test_manage_dev_runs_a_command_against_make_runs_console(tmp_path):
    """`python -m store_console.manage_dev` (the README's integrator steps): the settings `make run` uses, from
    a fresh machine's environment, with the secret key kept in the console's var/ directory."""
    env = {k: v for k, v in os.environ.items() if k in KEEP}
    env.update(CONSOLE_VAR_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "store_console.manage_dev", "check", "--deploy", "--fail-level",
                           "CRITICAL"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "secret_key").exists()
    plain = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert plain.returncode != 0 and "SECRET_KEY must be set" in plain.stderr  # why manage_dev is needed
