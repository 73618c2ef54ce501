"""PostgreSQL parses and plans a statement once per connection, not on every run (server-side binding with psycopg's
prepared statements: CONSOLE_DB_PREPARE_THRESHOLD, docs/performance.md, issue 16, twelfth pass), and the console's
hand-written statements work with their parameters bound on the server."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from backoffice.totals import sorting_memory
from payments.models import PaymentAttempt

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="prepared statements are PostgreSQL's; SQLite runs the same code without them"),
]


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_run_as_often_as_the_threshold_is_prepared_on_its_connection() -> None:
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    assert settings.DATABASES["default"]["OPTIONS"]["server_side_binding"] is True

    def look_up() -> None:
        list(PaymentAttempt.objects.filter(order_reference="SC-NOT-THERE").values_list("pk"))

    for _ in range(threshold):
        look_up()
    assert not [s for s in prepared() if "SC-NOT-THERE" in s or "order_reference" in s]
    look_up()

    [statement] = [s for s in prepared() if '"order_reference" = $1' in s]
    assert "SC-NOT-THERE" not in statement  # the value is bound, not written into the statement


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
