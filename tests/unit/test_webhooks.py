"""Webhooks' parts that need no console: the signature, the back-off, which status makes which event, the
event types an endpoint may ask for, and one POST over the wire to a real local server."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.core.exceptions import ValidationError

from payments.models import AttemptStatus
from webhooks.delivery import retry_delay
from webhooks.endpoints import ALL_EVENTS, clean_events
from webhooks.outbox import event_type_for
from webhooks.sender import post_event
from webhooks.signing import new_event_id, new_secret, signature, signature_header

S = AttemptStatus


def test_the_signature_is_hmac_sha256_of_t_dot_body_keyed_with_the_secret() -> None:
    body = b'{"id":"evt_1"}'
    assert signature("whsec_test", 1700000000, body) == (
        "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925")
    assert signature_header("whsec_test", 1700000000, body) == (
        "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925")
    assert signature("whsec_other", 1700000000, body) != signature("whsec_test", 1700000000, body)
    assert signature("whsec_test", 1700000001, body) != signature("whsec_test", 1700000000, body)


def test_secrets_and_event_ids_are_fresh() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50 and all(s.startswith("whsec_") and len(s) > 40 for s in secrets)
    ids = {new_event_id() for _ in range(50)}
    assert len(ids) == 50 and all(i.startswith("evt_") and len(i) <= 40 for i in ids)


def test_the_first_retry_comes_within_30_seconds_then_the_waits_double_up_to_the_cap(settings) -> None:
    settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS = 10.0, 3600.0
    first = [retry_delay(1) for _ in range(200)]
    assert min(first) >= 8 and max(first) <= 12 < 30
    for tries, middle in ((2, 20), (3, 40), (6, 320), (9, 2560)):
        assert all(0.8 * middle <= retry_delay(tries) <= 1.2 * middle for _ in range(50)), tries
    assert all(0.8 * 3600 <= retry_delay(n) <= 1.2 * 3600 for n in (13, 30, 200))
    # Spread, not in step: many deliveries failing together do not all come back at once.
    assert len({round(d, 3) for d in first}) > 100


def test_each_status_makes_the_event_the_issue_names() -> None:
    assert {s: event_type_for(s, refund=False) for s in S} == {
        S.CREATED: None, S.SENT: None, S.APPROVED: "payment.approved", S.DECLINED: "payment.declined",
        S.FAILED: "payment.failed", S.NEEDS_REVIEW: "payment.needs_review", S.UNKNOWN: "payment.unknown"}
    assert {s: event_type_for(s, refund=True) for s in S} == {
        S.CREATED: None, S.SENT: None, S.APPROVED: "refund.approved", S.DECLINED: None, S.FAILED: "refund.failed",
        S.NEEDS_REVIEW: "refund.needs_review", S.UNKNOWN: None}
    assert ALL_EVENTS == ("payment.approved", "payment.declined", "payment.failed", "payment.needs_review",
                          "payment.unknown", "refund.approved", "refund.failed", "refund.needs_review")


def test_an_endpoint_asks_for_known_event_types_only() -> None:
    assert clean_events(["refund.failed", " payment.approved", "refund.failed"]) == ["payment.approved",
                                                                                     "refund.failed"]
    with pytest.raises(ValidationError, match=r"payment\.refunded"):
        clean_events(["payment.approved", "payment.refunded"])
    with pytest.raises(ValidationError, match="at least one"):
        clean_events(["", " "])


def _post(url: str, *, read: float = 2.0):
    return post_event(url, event_id="evt_abc", body=b'{"id":"evt_abc"}', secret="whsec_k", timeouts=(1.0, read))


def test_a_post_carries_the_id_and_a_signature_that_verifies(canned_server) -> None:
    canned_server.reply(status=204)
    answer = _post(canned_server.url)
    assert (answer.code, answer.error, answer.delivered) == (204, "", True)
    got = canned_server.last
    assert got.raw_body == b'{"id":"evt_abc"}' and json.loads(got.raw_body) == {"id": "evt_abc"}
    assert got.headers["Content-Type"] == "application/json" and got.headers["Console-Event-Id"] == "evt_abc"
    t, v1 = (part.split("=", 1)[1] for part in got.headers["Console-Signature"].split(","))
    expected = hmac.new(b"whsec_k", t.encode() + b"." + got.raw_body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, expected)


@pytest.mark.parametrize("status", [500, 404, 301])
def test_an_answer_other_than_2xx_is_not_delivered(canned_server, status) -> None:
    canned_server.reply(status=status, body=b"no", content_type="text/plain")
    answer = _post(canned_server.url)
    assert (answer.code, answer.delivered, answer.error) == (status, False, f"answered {status}")


def test_a_slow_endpoint_costs_the_read_time_out_and_no_more(canned_server) -> None:
    canned_server.reply(delay=5)
    answer = _post(canned_server.url, read=0.5)
    assert answer.code is None and not answer.delivered and answer.error.startswith("time-out")
    assert 400 <= answer.duration_ms < 3000


def test_a_refused_connection_is_no_answer_and_its_text_is_not_kept(closed_port_url) -> None:
    answer = _post(closed_port_url.replace("/v1", "/hooks?token=sekrit"))
    assert answer.code is None and answer.error.startswith("no connection") and "sekrit" not in answer.error
