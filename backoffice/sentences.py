"""The back office's own sentences kept in the database (what verifying the day found, the notes that close an
exception), stored in English and shown in the reader's language by ``said`` (``payments.causes``).

The gateway's outcome words in them (paid, not paid...) are ours too: they are filled in from the templates
below, then translated with the sentence.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from gateways.base import Outcome
from payments.causes import said as said_any

HAS_NO_SUCH_ORDER = gettext_noop("{name} has no such order")
REPORTS_IT = gettext_noop("{name} reports it {outcome}")
APPROVED_NOT_TAKEN = gettext_noop("Approved here, but {gateway}: the money may not have been taken.")
DECLINED_CHARGED = gettext_noop("Declined here, but {gateway}: the customer may have been charged.")
FAILED_CHARGED = gettext_noop("Failed here, but {gateway}: the customer may have been charged.")
ORDER_DIFFERS = gettext_noop("{name}'s order differs from ours: {differences}.")
NO_USABLE_ANSWER = gettext_noop("No usable answer from {name}: {error}")
LATE_APPLIED = gettext_noop("{status} here; {gateway}: {applied}.")
NOW_STATUS = gettext_noop("now {status}")
POLL_QUEUED = gettext_noop("a poll was queued to apply it")
PAID = gettext_noop("paid")
NOT_PAID = gettext_noop("not paid (declined or cancelled)")
IN_PROGRESS = gettext_noop("still in progress")
WITHOUT_ORDER = gettext_noop("without such an order")

OUTCOME_WORDS = {Outcome.PAID: PAID, Outcome.DECLINED: NOT_PAID, Outcome.IN_PROGRESS: IN_PROGRESS,
                 Outcome.NOT_FOUND: WITHOUT_ORDER}
# Whole sentences before the parts they are made of ("{name} reports it {outcome}" would match them all).
TEMPLATES = (APPROVED_NOT_TAKEN, DECLINED_CHARGED, FAILED_CHARGED, ORDER_DIFFERS, NO_USABLE_ANSWER, LATE_APPLIED,
             HAS_NO_SUCH_ORDER, REPORTS_IT, NOW_STATUS, POLL_QUEUED, NOT_PAID, IN_PROGRESS, WITHOUT_ORDER)


def said(text: str) -> str:
    """A stored finding or note in the active language (the payments' sentences in it too)."""
    return said_any(text, TEMPLATES)
