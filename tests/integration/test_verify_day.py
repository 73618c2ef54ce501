"""A manager verifies the day against the sandbox: the real worker asks IOTPay about every attempt.

Payments are made through the API like a cashier would; then the database is made to disagree with
IOTPay on purpose (an approval turned into a decline, an approval sent back to "needs review").
"""

from __future__ import annotations

import time
import uuid
import zoneinfo
from datetime import datetime

import pytest
from django.utils import timezone

from backoffice.models import VerificationFinding, VerificationRun
from payments.models import PaymentAttempt, PaymentEvent
from tests.conftest import login_session, wait_for_status
from tests.factories import staff

pytestmark = pytest.mark.integration


def pay_and_wait(session, live, lane, amount, status):
    response = session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": amount},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 201, response.text
    return wait_for_status(response.json()["id"], status, timeout=30)


def wait_for_run(session, url, timeout=60):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        run = session.get(url, timeout=5).json()["run"]
        seen.append(run["done"])
        if run["status"] == "FINISHED":
            return run, seen
        time.sleep(0.2)
    raise AssertionError(f"the verification did not finish: {seen[-5:]}")


def test_verify_the_day_queries_every_attempt_and_lists_the_mismatch(live, lane, cashier_session, sandbox_order):
    approved = pay_and_wait(cashier_session, live, lane, 1250, "APPROVED")
    declined = pay_and_wait(cashier_session, live, lane, 1201, "DECLINED")
    charged = pay_and_wait(cashier_session, live, lane, 1350, "APPROVED")
    reopened = pay_and_wait(cashier_session, live, lane, 1450, "APPROVED")
    attempts = [approved, declined, charged, reopened]
    # Our records disagree with IOTPay: it has `charged` paid; `reopened` looks unresolved (and was polled
    # just now, so the resume job leaves it alone for the test).
    PaymentAttempt.objects.filter(pk=charged.pk).update(status="DECLINED")
    PaymentAttempt.objects.filter(pk=reopened.pk).update(status="NEEDS_REVIEW", finalized_at=None,
                                                          last_polled_at=timezone.now())
    queries_before = {a.pk: sandbox_order(a.order_reference)["query_calls"] for a in attempts}

    manager = staff("manager", lane.store)
    session = login_session(live.url, manager.username)
    day = datetime.now(zoneinfo.ZoneInfo(lane.store.time_zone)).date().isoformat()
    response = session.post(f"{live.url}/backoffice/reconciliation/verify", data={"store": lane.store.pk, "day": day},
                            headers={"Accept": "application/json"}, timeout=10)
    assert response.status_code == 202, response.text[:300]
    started = response.json()
    assert started["run"]["status"] == "RUNNING"
    assert started["run"]["total"] == 4

    run, seen = wait_for_run(session, f"{live.url}{started['progress_url']}")
    assert run["done"] == run["total"] == 4
    assert seen == sorted(seen)  # progress only moves forward
    assert run["mismatches"] == 1
    assert run["applied"] == 1
    assert run["errors"] == 0
    assert "Verified 4 / 4 · 1 mismatch" in run["label"]

    for attempt in attempts:
        assert sandbox_order(attempt.order_reference)["query_calls"] > queries_before[attempt.pk], attempt
        assert PaymentEvent.objects.filter(attempt=attempt, kind="gateway",
                                           cause__startswith="verify the day").exists()
    finding = VerificationFinding.objects.get(run_id=run["id"], kind="mismatch")
    assert finding.attempt_id == charged.pk
    assert (finding.local_status, finding.gateway_outcome) == ("DECLINED", "paid")
    assert "may have been charged" in finding.detail
    # The late result was applied to the attempt that looked unresolved.
    wait_for_status(reopened.pk, "APPROVED", timeout=10)
    assert VerificationRun.objects.get(pk=run["id"]).finished_at is not None

    page = session.get(f"{live.url}/backoffice/reconciliation/", params={"store": lane.store.pk, "day": day},
                       timeout=10).text
    assert "The gateway disagrees" in page
    assert f'data-kind="mismatch" data-attempt="{charged.pk}"' in page

    # Re-query from the dashboard asks IOTPay again and says what it answered.
    calls = sandbox_order(charged.order_reference)["query_calls"]
    answer = session.post(f"{live.url}/backoffice/payments/{charged.pk}/requery", timeout=15)
    assert answer.status_code == 200  # followed the redirect back to the dashboard
    assert "may have been charged" in answer.text
    assert sandbox_order(charged.order_reference)["query_calls"] == calls + 1
