"""The back office's queries on one day, from the benchmark's own process (Django loaded, the same database):
a supervisor to sign in with, a day's attempts counted, and the plans of the dashboard's heavy queries."""

from __future__ import annotations

import re
import secrets
import time
from datetime import date

from django.db import connection


def make_supervisor() -> tuple[str, str]:
    from django.contrib.auth import get_user_model  # noqa: PLC0415  (models load after django.setup())
    from django.contrib.auth.models import Group  # noqa: PLC0415

    password = secrets.token_urlsafe(16)
    user = get_user_model().objects.create_user("bench-supervisor", password=password)
    user.groups.add(Group.objects.get(name="owner"))  # every store: the bench's stores come and go
    connection.close()
    return user.username, password


def explain(store_id: int, day: date) -> list[str]:
    """EXPLAIN ANALYZE of the dashboard's heavy queries (this process, same database): plan nodes that
    name an index or scan a table, and the execution time."""
    from backoffice import export, selectors  # noqa: PLC0415  (models load after django.setup())
    from lanes.models import Store  # noqa: PLC0415
    from payments.models import AttemptStatus, DaySummary  # noqa: PLC0415

    store = Store.objects.get(pk=store_id)
    queries = {
        "totals (the day summary's rows)": DaySummary.objects.filter(store=store, day=day).exclude(attempts=0,
                                                                                                  refunds=0),
        "open exceptions (UNKNOWN / NEEDS_REVIEW)": (
            selectors.day_attempts(store, day).filter(status__in=[AttemptStatus.UNKNOWN, AttemptStatus.NEEDS_REVIEW])
            .values("id").order_by()),
    }
    lines = []
    for name, qs in queries.items():
        plan = qs.explain(analyze=True, buffers=True)
        keep = [ln.strip() for ln in plan.splitlines()
                if re.search(r"Index|Seq Scan|Bitmap|Aggregate|Sort Method|Execution Time|Window|Hash Join", ln)]
        lines.append(f"{name}: " + " | ".join(_short(ln) for ln in keep))
    with connection.cursor() as cursor:
        copy = export.copy_statement(store, day).as_string(cursor.connection)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + copy[len("COPY ("):copy.rindex(") TO STDOUT")])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    keep = [ln.strip() for ln in plan.splitlines()
            if re.search(r"Index|Seq Scan|Bitmap|Sort Method|Execution Time|Hash Join", ln)]
    lines.append("CSV export (the SELECT inside COPY): " + " | ".join(_short(ln) for ln in keep))
    # The window query of possible duplicates is built inside possible_duplicates(): time it as it runs.
    selectors.possible_duplicates(store, day)  # the first call reads the freshly seeded pages from disk
    started = time.monotonic()
    pairs = selectors.possible_duplicates(store, day)
    lines.append(f"possible duplicates (LAG window over the approvals of repeated cards): {len(pairs)} pairs in "
                 f"{(time.monotonic() - started) * 1000:.0f} ms warm (query and rows to Python)")
    connection.close()
    return lines


def _short(line: str) -> str:
    line = line.lstrip("-> ").strip()
    line = re.sub(r"\(cost=[^)]*\)\s*", "", line)
    return re.sub(r"\(actual time=([\d.]+)\.\.([\d.]+) rows=(\d+) loops=(\d+)\)", r"(\2 ms, \3 rows)", line)


def day_count(store_id: int, day: date) -> int:
    from backoffice import selectors  # noqa: PLC0415  (models load after django.setup())
    from lanes.models import Store  # noqa: PLC0415

    n = selectors.day_attempts(Store.objects.get(pk=store_id), day).count()
    connection.close()
    return n
