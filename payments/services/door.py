"""What every gateway step goes through on our side of the call: a bounded database slot, and recording
an answer so that nothing in it can leave an attempt stuck.

A gateway worker holds hundreds of calls open with no database connection; when many end at once, each
would want one. The slots bound the connections one worker process uses at a time; closing gives the
connection back to the process's pool (or closes it when the pool is off).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction

from payments.models import AttemptStatus
from payments.services.outcomes import go_unknown
from payments.services.transitions import record_note

S = AttemptStatus
log = logging.getLogger(__name__)

_db_slots = threading.BoundedSemaphore(settings.CONSOLE_GATEWAY_DB_CONNECTIONS)


@contextmanager
def db_slot() -> Iterator[None]:
    """Hold one of this process's database slots; the connection is given back when the block ends."""
    with _db_slots:
        try:
            yield
        finally:
            connection.close()


def record_safely(attempt_id: int, apply: Callable[[], None], *, from_statuses: list[str], what: str) -> None:
    """Run ``apply`` (record and apply an answer) in one transaction; if anything in it fails (text that
    PostgreSQL refuses, a value no one foresaw), the answer is treated as no answer: the attempt polls
    query_order, which ends it, or makes it need review, within its window."""
    try:
        with transaction.atomic():
            apply()
    except Exception as exc:
        log.exception("attempt %s: %s could not be recorded; treated as no answer", attempt_id, what)
        with transaction.atomic():
            record_note(attempt_id, cause=f"{what} could not be recorded ({exc.__class__.__name__}): "
                                          "treated as no answer", data={"error": exc.__class__.__name__})
            go_unknown(attempt_id, from_statuses=from_statuses,
                       cause=f"{what} could not be recorded: asking IOTPay with query_order")
