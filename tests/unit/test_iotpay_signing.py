"""IOTPay signing: the vectors of docs/iotpay.md, then the rules one at a time against hand-built strings."""

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateways.iotpay import flat_fields, sign, verify, verify_response
from gateways.iotpay.signing import (
    Signature,
    field_text,
    response_signature,
    signing_candidates,
    signing_string,
)
from tests.unit.conftest import load_fixture

KEY = "TESTKEY123"


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()  # noqa: S324 -- the protocol is MD5


# --- the vectors of docs/iotpay.md ------------------------------------------------------------------------


def test_vector_empty_value_dropped_and_sorted():
    assert sign({"c": "cat", "a": "apple", "b": "boat", "d": ""}, KEY) == "D47C758B64EC1A436DAB574FFB86BDE1"


def test_vector_two_fields():
    fields = {"mchId": "10000576", "mchOrderNo": "1632349674730"}
    assert sign(fields, KEY) == "FF916F1DC565DFEBEB5B30A6E6318557"


def test_vector_reference_request_sample_ignores_its_own_sign():
    request = load_fixture("create_request_sample.json")
    assert request["tip"] == "0"
    assert request["sign"] == "AE51912B1FB627A1820BAF34DC89EF10"  # signed with IOTPay's key, not ours
    assert sign(request, KEY) == "A2C93CCEC8A44CABFED0CF08730409EB"


# --- the rules ----------------------------------------------------------------------------------------


def test_unicode_is_signed_as_utf8():
    fields = {"subject": "Café crème 日本", "amount": "100"}
    expected = md5_upper("amount=100&subject=Café crème 日本&key=" + KEY)
    assert sign(fields, KEY) == expected


def test_zero_kept_empty_and_none_dropped():
    fields = {"tip": "0", "amount": 0, "remarks": "", "device": None, "b": "x"}
    assert signing_string(fields, KEY) == f"amount=0&b=x&tip=0&key={KEY}"
    assert sign(fields, KEY) == md5_upper(f"amount=0&b=x&tip=0&key={KEY}")


def test_names_sort_case_insensitively():
    fields = {"refundAmount": "500", "refundable": "750", "Zeta": "z", "alpha": "a"}
    # ASCII order would put "Zeta" first and "refundAmount" before "refundable".
    expected = md5_upper(f"alpha=a&refundable=750&refundAmount=500&Zeta=z&key={KEY}")
    assert sign(fields, KEY) == expected


def test_ties_in_case_are_ordered_deterministically():
    a = {"ab": "1", "AB": "2"}
    b = {"AB": "2", "ab": "1"}
    assert sign(a, KEY) == sign(b, KEY) == md5_upper(f"AB=2&ab=1&key={KEY}")


def test_value_conversions():
    assert field_text(True) == "true"
    assert field_text(False) == "false"
    assert field_text(1250) == "1250"
    assert field_text({"pos_flag": "yes", "n": 1}) == '{"pos_flag":"yes","n":1}'
    assert field_text(["é", 2]) == '["é",2]'
    fields = {"flag": True, "extra": {"a": "é"}}
    assert sign(fields, KEY) == md5_upper('extra={"a":"é"}&flag=true&key=' + KEY)


def test_sign_field_is_not_signed():
    fields = {"a": "1"}
    assert sign({**fields, "sign": "ANYTHING"}, KEY) == sign(fields, KEY)


def test_verify_accepts_fields_added_by_the_gateway():
    ours = {"mchId": "10000576", "mchOrderNo": "1632349674730"}
    answer = {**ours, "retCode": "SUCCESS", "newField": "added later", "refundable": 1}
    answer["sign"] = md5_upper(
        f"mchId=10000576&mchOrderNo=1632349674730&newField=added later&refundable=1&retCode=SUCCESS&key={KEY}"
    )
    assert verify(answer, KEY)


def test_verify_rejects_a_tampered_field():
    fields = {"amount": "100", "status": "2"}
    fields["sign"] = sign(fields, KEY)
    assert verify(fields, KEY)
    assert not verify({**fields, "amount": "1"}, KEY)
    assert not verify({**fields, "extraField": "x"}, KEY)
    assert not verify(fields, "OTHERKEY")


def test_verify_without_sign_is_false():
    assert not verify({"amount": "100"}, KEY)
    assert not verify({"amount": "100", "sign": ""}, KEY)
    assert not verify({"amount": "100", "sign": None}, KEY)
    assert not verify({"amount": "100", "sign": 123}, KEY)


def test_verify_odd_sign_text_does_not_raise():
    assert not verify({"amount": "100", "sign": "日本"}, KEY)


def _gateway_sign(data, *, sort_keys=False, ascii_only=False):
    """As IOTPay signs an answer: each nested object as its compact JSON text (docs/iotpay.md, "Signing")."""
    fields = {k: json.dumps(v, separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=ascii_only)
              if isinstance(v, dict) else v for k, v in data.items() if k != "sign"}
    return {**data, "sign": sign(fields, KEY)}


@pytest.mark.parametrize("sort_keys", [False, True])
@pytest.mark.parametrize("ascii_only", [False, True])
def test_nested_objects_are_verified_as_their_json_text(sort_keys, ascii_only):
    data = load_fixture("create_approved.json")
    data["payOrder"]["subject"] = "Café Étoile"  # non-ASCII: signed escaped or not
    signed = _gateway_sign(data, sort_keys=sort_keys, ascii_only=ascii_only)
    assert response_signature(signed, KEY) == Signature.VERIFIED and verify_response(signed, KEY)
    signed["payOrder"]["status"] = 9  # nested: covered by the sign
    assert response_signature(signed, KEY) == Signature.UNVERIFIABLE


def test_a_nested_answer_signed_over_its_flat_fields_only_is_unverifiable():
    data = load_fixture("create_approved.json")
    flat_only = {**data, "sign": sign(flat_fields(data), KEY)}
    assert response_signature(flat_only, KEY) == Signature.UNVERIFIABLE  # payOrder would not be covered


def test_a_flat_answer_that_does_not_match_is_invalid_and_one_without_sign_unsigned():
    data = {"retCode": "SUCCESS", "resCode": "SUCCESS", "status": 2}
    assert response_signature({**data, "sign": sign(data, KEY)}, KEY) == Signature.VERIFIED
    assert response_signature({**data, "sign": sign(data, "other")}, KEY) == Signature.INVALID
    assert response_signature(data, KEY) == Signature.UNSIGNED
    assert response_signature({**data, "sign": " "}, KEY) == Signature.UNSIGNED


def test_candidates_are_few():
    assert len(signing_candidates({"a": 1})) == 1
    assert len(signing_candidates({"a": {"b": "c", "a": "d"}})) == 2  # ASCII only: escaping changes nothing
    assert len(signing_candidates({"a": {"b": "é", "a": "d"}})) == 4


def test_query_fixture_verifies_including_extra():
    data = load_fixture("query_paid.json")
    assert verify_response(data, KEY)
    assert not verify_response({**data, "status": "9"}, KEY)
    assert response_signature({**data, "status": "9"}, KEY) == Signature.INVALID


names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=12
)
values = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none())


@given(st.dictionaries(names.filter(lambda n: n != "sign"), values, max_size=12))
def test_sign_roundtrips_and_ignores_insertion_order(fields):
    signed = {**fields, "sign": sign(fields, KEY)}
    assert verify(signed, KEY)
    reordered = dict(reversed(list(signed.items())))
    assert verify(reordered, KEY)
    assert len(signed["sign"]) == 32
    assert signed["sign"] == signed["sign"].upper()


def test_no_fields_at_all_signs_the_key_alone():
    # Same as the sandbox's independent implementation: no leading "&".
    assert signing_string({"sign": "X", "empty": ""}, KEY) == f"key={KEY}"
