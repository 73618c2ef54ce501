"""Recompute the day summary (payments.day_summary) from the attempts and their refunds."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lanes.commands import store_named
from lanes.models import Store
from payments import day_summary


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)", returncode=2) from None


class Command(BaseCommand):
    help = (
        "Recompute the reconciliation's day summary from the attempts and refunds: one transaction per store and "
        "day, safe while the console runs (payment changes wait for each day's short transaction). Default: every "
        "store, every day. Then checks that the summary agrees with the attempts (exit 1 if not)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", help="only the store of that name")
        parser.add_argument("--date", help="only that business day (YYYY-MM-DD, the store's time zone)")
        parser.add_argument("--from", dest="first", help="from that day (YYYY-MM-DD) on")
        parser.add_argument("--to", dest="last", help="up to that day (YYYY-MM-DD) included")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not day_summary.kept():
            raise CommandError("this database keeps no day summary (PostgreSQL only): the back office sums the "
                               "attempts themselves", returncode=2)
        if opts["date"] and (opts["first"] or opts["last"]):
            raise CommandError("give --date, or --from/--to, not both", returncode=2)
        first = _day(opts["date"] or opts["first"]) if opts["date"] or opts["first"] else None
        last = _day(opts["date"] or opts["last"]) if opts["date"] or opts["last"] else None
        if first and last and last < first:
            raise CommandError("--to is before --from", returncode=2)
        stores = [store_named(opts["store"])] if opts["store"] else list(Store.objects.order_by("name"))
        days_done = rows = 0
        for store in stores:
            for day in self._days(store, first, last):
                rows += day_summary.rebuild_day(store, day)
                days_done += 1
        self.stdout.write(f"Rebuilt {days_done} store-day(s) of {len(stores)} store(s): {rows} summary row(s).")
        found = day_summary.differences(stores=stores, first=first, last=last)
        for difference in found[:20]:
            self.stdout.write(f"  differs: {difference}")
        if found:
            raise CommandError(f"{len(found)} summary row(s) still differ from the attempts", returncode=1)
        self.stdout.write("The summary agrees with the attempts.")

    @staticmethod
    def _days(store: Store, first: date | None, last: date | None) -> list[date]:
        if first is not None and last is not None:
            return [first + timedelta(days=n) for n in range((last - first).days + 1)]
        return [d for d in day_summary.summary_days(store)
                if (first is None or d >= first) and (last is None or d <= last)]
