"""refund_order: partial, full, too much, and the same refund number twice."""

from __future__ import annotations

import json
import time

import pytest
import requests

from .conftest import response_sign_ok


def test_partial_then_full_refund_then_refused(client, device):
    order_no = f"R{time.time_ns()}"
    paid = client.create(1000, device, order_no).json()
    pay_order_id = paid["payOrderId"]

    first = client.refund(pay_order_id, 400, f"{order_no}-1")
    assert first["retCode"] == first["resCode"] == "SUCCESS" and response_sign_ok(first)
    assert first["refundOrderId"].startswith("RF") and first["payOrderId"] == first["refundOrderId"]
    assert (first["originalOrderId"], first["payType"], first["refundAmount"], first["refundable"]) == (
        pay_order_id, "refund", 400, 600)
    assert (first["mchRefundNo"], first["currency"], first["status"]) == (f"{order_no}-1", "CAD", 2)

    rest = client.refund(pay_order_id, 600, f"{order_no}-2")
    assert rest["resCode"] == "SUCCESS" and rest["refundable"] == 0

    too_much = client.refund(pay_order_id, 1, f"{order_no}-3")
    assert (too_much["retCode"], too_much["resCode"]) == ("SUCCESS", "FAIL")
    assert "refund amount exceeds refundable" in too_much["retMsg"] and response_sign_ok(too_much)

    seen = client.inspect(order_no).json()
    assert [r["refundAmount"] for r in seen["refunds"]] == [400, 600] and seen["refundable"] == 0
    assert seen["refund_calls"] == 3


def test_a_repeated_refund_number_refunds_again(client, device):
    """Nothing public says IOTPay answers a repeated mchRefundNo with the first refund: the sandbox does
    the worst a gateway could do, so a client that re-sends a refund is caught refunding twice."""
    order_no = f"R{time.time_ns()}"
    pay_order_id = client.create(1000, device, order_no).json()["payOrderId"]
    first = client.refund(pay_order_id, 300, f"{order_no}-1")
    again = client.refund(pay_order_id, 300, f"{order_no}-1")
    assert again["resCode"] == "SUCCESS" and again["refundOrderId"] != first["refundOrderId"]
    assert client.inspect(order_no).json()["refundable"] == 400


def test_a_refund_answer_carries_the_refunds_own_terminal_data(client, device):
    order_no = f"R{time.time_ns()}"
    pay_order_id = client.create(1000, device, order_no).json()["payOrderId"]
    answer = client.refund(pay_order_id, 250, f"{order_no}-1")
    extra = json.loads(answer["extra"])
    assert extra["receiptDisp"] == "000 Refund Approved 00" and extra["authNum"] and extra["seqNum"]
    assert extra["termNum"] and extra["bankTermNum"] and extra["termInvoiceNum"] and extra["batchNum"]


def test_a_refund_whose_answer_is_lost_is_applied(client, device):
    order_no = f"R{time.time_ns()}"
    pay_order_id = client.create(1000, device, order_no).json()["payOrderId"]
    with pytest.raises(requests.ConnectionError):
        client.refund(pay_order_id, 507, f"{order_no}-1")  # cents 07: refunded, the connection dropped
    seen = client.inspect(order_no).json()
    assert seen["refundable"] == 493 and [r["refundAmount"] for r in seen["refunds"]] == [507]
    query = client.query(mchOrderNo=order_no)
    assert query["refundable"] == 493 and response_sign_ok(query)


def test_a_refund_answered_fail_0010_is_applied(client, device):
    order_no = f"R{time.time_ns()}"
    pay_order_id = client.create(1000, device, order_no).json()["payOrderId"]
    answer = client.refund(pay_order_id, 510, f"{order_no}-1")  # cents 10
    assert (answer["resCode"], answer["errCode"]) == ("FAIL", "0010") and response_sign_ok(answer)
    assert client.inspect(order_no).json()["refundable"] == 490


def test_refund_above_the_amount_is_refused_without_refunding(client, device):
    order_no = f"R{time.time_ns()}"
    pay_order_id = client.create(1000, device, order_no).json()["payOrderId"]
    answer = client.refund(pay_order_id, 1001, f"{order_no}-1")
    assert answer["resCode"] == "FAIL" and "exceeds refundable" in answer["retMsg"]
    assert client.inspect(order_no).json()["refundable"] == 1000


def test_refund_of_an_unpaid_or_unknown_order_is_refused(client, device):
    order_no = f"R{time.time_ns()}"
    declined = client.create(1001, device, order_no).json()
    answer = client.refund(declined["payOrderId"], 100, f"{order_no}-1")
    assert (answer["retCode"], answer["resCode"]) == ("SUCCESS", "FAIL") and answer["errCode"] in ("0014", "0112")
    unknown = client.refund("CP20990101000000000000000000", 100, f"{order_no}-2")
    assert (unknown["resCode"], unknown["errCode"]) == ("FAIL", "0112")
