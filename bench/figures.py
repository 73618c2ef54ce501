"""The figures every benchmark prints: latencies summarised as median, p95 and max, in one table.

Milliseconds unless a row names another unit (CPU milliseconds per payment, megabytes resident). A row with a
target is judged on its max (the worst case counts for a cashier); one without a target is reported for context.
Nothing here asserts anything about time.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One line of the table: latencies in milliseconds (or ``unit``; the fields keep their ``_ms`` names, as
    the rows' JSON does); target None means reported, not judged."""

    bench: str
    scenario: str
    n: int
    median_ms: float
    p95_ms: float
    max_ms: float
    target_ms: float | None = None
    unit: str = "ms"

    @property
    def within(self) -> str:
        if self.target_ms is None:
            return "-"
        return "yes" if self.max_ms <= self.target_ms else "NO"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 20 samples is the 19th smallest): never an interpolated value."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(bench: str, scenario: str, seconds: Sequence[float], target_ms: float | None = None) -> Row:
    if not seconds:
        raise ValueError(f"{bench}: no samples for {scenario!r}")
    ms = [s * 1000 for s in seconds]
    return Row(bench, scenario, len(ms), percentile(ms, 50), percentile(ms, 95), max(ms), target_ms)


def format_table(rows: Iterable[Row]) -> str:
    header = ("bench", "scenario", "n", "unit", "median", "p95", "max", "target", "max within target")
    lines = [
        (r.bench, r.scenario, str(r.n), r.unit, f"{r.median_ms:.1f}", f"{r.p95_ms:.1f}", f"{r.max_ms:.1f}",
         f"≤ {r.target_ms:g} {r.unit}" if r.target_ms is not None else "-", r.within)
        for r in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    numeric = {2, 4, 5, 6}

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(header), rule, *(fmt(cells) for cells in lines)])


def write_rows(path: str | Path, rows: Iterable[Row]) -> None:
    Path(path).write_text(json.dumps([asdict(r) for r in rows], indent=1))


def read_rows(path: str | Path) -> list[Row]:
    return [Row(**item) for item in json.loads(Path(path).read_text())]


def finish(rows: list[Row], *, rows_json: str | None, workdir: Path, ok: bool = True,
           keep_logs: bool = False) -> list[Row]:
    """The end of every benchmark: print its table, hand its rows to run_all.py, clean its work files up
    (kept when asked, or when something failed), and exit 1 if something failed."""

    print(f"\n{format_table(rows)}\n", flush=True)
    if rows_json:
        write_rows(rows_json, rows)
    if ok and not keep_logs:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs kept in {workdir}")
    if not ok:
        raise SystemExit(1)
    return rows
