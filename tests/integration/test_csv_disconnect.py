"""A CSV download the client drops halfway (COPY still sending) leaves nothing behind in the console: the COPY is
cancelled, its transaction ends, its database connection goes back, and the next download is whole."""

from __future__ import annotations

import time

from django.db import connection
from django.urls import reverse

from payments.models import PaymentAttempt
from tests.conftest import login_session
from tests.factories import staff

ROWS = 120_000


def seed_day(lane, day: str) -> None:
    """ROWS approved attempts on one local day, written by PostgreSQL itself (a factory per row would take minutes)."""
    fields = [f for f in PaymentAttempt._meta.concrete_fields if f.column != "id"]
    made = PaymentAttempt.objects.create(
        order_reference="SEED0", sale_id="00000000-0000-4000-8000-000000000000", merchant=lane.store.merchant,
        store=lane.store, lane=lane, terminal=lane.terminal, amount=1250, tip=0, currency="CAD", status="APPROVED",
        terminal_text="=HYPERLINK(\"x\"), with a comma")
    values = {"order_reference": "'SEED' || g::text", "sale_id": "gen_random_uuid()", "idempotency_key": "NULL",
              "created_at": "(%s::date + interval '12 hours') AT TIME ZONE %s + g * interval '100 microseconds'"}
    columns = ", ".join(f'"{f.column}"' for f in fields)
    select = ", ".join(values.get(f.column, f'"{f.column}"') for f in fields)
    with connection.cursor() as cursor:
        # the model's own column names, never input
        cursor.execute(f"INSERT INTO payments_paymentattempt ({columns}) SELECT {select} "  # noqa: S608
                       "FROM payments_paymentattempt, generate_series(1, %s) g WHERE id = %s",
                       [day, lane.store.time_zone, ROWS, made.pk])


def stuck_transactions() -> list[str]:
    """The console's sessions still in a transaction or still copying (the statistics are read afresh each time)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT state, left(query, 60) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND (state LIKE 'idle in transaction%' OR (state = 'active' "
                       "AND query LIKE 'COPY %'))")
        found = [f"{state}: {query}" for state, query in cursor.fetchall()]
    return found


def test_a_dropped_download_cancels_its_copy_and_the_next_one_is_whole(live, lane):
    day = "2026-06-15"
    seed_day(lane, day)
    manager = staff("manager", lane.store)
    session = login_session(live.url, manager.username)
    url = f"{live.url}{reverse('reconciliation-export')}?store={lane.store.pk}&day={day}"
    with session.get(url, stream=True, timeout=30) as response:
        assert response.status_code == 200
        first = next(response.iter_content(64 * 1024))
        assert first.startswith(b"created_at,lane,")
    # The client is gone; within seconds the console has nothing of that download open.
    deadline = time.monotonic() + 15
    while (left := stuck_transactions()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left
    whole = session.get(url, timeout=60)
    assert whole.status_code == 200
    assert whole.content.count(b"\r\n") == ROWS + 1  # the header and every copy (the seed row is of today)
    assert session.get(f"{live.url}/healthz", timeout=5).status_code == 200
