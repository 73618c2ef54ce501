"""The skeleton's processes (bench/floor) started for bench.architecture_floor, and its lanes paid through them:
the websockets read by a thread each, a sale POSTed and its push waited for. Runs in the benchmark's process, never
in the skeleton's (which load nothing of the console)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
from websockets.sync.client import ClientConnection, connect

from bench.harness import Proc


@dataclass
class Lanes:
    """The lanes' websockets, each read by a thread; a push sets its sale's event."""

    url: str
    codes: list[str]
    waiting: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sockets: list[ClientConnection] = field(default_factory=list)

    def open(self) -> None:
        for code in self.codes:
            socket = connect(f"{self.url}/ws/{code}", open_timeout=10)
            self.sockets.append(socket)
            threading.Thread(target=self._read, args=(socket,), daemon=True).start()

    def _read(self, socket: ClientConnection) -> None:
        with contextlib.suppress(Exception):  # closed at the end
            for message in socket:
                ref = json.loads(message)["ref"]
                with self.lock:
                    event = self.waiting.pop(ref, None)
                if event is not None:
                    event.set()

    def expect(self, ref: str) -> threading.Event:
        event = threading.Event()
        with self.lock:
            self.waiting[ref] = event
        return event

    def close(self) -> None:
        for socket in self.sockets:
            with contextlib.suppress(Exception):
                socket.close()


def floor_payment(lanes: Lanes, base_url: str) -> Callable[[str], None]:
    local = threading.local()

    def one(code: str) -> None:
        session: requests.Session | None = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.trust_env = False
        ref = uuid.uuid4().hex
        pushed = lanes.expect(ref)
        response = session.post(f"{base_url}/pay/{code}", json={"ref": ref, "amount": 1000}, timeout=30)
        if response.status_code != 201 or not pushed.wait(30):
            raise RuntimeError(f"HTTP {response.status_code}, pushed {pushed.is_set()}")

    return one


def wait_until_answers(url: str, procs: list[Proc], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for proc in procs:
            proc.is_ready()  # raises if it exited
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 405:  # the Pay view, asked with GET
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")
        time.sleep(0.2)


@contextlib.contextmanager
def floor_processes(variant: str, env: dict[str, str], logs: Path, ports: dict[str, int],
                    worker_concurrency: int) -> Iterator[dict[str, Proc]]:
    python = sys.executable
    env = {**env, "FLOOR_WRITES": "1" if variant == "writes" else "0",
           "FLOOR_PLAIN_HTTP": "1" if variant == "bare-asgi" else "0"}
    procs = {
        name: Proc(f"{variant}-{name}", [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(ports[name]),
                                         "bench.floor.asgi:application"], env, logs)
        for name in ("daphne", "daphne-ws")
    }
    procs["gateway"] = Proc(f"{variant}-gateway", [
        python, "-m", "celery", "-A", "bench.floor.celery", "worker", "-Q", "floor", "-P", "threads",
        "-c", str(worker_concurrency), "-n", f"floor{os.getpid()}@%h", "--without-gossip", "--without-mingle",
        "--loglevel", "WARNING"], env, logs)
    try:
        for proc in procs.values():
            proc.start()
        for name in ("daphne", "daphne-ws"):
            wait_until_answers(f"http://127.0.0.1:{ports[name]}/pay/0", list(procs.values()))
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()
