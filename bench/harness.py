"""What every benchmark that runs the console needs: a throw-away database and Redis database, the console's
environment and store, and its real processes as store_console.processes declares them. The rest:
databases.py, measure.py, lane_client.py (a cashier's browser), sandbox_wire.py, figures.py.

Benchmarks run on PostgreSQL and Redis only (never the embedded SQLite default):

- `BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/bench_console`) is DROPPED and
  re-created by each run, so its database name must start with `bench`;
- `BENCH_REDIS_URL` (default `redis://127.0.0.1:6379/7`) is FLUSHED by each run: give it a Redis
  database of its own.

The console's own DATABASE_URL / REDIS_URL are never read here, so a developer's settings are safe.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import django
import requests
from django.core.management import call_command

from bench.databases import database_setting, flush_redis, reset_database
from bench.measure import machine_summary, process_status
from store_console import processes

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_console"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
BENCH_MCH_ID = "10000576"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL


@dataclass(frozen=True)
class BenchStart:
    """What start_bench prepared."""

    workdir: Path
    sandbox_port: int
    daphne_port: int
    env: dict[str, str]  # every console process's environment (console_env)
    machine: str  # machine_summary() at the start
    max_connections: str  # PostgreSQL's
    services: str  # PostgreSQL's and Redis's versions, for the printed settings
    password: str  # the benchmark cashier's


def start_bench(bench: str, make_env: Callable[[int, Path], dict[str, str]]) -> BenchStart:
    """The first steps of every benchmark that runs the console: stop cleanly on SIGTERM, a fresh work
    directory, free ports, the console's environment (`make_env(sandbox_port, workdir)`), the benchmark's
    database re-created and its Redis database emptied, Django loaded in this process."""

    stop_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{bench.replace('_', '-')}-"))
    sandbox_port, daphne_port = free_port(), free_port()
    env = make_env(sandbox_port, workdir)
    db_url, redis_url = env["DATABASE_URL"], env["REDIS_URL"]
    machine = machine_summary()
    print(f"{bench}: re-creating database {db_url.rsplit('/', 1)[-1]}, flushing Redis {redis_url}; work files in "
          f"{workdir}", flush=True)
    postgres = reset_database(db_url)
    max_connections = database_setting(db_url, "max_connections")
    services = f"PostgreSQL {postgres} (max_connections {max_connections}); Redis {flush_redis(redis_url)}"
    setup_django(env)
    return BenchStart(workdir, sandbox_port, daphne_port, env, machine, max_connections, services,
                      secrets.token_urlsafe(12))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]  # an AF_INET address: (host, port)
        return port


def stop_on_sigterm() -> None:
    """A SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop every process the bench started."""

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, raise_interrupt)


def setup_django(env: dict[str, str]) -> None:
    """Load Django in this process with the same environment the console's processes get."""
    os.environ.update(env)
    os.environ["PGAPPNAME"] = "bench-benchmark"  # its own connections, apart from the console's (see Proc)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    django.setup()


def console_env(sandbox_port: int, workdir: Path, **overrides: object) -> dict[str, str]:
    """The environment of every console process of a benchmark: production timings unless overridden.

    tests.settings only sets defaults, so what is given here wins, in this process and every child.
    """

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url(),
        "CONSOLE_VAR_DIR": str(workdir / "var"),
        "SECRET_KEY": secrets.token_urlsafe(40),
        # One key for this process and every child: each would otherwise make its own (tests.settings), and the
        # workers could not decrypt the merchant key set_up_store stored.
        "FIELD_ENCRYPTION_KEYS": secrets.token_urlsafe(32),
        "TEST_SANDBOX_KEY": secrets.token_hex(16),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "IOTPAY_BASE_URL": f"http://127.0.0.1:{sandbox_port}/v1",
        "IOTPAY_CREATE_TIMEOUT": "120",
        "IOTPAY_CONNECT_TIMEOUT": "5",
        "IOTPAY_QUERY_TIMEOUT": "10",
        "IOTPAY_POLL_INTERVAL": "2",
        "IOTPAY_POLL_WINDOW": "180",
        "CONSOLE_RESUME_INTERVAL": "10",
        "CONSOLE_STALE_CREATED_AFTER": "15",
        "CONSOLE_REVIEW_REQUERY_INTERVAL": "300",
        "CONN_MAX_AGE": "0",
        # As a store runs it (the default): Daphne writes a line per request, the workers one per task and per
        # gateway call. Celery's --loglevel (processes.Context, INFO) sets the workers' level whatever this says.
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.update({name: str(value) for name, value in overrides.items()})
    return env


def set_up_store(*, password: str, devices: list[str], store_name: str = "Bench Store") -> None:
    """Migrate, then one merchant, one store, lanes 1..N (lane n has devices[n-1]) and one cashier on all."""


    call_command("migrate", verbosity=0, interactive=False)
    lanes = [arg for n, device in enumerate(devices, start=1) for arg in ("--lane", f"{n}={device}")]
    call_command("setup_store", "--merchant-id", BENCH_MCH_ID, "--merchant-key", os.environ["TEST_SANDBOX_KEY"],
                 "--job-no", "bench", "--store-name", store_name, *lanes, "--cashier", "bench",
                 f"--password={password}", stdout=io.StringIO())  # "=": a random password may start with "-"


# --- the console's processes ------------------------------------------------------------------------------
class Proc:
    """One child in its own process group, its output in `<logs>/<name>.log`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path, ready: str | None = None) -> None:
        # PGAPPNAME names the process's PostgreSQL connections (pg_stat_activity.application_name).
        self.name, self.argv, self.env, self.ready = name, argv, {**env, "PGAPPNAME": f"bench-{name}"}, ready
        self.log_path = logs / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)

    def is_ready(self) -> bool:
        if self.popen is None or self.popen.poll() is not None:
            code = None if self.popen is None else self.popen.returncode
            raise RuntimeError(f"{self.name} exited with code {code}; see {self.log_path}")
        return self.ready is None or self.ready in self.log_path.read_text(errors="replace")

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def stop(self, timeout: float = 10) -> None:
        """TERM the process group, KILL what is left after `timeout`."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # also reaches children whose leader already exited
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


@dataclass(frozen=True)
class ConsoleConfig:
    merchant: str  # "MCHID=KEY" for the sandbox
    sandbox_port: int
    daphne_port: int
    gateway_concurrency: int = 200
    default_concurrency: int = 8
    think_time: float = 0.2
    interactive_timeout: float = 150.0
    # A second Daphne process that serves only the lanes' websockets (nginx's `location /ws/` sending
    # to its own upstream, docs/running.md): pushes do not queue behind the POSTs' Django work.
    websocket_port: int | None = None
    # Gateway worker processes, each `-c gateway_concurrency`: one process runs Python on one core at a time.
    gateway_processes: int = 1


class Console:
    """Sandbox, `gateway` worker (threads pool), `default` worker, beat and Daphne from store_console.processes,
    sized by the benchmark, every file under `workdir`; optionally more gateway workers and a websocket Daphne."""

    def __init__(self, env: dict[str, str], config: ConsoleConfig, workdir: Path) -> None:
        logs = workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.url = f"http://127.0.0.1:{config.daphne_port}"
        # Where the benchmark opens the lanes' websockets: the websocket-only Daphne when there is one.
        self.websocket_url = f"http://127.0.0.1:{config.websocket_port or config.daphne_port}"
        self.sandbox_url = f"http://127.0.0.1:{config.sandbox_port}"
        self._env, self._logs = env, logs
        self.sandbox_data = workdir / "sandbox.sqlite3"
        # Worker node names carry this process's pid: runs sharing a Redis must not share node names.
        self.context = processes.Context(
            var=workdir, port=config.daphne_port, sandbox_port=config.sandbox_port,
            gateway_concurrency=config.gateway_concurrency, default_concurrency=config.default_concurrency,
            node_tag=f"-bench{os.getpid()}",
        )
        self.procs = {"sandbox": self._sandbox_proc(config.think_time, self.sandbox_data)}
        for spec in processes.selected(embedded_sandbox=False):
            self.procs[spec.name] = self._proc(spec.name, processes.argv(spec.name, self.context))
        for n in range(2, config.gateway_processes + 1):
            self.procs[f"gateway-{n}"] = self._proc("gateway", processes.argv("gateway", self.context, instance=n),
                                                    name=f"gateway-{n}")
        if config.websocket_port:
            websockets = replace(self.context, port=config.websocket_port)
            self.procs["daphne-ws"] = self._proc("daphne", processes.argv("daphne", websockets), name="daphne-ws")

    def _proc(self, process: str, argv: list[str], *, name: str | None = None,
              env: dict[str, str] | None = None) -> Proc:
        """A Proc of one process of the table, under its own name (`name`) if it is a further instance."""
        ready = processes.BY_NAME[process].ready
        return Proc(name or process, argv, self._env if env is None else env, self._logs, ready=ready)

    def _sandbox_proc(self, think_time: float, data: Path) -> Proc:
        config = self.config
        # A late answer (cents .05) and a hung connection (.06) end within a round; an unanswered terminal
        # (.99) waits as long as the benchmark says.
        options = {"think_time": think_time, "interactive_timeout": config.interactive_timeout, "late_delay": 6,
                   "hang_time": 8}
        context = replace(self.context, sandbox_data=data, sandbox_options=options)
        # The merchant key goes by environment, not argv, where `ps` would show it.
        return self._proc("sandbox", processes.argv("sandbox", context),
                          env={**self._env, processes.SANDBOX_MERCHANTS: config.merchant})

    def restart_sandbox(self, *, think_time: float, data: Path, timeout: float = 30) -> None:
        """Another cardholder speed between rounds: the sandbox again, on the same port, with its own file.
        Only while no call is open."""
        self.procs["sandbox"].stop()
        self.sandbox_data = data
        self.procs["sandbox"] = self._sandbox_proc(think_time, data)
        self.procs["sandbox"].start()
        deadline = time.monotonic() + timeout
        while not answers(self.context.health_url("sandbox")):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not restart within {timeout:.0f}s; logs in {self.log_dir}")
            time.sleep(0.1)

    def start(self, timeout: float = 90) -> None:
        for proc in self.procs.values():
            proc.start()
        deadline = time.monotonic() + timeout
        urls = [self.context.health_url("sandbox"), self.context.health_url("daphne"), f"{self.websocket_url}/healthz"]
        while not (all(p.is_ready() for p in self.procs.values()) and all(answers(url) for url in urls)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the console did not start within {timeout:.0f}s; logs in {self.log_dir}")
            time.sleep(0.2)

    @property
    def log_dir(self) -> Path:
        return self._logs

    def status(self, name: str) -> dict[str, int]:
        return process_status(self.procs[name].pid)

    def log_errors(self) -> dict[str, Counter[str]]:
        """ERROR lines of each process's log, counted by message (times and task ids left out)."""
        found: dict[str, Counter[str]] = {}
        for name, proc in self.procs.items():
            with contextlib.suppress(OSError):
                for line in proc.log_path.read_text(errors="replace").splitlines():
                    if " ERROR " in line:
                        message = re.sub(r"^[\d-]+ [\d:,]+ ERROR ", "", line)
                        found.setdefault(name, Counter())[re.sub(r"\[[0-9a-f-]{36}\]", "[…]", message)[:200]] += 1
        return found

    def stop(self) -> None:
        # The web and the workers first, the sandbox last: a call still open ends when the sandbox stops.
        for proc in reversed(list(self.procs.values())):
            proc.stop()


def answers(url: str) -> bool:
    """The URL answers without a server error."""
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False
