"""The attempts table keeps the indexes its reads use and no more (migration 0016): every write of a payment adds an
entry to each of them. Rolled back, the migration puts the dropped ones back."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from payments.models import PaymentAttempt
from tests.factories import TerminalFactory

migration = importlib.import_module("payments.migrations.0016_attempts_fewer_indexes")

TABLE = PaymentAttempt._meta.db_table
KEPT = {
    "payments_paymentattempt_pkey",
    "payments_paymentattempt_mch_order_no_key",  # order_reference: unique
    "payments_paymentattempt_mch_order_no_1b46aae2_like",  # its LIKE copy, made with the unique constraint
    "payments_paymentattempt_sale_id_6c4986ec",  # the attempts of a sale (a new attempt's check)
    "payments_paymentattempt_terminal_id_05d4b15f",  # the terminal's attempts (its foreign key's checks)
    "one_in_flight_attempt_per_terminal",
    "unique_idempotency_key_per_lane",
    "attempt_status_updated",
    "attempt_lane_created",
    "attempt_store_created",
    "attempt_store_reference",
    "attempt_open_created",
    "attempt_card_missing",
    "attempt_approved_card",
}


def indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, TABLE)
    return {name: info["columns"] for name, info in found.items()
            if info["index"] or info["unique"] or info["primary_key"]}


@pytest.mark.django_db
def test_the_attempts_table_keeps_the_indexes_its_reads_use():
    found = set(indexes())
    assert not found & {name for name, _ in migration.DROPPED}
    if connection.vendor == "postgresql":
        assert found == KEPT
    else:  # SQLite: no LIKE copies, and its own names for the unique constraints' indexes
        assert found >= KEPT - {name for name in KEPT if "mch_order_no" in name or name.endswith("_pkey")}


def test_no_column_has_an_index_of_its_own_where_a_composite_one_leads_with_it():
    """A foreign key's or a field's own index beside a composite index that starts with the same column is
    written at every change and never chosen."""
    composite = {PaymentAttempt._meta.get_field(index.fields[0].lstrip("-")).column
                 for index in PaymentAttempt._meta.indexes if index.condition is None and len(index.fields) > 1}
    own = {field.column for field in PaymentAttempt._meta.concrete_fields if field.db_index and not field.unique}
    assert not own & composite, own & composite


@pytest.mark.django_db(transaction=True)
def test_rolled_back_the_migration_puts_the_indexes_back_and_forward_drops_them_again():
    dropped = {name for name, _ in migration.DROPPED}
    if connection.vendor != "postgresql":
        dropped = {name for name in dropped if not name.endswith("_like")}
    executor = MigrationExecutor(connection)
    executor.migrate([("payments", "0015_day_cards_at_commit")])
    try:
        assert set(indexes()) >= dropped
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert not set(indexes()) & dropped


def attempt_on(lane: object, n: int, **fields: str) -> PaymentAttempt:
    return PaymentAttempt.objects.create(
        order_reference=f"SC20261206{n:06d}", sale_id=uuid.uuid4(), merchant=lane.store.merchant, store=lane.store,
        lane=lane, terminal=lane.terminal, amount=1250, currency="CAD", status="APPROVED", **fields)


@pytest.mark.django_db
def test_the_admins_exact_searches_still_find_an_attempt_by_each_reference():
    lane = TerminalFactory().lane
    attempt = attempt_on(lane, 1, gateway_reference="CP2026120600001", card_last4="4242", auth_num="A1B2C3")
    attempt_on(lane, 2, gateway_reference="CP2026120600002", card_last4="1111", auth_num="Z9")
    admin = get_user_model().objects.create_superuser("root-admin", password="pass-word-123")
    client = Client()
    client.force_login(admin)
    url = "/admin/payments/paymentattempt/"
    assert site.is_registered(PaymentAttempt)
    for term in ("CP2026120600001", "cp2026120600001", "4242", "a1b2c3", attempt.order_reference):
        response = client.get(url, {"q": term}, secure=True)
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [attempt], term
