"""A day's exceptions as the reconciliation dashboard shows them, read a page at a time.

An exception is found either with its row (the ORM's reads, ``backoffice.selectors``) or as a key alone (the
hand-written statements, ``backoffice.day_statements``): its kind, attempt, time, finding and closing note, which is
all that counting, sorting and paging need. A key's row is read when it is shown, the page's rows in one statement,
so a day of hundreds of open exceptions reads the 50 of the page shown (docs/performance.md, issue 16, eleventh
pass). Its detail is written in the reader's language only then too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from backoffice.day_statements import ExceptionKey
from backoffice.exception_kinds import ExceptionKind
from payments.models import PaymentEvent
from payments.money import format_money

__all__ = ["ClosedException", "DayException", "Found", "Load", "OpenExceptions", "built", "exception_of",
           "most_serious_first"]


@dataclass
class DayException:
    kind: str
    attempt_id: int
    created_at: datetime
    status: str
    lane: str
    device: str
    total: int
    currency: str
    order_reference: str
    card_last4: str
    detail: str
    related_id: int | None = None
    past_window: bool = False  # UNKNOWN only: its polling window has ended, so a person may close it

    @property
    def label(self) -> str:
        return str(ExceptionKind.LABELS[self.kind])

    @property
    def total_display(self) -> str:
        return format_money(self.total, self.currency)

    @property
    def closable(self) -> bool:
        return (self.kind in ExceptionKind.CLOSABLE_BY_NOTE or self.kind == ExceptionKind.NEEDS_REVIEW
                or (self.kind == ExceptionKind.UNKNOWN and self.past_window))

    @property
    def needs_outcome(self) -> bool:
        """Closing it means saying what happened (and on what evidence), not only why it is no problem."""
        return self.kind in (ExceptionKind.NEEDS_REVIEW, ExceptionKind.UNKNOWN)


@dataclass(frozen=True)
class ClosedException:
    exception: DayException
    note: PaymentEvent  # who (actor), when (created_at), why (data["reason"])


@dataclass(frozen=True)
class Found:
    """An exception found with its row, before its detail is written."""

    kind: str
    row: dict[str, Any]
    describe: Callable[[], str]  # its detail in the active language, written only when it is shown
    related_id: int | None = None

    @property
    def key(self) -> tuple[int, str]:
        return self.row["id"], self.kind


Load = Callable[[list[ExceptionKey]], list[Found]]
"""Reads the rows of some keys (one statement) and makes them found exceptions."""


def exception_of(found: Found) -> DayException:
    row = found.row
    return DayException(
        kind=found.kind, attempt_id=row["id"], created_at=row["created_at"], status=row["status"],
        lane=row["lane__code"], device=row["terminal__device"], total=row["amount"] + row["tip"],
        currency=row["currency"], order_reference=row["order_reference"], card_last4=row["card_last4"],
        detail=found.describe(), related_id=found.related_id,
        past_window=found.kind == ExceptionKind.UNKNOWN and bool(row["past_window"]),
    )


_ORDER = {kind: i for i, kind in enumerate(ExceptionKind.ORDER)}


def most_serious_first(item: Found | ExceptionKey) -> tuple[int, datetime, int]:
    """The sort key: the kind's rank, then the oldest first."""
    if isinstance(item, ExceptionKey):
        return _ORDER[item.kind], item.created_at, item.id
    return _ORDER[item.kind], item.row["created_at"], item.row["id"]


def built(items: Sequence[Found | ExceptionKey], load: Load | None) -> list[Found]:
    """The items with their rows, in their order: the keys' rows read in one statement."""
    keys = [item for item in items if isinstance(item, ExceptionKey)]
    if not keys:
        return [item for item in items if isinstance(item, Found)]
    if load is None:
        raise ValueError("exceptions found as keys need a way to read their rows")
    rows = {found.key: found for found in load(keys)}
    # An attempt is never deleted, so every key has its row; one that had none would be left out, not guessed.
    return [found for item in items
            if (found := rows.get(item.key) if isinstance(item, ExceptionKey) else item) is not None]


class OpenExceptions(Sequence[DayException]):
    """The day's open exceptions, most serious first. Counting and slicing them is cheap: an exception is built
    (its row read, its detail written in the reader's language) only when it is read, so showing a page of them
    costs a page."""

    def __init__(self, items: Sequence[Found | ExceptionKey], load: Load | None = None) -> None:
        self._items = items
        self._load = load

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> DayException: ...

    @overload
    def __getitem__(self, index: slice) -> list[DayException]: ...

    def __getitem__(self, index: int | slice) -> DayException | list[DayException]:
        if isinstance(index, slice):
            return [exception_of(found) for found in built(self._items[index], self._load)]
        return exception_of(built([self._items[index]], self._load)[0])

    def __iter__(self) -> Iterator[DayException]:
        return iter(self[:])  # all the rows in one statement, not one an exception
