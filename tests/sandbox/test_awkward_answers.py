"""The awkward answers a real gateway can give (cents 12-24), as a client sees them over HTTP.

Each is paid or refused at the "bank" exactly as the table says, whatever the answer looked like: a signed,
flat query_order always tells the truth.
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from .conftest import response_sign_ok


def _order_no(prefix: str) -> str:
    return f"{prefix}{time.time_ns()}"


def test_nested_objects_are_signed_as_compact_json_text_by_default(client, device):
    answer = client.create(1250, device).json()
    assert response_sign_ok(answer)
    assert not response_sign_ok(answer, nested="sorted")  # the keys of payOrder are not in sorted order


def test_cents_12_sign_nested_objects_with_sorted_keys(client, device):
    answer = client.create(1212, device).json()
    assert answer["payOrder"]["status"] == 2
    assert response_sign_ok(answer, nested="sorted") and not response_sign_ok(answer)


def test_cents_17_sign_in_a_way_no_client_can_reproduce(client, device):
    order_no = _order_no("V")
    answer = client.create(1217, device, order_no).json()
    assert answer["payOrder"]["status"] == 2
    assert response_sign_ok(answer, nested="spaced")
    assert not response_sign_ok(answer) and not response_sign_ok(answer, nested="sorted")
    assert client.query(mchOrderNo=order_no)["status"] == 2


def test_cents_13_a_fail_0010_that_was_really_a_time_out_at_the_bank(client, device):
    order_no = _order_no("T")
    answer = client.create(1213, device, order_no).json()
    assert (answer["retCode"], answer["resCode"], answer["errCode"]) == ("SUCCESS", "FAIL", "0010")
    assert response_sign_ok(answer)
    assert client.query(mchOrderNo=order_no)["status"] == 2  # the card was charged


@pytest.mark.parametrize("amount", [1214, 1223])
def test_cents_14_and_23_poison_bodies_nested_past_any_parser(client, device, amount):
    order_no = _order_no("P")
    if amount == 1214:
        body = client.create(amount, device, order_no).content
    else:
        with pytest.raises(requests.ConnectionError):
            client.create(amount, device, order_no)
        body = client.post("query_order", {"mchId": "10000576", "mchOrderNo": order_no}).content
    assert body.count(b"[") >= 100_000
    with pytest.raises(RecursionError):
        json.loads(body)
    status = client.inspect(order_no).json()["status"]
    assert status == 2


def test_cents_15_a_body_of_megabytes(client, device):
    order_no = _order_no("H")
    response = client.create(1215, device, order_no)
    assert len(response.content) > 5_000_000
    assert client.query(mchOrderNo=order_no)["status"] == 2


def test_cents_16_nul_esc_and_gs_in_the_card_text(client, device):
    order_no = _order_no("C")
    answer = client.create(1216, device, order_no).json()
    assert response_sign_ok(answer)
    extra = json.loads(answer["payOrder"]["extra"])
    assert "\x00" in extra["receiptDisp"] and "\x1b" in extra["receiptDisp"] and "\x1d" in extra["receiptDisp"]
    assert "\x1b" in extra["emvLabel"]
    query = client.query(mchOrderNo=order_no)
    assert response_sign_ok(query) and "\x00" in json.loads(query["extra"])["receiptDisp"]


def test_cents_18_the_gateway_has_another_tip(client, device):
    order_no = _order_no("G")
    answer = client.create(1218, device, order_no, tip="200").json()
    assert response_sign_ok(answer) and answer["payOrder"]["tip"] == 300
    assert client.query(mchOrderNo=order_no)["tip"] == 300


def test_cents_19_cash_back_and_surcharge_as_decimal_strings(client, device):
    answer = client.create(1219, device).json()
    extra = json.loads(answer["payOrder"]["extra"])
    assert (extra["cashbackAmount"], extra["surchargeAmount"]) == ("20.00", "1.50")


def test_cents_20_a_real_refusal_with_control_characters_and_no_order(client, device):
    order_no = _order_no("F")
    answer = client.create(1220, device, order_no).json()
    assert (answer["resCode"], answer["errCode"]) == ("FAIL", "0014") and response_sign_ok(answer)
    assert "\x00" in answer["retMsg"] and "\x1b" in answer["retMsg"]
    assert client.query(mchOrderNo=order_no)["errCode"] == "0112"


def test_cents_21_a_4xx_without_a_body_on_a_paid_order(client, device):
    order_no = _order_no("B")
    response = client.create(1221, device, order_no)
    assert response.status_code == 400 and response.content == b""
    assert client.query(mchOrderNo=order_no)["status"] == 2


def test_cents_22_query_order_is_down_for_a_while_after_a_paid_answer(client, device):
    order_no = _order_no("O")
    answer = client.create(1222, device, order_no).json()
    assert answer["payOrder"]["status"] == 2 and response_sign_ok(answer)
    outage = client.post("query_order", {"mchId": "10000576", "mchOrderNo": order_no})
    assert outage.status_code == 503
    time.sleep(2.1)  # --outage-time 2
    assert client.query(mchOrderNo=order_no)["status"] == 2


@pytest.mark.parametrize(("amount", "paid"), [(1252, 9), (1253, 2)])
def test_cents_52_and_53_a_refusal_that_is_not_a_time_out_on_an_order_that_exists(client, device, amount, paid):
    order_no = _order_no("R")
    answer = client.create(amount, device, order_no).json()
    assert (answer["resCode"], answer["errCode"]) == ("FAIL", "0014") and response_sign_ok(answer)
    assert client.query(mchOrderNo=order_no)["status"] == paid


def test_cents_58_a_signed_paid_answer_that_query_order_contradicts(client, device):
    order_no = _order_no("C")
    answer = client.create(1258, device, order_no).json()
    assert answer["payOrder"]["status"] == 2 and response_sign_ok(answer)
    assert client.query(mchOrderNo=order_no)["status"] == 9


def test_cents_24_a_byte_order_mark_and_a_charset_that_lies(client, device):
    response = client.create(1224, device)
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert "ISO-8859-1" in response.headers["Content-Type"]
    answer = json.loads(response.content.decode("utf-8-sig"))
    assert response_sign_ok(answer) and "Café" in json.loads(answer["payOrder"]["extra"])["receiptDisp"]
