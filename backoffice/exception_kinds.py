"""The kinds of exception the reconciliation dashboard lists (their labels and order), and an exception as found
by either of the two ways of reading a day's (the ORM's in ``backoffice.selectors``, the hand-written statements
of ``backoffice.day_statements``) before its detail is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy

# The columns an exception's row carries, named as the ORM's values() names them.
EXCEPTION_FIELDS = ("id", "created_at", "status", "lane__code", "terminal__device", "amount", "tip", "currency",
                    "order_reference", "card_last4", "card_brand", "auth_num", "message")


class ExceptionKind:
    MISMATCH = "mismatch"
    NEEDS_REVIEW = "needs_review"
    UNKNOWN = "unknown"
    POSSIBLE_DUPLICATE = "possible_duplicate"
    MISSING_CARD_DATA = "missing_card_data"

    LABELS = {
        MISMATCH: gettext_lazy("The gateway disagrees"),
        NEEDS_REVIEW: gettext_lazy("Needs review"),
        UNKNOWN: gettext_lazy("Outcome unknown"),
        POSSIBLE_DUPLICATE: gettext_lazy("Possible duplicate"),
        MISSING_CARD_DATA: gettext_lazy("Missing card data"),
    }
    # Closed by a note; NEEDS_REVIEW is closed by resolving the attempt, UNKNOWN not at all (still polled).
    CLOSABLE_BY_NOTE = (MISMATCH, POSSIBLE_DUPLICATE, MISSING_CARD_DATA)
    ORDER = (MISMATCH, NEEDS_REVIEW, UNKNOWN, POSSIBLE_DUPLICATE, MISSING_CARD_DATA)


@dataclass(frozen=True)
class ExceptionRow:
    """One exception of the day as it was read."""

    kind: str
    row: dict[str, Any]  # EXCEPTION_FIELDS, and past_window for the open ones
    finding: str | None = None  # a mismatch's detail
    earlier: dict[str, Any] | None = None  # a possible duplicate's earlier attempt: id, created_at, lane__code
