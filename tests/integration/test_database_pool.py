"""The pooled PostgreSQL connections of Daphne and the workers survive the database dropping them.

A PostgreSQL restart, a failover or an idle-connection reaper closes every connection a process keeps in
its pool. The next payment must not be the one that finds out.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from tests.conftest import wait_for_status

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the pool is PostgreSQL's (CONSOLE_DB_POOL_SIZE); SQLite has no server connections"),
]


def pay(session, console, lane, amount):
    return session.post(f"{console.url}/api/lanes/{lane.code}/payments", json={"amount": amount},
                        headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)


def drop_every_other_connection() -> int:
    """What a restart does to the console's pooled connections: the server ends their backends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_payment_goes_through_after_the_database_dropped_every_pooled_connection(live, lane, cashier_session):
    first = pay(cashier_session, live, lane, 1250)
    assert first.status_code == 201, first.text
    assert wait_for_status(first.json()["id"], {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}).status == "APPROVED"

    assert drop_every_other_connection() > 0  # Daphne's and the workers' pooled connections

    second = pay(cashier_session, live, lane, 1350)
    assert second.status_code == 201, second.text
    final = wait_for_status(second.json()["id"], {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}, timeout=20)
    assert final.status == "APPROVED"
    assert final.answered_at is not None
