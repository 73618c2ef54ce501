"""The gateway door (``payments.services.door``): the one way the console calls a gateway.

Against the sandbox over HTTP, in this process: no database connection is held during a call, the
connections taken after calls are bounded per process, anything a call raises comes out as a neutral error,
a call inside a transaction is refused, and each exchange is logged with its secrets redacted.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest
from django.conf import settings
from django.db import connection, transaction

from gateways.base import NoAnswer, OrderState, Outcome
from payments.models import Merchant
from payments.services.door import gateway_door
from tests.factories import SANDBOX_MCH_ID, MerchantFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def merchant(live: object) -> Merchant:
    return MerchantFactory(gateway_account=SANDBOX_MCH_ID, key=os.environ["TEST_SANDBOX_KEY"])


def test_no_connection_is_held_during_a_call(merchant: Merchant) -> None:
    seen: list[object] = []

    def look(gateway: object) -> OrderState:
        seen.append(connection.connection)  # the raw connection: None once given back
        return gateway.lookup("SC-NO-SUCH-ORDER")  # type: ignore[attr-defined]

    with gateway_door() as door:
        Merchant.objects.count()  # the block's own short work opens the connection
        assert connection.connection is not None
        found = door.call(merchant, "look up", look)
        Merchant.objects.count()  # and after the call, a (bounded) connection is there again
    assert seen == [None]
    assert found.outcome is Outcome.NOT_FOUND and found.exchanges[0].endpoint


def test_anything_a_call_raises_comes_out_as_no_answer(merchant: Merchant) -> None:
    def broken(gateway: object) -> None:
        raise KeyError("a bug in a provider's package")

    with gateway_door() as door, pytest.raises(NoAnswer) as raised:
        door.call(merchant, "look up", broken)
    assert raised.value.reason == "unforeseen error" and isinstance(raised.value.__cause__, KeyError)


def test_a_call_inside_a_transaction_is_refused(merchant: Merchant) -> None:
    called = []
    with gateway_door() as door, transaction.atomic(), pytest.raises(RuntimeError, match="inside a database"):
        door.call(merchant, "look up", called.append)
    assert called == []


def test_the_connections_taken_after_calls_are_bounded(merchant: Merchant) -> None:
    """More threads end calls at once than the process has slots: never more than that many hold one."""
    slots = settings.CONSOLE_GATEWAY_DB_CONNECTIONS
    holding, peak, lock = 0, 0, threading.Lock()
    errors: list[BaseException] = []

    def one() -> None:
        nonlocal holding, peak
        try:
            with gateway_door() as door:
                door.call(merchant, "wait", lambda gateway: time.sleep(0.05))
                with lock:
                    holding += 1
                    peak = max(peak, holding)
                Merchant.objects.exists()
                time.sleep(0.05)
                with lock:
                    holding -= 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(slots + 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert 1 <= peak <= slots


def test_each_exchange_is_logged_without_secrets(merchant: Merchant, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="payments.gateway")
    with gateway_door() as door:
        door.call(merchant, "look up", lambda gateway: gateway.lookup("SC-LOGGED-ORDER"))
    records = [r for r in caplog.records if r.name == "payments.gateway"]
    summary, detail = records[0].getMessage(), records[1].getMessage()
    assert "SC-LOGGED-ORDER" in summary and "query_order" in summary and "HTTP 200" in summary
    assert "SC-LOGGED-ORDER" in detail and "'request'" in detail  # the whole exchange, at DEBUG
    logged = "\n".join(r.getMessage() for r in records)
    assert os.environ["TEST_SANDBOX_KEY"] not in logged
    assert "'sign'" not in detail.split("'response'")[0]  # the request's sign is dropped
