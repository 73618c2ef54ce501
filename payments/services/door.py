"""The gateway door: the one way the console calls a payment gateway.

Inside ``with gateway_door() as door:`` a worker holds one of its process's bounded database slots for
its short transactions; ``door.call(merchant, what, fn)`` gives the slot and the connection back before
the call (a gateway call may stay open for minutes while the cardholder acts, and a gateway worker holds
hundreds of them), makes the call, takes a slot again after it (so calls ending together do not each
open a connection at once), logs each exchange redacted, and turns anything a gateway package raises
into the neutral errors (``NoAnswer`` for anything unforeseen: the call may have happened).

Recording an answer goes through ``record_safely``: whatever fails while recording it (text PostgreSQL
refuses, a value no one foresaw) turns the answer into no answer, never a stuck attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction

from gateways.base import Charge, Exchange, GatewayError, NoAnswer, OrderState, PaymentGateway, RefundResult
from payments import causes, metrics
from payments.gateways import gateway_for
from payments.models import AttemptStatus, Merchant
from payments.services.outcomes import go_unknown
from payments.services.statements import prepared
from payments.services.transitions import record_note

__all__ = ["Door", "gateway_door", "record_safely"]

S = AttemptStatus
T = TypeVar("T")
log = logging.getLogger("payments.gateway")

_db_slots = threading.BoundedSemaphore(settings.CONSOLE_GATEWAY_DB_CONNECTIONS)


def exchanges_of(value: object) -> tuple[Exchange, ...]:
    if isinstance(value, Charge | RefundResult | OrderState | GatewayError):
        return value.exchanges
    return ()


class Door:
    """Calls through the door; see the module's docstring. One per ``with gateway_door()`` block."""

    def __init__(self) -> None:
        self._holding = False

    def _take_slot(self) -> None:
        if not self._holding:
            _db_slots.acquire()
            self._holding = True

    def _give_back(self) -> None:
        if self._holding:
            connection.close()  # back to the process's pool, or closed when the pool is off
            self._holding = False
            _db_slots.release()

    def call(self, merchant: Merchant, what: str, fn: Callable[[PaymentGateway], T]) -> T:
        """``fn(gateway)`` with no database connection held; neutral errors only."""
        if connection.in_atomic_block:
            raise RuntimeError(f"{what}: a gateway call inside a database transaction")
        gateway = gateway_for(merchant)  # decrypts the key: no query
        self._give_back()
        connection.close()  # a caller that took no slot must not hold a connection either
        try:  # the logging too is done before a slot is taken: slots are for the database work only
            started = time.monotonic()
            try:
                result = fn(gateway)
            except GatewayError as exc:
                metrics.observe_gateway_call(what, time.monotonic() - started, metrics.call_outcome(error=exc))
                _log(gateway.name, what, exc.exchanges, error=exc)
                raise
            except Exception as exc:
                metrics.observe_gateway_call(what, time.monotonic() - started, metrics.call_outcome(error=exc))
                log.exception("%s %s: unforeseen %s; treated as no answer", gateway.name, what,
                              exc.__class__.__name__)
                raise NoAnswer(f"{what}: {exc.__class__.__name__}", reason="unforeseen error") from exc
            metrics.observe_gateway_call(what, time.monotonic() - started, metrics.call_outcome(result))
            _log(gateway.name, what, exchanges_of(result))
        finally:
            self._take_slot()
        return result


def _log(gateway: str, what: str, exchanges: tuple[Exchange, ...], *, error: Exception | None = None) -> None:
    """One line per HTTP exchange (no secret is in it); the whole exchange, redacted, at DEBUG (and always in
    the payment's event trail)."""
    detail = log.isEnabledFor(logging.DEBUG)
    for exchange in exchanges:
        log.info("%s %s %s %s: HTTP %s, %s in %s ms", gateway, what, exchange.endpoint, exchange.reference,
                 exchange.http_status, exchange.outcome or exchange.error, exchange.elapsed_ms)
        if detail:
            log.debug("%s %s exchange: %s", gateway, exchange.endpoint, exchange.as_log())
    if error is not None and not exchanges:
        log.info("%s %s: %s", gateway, what, error)


@contextmanager
def gateway_door() -> Iterator[Door]:
    """Hold a database slot for the block's short transactions; calls go through ``door.call``."""
    door = Door()
    door._take_slot()
    try:
        yield door
    finally:
        door._give_back()


def record_safely(attempt_id: int, apply: Callable[[], None], *, from_statuses: list[str], what: str) -> None:
    """Run ``apply`` (record and apply an answer) in one transaction; if anything in it fails, the answer
    is treated as no answer: the attempt is looked up at the gateway until it ends or needs review."""
    try:
        with transaction.atomic(), prepared():
            apply()
    except Exception as exc:
        log.exception("attempt %s: %s could not be recorded; treated as no answer", attempt_id, what)
        with transaction.atomic(), prepared():
            record_note(attempt_id, cause=causes.NOT_RECORDED_NO_ANSWER.format(what=what, error=exc.__class__.__name__),
                        data={"error": exc.__class__.__name__})
            go_unknown(attempt_id, from_statuses=from_statuses,
                       cause=causes.NOT_RECORDED_LOOKING.format(what=what))
