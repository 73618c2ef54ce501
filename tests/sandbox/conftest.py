"""A real sandbox subprocess and a small IOTPay client of the test's own (signing written out here)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
MCH_ID = "10000576"
KEY = "TESTKEY123"
SAMPLE_EXTRA = '{"pos_flag":"yes","productId":"10000576_null"}'


def md5_sign(fields: dict, key: str) -> str:
    """IOTPay's rule, written independently of the sandbox: drop sign and empties, case-insensitive sort."""
    kept = sorted(((k, str(v)) for k, v in fields.items() if k != "sign" and v not in (None, "")),
                  key=lambda kv: kv[0].lower())
    text = "&".join(f"{k}={v}" for k, v in kept) + f"&key={key}"
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()  # noqa: S324 - the protocol uses MD5


def response_sign_ok(payload: dict, key: str = KEY, *, nested: str = "compact") -> bool:
    """The gateway signs an answer over all its fields, a nested object as its JSON text: compact with keys
    in the order sent by default, sorted keys for one scenario."""
    separators = (", ", ": ") if nested == "spaced" else (",", ":")
    fields = {k: json.dumps(v, separators=separators, ensure_ascii=False, sort_keys=nested == "sorted")
              if isinstance(v, dict | list) else v for k, v in payload.items()}
    return payload.get("sign") == md5_sign(fields, key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxProcess:
    def __init__(self, data: Path, logs: Path, *options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = logs / f"sandbox-{self.port}.out"
        self.stderr_path = logs / f"sandbox-{self.port}.err"
        args = [sys.executable, "-m", "iotpay_sandbox", "--port", str(self.port), "--merchant", f"{MCH_ID}={KEY}",
                "--think-time", "0.2", "--late-delay", "3", "--hang-time", "3", "--interactive-timeout", "10",
                "--outage-time", "2", *options,
                "--data", str(data)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(f"{self.url}/_sandbox/health", timeout=1).json() == {"ok": True}:
                    break
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sandbox did not start: {self.stderr_path.read_text()}")
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


class Client:
    """Just enough IOTPay client for the tests, talking real HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def post(self, endpoint: str, fields: dict, *, timeout: float = 10, sign: bool = True) -> requests.Response:
        fields = dict(fields)
        if sign:
            fields["sign"] = md5_sign(fields, KEY)
        return self.http.post(f"{self.url}/v1/{endpoint}", data={"params": json.dumps(fields)}, timeout=timeout)

    @staticmethod
    def order_fields(amount: int, device: str, order_no: str | None = None, **more: str) -> dict:
        fields = {
            "mchId": MCH_ID, "mchOrderNo": order_no or new_id(), "channelId": "CC_PAX", "currency": "CAD",
            "amount": str(amount), "clientIp": "192.168.50.186", "device": device, "notifyUrl": "http://localhost",
            "subject": "IOTPay", "body": "IOTPay", "extra": SAMPLE_EXTRA, "jobNo": "testpax",
            "source": "pos_2.1.54", "tip": "0",
        }
        fields.update(more)
        return fields

    def create(self, amount: int, device: str, order_no: str | None = None, *, timeout: float = 10,
               **more: str) -> requests.Response:
        return self.post("create_order", self.order_fields(amount, device, order_no, **more), timeout=timeout)

    def query(self, **ids: str) -> dict:
        return self.post("query_order", {"mchId": MCH_ID, **ids}).json()

    def refund(self, pay_order_id: str, amount: int, refund_no: str) -> dict:
        return self.post("refund_order", {
            "mchId": MCH_ID, "mchRefundNo": refund_no, "payOrderId": pay_order_id, "refundAmount": str(amount),
            "currency": "CAD", "clientIp": "192.168.50.186", "loginName": "testpax",
        }).json()

    def inspect(self, order_no: str) -> requests.Response:
        return self.http.get(f"{self.url}/_sandbox/orders/{MCH_ID}/{order_no}", timeout=5)

    def terminal_state(self, device: str) -> dict:
        return self.http.get(f"{self.url}/terminals/{requests.utils.quote(device, safe='')}/state", timeout=5).json()


def new_id() -> str:
    return uuid.uuid4().hex[:20]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("sandbox")
    proc = SandboxProcess(tmp / "sb.sqlite3", tmp)
    yield proc
    proc.stop()


@pytest.fixture
def client(sandbox: SandboxProcess) -> Client:
    return Client(sandbox.url)


@pytest.fixture
def device() -> str:
    """A terminal of the test's own, so tests never make each other's terminal busy."""
    return f"PAX-{uuid.uuid4().hex[:8]}"
