"""The cents table, as a client sees it over HTTP."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from .conftest import KEY, MCH_ID, Client, md5_sign, response_sign_ok

# The reference page's "not completed" result, as IOTPay publishes it.
REFERENCE_NOT_COMPLETED_EXTRA = (
    "{\"cardType\":\" \",\"cardNum\":\"\",\"expireDate\":\"    \",\"emvLabel\":\"\",\"emvAID\":\"\",\"emvTVR\":\"\","
    "\"emvTSI\":\"\",\"emvTC\":\"\",\"termNum\":\"25957\",\"bankTermNum\":\"40880013\",\"termInvoiceNum\":\"167339\","
    "\"seqNum\":\"000000000000\",\"authNum\":\"\",\"batchNum\":\"0000\",\"trxMethod\":\"\",\"accountType\":\"\","
    "\"receiptDisp\":\"Transaction Not Completed 05\",\"cashbackAmount\":\"\",\"timeStamp\":\"20210922-15231494\","
    "\"surchargeAmount\":\"\",\"langCode\":\"E\",\"trxDate\":\"\",\"trxTime\":\"\",\"cvmResults\":\"\",\"trxCode\":\"00\"}"
)
CARD_FIELDS = ("cardType", "cardNum", "expireDate", "emvLabel", "emvAID", "emvTVR", "emvTSI", "emvTC", "termNum",
               "bankTermNum", "termInvoiceNum", "seqNum", "authNum", "batchNum", "trxMethod", "accountType",
               "receiptDisp", "cashbackAmount", "surchargeAmount", "timeStamp", "langCode", "trxDate", "trxTime",
               "cvmResults", "trxCode")
SAMPLE_PAY_ORDER_FIELDS = (
    "userName", "storeId", "payOrderId", "mchId", "mchOrderNo", "transId", "originalOrderId", "channelId",
    "currency", "amount", "tip", "rate", "payType", "refundable", "clientIp", "deviceId", "deviceType", "notifyUrl",
    "subject", "body", "param1", "param2", "extra", "channelOrderNo", "status", "remarks", "rateValue", "trxAmount",
    "costAmount", "currencyAmount", "paySuccTime", "createDate", "updateDate",
)


def test_signing_helper_matches_the_published_vectors():
    assert md5_sign({"c": "cat", "a": "apple", "b": "boat", "d": ""}, KEY) == "D47C758B64EC1A436DAB574FFB86BDE1"
    assert md5_sign({"mchId": "10000576", "mchOrderNo": "1632349674730"}, KEY) == "FF916F1DC565DFEBEB5B30A6E6318557"
    sample = Client.order_fields(1, "V1-B25", "1632349674730", extra="{\"pos_flag\":\"yes\",\"productId\":\"10000576_null\"}")
    assert md5_sign(sample, KEY) == "A2C93CCEC8A44CABFED0CF08730409EB"


@pytest.mark.parametrize(
    ("amount", "card_type", "label", "method", "cvm", "lang", "account", "receipt"),
    [
        (1250, "V", "VISA CREDIT", "T", "1F0302", "E", "", "000 Approved 00 Thank You"),
        (1300, "M", "MASTERCARD", "C", "410302", "E", "", "000 Approved 00 Thank You"),
        (1400, "P", "INTERAC", "C", "420300", "F", "CHEQUING", "000 Approuvee 00 Merci"),
        (1575, "AX", "AMERICAN EXPRESS", "C", "1E0300", "E", "", "000 Approved 00 Thank You"),
    ],
)
def test_approval_carries_card_data_and_a_verifying_sign(client, device, amount, card_type, label, method, cvm,
                                                          lang, account, receipt):
    started = time.monotonic()
    answer = client.create(amount, device).json()
    assert time.monotonic() - started >= 0.2  # held open while the cardholder acts
    assert answer["retCode"] == answer["resCode"] == "SUCCESS"
    assert response_sign_ok(answer)
    pay_order = answer["payOrder"]
    assert set(SAMPLE_PAY_ORDER_FIELDS) <= set(pay_order)
    assert pay_order["status"] == 2 and pay_order["amount"] == amount and pay_order["tip"] == 0
    assert pay_order["deviceId"] == device and pay_order["payOrderId"] == answer["payOrderId"]
    assert answer["payOrderId"].startswith("CP") and len(answer["payOrderId"]) == 28
    assert isinstance(pay_order["paySuccTime"], int)
    extra = json.loads(pay_order["extra"])
    assert set(extra) == set(CARD_FIELDS) and all(isinstance(v, str) for v in extra.values())
    assert (extra["cardType"], extra["emvLabel"], extra["trxMethod"], extra["cvmResults"]) == (card_type, label, method, cvm)
    assert (extra["langCode"], extra["accountType"], extra["receiptDisp"]) == (lang, account, receipt)
    assert extra["cardNum"].startswith("XXXXXXXX") and extra["cardNum"][-4:].isdigit()
    assert extra["emvTC"].startswith("ARQC: ") and len(extra["emvTC"]) == 22
    assert len(extra["seqNum"]) == 12 and len(extra["authNum"]) == 6 and len(extra["batchNum"]) == 4


def test_two_approvals_have_different_receipt_numbers(client, device):
    first = json.loads(client.create(1200, device).json()["payOrder"]["extra"])
    second = json.loads(client.create(1200, device).json()["payOrder"]["extra"])
    assert first["cardNum"] == second["cardNum"] and first["batchNum"] == second["batchNum"]
    assert (first["termInvoiceNum"], first["seqNum"]) != (second["termInvoiceNum"], second["seqNum"])


def test_decline_keeps_card_data_without_authorisation(client, device):
    answer = client.create(1401, device).json()
    assert answer["retCode"] == answer["resCode"] == "SUCCESS" and response_sign_ok(answer)
    assert answer["payOrder"]["status"] == 9
    extra = json.loads(answer["payOrder"]["extra"])
    assert extra["authNum"] == "" and extra["cardNum"].endswith("2748")
    assert extra["receiptDisp"] == "051 Declined 05 Do Not Honour"


def test_not_completed_answers_the_reference_sample_extra(client, device):
    answer = client.create(1202, device).json()
    assert answer["payOrder"]["status"] == 9 and response_sign_ok(answer)
    assert answer["payOrder"]["extra"] == REFERENCE_NOT_COMPLETED_EXTRA


def test_gateway_fail_keeps_a_not_completed_order(client, device):
    order_no = f"F{time.time_ns()}"
    answer = client.create(1203, device, order_no).json()
    assert (answer["retCode"], answer["resCode"], answer["errCode"]) == ("SUCCESS", "FAIL", "0111")
    assert answer["retMsg"] == answer["errCodeDes"] == "third-party exception: terminal did not respond"
    assert response_sign_ok(answer)
    assert client.query(mchOrderNo=order_no)["status"] == 9


def test_busy_cents_refuse_and_keep_nothing(client, device):
    order_no = f"B{time.time_ns()}"
    answer = client.create(1204, device, order_no).json()
    assert (answer["resCode"], answer["errCode"]) == ("FAIL", "0111") and response_sign_ok(answer)
    assert answer["retMsg"] == f"terminal {device} is busy"
    missing = client.inspect(order_no)
    assert missing.status_code == 404 and missing.json()["create_calls"] == 1


def wait_for(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_a_paying_terminal_refuses_a_second_order(client, device, sandbox):
    # The first order waits for a press (cents 99), so it is certainly still paying when the second arrives.
    results = {}
    worker = threading.Thread(target=lambda: results.update(first=Client(sandbox.url).create(1299, device).json()))
    worker.start()
    wait_for(lambda: client.terminal_state(device)["canPress"])
    second_no = f"S{time.time_ns()}"
    second = client.create(1250, device, second_no).json()
    assert (second["resCode"], second["errCode"], second["retMsg"]) == ("FAIL", "0111", f"terminal {device} is busy")
    assert response_sign_ok(second)
    client.http.post(f"{sandbox.url}/terminals/{device}/press", data={"action": "approve"}, timeout=5)
    worker.join(5)
    assert results["first"]["payOrder"]["status"] == 2
    assert client.inspect(second_no).status_code == 404
    assert client.create(1250, device).json()["payOrder"]["status"] == 2  # free again


def test_late_answer_is_found_paid_by_query(client, device):
    order_no = f"L{time.time_ns()}"
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.create(1205, device, order_no, timeout=1)
    found = client.query(mchOrderNo=order_no)
    assert found["status"] == 2 and response_sign_ok(found)


def test_never_answers_stays_paying_and_frees_the_terminal(client, device, sandbox):
    order_no = f"N{time.time_ns()}"
    errors = []

    def hang():
        try:
            Client(sandbox.url).create(1206, device, order_no, timeout=10)
        except requests.RequestException as exc:
            errors.append(exc)

    worker = threading.Thread(target=hang)
    worker.start()
    wait_for(lambda: client.terminal_state(device)["state"] == "result")  # freed after the think time
    assert client.query(mchOrderNo=order_no)["status"] == 1
    assert client.create(1250, device).json()["payOrder"]["status"] == 2  # terminal freed after the think time
    worker.join(10)
    assert len(errors) == 1 and isinstance(errors[0], requests.ConnectionError)
    assert client.query(mchOrderNo=order_no)["status"] == 1


def test_dropped_connection_but_paid(client, device):
    order_no = f"D{time.time_ns()}"
    with pytest.raises(requests.ConnectionError):
        client.create(1207, device, order_no)
    assert client.query(mchOrderNo=order_no)["status"] == 2


def test_http_500_ends_not_completed(client, device):
    order_no = f"E{time.time_ns()}"
    response = client.create(1208, device, order_no)
    assert response.status_code == 500 and response.text == "Internal Server Error"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert client.query(mchOrderNo=order_no)["status"] == 9


def test_html_page_ends_not_completed(client, device):
    order_no = f"H{time.time_ns()}"
    response = client.create(1209, device, order_no)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()
    assert client.query(mchOrderNo=order_no)["status"] == 9


def test_forged_approval_fails_its_signature_and_query_tells_the_truth(client, device):
    order_no = f"X{time.time_ns()}"
    answer = client.create(1210, device, order_no).json()
    assert answer["payOrder"]["status"] == 2
    assert json.loads(answer["payOrder"]["extra"])["receiptDisp"] == "000 Approved 00 Thank You"
    assert not response_sign_ok(answer)
    truth = client.query(mchOrderNo=order_no)
    assert response_sign_ok(truth) and truth["status"] == 9


def test_amount_mismatch_is_signed_and_stored(client, device):
    order_no = f"M{time.time_ns()}"
    answer = client.create(1211, device, order_no).json()
    assert response_sign_ok(answer)
    assert answer["payOrder"]["amount"] == 1212 and answer["payOrder"]["status"] == 2
    assert client.query(mchOrderNo=order_no)["amount"] == 1212


def test_duplicate_order_number_is_refused_and_counted(client, device):
    order_no = f"U{time.time_ns()}"
    first = client.create(1250, device, order_no).json()
    again = client.create(1300, device, order_no).json()
    assert (again["retCode"], again["resCode"], again["errCode"]) == ("SUCCESS", "FAIL", "0014")
    assert "mchOrderNo" in again["retMsg"] and "already used" in again["retMsg"] and response_sign_ok(again)
    found = client.query(mchOrderNo=order_no)
    assert (found["payOrderId"], found["amount"], found["status"]) == (first["payOrderId"], 1250, 2)
    seen = client.inspect(order_no).json()
    assert seen["create_calls"] == 2 and seen["query_calls"] == 1 and seen["status"] == 2


def test_query_by_either_id(client, device):
    order_no = f"Q{time.time_ns()}"
    created = client.create(1250, device, order_no, tip="150").json()
    by_pay = client.query(payOrderId=created["payOrderId"])
    by_mch = client.query(mchOrderNo=order_no)
    assert by_pay == by_mch and response_sign_ok(by_pay)
    assert by_pay["retCode"] == by_pay["resCode"] == "SUCCESS"
    assert (by_pay["mchId"], by_pay["device"], by_pay["amount"], by_pay["tip"]) == (MCH_ID, device, 1250, 150)
    assert by_pay["extra"] == created["payOrder"]["extra"] and isinstance(by_pay["paySuccTime"], int)
    assert by_pay["channelOrderNo"]
    unknown = client.query(mchOrderNo="no-such-order")
    assert (unknown["retCode"], unknown["resCode"], unknown["errCode"]) == ("SUCCESS", "FAIL", "0112")
    assert response_sign_ok(unknown)


def test_interactive_order_waits_for_the_approve_button(client, device, sandbox):
    results = {}
    worker = threading.Thread(target=lambda: results.update(answer=Client(sandbox.url).create(1299, device).json()))
    worker.start()
    wait_for(lambda: client.terminal_state(device)["canPress"])
    assert client.terminal_state(device)["display"] == "Present card — $12.99"
    pressed = client.http.post(f"{sandbox.url}/terminals/{device}/press", data={"action": "approve"}, timeout=5)
    assert pressed.status_code == 200 and pressed.json()["ok"] is True
    worker.join(5)
    answer = results["answer"]
    assert answer["payOrder"]["status"] == 2 and response_sign_ok(answer)
    assert json.loads(answer["payOrder"]["extra"])["cardType"] == "V"
    late = client.http.post(f"{sandbox.url}/terminals/{device}/press", data={"action": "approve"}, timeout=5)
    assert late.status_code == 409
    assert client.terminal_state(device)["state"] == "result"


def test_interactive_cancel_is_not_completed(client, device, sandbox):
    results = {}
    worker = threading.Thread(target=lambda: results.update(answer=Client(sandbox.url).create(1399, device).json()))
    worker.start()
    wait_for(lambda: client.terminal_state(device)["canPress"])
    client.http.post(f"{sandbox.url}/terminals/{device}/press", data={"action": "cancel"}, timeout=5)
    worker.join(5)
    assert results["answer"]["payOrder"]["status"] == 9
    assert results["answer"]["payOrder"]["extra"] == REFERENCE_NOT_COMPLETED_EXTRA
