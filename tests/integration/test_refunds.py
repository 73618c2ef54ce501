"""A manager refunds an approved payment; the real worker sends refund_order to the sandbox over HTTP.

The payment is made first through the lane's API, as a cashier would (iotpay_sandbox/README.md: $20.00 is
an approved Visa tap, last 4 4021, expiry 1028; $20.01 is declined).
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid

import pytest

from payments.models import PaymentEvent, Refund
from payments.services import refundable_balance
from tests.conftest import login_session, wait_for_status
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier, staff
from tests.processes import wait_http

pytestmark = pytest.mark.integration


def pay(session, live, lane, amount):
    response = session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": amount},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def refund(session, live, attempt_id, amount, reason="item returned", key=None):
    return session.post(f"{live.url}/api/payments/{attempt_id}/refunds", json={"amount": amount, "reason": reason},
                        headers={"Idempotency-Key": key or str(uuid.uuid4())}, timeout=10)


def wait_for_refund(refund_id, statuses, timeout=20):
    wanted = {statuses} if isinstance(statuses, str) else set(statuses)
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = Refund.objects.get(pk=refund_id)
        if row.status in wanted:
            return row
        time.sleep(0.1)
    raise AssertionError(f"refund {refund_id} is {row.status if row else '?'}, not {wanted}")


def user_in(role, store, **fields):
    return staff(role, store, **fields)


@pytest.fixture
def manager_session(live, lane):
    return login_session(live.url, user_in("manager", lane.store).username)


@pytest.fixture
def approved(live, lane, cashier_session):
    """An approved $20.00 payment made at the lane."""
    return wait_for_status(pay(cashier_session, live, lane, 2000), "APPROVED")


def test_a_full_refund_is_approved_and_leaves_nothing_to_refund(live, approved, manager_session, sandbox_order):
    response = refund(manager_session, live, approved.pk, 2000)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] in {"CREATED", "SENT", "APPROVED"} and body["amount"] == 2000
    assert body["attempt"] == approved.pk and len(body["refund_reference"]) <= 30

    done = wait_for_refund(body["id"], {"APPROVED", "FAILED", "NEEDS_REVIEW"})
    assert done.status == "APPROVED"
    assert done.refundable_after == 0 and done.gateway_refund_reference.startswith("RF") and done.finalized_at
    assert refundable_balance(approved) == 0

    at_sandbox = sandbox_order(approved.order_reference)
    assert at_sandbox["refundable"] == 0
    assert [(r["mchRefundNo"], r["refundAmount"]) for r in at_sandbox["refunds"]] == [(done.refund_reference, 2000)]

    states = list(PaymentEvent.objects.filter(refund=done, kind="state").values_list("to_status", flat=True))
    assert states == ["CREATED", "SENT", "APPROVED"]
    exchanges = PaymentEvent.objects.filter(refund=done, kind="gateway")
    assert [e.data["endpoint"] for e in exchanges] == ["refund_order"]
    assert all(e.attempt_id == approved.pk for e in exchanges)
    assert os.environ["TEST_SANDBOX_KEY"] not in str([e.data for e in exchanges])

    snapshot = manager_session.get(f"{live.url}/api/refunds/{done.pk}", timeout=5).json()
    assert snapshot == {
        "id": done.pk, "attempt": approved.pk, "refund_reference": done.refund_reference, "status": "APPROVED",
        "amount": 2000, "currency": "CAD", "reason": "item returned", "message": "",
        "gateway_refund_reference": done.gateway_refund_reference, "refundable_after": 0,
        # the names the API had first, kept for the clients written against them
        "mch_refund_no": done.refund_reference, "refund_order_id": done.gateway_refund_reference,
        "created_at": done.created_at.isoformat(), "finalized_at": done.finalized_at.isoformat(),
    }
    again = refund(manager_session, live, approved.pk, 1)
    assert again.status_code == 400
    assert "above what is left to refund ($0.00)" in again.json()["errors"]["amount"][0]


def test_partial_refunds_track_the_balance_here_and_at_iotpay(live, approved, manager_session, sandbox_order):
    first = refund(manager_session, live, approved.pk, 500)
    assert first.status_code == 201
    assert wait_for_refund(first.json()["id"], "APPROVED").refundable_after == 1500
    second = refund(manager_session, live, approved.pk, 700, reason="price adjustment")
    assert second.status_code == 201
    assert wait_for_refund(second.json()["id"], "APPROVED").refundable_after == 800

    assert refundable_balance(approved) == 800
    at_sandbox = sandbox_order(approved.order_reference)
    assert at_sandbox["refundable"] == 800
    assert [r["refundAmount"] for r in at_sandbox["refunds"]] == [500, 700]
    page = manager_session.get(f"{live.url}/backoffice/payments/{approved.pk}/", timeout=10)
    assert page.status_code == 200
    assert 'id="refundable-balance">$8.00<' in page.text and "price adjustment" in page.text


def test_above_the_balance_is_refused_and_nothing_is_sent(live, approved, manager_session, sandbox_order):
    assert wait_for_refund(refund(manager_session, live, approved.pk, 1500).json()["id"], "APPROVED")
    response = refund(manager_session, live, approved.pk, 600)
    assert response.status_code == 400
    assert response.json()["errors"]["amount"] == ["refund amount is above what is left to refund ($5.00)"]
    assert Refund.objects.filter(attempt=approved).count() == 1
    assert len(sandbox_order(approved.order_reference)["refunds"]) == 1

    bad = refund(manager_session, live, approved.pk, "5.00", reason=" ")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"amount", "reason"}


def test_a_double_submit_refunds_once(live, approved, manager_session, sandbox_order):
    key = str(uuid.uuid4())
    other = login_session(live.url, user_in("manager", approved.store).username)
    barrier = threading.Barrier(2)
    results = []

    def submit(session):
        barrier.wait()
        results.append(refund(session, live, approved.pk, 1200, key=key))

    threads = [threading.Thread(target=submit, args=(s,)) for s in (manager_session, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 201], [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    refund_id = results[0].json()["id"]
    wait_for_refund(refund_id, "APPROVED")

    repeat = refund(manager_session, live, approved.pk, 1200, key=key)
    assert repeat.status_code == 200 and repeat.json()["id"] == refund_id
    assert repeat.headers["Idempotent-Replayed"] == "true"
    time.sleep(1)  # a second send, if there were one, would have reached the sandbox by now
    assert Refund.objects.filter(attempt=approved).count() == 1
    assert [r["refundAmount"] for r in sandbox_order(approved.order_reference)["refunds"]] == [1200]
    assert PaymentEvent.objects.filter(refund_id=refund_id, kind="gateway").count() == 1


def test_two_different_refunds_at_once_give_one_refund(live, approved, manager_session, sandbox_order):
    barrier = threading.Barrier(2)
    results = []

    def submit():
        barrier.wait()
        results.append(refund(manager_session, live, approved.pk, 1500))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 201 and codes[1] in (400, 409), [r.text for r in results]
    wait_for_refund(Refund.objects.get(attempt=approved).pk, "APPROVED")
    assert [r["refundAmount"] for r in sandbox_order(approved.order_reference)["refunds"]] == [1500]


def test_no_answer_is_never_re_sent_and_needs_review(live, approved, manager_session, sandbox_order):
    """The sandbox is down when the refund is sent: no clear answer, so it needs review at once and is held."""
    live.procs["sandbox"].stop()
    try:
        refund_id = refund(manager_session, live, approved.pk, 900).json()["id"]
        row = wait_for_refund(refund_id, {"NEEDS_REVIEW", "APPROVED", "FAILED"}, timeout=15)
        assert row.status == "NEEDS_REVIEW" and "not sent again" in row.message
        assert refundable_balance(approved) == 1100  # it may have gone through: held
    finally:
        live.procs["sandbox"].start()
        wait_http(f"{live.sandbox_url}/_sandbox/health")
    time.sleep(3)  # several resume-job rounds (every second in the tests)
    states = list(PaymentEvent.objects.filter(refund_id=refund_id, kind="state").values_list("to_status", flat=True))
    assert states == ["CREATED", "SENT", "NEEDS_REVIEW"]
    assert PaymentEvent.objects.filter(refund_id=refund_id, kind="gateway").count() == 1
    assert sandbox_order(approved.order_reference)["refunds"] == []


def test_a_refund_whose_answer_is_lost_is_sent_once_held_and_settled_by_a_manager(
        live, lane, cashier_session, manager_session, sandbox_order):
    """refund cents 07: the sandbox refunds, then drops the connection. Watched for a minute: one refund_order,
    the refund needs review, a second full refund is refused; the manager checks with IOTPay and settles."""
    attempt = wait_for_status(pay(cashier_session, live, lane, 2000), "APPROVED")
    refund_id = refund(manager_session, live, attempt.pk, 507).json()["id"]
    assert wait_for_refund(refund_id, {"NEEDS_REVIEW", "APPROVED", "FAILED"}).status == "NEEDS_REVIEW"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert sandbox_order(attempt.order_reference)["refund_calls"] == 1
        time.sleep(2)
    assert Refund.objects.get(pk=refund_id).status == "NEEDS_REVIEW"
    assert refundable_balance(attempt) == 1493
    second = refund(manager_session, live, attempt.pk, 2000)
    assert second.status_code == 400 and "$14.93" in second.json()["errors"]["amount"][0]

    page = manager_session.get(f"{live.url}/backoffice/payments/{attempt.pk}/", timeout=10).text
    assert f'id="refund-settle-{refund_id}"' in page
    token = manager_session.cookies["csrftoken"]
    checked = manager_session.post(f"{live.url}/backoffice/refunds/{refund_id}/check",
                                   data={"csrfmiddlewaretoken": token}, timeout=15)
    assert "this refund went through" in checked.text
    assert Refund.objects.get(pk=refund_id).gateway_refundable == 1493
    settled = manager_session.post(f"{live.url}/backoffice/refunds/{refund_id}/settle",
                                   data={"csrfmiddlewaretoken": token, "outcome": "refunded",
                                         "reason": "IOTPay shows $14.93 left"}, timeout=10)
    assert settled.status_code == 200
    done = Refund.objects.get(pk=refund_id)
    assert done.status == "APPROVED" and "Settled by hand" in done.message
    assert refundable_balance(attempt) == 1493
    assert sandbox_order(attempt.order_reference)["refund_calls"] == 1


def test_a_refund_settled_as_not_refunded_gives_its_amount_back(live, approved, manager_session, sandbox_order):
    live.procs["sandbox"].stop()
    try:
        refund_id = refund(manager_session, live, approved.pk, 600).json()["id"]
        wait_for_refund(refund_id, "NEEDS_REVIEW", timeout=15)
    finally:
        live.procs["sandbox"].start()
        wait_http(f"{live.sandbox_url}/_sandbox/health")
    token = manager_session.cookies["csrftoken"]
    checked = manager_session.post(f"{live.url}/backoffice/refunds/{refund_id}/check",
                                   data={"csrfmiddlewaretoken": token}, timeout=15)
    assert "did not go through" in checked.text
    manager_session.post(f"{live.url}/backoffice/refunds/{refund_id}/settle",
                         data={"csrfmiddlewaretoken": token, "outcome": "not_refunded", "reason": "portal: none"},
                         timeout=10)
    assert Refund.objects.get(pk=refund_id).status == "FAILED"
    assert refundable_balance(approved) == 2000
    again = refund(manager_session, live, approved.pk, 600)
    assert again.status_code == 201
    assert wait_for_refund(again.json()["id"], "APPROVED").refundable_after == 1400


def test_a_refund_answered_fail_0010_needs_review_and_is_not_sent_again(live, approved, manager_session,
                                                                        sandbox_order):
    refund_id = refund(manager_session, live, approved.pk, 410).json()["id"]  # cents 10: refunded, then FAIL 0010
    row = wait_for_refund(refund_id, {"NEEDS_REVIEW", "APPROVED", "FAILED"})
    assert row.status == "NEEDS_REVIEW"
    time.sleep(3)
    assert sandbox_order(approved.order_reference)["refund_calls"] == 1
    assert refundable_balance(approved) == 1590


def test_the_refund_receipt_carries_the_refunds_own_terminal_data(live, approved, manager_session):
    done = wait_for_refund(refund(manager_session, live, approved.pk, 300).json()["id"], "APPROVED")
    assert done.card["terminal_text"] == "000 Refund Approved 00" and done.card["auth_num"]
    text = manager_session.get(f"{live.url}/refunds/{done.pk}/receipt/?format=text&copy=merchant", timeout=10).text
    for value in (done.card["term_invoice_num"], done.card["seq_num"], done.card["auth_num"],
                  done.card["bank_term_num"], "000 Refund Approved 00"):
        assert value in text


def test_a_supervisor_reads_but_cannot_refund(live, approved):
    supervisor = login_session(live.url, user_in("supervisor", approved.store).username)
    response = refund(supervisor, live, approved.pk, 100)
    assert response.status_code == 403
    page = supervisor.get(f"{live.url}/backoffice/payments/{approved.pk}/", timeout=10)
    assert page.status_code == 200
    assert approved.order_reference in page.text
    assert 'id="refund-form"' not in page.text and "Refunds are made by managers" in page.text
    assert not Refund.objects.exists()


def test_cashiers_cannot_open_payment_pages_nor_refund(live, approved, cashier_session):
    # Not even the payment's own lane: the back office is for supervisors, managers and admins.
    assert cashier_session.get(f"{live.url}/backoffice/payments/{approved.pk}/", timeout=10).status_code == 403
    assert refund(cashier_session, live, approved.pk, 100).status_code == 403
    other_lane = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    stranger = UserFactory()
    assign_cashier(other_lane, stranger)
    session = login_session(live.url, stranger.username)
    assert session.get(f"{live.url}/backoffice/payments/{approved.pk}/", timeout=10).status_code == 403
    assert refund(session, live, approved.pk, 100).status_code == 403


def test_unknown_payment_is_404(live, manager_session):
    assert refund(manager_session, live, 999_999_999, 100).status_code == 404
    assert manager_session.get(f"{live.url}/api/refunds/999999999", timeout=5).status_code == 404


def test_the_refund_receipt(live, approved, manager_session):
    refund_id = refund(manager_session, live, approved.pk, 500).json()["id"]
    done = wait_for_refund(refund_id, "APPROVED")
    html = manager_session.get(f"{live.url}/refunds/{refund_id}/receipt/", timeout=10)
    assert html.status_code == 200
    assert "REFUND" in html.text and approved.card_last4 in html.text and "MERCHANT COPY" in html.text
    assert f"/refunds/{refund_id}/receipt/?copy=merchant" in html.text  # the copy switch stays on this receipt
    text = manager_session.get(f"{live.url}/refunds/{refund_id}/receipt/?format=text&copy=customer", timeout=10)
    assert text.status_code == 200 and text.headers["Content-Type"].startswith("text/plain")
    assert "REFUND" in text.text and f"************{approved.card_last4}" in text.text
    assert "$5.00" in text.text and done.refund_reference in text.text and "CUSTOMER COPY" in text.text
    for body in (html.text, text.text):
        assert not re.search(r"\b1028\b|10/28", body) and "expire" not in body.lower()


def test_a_declined_payment_cannot_be_refunded(live, lane, cashier_session, manager_session, sandbox_order):
    declined = wait_for_status(pay(cashier_session, live, lane, 2001), "DECLINED")
    response = refund(manager_session, live, declined.pk, 100)
    assert response.status_code == 409
    assert response.json()["code"] == "not_refundable"
    assert "only approved payments can be refunded" in response.json()["error"]
    page = manager_session.get(f"{live.url}/backoffice/payments/{declined.pk}/", timeout=10)
    assert "Only approved payments can be refunded." in page.text and 'id="refund-form"' not in page.text
    assert sandbox_order(declined.order_reference)["refunds"] == []


@pytest.mark.parametrize("status", ["CREATED", "SENT"])
def test_a_refund_whose_task_died_is_picked_up_by_the_resume_job(live, approved, sandbox_order, status):
    """No task was ever queued for these rows: only the beat job can move them."""
    from datetime import timedelta

    from django.utils import timezone

    from payments.services.refunds import new_refund_reference

    old = timezone.now() - timedelta(seconds=20)
    row = Refund.objects.create(attempt=approved, refund_reference=new_refund_reference(), amount=400, currency="CAD",
                                reason="lost task", status=status, sent_at=old if status == "SENT" else None)
    Refund.objects.filter(pk=row.pk).update(created_at=old)
    done = wait_for_refund(row.pk, {"APPROVED", "FAILED", "NEEDS_REVIEW"}, timeout=20)
    if status == "CREATED":  # never sent: the resume job sends it
        assert done.status == "APPROVED" and done.refundable_after == 1600
        assert [r["refundAmount"] for r in sandbox_order(approved.order_reference)["refunds"]] == [400]
    else:  # it may have been sent before the task died: needs review, never sent again
        assert done.status == "NEEDS_REVIEW"
        assert sandbox_order(approved.order_reference)["refunds"] == []


def test_a_refund_whose_task_never_ran_in_time_is_not_sent(live, approved, sandbox_order):
    from datetime import timedelta

    from django.utils import timezone

    from payments.services.refunds import new_refund_reference

    row = Refund.objects.create(attempt=approved, refund_reference=new_refund_reference(), amount=400, currency="CAD",
                                reason="lost task")
    Refund.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    done = wait_for_refund(row.pk, {"APPROVED", "FAILED", "NEEDS_REVIEW"}, timeout=20)
    assert done.status == "FAILED" and "too old" in done.message
    assert sandbox_order(approved.order_reference)["refunds"] == []
