"""What every benchmark needs: a throw-away database and Redis database, the console's real processes,
a logged-in session and lane websockets that time-stamp what they receive (the figures: figures.py).

Benchmarks run on PostgreSQL and Redis only (never the embedded SQLite default):

- `BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/bench_console`) is DROPPED and
  re-created by each run, so its database name must start with `bench`;
- `BENCH_REDIS_URL` (default `redis://127.0.0.1:6379/7`) is FLUSHED by each run: give it a Redis
  database of its own.

The console's own DATABASE_URL / REDIS_URL are never read here, so a developer's settings are safe.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_console"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL


@contextlib.contextmanager
def no_collector_pauses() -> Iterator[None]:
    """No full garbage collection in this process while it reads the clocks of a round.

    The benchmark's own process (Django loaded, hundreds of websocket threads) stopped for up to 100 ms
    in a full collection, and every message read meanwhile was stamped that much late. Collect before,
    not during (as timeit does); reference counting still frees what it can.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
    import secrets
    import tempfile

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
        return sock.getsockname()[1]


def stop_on_sigterm() -> None:
    """A SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop every process the bench started."""

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, raise_interrupt)


# --- the machine --------------------------------------------------------------------------------------
def _meminfo() -> dict[str, int]:
    fields = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            name, _, rest = line.partition(":")
            fields[name] = int(rest.split()[0]) * 1024
    return fields


def machine_summary() -> str:
    mem = _meminfo()
    gib = 1024**3
    memory = (f"{mem['MemTotal'] / gib:.1f} GiB memory ({mem.get('MemAvailable', 0) / gib:.1f} GiB available)"
              if "MemTotal" in mem else "memory unknown")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores (os.cpu_count()), {memory}, Python {sys.version.split()[0]}; "
            f"load average {load} at the start")


def process_status(pid: int) -> dict[str, int]:
    """Resident memory (bytes) and thread count of one process, from /proc."""
    out = {"rss": 0, "threads": 0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
    return out


# --- PostgreSQL and Redis -------------------------------------------------------------------------
def _pg_connect(url: str, *, dbname: str | None = None) -> Any:
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        dbname=dbname or parts.path.lstrip("/"), autocommit=True, connect_timeout=10,
    )


def reset_database(url: str) -> str:
    """Drop and re-create the benchmark's database; returns the server's version."""
    from psycopg import sql

    name = unquote(urlsplit(url).path.lstrip("/"))
    if not name.startswith("bench"):
        raise SystemExit(f"refusing to drop database {name!r}: a benchmark database's name must start with 'bench' "
                         f"(set BENCH_DATABASE_URL)")
    with _pg_connect(url, dbname="postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return conn.execute("SHOW server_version").fetchone()[0]


def database_connections(url: str) -> int:
    """Connections open to the benchmark's database right now (seen from the maintenance database)."""
    name = unquote(urlsplit(url).path.lstrip("/"))
    with _pg_connect(url, dbname="postgres") as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0]


def database_setting(url: str, name: str) -> str:
    with _pg_connect(url, dbname="postgres") as conn:
        return conn.execute("SELECT setting FROM pg_settings WHERE name = %s", [name]).fetchone()[0]


class ConnectionSampler:
    """Counts the connections to the benchmark's database every `every` seconds, in a thread, and keeps
    the peak, overall and per process (the console's processes name themselves with PGAPPNAME, see
    Console). Its own connection goes to the maintenance database (it still counts in max_connections)."""

    def __init__(self, url: str, every: float = 0.02) -> None:
        self.url, self.every, self.peak = url, every, 0
        self.peak_by_process: Counter[str] = Counter()  # each process's own peak
        self.at_peak: Counter[str] = Counter()  # who held the connections at the overall peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def _run(self) -> None:
        name = unquote(urlsplit(self.url).path.lstrip("/"))
        with _pg_connect(self.url, dbname="postgres") as conn:
            while not self._stop.is_set():
                rows = conn.execute("SELECT coalesce(nullif(application_name, ''), '?'), count(*) "
                                    "FROM pg_stat_activity WHERE datname = %s GROUP BY 1", [name]).fetchall()
                now = Counter({app: n for app, n in rows})
                if now.total() > self.peak:
                    self.peak, self.at_peak = now.total(), now
                for app, n in now.items():
                    self.peak_by_process[app] = max(self.peak_by_process[app], n)
                self._stop.wait(self.every)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def flush_redis(url: str) -> str:
    """Empty the benchmark's Redis database (queued tasks of an earlier run included); returns the version."""
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    version = client.info("server").get("redis_version", "?")
    client.close()
    return version


def setup_django(env: dict[str, str]) -> None:
    """Load Django in this process with the same environment the console's processes get."""
    os.environ.update(env)
    os.environ["PGAPPNAME"] = "bench-benchmark"  # its own connections, apart from the console's (see Proc)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- the console's processes ---------------------------------------------------------------------------
class Proc:
    """One child in its own process group, its output in `<logs>/<name>.log`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path, ready: str | None = None):
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
    """Sandbox, `gateway` worker (threads pool), `default` worker, beat and Daphne, as tests/processes.py
    starts them, but with the gateway pool sized by the benchmark and every file under `workdir`."""

    def __init__(self, env: dict[str, str], config: ConsoleConfig, workdir: Path) -> None:
        py = sys.executable
        celery = [py, "-m", "celery", "-A", "store_console"]
        common = ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        tag = f"bench{os.getpid()}"
        logs = workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.url = f"http://127.0.0.1:{config.daphne_port}"
        # Where the benchmark opens the lanes' websockets: the websocket-only Daphne when there is one.
        self.websocket_url = f"http://127.0.0.1:{config.websocket_port or config.daphne_port}"
        self.sandbox_url = f"http://127.0.0.1:{config.sandbox_port}"
        self._env, self._logs = env, logs
        self.sandbox_data = workdir / "sandbox.sqlite3"
        self.procs = {
            "sandbox": self._sandbox_proc(config.think_time, self.sandbox_data),
            "gateway": Proc("gateway", [*celery, "worker", "-Q", "gateway", "-P", "threads",
                                        "-c", str(config.gateway_concurrency), "-n", f"gateway-{tag}@%h", *common],
                            env, logs, ready="ready."),
            "default": Proc("default", [*celery, "worker", "-Q", "default", "-P", "threads",
                                        "-c", str(config.default_concurrency), "-n", f"default-{tag}@%h", *common],
                            env, logs, ready="ready."),
            "beat": Proc("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule",
                                  str(workdir / "celerybeat-schedule")], env, logs, ready="beat: Starting"),
            "daphne": Proc("daphne", [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(config.daphne_port),
                                      "store_console.asgi:application"], env, logs),
        }
        for n in range(2, config.gateway_processes + 1):
            self.procs[f"gateway-{n}"] = Proc(f"gateway-{n}", [
                *celery, "worker", "-Q", "gateway", "-P", "threads", "-c", str(config.gateway_concurrency),
                "-n", f"gateway{n}-{tag}@%h", *common], env, logs, ready="ready.")
        if config.websocket_port:
            self.procs["daphne-ws"] = Proc("daphne-ws", [
                py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(config.websocket_port),
                "store_console.asgi:application"], env, logs)

    def _sandbox_proc(self, think_time: float, data: Path) -> Proc:
        config = self.config
        # The merchant key goes by environment, not argv, where `ps` would show it.
        return Proc("sandbox", [
            sys.executable, "-m", "iotpay_sandbox", "--host", "127.0.0.1", "--port", str(config.sandbox_port),
            "--think-time", str(think_time), "--interactive-timeout", str(config.interactive_timeout),
            "--late-delay", "6", "--hang-time", "8", "--data", str(data)],
            {**self._env, "IOTPAY_SANDBOX_MERCHANTS": config.merchant}, self._logs)

    def restart_sandbox(self, *, think_time: float, data: Path, timeout: float = 30) -> None:
        """Another cardholder speed between rounds: the sandbox again, on the same port, with its own file.
        Only while no call is open."""
        self.procs["sandbox"].stop()
        self.sandbox_data = data
        self.procs["sandbox"] = self._sandbox_proc(think_time, data)
        self.procs["sandbox"].start()
        deadline = time.monotonic() + timeout
        while not _answers(f"{self.sandbox_url}/_sandbox/health"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not restart within {timeout:.0f}s; logs in {self.log_dir}")
            time.sleep(0.1)

    def start(self, timeout: float = 90) -> None:
        for proc in self.procs.values():
            proc.start()
        deadline = time.monotonic() + timeout
        checks: list[Callable[[], bool]] = [
            lambda: _answers(f"{self.sandbox_url}/_sandbox/health"),
            lambda: _answers(f"{self.url}/healthz"),
            lambda: _answers(f"{self.websocket_url}/healthz"),
        ]
        while not (all(p.is_ready() for p in self.procs.values()) and all(check() for check in checks)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the console did not start within {timeout:.0f}s; logs in {self.log_dir}")
            time.sleep(0.2)

    @property
    def log_dir(self) -> Path:
        return self.procs["sandbox"].log_path.parent

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


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


def login(base_url: str, username: str, password: str) -> requests.Session:
    """A session logged in through the real login page, ready for the JSON API (CSRF header set)."""
    session = requests.Session()
    session.trust_env = False  # 127.0.0.1 only: never through a proxy from the environment
    session.get(f"{base_url}/accounts/login/", timeout=10)
    response = session.post(
        f"{base_url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base_url}/accounts/login/"}, timeout=10, allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"login as {username} failed: HTTP {response.status_code}")
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = f"{base_url}/"
    return session


# --- lane websockets ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    wall: float  # time.time() when read: comparable with timestamps other processes of this machine wrote
    mono: float  # time.monotonic() when read: for intervals measured in this process
    message: dict[str, Any]

    @property
    def attempt(self) -> dict[str, Any]:
        return self.message.get("attempt") or {}

    def written_at(self) -> float:
        """The attempt row's `updated_at` as committed with this change (the snapshot carries it)."""
        return datetime.fromisoformat(self.attempt["updated_at"]).timestamp()


class LaneWatcher:
    """A lane's websocket as its checkout page holds it; every message is kept with the time it was read."""

    def __init__(self, base_url: str, code: str, session: requests.Session) -> None:
        from websockets.sync.client import connect

        self.code = code
        self.received: list[Received] = []
        self.closed = False
        self.closing = False  # set when the bench itself closes it: any other close came from the server
        self._cond = threading.Condition()
        self.ws = connect(
            base_url.replace("http://", "ws://", 1) + f"/ws/lanes/{code}/",
            additional_headers={"Cookie": f"sessionid={session.cookies['sessionid']}"},
            origin=base_url, open_timeout=15, proxy=None,
        )
        self._thread = threading.Thread(target=self._read, name=f"ws-{code}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for raw in self.ws:
                item = Received(time.time(), time.monotonic(), json.loads(raw))
                with self._cond:
                    self.received.append(item)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def changes(self, attempt_id: int) -> list[Received]:
        """Pushes of `attempt` messages about one attempt (the snapshot sent on connect is left out)."""
        with self._cond:
            return [r for r in self.received if r.message.get("type") == "attempt" and r.attempt.get("id") == attempt_id]

    def wait_status(self, attempt_id: int, statuses: set[str], timeout: float) -> Received:
        """The first push of the attempt in one of `statuses`."""

        def found() -> Received | None:
            return next((r for r in self.received if r.message.get("type") == "attempt"
                         and r.attempt.get("id") == attempt_id and r.attempt.get("status") in statuses), None)

        with self._cond:
            self._cond.wait_for(lambda: found() is not None or self.closed, timeout)
            item = found()
        if item is None:
            seen = [r.attempt.get("status") for r in self.changes(attempt_id)]
            raise TimeoutError(f"lane {self.code}: attempt {attempt_id} not {sorted(statuses)} on the websocket "
                               f"within {timeout:.0f}s (pushed so far: {seen}; closed: {self.closed})")
        return item

    @property
    def closed_by_server(self) -> str | None:
        """How the server closed this websocket (None while open or when the bench closed it)."""
        if not self.closed or self.closing:
            return None
        return f"code {self.ws.close_code} {self.ws.close_reason or ''}".strip()

    def close(self) -> None:
        self.closing = True
        with contextlib.suppress(Exception):
            self.ws.close()
        self._thread.join(5)


# --- memory of a set of processes, and the sandbox's wire protocol ---------------------------------------
class RssSampler:
    """Sums the resident memory (RSS) of some processes and all their children every `every` seconds, in a
    thread (psutil), and keeps the peak of the sum, each process tree's own peak, and the threads at the peak.
    A process tree is given by its root pid; children (e.g. a prefork pool, a reloader) are found each time."""

    def __init__(self, pids: dict[str, int], every: float = 0.25) -> None:
        self.pids, self.every = pids, every
        self.peak = 0  # bytes, sum over every tree
        self.peak_by_tree: Counter[str] = Counter()  # bytes, each tree's own peak
        self.at_peak: dict[str, int] = {}  # bytes per tree at the moment of the overall peak
        self.threads_at_peak: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    @staticmethod
    def tree(pid: int) -> tuple[int, int]:
        """(RSS bytes, threads) of one process and all its descendants; (0, 0) once it is gone."""
        import psutil

        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0, 0
        rss = threads = 0
        for proc in procs:
            with contextlib.suppress(psutil.Error), proc.oneshot():
                rss += proc.memory_info().rss
                threads += proc.num_threads()
        return rss, threads

    def sample(self) -> None:
        now = {name: self.tree(pid) for name, pid in self.pids.items()}
        total = sum(rss for rss, _ in now.values())
        self.samples += 1
        if total > self.peak:
            self.peak = total
            self.at_peak = {name: rss for name, (rss, _) in now.items()}
            self.threads_at_peak = {name: threads for name, (_, threads) in now.items()}
        for name, (rss, _) in now.items():
            self.peak_by_tree[name] = max(self.peak_by_tree[name], rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def iotpay_body(fields: dict[str, Any], key: str) -> bytes:
    """A signed IOTPay request body (`params=<JSON>`, form-encoded), signed with the sandbox's own signing
    code (the bench talks to the sandbox without the console's client)."""
    from urllib.parse import urlencode

    from iotpay_sandbox.signing import sign

    signed = {**fields, "sign": sign(fields, key)}
    return urlencode({"params": json.dumps(signed, separators=(",", ":"))}).encode()


# --- helpers shared by push_latency.py and overhead_recovery.py ------------------------------------------
def open_lane_watchers(base_url: str, codes: list[str], session: requests.Session,
                       workers: int = 16) -> dict[str, LaneWatcher]:
    """Open many lanes' websockets at once (a few at a time: Daphne authenticates each on connect)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        watchers = list(pool.map(lambda code: LaneWatcher(base_url, code, session), codes))
    return dict(zip(codes, watchers, strict=True))


def post_payment(session: requests.Session, base_url: str, code: str, amount: int) -> dict[str, Any]:
    """POST a payment on a lane as its checkout page does; returns the attempt (201 answer)."""
    import uuid

    response = session.post(f"{base_url}/api/lanes/{code}/payments", json={"amount": amount},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"lane {code}: POST payment answered {response.status_code}: {response.text[:300]}")
    return response.json()


def sandbox_request(port: int, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, Any]:
    """One request to the sandbox on a fresh connection: its keep-alive answers lag ~40 ms (headers and body
    leave in two writes, the second held by Nagle until the client's delayed ACK), which would blur a 10 ms
    probe."""
    import http.client
    from urllib.parse import urlencode

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = urlencode(form) if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def sandbox_order_times(data_path: Path, gateway_account: str) -> dict[str, dict[str, float | None]]:
    """receivedAt / paidAt / answeredAt (epoch seconds) of every order of a merchant, by mchOrderNo, read
    from the sandbox's data file (`Console` keeps it at `<workdir>/sandbox.sqlite3`)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from iotpay_sandbox.store import read_order_times

    return read_order_times(str(data_path), gateway_account)


def attempt_rows(attempt_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The attempts as committed (status, updated_at, finalized_at, answered_at, order_reference), by id;
    needs setup_django() first. Closes its connection afterwards."""
    from django.db import connection

    from payments.models import PaymentAttempt

    rows = {row["pk"]: row for row in PaymentAttempt.objects.filter(pk__in=attempt_ids).values(
        "pk", "status", "updated_at", "finalized_at", "answered_at", "order_reference")}
    connection.close()
    return rows


# --- helpers of backoffice_scale.py -----------------------------------------------------------------------
def drop_database(url: str) -> None:
    """Drop the benchmark's database when done (frees its disk); same name rule as reset_database."""
    from psycopg import sql

    name = unquote(urlsplit(url).path.lstrip("/"))
    if not name.startswith("bench"):
        raise SystemExit(f"refusing to drop database {name!r}: its name must start with 'bench'")
    with _pg_connect(url, dbname="postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_size(url: str) -> int:
    """Bytes on disk of the benchmark's database."""
    name = unquote(urlsplit(url).path.lstrip("/"))
    with _pg_connect(url, dbname="postgres") as conn:
        return conn.execute("SELECT pg_database_size(%s)", [name]).fetchone()[0]


@dataclass(frozen=True)
class Download:
    status: int
    first_byte: float  # seconds from sending the request to the first body bytes read
    total: float  # seconds from sending the request to the last byte read
    size: int  # bytes of the body
    lines: int  # newline characters in the body


def timed_download(session: requests.Session, url: str, chunk: int = 65536, timeout: float = 120) -> Download:
    """GET `url` streaming (as a browser downloads), reading and counting the body as it arrives."""
    started = time.monotonic()
    first = None
    size = lines = 0
    with session.get(url, stream=True, timeout=timeout) as response:
        for part in response.iter_content(chunk):
            if first is None:
                first = time.monotonic() - started
            size += len(part)
            lines += part.count(b"\n")
        total = time.monotonic() - started
    return Download(response.status_code, first if first is not None else total, total, size, lines)


def cpu_seconds_by_process(pids: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system, seconds) each process has used so far, its own threads and its reaped
    children included; 0 for a process that is gone. Differences over a run give the CPU it cost."""
    import psutil

    out = {}
    for name, pid in pids.items():
        try:
            t = psutil.Process(pid).cpu_times()
            out[name] = t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            out[name] = 0.0
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time one process has used so far (from /proc/<pid>/stat), in seconds."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


# --- the console's environment and store, shared by the benchmarks that run payments ------------------------
BENCH_MCH_ID = "10000576"


def console_env(sandbox_port: int, workdir: Path, **overrides: object) -> dict[str, str]:
    """The environment of every console process of a benchmark: production timings unless overridden.

    tests.settings only sets defaults, so what is given here wins, in this process and every child.
    """
    import secrets

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url(),
        "CONSOLE_VAR_DIR": str(workdir / "var"),
        "SECRET_KEY": secrets.token_urlsafe(40),
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
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.update({name: str(value) for name, value in overrides.items()})
    return env


def set_up_store(*, password: str, devices: list[str], store_name: str = "Bench Store") -> None:
    """Migrate, then one merchant, one store, lanes 1..N (lane n has devices[n-1]) and one cashier on all."""
    import io

    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    lanes = [arg for n, device in enumerate(devices, start=1) for arg in ("--lane", f"{n}={device}")]
    call_command("setup_store", "--merchant-id", BENCH_MCH_ID, "--merchant-key", os.environ["TEST_SANDBOX_KEY"],
                 "--job-no", "bench", "--store-name", store_name, *lanes, "--cashier", "bench",
                 f"--password={password}", stdout=io.StringIO())  # "=": a random password may start with "-"
