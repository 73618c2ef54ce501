"""Fill the database with realistic, fake payment attempts of one store (for benchmarks and demos).

    manage.py seed_attempts --store "Main Street" --count 1000000 --days 90 [--seed 42] [--batch 20000]
    manage.py seed_attempts --store "Main Street" --count 100000 --day 2026-08-01 --seed 43   # one busy day

Spread over the `--days` business days that end yesterday in the store's time zone (never today, so
nothing seeded is in flight or picked up by the resume job), at business hours, over the store's
lanes (L1..L12 with terminals are created when the store has none). Mostly approvals with brand, last 4,
authorisation and batch numbers; ~5% declined, ~1% failed, a few needing review, a few refunds, and a
handful of the anomalies the reconciliation dashboard lists (approvals without an authorisation number,
the same card and total charged twice within minutes). No events are written for seeded rows.
`--day` puts all `--count` attempts on that one past day instead.

On PostgreSQL the rows go in with `COPY ... FROM STDIN` (much faster than `bulk_create`, which SQLite
still uses); the data are the same either way.
"""

from __future__ import annotations

import contextlib
import math
import random
import secrets
import time
import uuid
import zoneinfo
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import DateField, Model, TimeField
from django.utils.translation import gettext
from psycopg.types.json import Jsonb

from lanes.commands import ConsoleCommand
from lanes.models import Lane, Store, Terminal
from payments.models import Merchant, PaymentAttempt, Refund

BRANDS = [  # brand, cardType, AID, entry methods, weight
    ("VISA", "V", "A0000000031010", "TTC", 40),
    ("MASTERCARD", "M", "A0000000041010", "TTC", 30),
    ("INTERAC", "P", "A0000002771010", "CCT", 22),
    ("AMERICAN EXPRESS", "AX", "A00000002501", "CT", 6),
    ("DISCOVER", "D", "A0000001523010", "C", 2),
]
WEEKDAY_FACTOR = [0.8, 0.85, 0.9, 1.0, 1.25, 1.4, 1.1]  # Monday first
HOUR_WEIGHTS = {8: 0.4, 9: 0.7, 10: 0.9, 11: 1.2, 12: 1.6, 13: 1.4, 14: 1.0, 15: 0.9, 16: 1.1, 17: 1.5,
                18: 1.6, 19: 1.2, 20: 0.8, 21: 0.5}
REFUND_REASONS = ["item returned", "charged twice", "price correction", "damaged goods", "customer complaint"]
DECLINE_TEXTS = ["051 Declined 05 Do Not Honour", "051 Declined 51 Insufficient Funds",
                 "Transaction Not Completed 05", "055 Declined Incorrect PIN"]


@contextlib.contextmanager
def _own_timestamps(*models: type[Model]) -> Iterator[None]:
    """bulk_create would stamp created_at/updated_at with now(): keep the generated times instead."""
    saved: list[tuple[DateField[Any, Any] | TimeField[Any, Any], bool, bool]] = []
    for model in models:
        for f in model._meta.concrete_fields:
            # Only date, date-and-time and time fields have auto_now and auto_now_add.
            if isinstance(f, (DateField, TimeField)) and (f.auto_now or f.auto_now_add):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _close_connection() -> None:
    connection.close()  # the proxy resolves to the calling thread's connection


def _split(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, summing exactly to `total` (largest remainders)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    counts = [math.floor(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: total - sum(counts)]:
        counts[i] += 1
    return counts


class Command(ConsoleCommand):
    help = "Write COUNT fake payment attempts of one store over DAYS business days (benchmarks only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", required=True, help="store name (created, with a merchant, if missing)")
        parser.add_argument("--count", type=int, default=1_000_000)
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--day", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                            help="put all COUNT attempts on this one past business day (instead of --days)")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--batch", type=int, default=20_000, help="rows per INSERT")
        parser.add_argument("--time-zone", default=None, help="for a new store (default: TIME_ZONE)")
        parser.add_argument("--card-json", type=float, default=0.02, metavar="SHARE",
                            help="share of card payments that also get the card JSON (receipts); 0..1. "
                                 "It is the costly column to insert, and the dashboard does not read it")
        parser.add_argument("--yes", action="store_true", help="run even with DEBUG off: it writes fake payments")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEBUG and not opts["yes"]:
            raise CommandError(gettext("DEBUG is off: this writes fake payments into the database. Add --yes if this really is a test database."), returncode=2)
        count, batch = opts["count"], opts["batch"]
        if count < 1 or opts["days"] < 1 or batch < 1:
            raise CommandError(gettext("--count, --days and --batch must be positive."), returncode=2)
        store = self._store(opts["store"], opts["time_zone"])
        tz = zoneinfo.ZoneInfo(store.time_zone)
        day_list = self._days(opts, datetime.now(tz).date())
        lanes = self._lanes(store)
        prefix = f"SD{store.pk}S{opts['seed']}-"
        if PaymentAttempt.objects.filter(order_reference__startswith=prefix).exists():
            raise CommandError(gettext("{name} was already seeded with --seed {seed}: use another seed.").format(
                name=store.name, seed=opts['seed']),
                               returncode=2)
        if len(prefix) + len(str(count)) > 30:
            raise CommandError(gettext("--seed is too long for a 30-character order reference."), returncode=2)
        started = time.monotonic()
        self.rng = random.Random(opts["seed"])
        self.refund_rng = random.Random(-opts["seed"] - 1)
        self.card_json_share = opts["card_json"]
        weights = [WEEKDAY_FACTOR[d.weekday()] * self.rng.uniform(0.9, 1.1) for d in day_list]
        per_day = _split(count, weights)
        self.written = self.refunds = 0
        self.stdout.write(gettext("Seeding {count:,} attempts for {name} ({zone}) over {days} days ({first} to {last}), {lanes} lanes, "
                                  "batches of {batch:,}.").format(
            count=count, name=store.name, zone=store.time_zone, days=len(day_list), first=day_list[0], last=day_list[-1],
            lanes=len(lanes), batch=batch))
        def rows() -> Iterator[dict[str, Any]]:
            index = 0
            for day_number, (day, n) in enumerate(zip(day_list, per_day, strict=True)):
                for created_at in self._times(day, n, tz):
                    yield self._attempt(store, lanes, prefix, index, len(str(count)), created_at, day_number)
                    index += 1

        self._write(rows(), batch, count, started)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # planner statistics for the dashboard's queries
                cursor.execute("ANALYZE payments_paymentattempt, payments_refund")
        busiest = max(range(len(day_list)), key=lambda i: per_day[i])
        self.stdout.write(self.style.SUCCESS(
            gettext("Done: {written:,} attempts and {refunds:,} refunds in {seconds:.1f} s. Busiest day: {day} ({count:,} "
                    "attempts); store id {id}.").format(
                written=self.written, refunds=self.refunds, seconds=time.monotonic() - started, day=day_list[busiest],
                count=per_day[busiest], id=store.pk)))

    def _days(self, opts: dict[str, Any], today: date) -> list[date]:
        if opts["day"] is None:
            return [today - timedelta(days=opts["days"] - i) for i in range(opts["days"])]
        if opts["day"] >= today:
            raise CommandError(gettext("--day must be before today ({today}) in the store's time zone.").format(
                today=today), returncode=2)
        return [opts["day"]]

    def _write(self, rows: Iterator[dict[str, Any]], batch: int, count: int, started: float) -> None:
        """Insert ``rows`` in batches. One writer thread: while PostgreSQL inserts a batch, this thread builds the
        next one. Inside a caller's transaction (a test) everything stays on this thread and in that transaction."""
        threaded = not connection.in_atomic_block
        with _own_timestamps(PaymentAttempt, Refund), ThreadPoolExecutor(1, "seed-writer") as writer:
            inserting: Future[None] | None = None

            def flush(batch_rows: list[dict[str, Any]]) -> Future[None]:
                if threaded:
                    return writer.submit(self._flush, batch_rows, batch, count, started)
                done: Future[None] = Future()
                self._flush(batch_rows, batch, count, started)
                done.set_result(None)
                return done

            pending: list[dict[str, Any]] = []
            for row in rows:
                pending.append(row)
                if len(pending) >= batch:
                    if inserting is not None:
                        inserting.result()
                    inserting = flush(pending)
                    pending = []
            if inserting is not None:
                inserting.result()
            if pending:
                flush(pending).result()
            if threaded:
                writer.submit(_close_connection).result()

    # ------------------------------------------------------------------------------------------ set-up

    def _store(self, name: str, time_zone: str | None) -> Store:
        store = Store.objects.filter(name=name).select_related("merchant").first()
        if store is not None:
            return store
        merchant = Merchant.objects.order_by("pk").first()
        if merchant is None:
            merchant = Merchant(name="Seed merchant", gateway_account="SEED0001", gateway_login="seed", currency="CAD")
            merchant.set_key(secrets.token_hex(16))
            merchant.save()
        store = Store.objects.create(name=name, merchant=merchant, time_zone=time_zone or settings.TIME_ZONE,
                                     tips_enabled=True, address="1 Seed Street\nToronto ON")
        self.stdout.write(gettext("Created store {name} (merchant {account}).").format(
            name=repr(name), account=merchant.gateway_account))
        return store

    def _lanes(self, store: Store) -> list[tuple[Lane, Terminal, int]]:
        """(lane, terminal, batch number base) for every lane of the store that has a terminal."""
        if not store.lanes.exists():
            with transaction.atomic():
                for n in range(1, 13):
                    code = f"L{n}" if not Lane.objects.filter(code=f"L{n}").exists() else f"S{store.pk}-L{n}"
                    lane = Lane.objects.create(store=store, code=code, name=f"Lane {n}")
                    Terminal.objects.create(lane=lane, device=f"SEED-{store.pk}-{n:02d}", serial=f"SN{n:06d}")
            self.stdout.write(gettext("Created lanes L1..L12 with their terminals."))
        lanes = [(lane, lane.terminal) for lane in store.lanes.select_related("terminal")
                 if hasattr(lane, "terminal")]
        if not lanes:
            raise CommandError(gettext("{name} has lanes but none with a terminal.").format(
                name=store.name), returncode=2)
        return [(lane, terminal, 1000 + 137 * i) for i, (lane, terminal) in enumerate(lanes)]

    # -------------------------------------------------------------------------------------- generation

    def _times(self, day: date, n: int, tz: zoneinfo.ZoneInfo) -> list[datetime]:
        """n sorted moments of the day's business hours, in UTC (the offset of noon: hours 8-22 never
        cross a DST change)."""
        offset = datetime.combine(day, dtime(12), tzinfo=tz).utcoffset() or timedelta(0)
        midnight = datetime.combine(day, dtime(0), tzinfo=UTC) - offset
        hours = list(HOUR_WEIGHTS)
        picks = self.rng.choices(hours, weights=list(HOUR_WEIGHTS.values()), k=n)
        seconds = sorted(h * 3600 + self.rng.random() * 3600 for h in picks)
        return [midnight + timedelta(seconds=s) for s in seconds]

    def _attempt(self, store: Store, lanes: list[tuple[Lane, Terminal, int]], prefix: str, index: int,
                 width: int, created_at: datetime, day_number: int) -> dict[str, Any]:
        """One attempt's field values by attname (fields left out take their model default)."""
        rng = self.rng
        lane, terminal, batch_base = lanes[min(int(rng.paretovariate(2.5)) - 1, len(lanes) - 1)
                                           if rng.random() < 0.3 else rng.randrange(len(lanes))]
        amount = max(100, min(int(rng.lognormvariate(7.9, 0.85)), store.max_amount - 5000))
        tip = int(amount * rng.choice((0.1, 0.15, 0.18, 0.2))) if rng.random() < 0.15 else 0
        roll = rng.random()
        status = ("APPROVED" if roll < 0.937 else "DECLINED" if roll < 0.987 else "FAILED" if roll < 0.9975
                  else "NEEDS_REVIEW")
        answered = created_at + timedelta(seconds=rng.uniform(4, 45))
        fields: dict[str, Any] = {
            "order_reference": f"{prefix}{index:0{width}d}", "sale_id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "merchant_id": store.merchant_id, "store_id": store.pk, "lane_id": lane.pk, "terminal_id": terminal.pk,
            "amount": amount, "tip": tip, "currency": store.merchant.currency, "status": status,
            "created_at": created_at, "sent_at": created_at + timedelta(milliseconds=150),
            "answered_at": answered, "updated_at": answered, "response_verified": True,
        }
        if status in ("APPROVED", "DECLINED"):
            brand, card_type, aid, methods, _ = rng.choices(BRANDS, weights=[b[4] for b in BRANDS])[0]
            last4 = f"{rng.randrange(10000):04d}"
            if status == "APPROVED" and self._previous is not None and rng.random() < 0.0005:
                last4, fields["amount"], fields["tip"] = self._previous  # charged twice within minutes
            approved = status == "APPROVED"
            auth = f"{rng.randrange(16**6):06X}" if approved and rng.random() > 0.0003 else ""
            batch_num = f"{(batch_base + day_number) % 10000:04d}"
            text = "000 Approved" if approved else rng.choice(DECLINE_TEXTS)
            fields.update(
                gateway_reference=f"CP{created_at:%Y%m%d%H%M%S}{index % 10**12:012d}", gateway_outcome="paid" if approved else "declined",
                card_brand=brand, card_last4=last4, auth_num=auth, batch_num=batch_num, terminal_text=text,
                finalized_at=answered + timedelta(milliseconds=300), paid_at=answered if approved else None,
            )
            if rng.random() < self.card_json_share:
                fields["card"] = {"card_type": card_type, "card_num": f"XXXXXXXXXXXX{last4}", "emv_label": brand,
                                  "emv_aid": aid, "auth_num": auth, "batch_num": batch_num,
                                  "trx_method": rng.choice(methods), "terminal_text": text, "lang_code": "E"}
            if approved:
                self._previous = (last4, fields["amount"], fields["tip"])
        elif status == "FAILED":
            fields.update(message="The gateway refused the order: third-party exception: terminal did not respond",
                          finalized_at=answered)
        else:
            fields.update(message="The gateway gave no final outcome in time. Check the terminal's own record "
                                  "before charging again.", gateway_outcome="in_progress", poll_count=90)
        return fields

    _previous: tuple[str, int, int] | None = None

    def _flush(self, attempts: list[dict[str, Any]], batch: int, count: int, started: float) -> None:
        """Insert one batch and refund ~0.4% of its approvals: on PostgreSQL by COPY (then the few refunded
        attempts' ids are read back by order_reference), on SQLite by bulk_create (ids come back).

        Runs on the writer thread (its own database connection); `refund_rng` is used only here."""
        rng = self.refund_rng
        now = datetime.now(UTC)
        chosen = []  # (attempt, amount, at, reason), drawn in the same order whatever the database
        for a in attempts:
            if a["status"] != "APPROVED" or rng.random() >= 0.004:
                continue
            total = a["amount"] + a["tip"]
            amount = total if rng.random() < 0.6 else max(1, int(total * rng.uniform(0.1, 0.9)))
            at = min(a["created_at"] + timedelta(hours=rng.uniform(0.1, 72)), now - timedelta(minutes=5))
            chosen.append((a, amount, at, rng.choice(REFUND_REASONS)))
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:  # fake rows: no need to wait for the WAL flush
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
                self._copy_attempts(attempts)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT order_reference, id FROM payments_paymentattempt WHERE order_reference = ANY(%s)",
                                   [[a["order_reference"] for a, *_ in chosen]])
                    ids = dict(cursor.fetchall())
            else:
                objs = [PaymentAttempt(**a) for a in attempts]
                PaymentAttempt.objects.bulk_create(objs, batch_size=batch)
                ids = {o.order_reference: o.pk for o in objs}
            refunds = []
            for a, amount, at, reason in chosen:
                pk = ids[a["order_reference"]]
                refunds.append(Refund(
                    attempt_id=pk, refund_reference=f"R{a['order_reference'][1:]}", amount=amount, currency=a["currency"],
                    reason=reason, status="APPROVED", gateway_refund_reference=f"RF{pk:020d}",
                    refundable_after=a["amount"] + a["tip"] - amount, created_at=at, sent_at=at, finalized_at=at,
                    updated_at=at,
                ))
            Refund.objects.bulk_create(refunds, batch_size=batch)
        self.written += len(attempts)
        self.refunds += len(refunds)
        self._progress(self.written, count, started)

    _copy_columns: list[tuple[str, str, Any]] | None = None

    def _copy_attempts(self, attempts: list[dict[str, Any]]) -> None:
        """COPY the rows in: every concrete column but id; one a row leaves out gets the model's default."""
        if self._copy_columns is None:
            self._copy_columns = [(f.attname, f.column, f.get_default())
                                  for f in PaymentAttempt._meta.concrete_fields
                                  if not f.primary_key and f.column is not None]  # a concrete field has one
        columns = self._copy_columns
        names = ", ".join(connection.ops.quote_name(column) for _, column, _ in columns)
        with connection.cursor() as cursor, cursor.copy(  # Django's wrapper hands .copy to psycopg's cursor
                f"COPY {PaymentAttempt._meta.db_table} ({names}) FROM STDIN") as copy:
            for a in attempts:
                card = a.get("card")
                row = [a.get(attname, default) for attname, _, default in columns]
                if card is not None:
                    row[self._card_index] = Jsonb(card)
                copy.write_row(row)

    @property
    def _card_index(self) -> int:
        return [attname for attname, _, _ in self._copy_columns or []].index("card")

    def _progress(self, written: int, count: int, started: float) -> None:
        elapsed = time.monotonic() - started
        rate = written / elapsed if elapsed else 0
        self.stdout.write(f"  {written:>12,} / {count:,}  {elapsed:7.1f} s  ({rate:,.0f} rows/s)")
