"""The kinds of exception the reconciliation dashboard lists, their labels and their order."""

from __future__ import annotations

from django.utils.translation import gettext_lazy


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
