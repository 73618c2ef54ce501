"""A payment's own statements are planned once per connection on PostgreSQL; the back office's are planned with their
values every time (docs/performance.md, issue 16, twelfth pass; store_console/databases.py).

Inside ``prepared()`` a statement a connection has run ``CONSOLE_DB_PREPARE_THRESHOLD`` times is prepared on it.
Outside, nothing is: a generic plan of the dashboard's day-wide read of exceptions read a hundred times the rows of the
plan made with its values. Every statement is bound on the server (its values apart from its text).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction

from backoffice.totals import sorting_memory
from payments.models import PaymentAttempt
from payments.services import attempt_create
from payments.services.statements import prepared
from payments.services.transitions import transition
from tests.factories import LaneFactory, StoreFactory, TerminalFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="prepared statements are PostgreSQL's; SQLite runs the same code without them"),
]


def prepared_here() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def look_up() -> None:
    list(PaymentAttempt.objects.filter(order_reference="SC-NOT-THERE").values_list("pk"))


def looked_up_prepared() -> list[str]:
    return [s for s in prepared_here() if '"order_reference" = $1' in s]


def test_statements_are_bound_on_the_server_and_prepared_after_five_runs_by_default() -> None:
    assert settings.DATABASES["default"]["OPTIONS"]["server_side_binding"] is True
    assert settings.CONSOLE_DB_PREPARE_RUNS == 5


def test_outside_the_payment_path_no_statement_is_prepared() -> None:
    for _ in range(12):
        look_up()
    assert looked_up_prepared() == []


def test_on_the_payment_path_a_statement_is_prepared_once_run_as_often_as_the_threshold() -> None:
    with prepared():
        for _ in range(settings.CONSOLE_DB_PREPARE_RUNS):
            look_up()
        assert looked_up_prepared() == []
        look_up()
    [statement] = looked_up_prepared()
    assert "SC-NOT-THERE" not in statement  # the value is bound, not written into the statement


def test_the_connection_is_left_as_it_was_found_even_when_nested() -> None:
    connection.ensure_connection()
    raw = connection.connection
    assert raw.prepare_threshold is None
    with prepared():
        with prepared():
            assert raw.prepare_threshold == settings.CONSOLE_DB_PREPARE_RUNS
        assert raw.prepare_threshold == settings.CONSOLE_DB_PREPARE_RUNS
    assert raw.prepare_threshold is None


def test_off_prepares_nothing_even_on_the_payment_path(settings: Any) -> None:
    settings.CONSOLE_DB_PREPARE_RUNS = None
    with prepared():
        for _ in range(12):
            look_up()
    assert looked_up_prepared() == []


def test_a_payments_insert_and_its_status_changes_are_prepared() -> None:
    lane = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    for n in range(settings.CONSOLE_DB_PREPARE_RUNS + 1):
        attempt = attempt_create(lane=lane, amount=1000 + n).attempt
        with transaction.atomic():
            transition(attempt.pk, from_statuses=["CREATED"], to="FAILED", cause="test: not sent")
    statements = prepared_here()
    assert any(s.startswith('INSERT INTO "payments_paymentattempt"') for s in statements), statements
    assert any(s.startswith("UPDATE payments_paymentattempt") for s in statements), statements


@pytest.mark.django_db(transaction=True)  # its own transaction, not a savepoint in the test's
def test_the_dashboards_sorting_memory_is_set_for_its_transaction_only() -> None:
    def work_mem() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            return str(cursor.fetchone()[0])

    before = work_mem()
    with sorting_memory():
        assert work_mem() == settings.CONSOLE_DASHBOARD_WORK_MEM
    assert work_mem() == before
