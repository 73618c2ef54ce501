"""Reading untrusted answers: text cleaned, money read in both shapes, the CVM, what is stored, poison bodies."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateways.exchange import Exchange
from gateways.iotpay import (
    CardDetails,
    IOTPayClient,
    OutcomeUnknown,
    RefundOrderResult,
    Verification,
    card_from_extra,
    clean_text,
    money,
)
from tests.unit.conftest import gateway_signed, load_fixture

KEY = "TESTKEY123"


@pytest.mark.parametrize(("raw", "clean"), [
    ("000 Approved\x00\x1b@\x1dV 00", "000 Approved@V 00"),
    ("Thank\r\nYou\t!", "Thank You !"),
    ("CSI\x9b31m red", "CSI31m red"),
    ("left\u202eright", "leftright"),
    ("surrogate\ud800here", "surrogatehere"),
    ("  Café  Étoile  ", "Café Étoile"),
])
def test_gateway_text_is_cleaned(raw, clean):
    assert clean_text(raw) == clean


def _character_walk(value: str, limit: int = 255) -> str:
    """clean_text as it was before its shortcut for printable text: every character looked at."""
    kept = [" " if c in "\t\n\r\v\f" else c for c in value
            if c in "\t\n\r\v\f" or (unicodedata.category(c) not in ("Cc", "Cs")
                                       and c not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")]
    return re.sub(r"\s+", " ", "".join(kept)).strip()[:limit]


@given(st.text(alphabet=st.characters(codec=None), max_size=300) | st.from_regex(r"[ -~\u00a0\u2028\u202e\x85]{0,40}"))
def test_the_shortcut_for_printable_text_cleans_as_the_character_walk_does(value):
    assert clean_text(value) == _character_walk(value)


def test_gateway_text_is_capped():
    assert len(clean_text("x" * 10_000)) == 255 and len(clean_text("x" * 100, 40)) == 40


@pytest.mark.parametrize(("value", "cents", "raw"), [
    ("20.00", 2000, ""), ("1.5", 150, ""), ("$3.25", 325, ""), ("-5.00", -500, ""), (500, 500, ""),
    ("500", 500, ""), (12.0, 12, ""), ("", None, ""), (None, None, ""), ("  ", None, ""),
    ("abc", None, "abc"), ("20.001", None, "20.001"), (True, None, "true"), ({"a": 1}, None, '{"a": 1}'),
])
def test_money_arrives_as_cents_or_as_a_decimal_string(value, cents, raw):
    assert money(value) == (cents, raw)


@pytest.mark.parametrize(("cvm", "method", "signature", "failed"), [
    ("030002", "PIN_AND_SIGNATURE", True, False), ("430302", "PIN_AND_SIGNATURE", True, False),
    ("410302", "PIN", False, False), ("420300", "PIN", False, False), ("440302", "PIN", False, False),
    ("1E0300", "SIGNATURE", True, False), ("5E0300", "SIGNATURE", True, False),
    ("1F0302", "NONE", False, False), ("3F0000", "NONE", False, False),
    ("410301", "PIN", False, True), ("000001", "FAILED", False, True), ("2F0000", "OTHER", False, False),
    ("", "", False, False), ("zz", "", False, False),
])
def test_the_cvm_of_emv_tag_9f34(cvm, method, signature, failed):
    verification = Verification.from_cvm_results(cvm)
    assert (verification.method, verification.signature_line, verification.failed) == (method, signature, failed)


def test_card_data_keeps_what_it_could_not_read_and_cleans_the_rest():
    extra = json.dumps({"cashbackAmount": "20.00", "surchargeAmount": "1,50", "receiptDisp": "OK\x1b@",
                        "emvLabel": "VISA\x00", "expireDate": "1028"})
    card = card_from_extra(extra)
    assert (card.cashback_amount, card.cashback_raw) == (2000, "")
    assert (card.surcharge_amount, card.surcharge_raw) == (None, "1,50")
    assert card.terminal_text == "OK@" and card.brand == "VISA"
    assert CardDetails.from_dict(card.as_dict()) == card
    assert "1028" not in json.dumps(card.as_dict())


def _exchange(response, text=None):
    return Exchange(endpoint="create_order", request={"mchId": "1", "sign": "ABC", "key": "secret"},
                    http_status=200, response_text=text or json.dumps(response), response=response,
                    elapsed_ms=1, error=None, verified=True, signature="verified")


def test_what_is_stored_of_an_exchange_is_storable_and_has_no_secret_or_request_sign():
    logged = _exchange({"retMsg": "a\x00b", "payOrder": {"extra": "x"}, "bad\ud800": 1}).as_log()
    assert logged["response"]["retMsg"] == "a\ufffdb" and "bad\ufffd" in logged["response"]
    assert "sign" not in logged["request"] and logged["request"]["key"] == "[redacted]"
    deep: dict = {}
    node = deep
    for _ in range(60):
        node["a"] = {}
        node = node["a"]
    logged = _exchange(deep, text="{...deep...}").as_log()
    assert logged["response"] is None and logged["response_text"] == "{...deep...}"


def test_a_refund_is_refunded_only_with_status_2():
    data = load_fixture("refund_success.json")
    for status, refunded, refused in ((2, True, False), (3, False, False), (1, False, False), (9, False, True),
                                      (None, False, False)):
        result = RefundOrderResult.from_response({**data, "status": status}, _exchange(data, "{}"))
        assert (result.refunded, result.refused) == (refunded, refused)


def _client(canned_server):
    return IOTPayClient(base_url=canned_server.url, mch_id="10000576", key=KEY, connect_timeout=2, read_timeout=5)


def _create(client):
    return client.create_order(mch_order_no="1611185621001", amount=1250, currency="CAD", device="PAX-1",
                               job_no="job", client_ip="127.0.0.1", subject="s", body="b")


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"retCode":"SUCCESS","payOrder":' + b"[" * 50_000 + b"]" * 50_000 + b"}", "unparsable"),
    (b'{"padding":"' + b"x" * 2_000_000 + b'"}', "too_large"),
    (b"\xff\xfe\x00garbage", "unparsable"),
])
def test_poison_bodies_are_no_answer_never_a_crash(canned_server, body, reason):
    canned_server.reply(body)
    with _client(canned_server) as client, pytest.raises(OutcomeUnknown) as caught:
        _create(client)
    assert caught.value.reason == reason


def test_a_byte_order_mark_is_read(canned_server):
    answer = gateway_signed(load_fixture("create_approved.json"), KEY)
    canned_server.reply(b"\xef\xbb\xbf" + json.dumps(answer, ensure_ascii=False).encode(),
                        content_type="application/json; charset=ISO-8859-1")
    with _client(canned_server) as client:
        result = _create(client)
    assert result.verified and result.paid
