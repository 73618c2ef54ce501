"""The IOTPay sandbox alone: it must not be what limits another benchmark's figure.

Starts only the sandbox (`python -m iotpay_sandbox`, as the console benchmarks start it, SQLite data file
in a temporary folder) and talks to it over HTTP with signed requests, from this process:

(a) held open: 1,000 create_order calls (approving amounts) on 1,000 devices, started at once from 1,000
    client threads, each held by the sandbox for the think time (10 s): time until the sandbox counts
    them all open (`/_sandbox/stats`), the time each took beyond the think time, all answered APPROVED,
    the sandbox's peak RSS and threads;
(b) query_order throughput: 16 client threads, each on its own keep-alive connection, for 5 s, against
    the orders of (c): requests per second and latency;
(c) create_order with think time 0 (a second sandbox, `--think-time 0`), one keep-alive client: latency.

Client and sandbox share the machine's cores, so (b)'s figure is a floor for the sandbox.

    .venv/bin/python -m bench.sandbox_alone [--held 1000] [--think-time 10] [--query-seconds 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import figures, harness, measure, sandbox_wire
from bench.figures import Row, summarize
from bench.harness import Proc
from store_console import processes

BENCH = "sandbox_alone"
MCH_ID = "10000576"
APPROVED_AMOUNT = 1250
CONSOLE_POLL_NEED = 500  # query_order/s: 1,000 lanes polled every 2 s (IOTPAY_POLL_INTERVAL)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox_alone", description=__doc__.split("\n\n")[0])
    parser.add_argument("--held", type=int, default=1000, help="create_order calls held open at once (1000)")
    parser.add_argument("--think-time", type=float, default=10.0, help="think time of (a), seconds (10)")
    parser.add_argument("--query-threads", type=int, default=16)
    parser.add_argument("--query-seconds", type=float, default=5.0)
    parser.add_argument("--creates", type=int, default=200, help="create_order calls of (c) (200)")
    parser.add_argument("--rows-json", help="also write the rows to this JSON file (used by run_all.py)")
    parser.add_argument("--keep-logs", action="store_true")
    return parser.parse_args(argv)


class Client:
    """One keep-alive HTTP/1.1 connection to the sandbox, signing each IOTPay request."""

    def __init__(self, port: int, key: str, timeout: float = 60) -> None:
        self.port, self.key, self.timeout = port, key, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, endpoint: str, fields: dict[str, object]) -> dict[str, Any]:
        body = sandbox_wire.iotpay_body({"mchId": MCH_ID, **fields}, self.key)
        self.conn.request("POST", f"/v1/{endpoint}", body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = self.conn.getresponse()
        answer: dict[str, Any] = json.loads(response.read())  # IOTPay answers a JSON object
        return answer

    def get(self, path: str) -> dict[str, Any]:
        self.conn.request("GET", path)
        answer: dict[str, Any] = json.loads(self.conn.getresponse().read())  # the sandbox's stats: a JSON object
        return answer

    def close(self) -> None:
        self.conn.close()


def create_fields(order_no: str, device: str, amount: int = APPROVED_AMOUNT) -> dict[str, object]:
    return {"mchOrderNo": order_no, "channelId": "CC_PAX", "currency": "CAD", "amount": amount,
            "clientIp": "127.0.0.1", "device": device, "notifyUrl": "http://127.0.0.1/notify",
            "subject": "bench", "body": "bench sale", "extra": '{"bench":1}', "jobNo": "bench"}


def approved(answer: dict[str, Any]) -> bool:
    return answer.get("retCode") == "SUCCESS" and answer.get("resCode") == "SUCCESS" and \
        (answer.get("payOrder") or {}).get("status") in (2, "2")


def start_sandbox(workdir: Path, name: str, think_time: float, key: str) -> tuple[Proc, int]:
    """The sandbox as store_console.processes starts it, under `name`, with its own data file."""
    port = harness.free_port()
    context = processes.Context(var=workdir, sandbox_port=port, sandbox_data=workdir / f"{name}.sqlite3",
                                sandbox_options={"think_time": think_time})
    # The merchant key goes by environment, not argv, where `ps` would show it.
    env = {**os.environ, processes.SANDBOX_MERCHANTS: f"{MCH_ID}={key}", "PYTHONUNBUFFERED": "1"}
    proc = Proc(name, processes.argv("sandbox", context), env, workdir, ready=processes.BY_NAME["sandbox"].ready)
    proc.start()
    deadline = time.monotonic() + 30
    while not proc.is_ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start in 30 s; see {proc.log_path}")
        time.sleep(0.1)
    return proc, port


def held_open(port: int, key: str, pid: int, n: int, think: float, notes: list[str]) -> list[float]:
    """(a): n create_order calls at once; returns each call's time beyond the think time."""
    threading.stack_size(256 * 1024)  # this process holds n client threads too
    go = threading.Event()
    extra: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    tag = secrets.token_hex(3)

    def one(i: int) -> None:
        client = Client(port, key, timeout=think + 60)
        try:
            go.wait()
            t0 = time.monotonic()
            answer = client.call("create_order", create_fields(f"A{tag}{i:05d}", f"ALONE-PAX-{i:05d}"))
            elapsed = time.monotonic() - t0
            with lock:
                if approved(answer):
                    extra.append(elapsed - think)
                else:
                    failures.append(str(answer)[:200])
        except Exception as exc:  # counted and reported
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            client.close()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    threading.stack_size(0)
    probe = Client(port, key, timeout=10)
    with measure.RssSampler({"sandbox": pid}) as rss:
        started = time.monotonic()
        go.set()
        peak_open, all_open_at = 0, None
        while any(t.is_alive() for t in threads):
            open_calls = probe.get("/_sandbox/stats")["open_create_calls"]
            peak_open = max(peak_open, open_calls)
            if all_open_at is None and open_calls >= n:
                all_open_at = time.monotonic() - started
            if time.monotonic() - started > think + 120:
                break
            time.sleep(0.05)
        for thread in threads:
            thread.join(1)
        total = time.monotonic() - started
    probe.close()
    mib = 1024**2
    opened = f"all {n} open at the sandbox {all_open_at:.2f} s after the start" if all_open_at is not None \
        else f"NOT all open at once: peak {peak_open} of {n}"
    notes.append(f"(a) {n} create_order calls started at once (think time {think:g} s): {opened}; "
                 f"{len(extra)} answered APPROVED, {len(failures)} failures, all done after {total:.1f} s")
    if failures:
        notes.append(f"(a) first failures: {failures[:3]}")
    notes.append(f"(a) sandbox peak RSS {rss.peak / mib:.0f} MiB, {rss.threads_at_peak.get('sandbox', 0)} threads "
                 f"at that peak ({rss.samples} samples, every 250 ms)")
    if extra:
        notes.append(f"(a) answer - think time: p99 {figures.percentile(extra, 99) * 1000:.0f} ms")
    return extra


def creates(port: int, key: str, n: int, notes: list[str]) -> tuple[list[float], list[str]]:
    """(c): n create_order calls one after another on one keep-alive connection, think time 0."""
    client, latencies, order_nos, failures = Client(port, key), [], [], 0
    tag = secrets.token_hex(3)
    for i in range(n):
        order_no = f"C{tag}{i:05d}"
        t0 = time.monotonic()
        answer = client.call("create_order", create_fields(order_no, f"ZERO-PAX-{i % 50:03d}"))
        latencies.append(time.monotonic() - t0)
        if approved(answer):
            order_nos.append(order_no)
        else:
            failures += 1
    client.close()
    notes.append(f"(c) {n} create_order calls with think time 0, one keep-alive connection: {failures} failures; "
                 f"p50 {figures.percentile(latencies, 50) * 1000:.1f} ms, p99 {figures.percentile(latencies, 99) * 1000:.1f} ms")
    return latencies, order_nos


def queries(port: int, key: str, order_nos: list[str], n_threads: int, seconds: float,
            notes: list[str]) -> list[float]:
    """(b): query_order from n_threads keep-alive clients for `seconds`; returns every latency."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    start = threading.Barrier(n_threads + 1)
    stop_at = [0.0]

    def worker(k: int) -> None:
        client, mine, bad, i = Client(port, key, timeout=10), [], 0, k
        start.wait()
        while time.monotonic() < stop_at[0]:
            t0 = time.monotonic()
            answer = client.call("query_order", {"mchOrderNo": order_nos[i % len(order_nos)]})
            mine.append(time.monotonic() - t0)
            bad += answer.get("resCode") != "SUCCESS"
            i += n_threads
        client.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(n_threads)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + 0.5 + seconds
    start.wait()
    t0 = time.monotonic()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - t0
    rate = len(latencies) / elapsed
    verdict = "enough" if rate >= CONSOLE_POLL_NEED else "NOT enough"
    notes.append(f"(b) query_order: {len(latencies)} requests in {elapsed:.1f} s from {n_threads} keep-alive "
                 f"clients = {rate:.0f} requests/s ({failures[0]} failures); the console polling 1,000 lanes "
                 f"every 2 s needs {CONSOLE_POLL_NEED}/s: {verdict}; p50 {figures.percentile(latencies, 50) * 1000:.1f} ms, "
                 f"p99 {figures.percentile(latencies, 99) * 1000:.1f} ms")
    return latencies


def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv)
    harness.stop_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="bench-sandbox-alone-"))
    machine = measure.machine_summary()
    key = secrets.token_hex(16)
    notes: list[str] = []
    procs: list[Proc] = []
    ok = True
    try:
        held_proc, held_port = start_sandbox(workdir, "sandbox-held", args.think_time, key)
        procs.append(held_proc)
        extra = held_open(held_port, key, held_proc.pid, args.held, args.think_time, notes)
        ok = len(extra) == args.held
        held_proc.stop()
        zero_proc, zero_port = start_sandbox(workdir, "sandbox-zero", 0.0, key)
        procs.append(zero_proc)
        Client(zero_port, key).call("create_order", create_fields("warm" + secrets.token_hex(4), "WARM"))
        create_latencies, order_nos = creates(zero_port, key, args.creates, notes)
        ok = ok and len(order_nos) == args.creates
        query_latencies = queries(zero_port, key, order_nos, args.query_threads, args.query_seconds, notes)
        notes.append(f"sandbox with think time 0 after (b), (c): {measure.process_status(zero_proc.pid)['rss'] / 1024**2:.0f}"
                     f" MiB resident")
    except BaseException:
        print(f"{BENCH}: stopped by an error; logs kept in {workdir}", flush=True)
        raise
    finally:
        for proc in procs:
            proc.stop()
    rows = [
        summarize(BENCH, f"(a) create_order held open: answer - think time ({args.held} at once, "
                         f"{args.think_time:g} s)", extra or [float("nan")]),
        summarize(BENCH, "(c) create_order, think time 0, keep-alive", create_latencies),
        summarize(BENCH, f"(b) query_order, {args.query_threads} keep-alive clients", query_latencies),
    ]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{BENCH}: the IOTPay sandbox alone (python -m iotpay_sandbox, SQLite file data), clients in this process")
    print(f"machine: {machine}, {load} at the end")
    for note in notes:
        print(f"- {note}")
    return figures.finish(rows, rows_json=args.rows_json, workdir=workdir, ok=ok, keep_logs=args.keep_logs)


if __name__ == "__main__":
    main(sys.argv[1:])
