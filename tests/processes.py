"""The real processes the integration tests run against: sandbox, Celery workers, beat, Daphne."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
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


class Console:
    """The console's processes, started once per test session, restartable one by one."""

    def __init__(self, env: dict[str, str], *, sandbox_port: int, daphne_port: int, merchant: str) -> None:
        py = sys.executable
        celery = [py, "-m", "celery", "-A", "store_console"]
        common = ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        self.url = f"http://127.0.0.1:{daphne_port}"
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        sandbox_data = RUN_DIR / "sandbox.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sandbox_data}{suffix}").unlink(missing_ok=True)
        self.procs = {
            "sandbox": Proc("sandbox", [py, "-m", "iotpay_sandbox", "--host", "127.0.0.1", "--port",
                                        str(sandbox_port), "--think-time", "0.3",
                                        "--late-delay", "6", "--hang-time", "8", "--interactive-timeout", "20", "--outage-time", "2",
                                        "--data", str(sandbox_data)],
                            {**env, "IOTPAY_SANDBOX_MERCHANTS": merchant}),
            "gateway": Proc("gateway", [*celery, "worker", "-Q", "gateway", "-P", "threads", "-c", "60",
                                        "-n", f"gateway-{os.getpid()}@%h", *common], env, ready="ready."),
            "default": Proc("default", [*celery, "worker", "-Q", "default", "-P", "threads", "-c", "8",
                                        "-n", f"default-{os.getpid()}@%h", *common], env, ready="ready."),
            "beat": Proc("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule",
                                  str(RUN_DIR / "celerybeat-schedule")], env, ready="beat: Starting"),
            "daphne": Proc("daphne", [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(daphne_port),
                                      "store_console.asgi:application"], env),
        }

    def start(self) -> None:
        for proc in self.procs.values():
            proc.start()
        wait_http(f"{self.sandbox_url}/_sandbox/health")
        wait_http(f"{self.url}/healthz")
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
