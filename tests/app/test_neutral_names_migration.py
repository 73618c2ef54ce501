"""The migrations to the console's neutral words keep every payment's data: rows written with IOTPay's
column names before them read back, after them, under the new names (and back again when rolled back)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("payments", "0004_idempotency_fingerprints"), ("lanes", "0006_store_memberships"),
          ("backoffice", "0001_initial")]
AFTER = [("payments", "0007_remove_gateway_status"), ("lanes", "0007_terminal_gateway_login"),
         ("backoffice", "0004_remove_gateway_status")]
CARD = {"card_num": "************1234", "receipt_disp": "APPROVED 123456", "auth_num": "123456"}


def _migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def old_schema() -> Iterator[object]:
    apps = _migrate(BEFORE)
    yield apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _old_rows(apps: object) -> dict[str, int]:
    merchant = apps.get_model("payments", "Merchant").objects.create(
        name="M", mch_id="30000009", key_ciphertext="x", job_no="clerk", currency="CAD")
    store = apps.get_model("lanes", "Store").objects.create(name="Main", merchant=merchant)
    lane = apps.get_model("lanes", "Lane").objects.create(store=store, code="L9", name="Lane 9")
    terminal = apps.get_model("lanes", "Terminal").objects.create(lane=lane, device="PAX-9", job_no="lane9")
    attempts = apps.get_model("payments", "PaymentAttempt")
    common = {"merchant": merchant, "store": store, "lane": lane, "terminal": terminal, "currency": "CAD",
              "amount": 1000, "tip": 0}
    paid = attempts.objects.create(
        mch_order_no="P0000000000000000001", sale_id=uuid.uuid4(), status="APPROVED", pay_order_id="CP1",
        gateway_status=2, receipt_disp="APPROVED 123456", card=CARD, **common)
    declined = attempts.objects.create(
        mch_order_no="P0000000000000000002", sale_id=uuid.uuid4(), status="DECLINED", gateway_status=9, **common)
    refund = apps.get_model("payments", "Refund").objects.create(
        attempt=paid, mch_refund_no="R0000000000000000001", amount=500, currency="CAD", reason="r",
        status="APPROVED", refund_order_id="RF1", receipt_disp="REFUND OK", card=CARD)
    run = apps.get_model("backoffice", "VerificationRun").objects.create(store=store, day="2026-12-01")
    finding = apps.get_model("backoffice", "VerificationFinding").objects.create(
        run=run, attempt=declined, kind="mismatch", local_status="DECLINED", gateway_status=2, detail="d")
    return {"merchant": merchant.pk, "terminal": terminal.pk, "paid": paid.pk, "declined": declined.pk,
            "refund": refund.pk, "finding": finding.pk}


def test_the_data_is_kept_under_the_new_names_and_back(old_schema: object) -> None:
    ids = _old_rows(old_schema)
    apps = _migrate(AFTER)
    merchant = apps.get_model("payments", "Merchant").objects.get(pk=ids["merchant"])
    assert (merchant.gateway, merchant.gateway_account, merchant.gateway_login) == ("iotpay", "30000009", "clerk")
    assert apps.get_model("lanes", "Terminal").objects.get(pk=ids["terminal"]).gateway_login == "lane9"
    attempts = apps.get_model("payments", "PaymentAttempt").objects
    paid = attempts.get(pk=ids["paid"])
    assert (paid.order_reference, paid.gateway_reference, paid.gateway_outcome, paid.terminal_text) == (
        "P0000000000000000001", "CP1", "paid", "APPROVED 123456")
    assert paid.card == {"card_num": "************1234", "terminal_text": "APPROVED 123456", "auth_num": "123456"}
    assert attempts.get(pk=ids["declined"]).gateway_outcome == "declined"
    refund = apps.get_model("payments", "Refund").objects.get(pk=ids["refund"])
    assert (refund.refund_reference, refund.gateway_refund_reference, refund.terminal_text) == (
        "R0000000000000000001", "RF1", "REFUND OK")
    assert refund.card["terminal_text"] == "APPROVED 123456"
    assert apps.get_model("backoffice", "VerificationFinding").objects.get(pk=ids["finding"]).gateway_outcome == "paid"

    apps = _migrate(BEFORE)  # and back: nothing lost either way
    paid = apps.get_model("payments", "PaymentAttempt").objects.get(pk=ids["paid"])
    assert (paid.mch_order_no, paid.pay_order_id, paid.gateway_status, paid.card) == (
        "P0000000000000000001", "CP1", 2, CARD)
