"""The real processes the integration tests run against: sandbox, Celery workers, beat, Daphne, as
store_console.processes declares them."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from store_console import processes

ROOT = Path(__file__).resolve().parent.parent

# How each console process starts, as statements for a fresh interpreter: its start-up as Daphne or Celery runs it
# (for the workers' app, Celery's Django fix-up sets the apps up and imports every app's tasks; beat's own app
# sets none up), then what it does once ready (Daphne's application is imported; the workers and beat send their
# signal). tests/unit/test_process_memory.py and tests/app/test_gc_tuning.py read them.
START_UP = {
    "daphne": ("import django; django.setup()", "import store_console.asgi"),
    "worker": ("import store_console.celery as started; started.app.loader.import_default_modules()",
               "from celery.signals import worker_ready; worker_ready.send(sender=None)"),
    "beat": ("import store_console.beat as started; started.app.loader.init_worker(); started.app.finalize()",
             "from celery.signals import beat_init; beat_init.send(sender=None)"),
}
ARTIFACTS = ROOT / "test-artifacts"
# Logs and process state of this test run only: several runs may share a machine.
RUN_DIR = ARTIFACTS / "runs" / str(os.getpid())


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    ready: str | None = None  # text in the log that says it is ready
    popen: subprocess.Popen | None = None
    log_path: Path = field(default_factory=Path)

    def start(self) -> None:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = RUN_DIR / f"{self.name}.log"
        log = self.log_path.open("ab")
        log.write(f"\n--- start {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
        log.flush()
        self.offset = self.log_path.stat().st_size
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log_path}")
            if self.ready is None or self.ready in self.log_path.read_bytes()[self.offset:].decode(errors="replace"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout}s; see {self.log_path}")

    def signal(self, sig: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 10) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(5)

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash or an OOM kill would."""
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(10)


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


# Short enough for a test to wait out: a late answer, a hung connection, an unanswered terminal, an outage.
SANDBOX_TIMINGS = {"think_time": 0.3, "late_delay": 6, "hang_time": 8, "interactive_timeout": 20, "outage_time": 2}
GATEWAY_CONCURRENCY = 60  # more calls than the tests ever hold open at once


class Console:
    """The console's processes (store_console.processes, sandbox included), started once per test session,
    restartable one by one. Their files are this run's (RUN_DIR); worker node names carry the pid."""

    def __init__(self, env: dict[str, str], *, sandbox_port: int, daphne_port: int, merchant: str) -> None:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        sandbox_data = RUN_DIR / "sandbox.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sandbox_data}{suffix}").unlink(missing_ok=True)
        context = processes.Context(
            var=RUN_DIR, port=daphne_port, sandbox_port=sandbox_port, gateway_concurrency=GATEWAY_CONCURRENCY,
            node_tag=f"-{os.getpid()}", sandbox_data=sandbox_data, sandbox_options=SANDBOX_TIMINGS,
        )
        # Every process's metrics in one /metrics, as make run and a deployment have them.
        env = {**env, processes.METRICS_DIR: str(processes.fresh_directory(RUN_DIR / "prometheus"))}
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        self.url = f"http://127.0.0.1:{daphne_port}"
        self._health = [context.health_url("sandbox"), context.health_url("daphne")]
        # The sandbox first, so that it stops last: a call still open ends when the sandbox stops.
        table = sorted(processes.selected(embedded_sandbox=True), key=lambda p: p.when != processes.EMBEDDED_SANDBOX)
        self.procs = {p.name: Proc(p.name, processes.argv(p.name, context), self._env(p, env, merchant), ready=p.ready)
                      for p in table}

    @staticmethod
    def _env(process: processes.Process, env: dict[str, str], merchant: str) -> dict[str, str]:
        """The merchant's key goes to the sandbox by environment: argv shows in `ps`."""
        if processes.SANDBOX_MERCHANTS in process.environment:
            return {**env, processes.SANDBOX_MERCHANTS: merchant}
        return env

    def start(self) -> None:
        for proc in self.procs.values():
            proc.start()
        for url in self._health:
            wait_http(url)
        for proc in self.procs.values():
            proc.wait_ready()

    def restart(self, name: str) -> None:
        proc = self.procs[name]
        proc.stop()
        proc.start()
        proc.wait_ready()

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
