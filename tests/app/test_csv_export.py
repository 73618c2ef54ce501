"""The day's CSV written by PostgreSQL's COPY is, byte for byte, what csv.writer writes (the SQLite path and the
reference): the same header, order, times, quoting and formula escaping, on data chosen to break them."""

from __future__ import annotations

import csv
import io
import uuid
import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from backoffice.export import copy_lines, day_csv, python_lines
from payments.contract import EXPORT_HEADER
from payments.models import PaymentAttempt, Refund
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, staff

pytestmark = pytest.mark.django_db

TRICKY = [
    "plain", "", "comma, inside", 'a "quoted" word', '"', "line\nbreak", "carriage\rreturn", "both\r\nends",
    "=SUM(A1:A9)", "+1 555", "-42", "@cmd", "\tTAB first", "\rCR first", "'already quoted", "café ☕ 中文 ✓",
    " leading space", "trailing space ", "semi;colon", "back\\slash", "\\.", "NULL", "emoji 🧾=", "=\n\"\",",
]


def attempt(store, lane, at: datetime, n: int, *, finalized: datetime | None, **text: str) -> PaymentAttempt:
    values = {"terminal_text": TRICKY[n % len(TRICKY)], "reference": TRICKY[(n * 7 + 3) % len(TRICKY)],
              "card_brand": TRICKY[(n * 5 + 1) % len(TRICKY)][:40], "auth_num": TRICKY[(n * 3) % len(TRICKY)][:20],
              "batch_num": TRICKY[(n + 11) % len(TRICKY)][:10], "card_last4": ["", "4021", "=1+2", "-9"][n % 4],
              "gateway_reference": TRICKY[(n * 11 + 5) % len(TRICKY)][:40], **text}
    created = PaymentAttempt.objects.create(
        order_reference=f"T{uuid.uuid4().hex[:20]}", sale_id=uuid.uuid4(), merchant=store.merchant, store=store,
        lane=lane, terminal=lane.terminal, amount=1000 + n, tip=n % 3 * 25, currency="CAD",
        status=["APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW", "APPROVED"][n % 5], **values)
    PaymentAttempt.objects.filter(pk=created.pk).update(created_at=at, finalized_at=finalized)
    return created


def fill_day(store, day: date) -> None:
    tz = zoneinfo.ZoneInfo(store.time_zone)
    lanes = [TerminalFactory(lane=LaneFactory(store=store, code=code), device=device).lane
             for code, device in (("L1", "PAX, one"), ("-L2", '=PAX "2"'), ("L3", "PAX\nthree"))]
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    for n in range(60):
        at = start + timedelta(minutes=n * 23 + 1, microseconds=(n * 37_001) % 1_000_000 if n % 2 else 0)
        finalized = None if n % 6 == 5 else at + timedelta(days=n % 40, seconds=n)  # some weeks later: DST
        made = attempt(store, lanes[n % 3], at, n, finalized=finalized)
        if n % 5 == 0:
            Refund.objects.create(attempt=made, refund_reference=f"R{uuid.uuid4().hex[:20]}", amount=100 + n,
                                  currency="CAD", reason="returned", status="APPROVED" if n % 10 else "FAILED")
    # Same moment, two attempts: the order falls back to the id.
    attempt(store, lanes[0], start + timedelta(hours=5), 100, finalized=None)
    attempt(store, lanes[1], start + timedelta(hours=5), 101, finalized=None)
    # Just outside the day, both sides.
    attempt(store, lanes[0], start - timedelta(microseconds=1), 102, finalized=None)
    attempt(store, lanes[0], start + timedelta(days=1), 103, finalized=None)


@pytest.mark.parametrize(("time_zone", "day"), [
    ("America/Toronto", date(2026, 3, 8)),  # clocks go forward: 23 hours, two offsets
    ("America/Toronto", date(2026, 11, 1)),  # clocks go back: 25 hours
    ("America/Vancouver", date(2026, 6, 15)),
    ("Asia/Kolkata", date(2026, 6, 15)),  # +05:30
    ("UTC", date(2026, 1, 31)),
])
def test_copy_writes_exactly_what_csv_writer_writes(time_zone, day):
    store = StoreFactory(time_zone=time_zone)
    fill_day(store, day)
    reference = b"".join(python_lines(store, day))
    copied = b"".join(copy_lines(store, day, batch=7))  # several batches, one partial
    assert copied == reference
    rows = list(csv.reader(io.StringIO(copied.decode(), newline="")))
    assert tuple(rows[0]) == EXPORT_HEADER and len(rows) == 1 + 62
    assert any(row[-1].startswith("'=") for row in rows[1:])  # a formula made plain text
    assert any("\n" in cell for row in rows for cell in row)


def test_an_empty_day_is_the_header_alone():
    store = StoreFactory()
    assert b"".join(copy_lines(store, date(2026, 5, 1))) == b"".join(python_lines(store, date(2026, 5, 1)))
    assert b"".join(copy_lines(store, date(2026, 5, 1))).count(b"\r\n") == 1


def test_postgresql_copies_and_sqlite_writes_with_csv_writer(monkeypatch):
    store = StoreFactory()
    fill_day(store, date(2026, 6, 15))
    assert day_csv(store, date(2026, 6, 15)).__qualname__.startswith("copy_lines")  # type: ignore[attr-defined]
    monkeypatch.setattr(connection, "vendor", "sqlite")
    lines = day_csv(store, date(2026, 6, 15))
    assert lines.__qualname__.startswith("python_lines")  # type: ignore[attr-defined]
    monkeypatch.undo()
    assert b"".join(lines) == b"".join(copy_lines(store, date(2026, 6, 15)))


def test_the_page_streams_the_copy_output():
    store = StoreFactory(time_zone="America/Toronto")
    fill_day(store, date(2026, 3, 8))
    client = Client()
    client.force_login(staff("supervisor", store))
    response = client.get(reverse("reconciliation-export"), {"store": store.pk, "day": "2026-03-08"})
    assert response.status_code == 200 and response.streaming
    assert b"".join(response.streaming_content) == b"".join(python_lines(store, date(2026, 3, 8)))
