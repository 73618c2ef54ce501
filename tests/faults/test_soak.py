"""Soak: hundreds of payments over many lanes while faults are injected at random (seeded, replayable with
SOAK_SEED), then the invariants against the sandbox's own records. Prints one summary line."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid

import pytest
from django.db import connection

from payments.models import PaymentAttempt
from tests.conftest import login_session
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier
from tests.faults.invariants import check, summary_differences
from tests.processes import ARTIFACTS

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SEED = int(os.environ.get("SOAK_SEED", "20261127"))
PAYMENTS = int(os.environ.get("SOAK_PAYMENTS", "200"))
LANES = int(os.environ.get("SOAK_LANES", "20"))
# Cents → the sandbox's outcome (iotpay_sandbox/README.md), weighted like a bad day at the gateway.
OUTCOMES = [(50, 44), (1, 10), (2, 8), (3, 4), (5, 7), (7, 7), (8, 4), (9, 3), (10, 3), (11, 2), (6, 2),
            # answers shaped like the real gateway's: sorted-key signing, FAIL 0010 on a paid order, dirty card
            # text, an unverifiable answer, a real refusal, a bare 4xx on a paid order
            (12, 2), (13, 2), (16, 1), (17, 2), (20, 1), (21, 1)]
WAITING = {"CREATED", "SENT", "UNKNOWN"}


def _wait_final(attempt_id: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = "?"
    while time.monotonic() < deadline:
        status = PaymentAttempt.objects.filter(pk=attempt_id).values_list("status", flat=True).first()
        if status not in WAITING:
            return status
        time.sleep(0.2)
    return status


def test_soak_with_random_faults(live, embedded_redis, capsys):
    rng = random.Random(SEED)
    store = StoreFactory()
    lanes = [TerminalFactory(lane=LaneFactory(store=store)).lane for _ in range(LANES)]
    cashier = UserFactory()
    for lane in lanes:
        assign_cashier(lane, cashier)
    plan = {lane.code: [] for lane in lanes}
    cents, weights = zip(*OUTCOMES, strict=True)
    for n in range(PAYMENTS):
        lane = lanes[n % LANES]
        plan[lane.code].append(rng.randint(1, 80) * 100 + rng.choices(cents, weights)[0])
    created: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run_lane(lane_code: str, amounts: list[int]) -> None:
        session = login_session(live.url, cashier.username)
        try:
            for amount in amounts:
                for _ in range(100):  # a busy answer (409) while an earlier attempt still resolves: retry
                    response = session.post(f"{live.url}/api/lanes/{lane_code}/payments", json={"amount": amount},
                                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=15)
                    if response.status_code != 409:
                        break
                    time.sleep(0.5)
                if response.status_code != 201:
                    with lock:
                        errors.append(f"{lane_code} {amount}: {response.status_code} {response.text[:200]}")
                    continue
                attempt_id = response.json()["id"]
                with lock:
                    created.append(attempt_id)
                _wait_final(attempt_id, timeout=90)
        finally:
            connection.close()

    faults: list[str] = []
    summary_after_faults: list[str] = []
    stop = threading.Event()

    def inject() -> None:
        try:
            while not stop.wait(rng.uniform(2, 6)):
                inject_one()
                # Payments keep changing meanwhile: the summary must agree with the attempts at every moment.
                summary_after_faults.extend(f"after {faults[-1]} #{len(faults)}: {d}"
                                            for d in summary_differences({store.pk}))
        finally:
            connection.close()

    def inject_one() -> None:
        fault = rng.choice(["kill gateway worker", "kill default worker", "restart redis", "kill beat"])
        faults.append(fault)
        if fault == "restart redis":
            embedded_redis.restart()
        else:
            name = fault.split()[1]
            live.procs[name].kill()
            time.sleep(rng.uniform(0.2, 2))
            live.procs[name].start()
            live.procs[name].wait_ready()

    started = time.monotonic()
    threads = [threading.Thread(target=run_lane, args=item) for item in plan.items()]
    injector = threading.Thread(target=inject)
    injector.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    injector.join()
    # Everything still waiting must settle now that the faults have stopped.
    for attempt_id in created:
        _wait_final(attempt_id, timeout=60)
    elapsed = time.monotonic() - started

    report = check(live.sandbox_url, list(PaymentAttempt.objects.filter(pk__in=created)))
    line = (f"SOAK seed={SEED} {report.line(len(faults))} refused_requests={len(errors)} seconds={elapsed:.0f}"
            f" summary_checked_after_faults={len(faults)} summary_differences_after_faults={len(summary_after_faults)}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "soak.txt").write_text(line + "\nfaults: " + ", ".join(faults) + "\n")
    with capsys.disabled():
        print("\n" + line)
    assert not errors, errors
    assert len(created) == PAYMENTS
    assert report.ok, report
    assert faults, "no fault was injected"
    assert not summary_after_faults, summary_after_faults
