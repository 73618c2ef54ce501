"""The merchant key never leaves its encrypted column: payments and refunds are made, then every place a
key could leak is scanned — logs, admin pages, API answers, websocket messages, events, exports, the
database itself."""

from __future__ import annotations

import json
import os
import time
import uuid
import zoneinfo

import pytest
from django.db import connection
from django.utils import timezone
from websockets.sync.client import connect

from payments.models import Merchant, PaymentAttempt
from tests.conftest import login_session, wait_for_status
from tests.factories import UserFactory
from tests.processes import RUN_DIR

pytestmark = pytest.mark.integration


def test_the_merchant_key_appears_nowhere(live, lane, cashier_session):
    key = os.environ["TEST_SANDBOX_KEY"]
    merchant = Merchant.objects.get()
    assert key not in merchant.key_ciphertext and merchant.get_key() == key
    manager = UserFactory(is_staff=True, is_superuser=True)
    manager_session = login_session(live.url, manager.username)
    seen: list[str] = []

    ws_url = live.url.replace("http://", "ws://") + f"/ws/lanes/{lane.code}/"
    with connect(ws_url, additional_headers={"Cookie": f"sessionid={cashier_session.cookies['sessionid']}"},
                 origin=live.url) as ws:
        ids = []
        for amount in (2000, 2101):  # an approval and a decline
            response = cashier_session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": amount},
                                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
            seen.append(response.text)
            ids.append(response.json()["id"])
            attempt = wait_for_status(ids[-1], {"APPROVED", "DECLINED"}, timeout=30)
            seen.append(cashier_session.get(f"{live.url}/api/payments/{attempt.pk}", timeout=5).text)
        while True:
            try:
                seen.append(ws.recv(timeout=1))
            except TimeoutError:
                break

    approved = PaymentAttempt.objects.get(pk=ids[0])
    refund = manager_session.post(f"{live.url}/api/payments/{approved.pk}/refunds",
                                  json={"amount": 500, "reason": "returned item"},
                                  headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert refund.status_code == 201, refund.text
    seen.append(refund.text)
    refund_id = refund.json()["id"]
    for _ in range(100):
        body = manager_session.get(f"{live.url}/api/refunds/{refund_id}", timeout=5)
        seen.append(body.text)
        if body.json()["status"] == "APPROVED":
            break
        time.sleep(0.2)
    assert json.loads(seen[-1])["status"] == "APPROVED"

    day = timezone.localtime(approved.created_at, zoneinfo.ZoneInfo(approved.store.time_zone))
    pages = [
        f"/admin/payments/merchant/{merchant.pk}/change/",
        "/admin/payments/merchant/",
        f"/admin/payments/paymentattempt/{approved.pk}/change/",
        "/admin/payments/paymentevent/",
        f"/backoffice/payments/{approved.pk}/",
        f"/payments/{approved.pk}/receipt/",
        f"/payments/{approved.pk}/receipt/?format=text",
        f"/refunds/{refund_id}/receipt/",
        f"/backoffice/reconciliation/?store={approved.store_id}&day={day:%Y-%m-%d}",
        f"/backoffice/reconciliation/export.csv?store={approved.store_id}&day={day:%Y-%m-%d}",
        f"/backoffice/lanes/?store={approved.store_id}",
    ]
    for page in pages:
        response = manager_session.get(f"{live.url}{page}", timeout=10)
        assert response.status_code == 200, (page, response.status_code)
        seen.append(response.text)

    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            seen.extend(str(row) for row in cursor.fetchall())
    seen.extend(path.read_text(errors="replace") for path in RUN_DIR.glob("*.log"))

    leaks = [text[:200] for text in seen if key in text]
    assert leaks == []
    assert len(seen) > 50
