"""Issue 10: the money paths against a gateway shaped like the real IOTPay (its nested payOrder signed as JSON
text, refusals that are time-outs, poison answers, dirty text, other figures), each through the real worker,
the sandbox over HTTP and PostgreSQL. The sandbox's cents table picks each answer (iotpay_sandbox/README.md).
"""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import requests
from websockets.sync.client import connect

from payments.models import PaymentAttempt, PaymentEvent
from tests.conftest import wait_for_status

pytestmark = pytest.mark.integration

FINAL = {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}


def pay(session, live, lane, amount, tip=0, **more):
    return session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": amount, "tip": tip, **more},
                        headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)


def states(attempt_id):
    return list(PaymentEvent.objects.filter(attempt_id=attempt_id, kind="state").values_list("to_status", flat=True))


def causes(attempt_id):
    return " | ".join(PaymentEvent.objects.filter(attempt_id=attempt_id).values_list("cause", flat=True))


class Pushes:
    """Every snapshot the lane's websocket pushes, recorded by a thread."""

    def __init__(self, ws):
        self.ws = ws
        assert json.loads(self.ws.recv(timeout=5))["type"] == "snapshot"
        self.seen: list[dict] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for raw in self.ws:
                message = json.loads(raw)
                if message["type"] == "attempt":
                    self.seen.append(message["attempt"])
        except Exception:  # noqa: S110 - the socket closes at the end of the test
            pass

    def statuses(self, attempt_id):
        return [s["status"] for s in self.seen if s["id"] == attempt_id]



@pytest.fixture
def pushes(live, lane, cashier_session):
    url = live.url.replace("http://", "ws://") + f"/ws/lanes/{lane.code}/"
    with connect(url, additional_headers={"Cookie": f"sessionid={cashier_session.cookies['sessionid']}"},
                 origin=live.url, open_timeout=5) as ws:
        recorder = Pushes(ws)
        yield recorder
    recorder.thread.join(5)


# ------------------------------------------------------------------ 1. responses signed like the gateway


@pytest.mark.parametrize(("amount", "signature"), [(1250, "verified"), (1212, "verified"), (1217, "unverifiable")],
                         ids=["compact-json-text", "sorted-keys", "unverifiable"])
def test_a_paid_signed_answer_is_approved_without_ever_passing_through_unknown(live, lane, cashier_session,
                                                                              pushes, sandbox_order, amount,
                                                                              signature):
    attempt_id = pay(cashier_session, live, lane, amount).json()["id"]
    attempt = wait_for_status(attempt_id, FINAL)
    assert attempt.status == "APPROVED"
    assert attempt.response_signature == signature and attempt.response_verified is (signature == "verified")
    assert "UNKNOWN" not in states(attempt_id)
    wait_for_pushed(pushes, attempt_id, "APPROVED")
    assert "UNKNOWN" not in pushes.statuses(attempt_id), pushes.statuses(attempt_id)
    exchanges = PaymentEvent.objects.filter(attempt_id=attempt_id, kind="gateway").order_by("id")
    assert [e.data["signature"] for e in exchanges][:2] == [signature, "verified"]  # create, then the query
    assert sandbox_order(attempt.order_reference)["create_calls"] == 1


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def wait_for_pushed(pushes, attempt_id, status, timeout=10):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and status not in pushes.statuses(attempt_id):
        time.sleep(0.05)
    assert status in pushes.statuses(attempt_id), pushes.statuses(attempt_id)


# ------------------------------------------------------------------------ 2. a FAIL is confirmed


def test_a_fail_0010_that_was_a_time_out_at_the_bank_is_found_paid(live, lane, cashier_session, sandbox_order):
    body = pay(cashier_session, live, lane, 1313).json()
    attempt = wait_for_status(body["id"], FINAL, timeout=20)
    assert attempt.status == "APPROVED" and "UNKNOWN" in states(attempt.pk)
    assert "0010" in causes(attempt.pk)
    retry = pay(cashier_session, live, lane, 1313, sale_id=body["sale_id"])  # the page offers no Retry; a script might
    assert retry.status_code == 409 and retry.json()["code"] == "sale_already_paid"
    assert sandbox_order(attempt.order_reference)["create_calls"] == 1


def test_a_real_refusal_is_failed_once_query_order_confirms_there_is_no_order(live, lane, cashier_session):
    attempt = wait_for_status(pay(cashier_session, live, lane, 1320).json()["id"], FINAL)
    assert attempt.status == "FAILED" and "UNKNOWN" not in states(attempt.pk)
    assert attempt.message.startswith("0014 parameter error: jobNo")
    assert "\x00" not in attempt.message and "\x1b" not in attempt.message and "\x1d" not in attempt.message
    assert "a look-up confirms nothing was charged" in causes(attempt.pk)


def test_a_refusal_on_an_order_that_ended_unpaid_is_failed_once_query_order_says_so(live, lane, cashier_session,
                                                                                    sandbox_order):
    attempt = wait_for_status(pay(cashier_session, live, lane, 1352).json()["id"], FINAL)
    assert attempt.status == "FAILED" and "UNKNOWN" not in states(attempt.pk)
    assert attempt.message.startswith("0014 transaction refused by the processor")
    assert "a look-up confirms nothing was charged" in causes(attempt.pk)
    assert sandbox_order(attempt.order_reference)["query_calls"] >= 1  # the look-up happened before FAILED


def test_a_refusal_on_an_order_paid_at_the_bank_is_approved_never_failed(live, lane, cashier_session,
                                                                         sandbox_order):
    attempt = wait_for_status(pay(cashier_session, live, lane, 1353).json()["id"], FINAL)
    assert attempt.status == "APPROVED", attempt.message
    assert "FAILED" not in states(attempt.pk) and "UNKNOWN" not in states(attempt.pk)
    assert sandbox_order(attempt.order_reference)["create_calls"] == 1


def test_create_and_query_that_disagree_need_review_and_keep_what_the_terminal_said(live, lane, cashier_session):
    attempt = wait_for_status(pay(cashier_session, live, lane, 1358).json()["id"], FINAL)
    assert attempt.status == "NEEDS_REVIEW"
    assert "APPROVED" not in states(attempt.pk) and "FAILED" not in states(attempt.pk)
    assert attempt.terminal_outcome == "APPROVED" and attempt.card  # the terminal's card data is kept
    assert "disagree" in attempt.message and "disagree" in causes(attempt.pk)


def test_a_4xx_without_a_body_is_no_answer(live, lane, cashier_session):
    attempt = wait_for_status(pay(cashier_session, live, lane, 1321).json()["id"], FINAL, timeout=20)
    assert attempt.status == "APPROVED" and "UNKNOWN" in states(attempt.pk)


# ------------------------------------------------------------------------- 3. no second charge of a sale


def test_retrying_an_approved_sale_changes_nothing_at_the_gateway(live, lane, cashier_session, sandbox_order):
    first = pay(cashier_session, live, lane, 1450).json()
    approved = wait_for_status(first["id"], "APPROVED")
    for _ in range(2):  # whatever the client sends: another key, the same sale
        again = pay(cashier_session, live, lane, 1450, sale_id=first["sale_id"])
        assert again.status_code == 409
        assert again.json()["code"] == "sale_already_paid" and again.json()["attempt"]["id"] == approved.pk
    assert PaymentAttempt.objects.filter(sale_id=first["sale_id"]).count() == 1
    assert requests.get(f"{live.sandbox_url}/_sandbox/orders", params={"mchId": approved.merchant.gateway_account},
                        timeout=5).json()[-1]["mchOrderNo"] == approved.order_reference  # no new order at IOTPay
    assert sandbox_order(approved.order_reference)["create_calls"] == 1


def test_a_sale_under_review_is_refused_then_charged_again_with_a_supervisors_reason(live, lane, cashier_session):
    from tests.factories import staff

    first = pay(cashier_session, live, lane, 1206).json()  # never answers: needs review after the window
    assert wait_for_status(first["id"], FINAL, timeout=30).status == "NEEDS_REVIEW"
    refused = pay(cashier_session, live, lane, 1250, sale_id=first["sale_id"])
    assert refused.status_code == 409 and refused.json()["code"] == "sale_needs_review"
    assert refused.json()["overridable"] is True
    wrong = pay(cashier_session, live, lane, 1250, sale_id=first["sale_id"], override_reason="customer insists",
                supervisor="nobody", supervisor_password="wrong")
    assert wrong.status_code == 403 and wrong.json()["code"] == "override_not_allowed"
    supervisor = staff("supervisor", lane.store, username=f"sup-{uuid.uuid4().hex[:6]}")
    from tests.conftest import PASSWORD

    allowed = pay(cashier_session, live, lane, 1250, sale_id=first["sale_id"],
                  override_reason="terminal shows the first one cancelled", supervisor=supervisor.username,
                  supervisor_password=PASSWORD)
    assert allowed.status_code == 201, allowed.text
    second = wait_for_status(allowed.json()["id"], FINAL)
    assert second.status == "APPROVED"
    note = PaymentEvent.objects.get(attempt=second, kind="note", data__override="sale_needs_review")
    assert note.actor == supervisor and note.data["reason"] == "terminal shows the first one cancelled"
    assert note.data["blocking_attempt"] == first["id"]


# ------------------------------------------------ 4. create said paid, the confirmation could not be had


def test_an_approval_awaiting_confirmation_keeps_its_card_data_and_prints(live, lane, cashier_session, pushes):
    attempt_id = pay(cashier_session, live, lane, 1322).json()["id"]  # query_order down for 2 s after paying
    attempt = wait_for_status(attempt_id, {"UNKNOWN", *FINAL})
    assert attempt.status == "UNKNOWN" and attempt.terminal_outcome == "APPROVED"
    assert attempt.card_last4 and attempt.auth_num and attempt.card["terminal_text"].startswith("000 Approved")
    snapshot = cashier_session.get(f"{live.url}/api/payments/{attempt_id}", timeout=5).json()
    if snapshot["status"] == "UNKNOWN":
        assert snapshot["terminal_outcome"] == "APPROVED" and snapshot["receipt_available"] is True
        text = cashier_session.get(f"{live.url}/payments/{attempt_id}/receipt/?format=text&copy=customer",
                                   timeout=5)
        assert text.status_code == 200 and "AWAITING CONFIRMATION" in text.text
        assert attempt.card_last4 in text.text
    final = wait_for_status(attempt_id, FINAL, timeout=20)
    assert final.status == "APPROVED" and final.terminal_outcome == ""
    wait_for_pushed(pushes, attempt_id, "APPROVED")
    provisional = [s for s in pushes.seen if s["id"] == attempt_id and s["status"] == "UNKNOWN"]
    assert provisional and all(s["terminal_outcome"] == "APPROVED" and s["card_last4"] for s in provisional)
    assert "AWAITING" not in cashier_session.get(f"{live.url}/payments/{attempt_id}/receipt/?format=text",
                                                 timeout=5).text


# ------------------------------------------------------------ 5. poison answers never block a lane


@pytest.mark.parametrize("amount", [1314, 1315, 1324], ids=["deep-nesting", "five-megabytes", "byte-order-mark"])
def test_a_poison_or_odd_body_is_no_answer_and_the_sale_is_found(live, lane, cashier_session, amount):
    attempt = wait_for_status(pay(cashier_session, live, lane, amount).json()["id"], FINAL, timeout=20)
    assert attempt.status == "APPROVED"
    assert ("UNKNOWN" in states(attempt.pk)) is (amount != 1324)  # a BOM is read, the others are not


def test_poison_on_every_query_still_ends_in_review_by_the_window_and_the_lane_takes_the_next_sale(
        live, lane, cashier_session):
    attempt = wait_for_status(pay(cashier_session, live, lane, 1323).json()["id"], FINAL, timeout=30)
    assert attempt.status == "NEEDS_REVIEW" and attempt.poll_count >= 2
    assert "RecursionError" not in attempt.message
    nxt = pay(cashier_session, live, lane, 1250)
    assert nxt.status_code == 201
    assert wait_for_status(nxt.json()["id"], FINAL).status == "APPROVED"


def test_nul_esc_and_gs_from_the_gateway_are_cleaned_before_they_are_stored_pushed_or_printed(
        live, lane, cashier_session, pushes):
    attempt = wait_for_status(pay(cashier_session, live, lane, 1316).json()["id"], FINAL)
    assert attempt.status == "APPROVED"
    assert attempt.terminal_text == "000 Approved@V 00 Thank You"
    assert attempt.card_brand == "VISAE CREDIT!"
    stored = [attempt.card, *PaymentEvent.objects.filter(attempt=attempt).values_list("data", flat=True)]
    assert not any("\x00" in text for text in strings(stored))  # PostgreSQL's jsonb would refuse it
    wait_for_pushed(pushes, attempt.pk, "APPROVED")
    assert all("\x1b" not in json.dumps(s) and "\x00" not in s["terminal_text"] for s in pushes.seen)
    text = cashier_session.get(f"{live.url}/payments/{attempt.pk}/receipt/?format=text", timeout=5).content
    assert b"\x1b" not in text and b"\x1d" not in text and b"\x00" not in text
    nxt = pay(cashier_session, live, lane, 1250)
    assert wait_for_status(nxt.json()["id"], FINAL).status == "APPROVED"


# ------------------------------------------------------------- 7. amounts, tip, cash-back, surcharge


def test_a_tip_that_differs_at_the_gateway_needs_review(live, lane, cashier_session):
    attempt = wait_for_status(pay(cashier_session, live, lane, 1318, tip=200).json()["id"], FINAL)
    assert attempt.status == "NEEDS_REVIEW" and "tip $3.00 instead of $2.00" in attempt.message


def test_decimal_cash_back_and_surcharge_are_printed_with_a_total_that_adds_up(live, lane, cashier_session):
    attempt = wait_for_status(pay(cashier_session, live, lane, 1319).json()["id"], FINAL)
    assert attempt.status == "APPROVED"
    assert (attempt.card["cashback_amount"], attempt.card["surcharge_amount"]) == (2000, 150)
    text = cashier_session.get(f"{live.url}/payments/{attempt.pk}/receipt/?format=text&copy=merchant",
                               timeout=5).text
    assert "CASHBACK" in text and "$20.00" in text and "SURCHARGE" in text and "$1.50" in text
    assert "TOTAL" + "$34.69".rjust(42 - len("TOTAL")) in text  # 13.19 + 20.00 + 1.50
    assert "BANK TERMINAL" in text and attempt.card["bank_term_num"] in text
