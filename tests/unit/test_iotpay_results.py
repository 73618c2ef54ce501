"""Parsing the gateway's answers into typed results, from the reference page's samples (tests/fixtures/iotpay/)."""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateways.iotpay import (
    FINAL_STATUSES,
    PAID_STATUSES,
    CardDetails,
    CreateOrderResult,
    Exchange,
    InvalidResponse,
    PayOrder,
    QueryOrderResult,
    RefundOrderResult,
    card_from_extra,
    redact_extra,
)
from tests.unit.conftest import load_fixture


def exchange_for(data, endpoint="create_order", *, text=None, verified=True):
    return Exchange(
        endpoint=endpoint,
        request={"mchId": "10000576", "key": "should-never-be-here", "sign": "X"},
        http_status=200,
        response_text=json.dumps(data) if text is None else text,
        response=data,
        elapsed_ms=12,
        error=None,
        verified=verified,
        signature="verified" if verified else "unverifiable",
    )


def approval_extra() -> str:
    return load_fixture("create_approved.json")["payOrder"]["extra"]


# --- statuses -------------------------------------------------------------------------------------------


def test_status_sets():
    assert frozenset({2, 3}) == PAID_STATUSES
    assert frozenset({2, 3, 4, 9}) == FINAL_STATUSES
    base = PayOrder.from_mapping({"status": 1})
    assert not base.paid
    assert not base.final
    assert not PayOrder.from_mapping({"status": 42}).final
    assert PayOrder.from_mapping({"status": "3"}).paid


# --- the reference page's not-completed sample --------------------------------------------------------


def test_not_completed_sample_is_final_but_not_paid():
    data = load_fixture("create_not_completed.json")
    result = CreateOrderResult.from_response(data, exchange_for(data), mch_order_no="1632338577033")
    assert not result.paid
    assert result.pay_order_id == "CP20210922192314685200722249"
    order = result.pay_order
    assert order is not None
    assert order.status == 9
    assert order.final
    assert order.receipt_disp == "Transaction Not Completed 05"
    assert order.amount == 1
    assert order.tip == 0
    assert order.device == "V1-B25"
    assert order.pay_succ_time is None
    assert order.card is not None
    assert order.card.is_empty
    assert order.card.card_type == ""  # " " stripped
    assert order.card.brand == ""
    assert order.card.last4 == ""
    assert order.card.term_invoice_num == "167339"
    assert order.card.lang_code == "E"
    assert "expireDate" not in json.dumps(order.raw)


# --- the reference page's approval extra ---------------------------------------------------------------


def test_approval_extra_card_data():
    card = card_from_extra(approval_extra())
    assert card is not None
    assert card.brand == "MASTERCARD"
    assert card.last4 == "1166"
    assert card.card_num == "XXXXXXXXXXXX1166"
    assert card.entry_method == "TAP"
    assert card.cvm == "NONE"
    assert card.cvm_results == "1F0302"
    assert card.auth_num == "01046Z"
    assert card.emv_aid == "A0000000041010"
    assert card.emv_tc == "ARQC: 3D36ACBD44BE512B"
    assert card.terminal_text == "000 Approved 00 Thank You"
    assert card.cashback_amount is None
    assert card.surcharge_amount is None
    assert not card.is_empty
    assert not hasattr(card, "expire_date")


def test_approval_never_keeps_the_expiry_date():
    data = load_fixture("create_approved.json")
    assert "expireDate" in data["payOrder"]["extra"]  # it is there on the wire
    result = CreateOrderResult.from_response(data, exchange_for(data))
    assert result.paid
    order = result.pay_order
    assert order is not None and order.card is not None
    assert order.pay_succ_time == datetime(2021, 1, 20, 23, 33, 53, tzinfo=UTC)
    dumped = [
        json.dumps(order.card.as_dict()),
        json.dumps(order.raw),
        json.dumps(result.exchange.as_log()),
        repr(result),
        repr(result.exchange),
    ]
    for text in dumped:
        assert "expireDate" not in text
        assert "1022" not in text
    # The redacted raw extra still carries the rest of the card data.
    assert json.loads(order.raw["extra"])["authNum"] == "01046Z"


def test_card_as_dict_round_trips():
    card = card_from_extra(approval_extra())
    assert card is not None
    stored = json.loads(json.dumps(card.as_dict()))
    assert CardDetails.from_dict(stored) == card


def test_query_fixture_builds_the_order_from_flat_fields():
    data = load_fixture("query_paid.json")
    result = QueryOrderResult.from_response(
        data, exchange_for(data, "query_order"), mch_order_no="1611185621001"
    )
    order = result.order
    assert order.paid and order.final
    assert order.amount == 1250
    assert order.status == 2
    assert order.device == "V1-B25"
    assert order.pay_succ_time == datetime(2021, 1, 20, 23, 33, 53, tzinfo=UTC)
    assert order.card is not None and order.card.auth_num == "01046Z"
    assert "expireDate" not in json.dumps(order.raw)


def test_refund_fixture():
    data = load_fixture("refund_success.json")
    result = RefundOrderResult.from_response(
        data, exchange_for(data, "refund_order"), mch_refund_no="R1611185621001-1"
    )
    assert result.refund_order_id == "RP20210121101500123400000001"
    assert result.mch_refund_no == "R1611185621001-1"
    assert result.refund_amount == 500
    assert result.refundable == 750
    assert result.status == 2


def test_refund_nested_refund_order():
    data = {"retCode": "SUCCESS", "resCode": "SUCCESS", "refundOrder": {"refundOrderId": "R1", "amount": 300}}
    result = RefundOrderResult.from_response(data, exchange_for(data, "refund_order"), mch_refund_no="M1")
    assert result.refund_order_id == "R1"
    assert result.refund_amount == 300
    assert result.mch_refund_no == "M1"


# --- card data details ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("card_type", "label", "brand"),
    [
        ("M", "", "MASTERCARD"),
        ("V", "", "VISA"),
        ("V", "Visa Credit", "VISA CREDIT"),
        ("AX", "", "AMEX"),
        ("A", "", "AMEX"),
        ("P", "", "INTERAC"),
        ("DP", "Interac", "INTERAC"),
        ("D", "", "DISCOVER"),
        ("J", "", "JCB"),
        ("U", "", "UNIONPAY"),
        ("ZZ", "", "ZZ"),
        (" ", "", ""),
    ],
)
def test_brand(card_type, label, brand):
    assert CardDetails(card_type=card_type.strip(), emv_label=label).brand == brand


@pytest.mark.parametrize(
    ("cvm_results", "cvm"),
    [
        ("1E0302", "SIGNATURE"),
        ("5E0000", "SIGNATURE"),
        ("1F0302", "NONE"),
        ("3F0000", "NONE"),
        ("420302", "PIN"),
        ("010002", "PIN"),
        ("440302", "PIN"),
        ("", ""),
        ("ZZ", ""),
    ],
)
def test_cvm(cvm_results, cvm):
    assert CardDetails(cvm_results=cvm_results).cvm == cvm


@pytest.mark.parametrize(
    ("method", "entry"), [("C", "CHIP"), ("T", "TAP"), ("S", "SWIPE"), ("M", "MANUAL"), ("", ""), ("X", "")]
)
def test_entry_method(method, entry):
    assert CardDetails(trx_method=method).entry_method == entry


def test_amounts_in_cents_from_strings():
    card = card_from_extra({"cashbackAmount": "2000", "surchargeAmount": " 150 ", "cardNum": "4111"})
    assert card is not None
    assert card.cashback_amount == 2000
    assert card.surcharge_amount == 150
    assert card.last4 == "4111"
    assert card.is_empty is False


@pytest.mark.parametrize(
    "extra", [None, "", "   ", "not json", "[1]", "12", "null", '"text"', '{"a":', b"{}", 12]
)
def test_junk_extra_gives_none(extra):
    assert card_from_extra(extra) is None


def test_junk_values_become_empty():
    extra = json.dumps(
        {
            "cardType": 5,
            "cardNum": None,
            "emvLabel": ["x"],
            "authNum": {"a": 1},
            "cashbackAmount": "1.50",
            "surchargeAmount": True,
            "trxMethod": False,
            "cvmResults": 3.5,
            "expireDate": 1022,
        }
    )
    card = card_from_extra(extra)
    assert card is not None
    assert card.card_type == "5"  # an int is written as text
    assert card.card_num == ""
    assert card.emv_label == ""
    assert card.auth_num == ""
    assert card.cashback_amount == 150  # a decimal string is dollars and cents
    assert card.surcharge_amount is None and card.surcharge_raw == "true"  # unreadable: kept to be shown
    assert card.entry_method == ""
    assert card.cvm == ""
    assert "expire" not in json.dumps(card.as_dict()).lower()


@given(
    st.dictionaries(
        st.text(max_size=15),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
            lambda c: st.lists(c) | st.dictionaries(st.text(), c),
            max_leaves=5,
        ),
    )
)
def test_card_data_never_raises(mapping):
    card = card_from_extra(mapping)
    assert card is not None
    json.dumps(card.as_dict())
    _ = (card.brand, card.last4, card.entry_method, card.cvm, card.is_empty)
    order = PayOrder.from_mapping(mapping)
    _ = (order.paid, order.final)


def test_pay_order_tolerates_types():
    order = PayOrder.from_mapping(
        {"amount": "100", "tip": "x", "status": None, "paySuccTime": "1611185633000", "mchId": 10000576}
    )
    assert order.amount == 100
    assert order.tip is None
    assert order.status is None
    assert order.mch_id == "10000576"
    assert order.pay_succ_time == datetime(2021, 1, 20, 23, 33, 53, tzinfo=UTC)
    assert order.card is None
    assert order.receipt_disp == ""
    assert PayOrder.from_mapping({"amount": 100.0, "paySuccTime": "", "status": True}).amount == 100
    assert PayOrder.from_mapping({"paySuccTime": 10**30}).pay_succ_time is None
    assert PayOrder.from_mapping({"amount": 1.5}).amount is None


# --- missing pieces -----------------------------------------------------------------------------------------


def test_create_success_without_pay_order_is_invalid():
    data = {"retCode": "SUCCESS", "resCode": "SUCCESS", "payOrderId": "CP1", "sign": "X"}
    with pytest.raises(InvalidResponse):
        CreateOrderResult.from_response(data, exchange_for(data))


def test_create_pay_order_without_status_is_invalid():
    data = load_fixture("create_approved.json")
    del data["payOrder"]["status"]
    with pytest.raises(InvalidResponse, match="status"):
        CreateOrderResult.from_response(data, exchange_for(data))


def test_create_for_another_order_is_invalid():
    data = load_fixture("create_approved.json")
    with pytest.raises(InvalidResponse, match="mchOrderNo"):
        CreateOrderResult.from_response(data, exchange_for(data), mch_order_no="someone-else")


def test_query_without_status_is_invalid():
    data = load_fixture("query_paid.json")
    data["status"] = "paid"
    with pytest.raises(InvalidResponse):
        QueryOrderResult.from_response(data, exchange_for(data, "query_order"))


# --- redaction ---------------------------------------------------------------------------------------------


def test_redact_extra_shapes():
    assert redact_extra(None) is None
    assert redact_extra('{"pos_flag":"yes"}') == '{"pos_flag":"yes"}'
    assert redact_extra({"expireDate": "1022", "a": 1}) == {"a": 1}
    redacted = redact_extra(approval_extra())
    assert isinstance(redacted, str)
    assert "expireDate" not in redacted
    assert json.loads(redacted)["cardNum"] == "XXXXXXXXXXXX1166"
    truncated = approval_extra()[:120]
    assert "1022" in truncated
    assert "1022" not in redact_extra(truncated)


def test_exchange_as_log_is_redacted_and_serialisable():
    data = load_fixture("create_approved.json")
    log = exchange_for(data).as_log()
    text = json.dumps(log)
    assert "expireDate" not in text
    assert log["request"]["key"] == "[redacted]"
    assert "should-never-be-here" not in text
    assert json.loads(log["response_text"]) == log["response"]


def test_exchange_as_log_keeps_unparsed_text_but_scrubs_expiry():
    raw = json.dumps(load_fixture("create_approved.json"))[:1200]
    log = exchange_for(None, text=raw).as_log()
    assert log["response"] is None
    assert log["response_text"].startswith('{"resCode"')
    assert "expireDate" not in log["response_text"]


def test_exchange_truncates_long_text():
    ex = exchange_for(None, text="x" * 50_000)
    assert ex.response_text is not None and len(ex.response_text) == 20_000
