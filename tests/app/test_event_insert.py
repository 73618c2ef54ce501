"""A payment's gateway exchanges are stored in one INSERT of VALUES rows, each document as it was redacted: not
through UNNEST arrays, whose JSON psycopg escapes in Python a quote at a time (docs/performance.md, issue 16)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gateways.exchange import Exchange
from payments.models import PaymentAttempt, PaymentEvent
from payments.services.transitions import record_exchanges
from tests.factories import LaneFactory, StoreFactory, TerminalFactory


def _exchange(endpoint: str, note: str) -> Exchange:
    body = {"retCode": "SUCCESS", "retMsg": f'say "{note}" \\ twice', "extra": '{"expireDate":"2912","brand":"V"}'}
    return Exchange(endpoint=endpoint, request={"mchId": "1", "sign": "ABC"}, http_status=200,
                    response_text=str(body), response=body, elapsed_ms=12, error=None, verified=True,
                    signature="verified", reference="S1", outcome="success")


@pytest.mark.django_db
def test_two_exchanges_are_one_insert_of_values_and_read_back_as_written():
    lane = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    attempt = PaymentAttempt.objects.create(
        order_reference="S1", sale_id="6f1c2d9e-8a41-4b7e-9c55-0d3f7a1e2b64", merchant=lane.store.merchant,
        store=lane.store, lane=lane, terminal=lane.terminal, amount=1250, currency="CAD", status="SENT")
    exchanges = [_exchange("create_order", "first"), _exchange("query_order", "second")]
    with CaptureQueriesContext(connection) as queries:
        record_exchanges(attempt.pk, [(e, f"{e.endpoint}: success") for e in exchanges])
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert "UNNEST" not in inserts[0].upper()
    stored = list(PaymentEvent.objects.filter(attempt=attempt).order_by("pk").values_list("cause", "data"))
    assert stored == [(f"{e.endpoint}: success", e.as_log()) for e in exchanges]
    assert "2912" not in str(stored)  # still redacted
