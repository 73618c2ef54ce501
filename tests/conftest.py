"""Fixtures: the real processes (sandbox, workers, beat, Daphne), data factories and waiting helpers."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import requests
from django.db import connection
from django.utils import translation

from tests.factories import (
    SANDBOX_MCH_ID,
    LaneFactory,
    StoreFactory,
    TerminalFactory,
    UserFactory,
    assign_cashier,
)
from tests.processes import ARTIFACTS, Console
from tests.redis_server import EmbeddedRedis

PASSWORD = "pass-word-123"


@pytest.fixture(autouse=True)
def english_to_begin_with() -> None:
    """Each test starts in English (LANGUAGE_CODE): a request the test client made in French leaves its thread
    in French, as Django's LocaleMiddleware does, and the next test must not inherit that."""
    translation.deactivate()


@pytest.fixture(autouse=True)
def day_cards_counted_at_each_statement(request: pytest.FixtureRequest) -> None:
    """A test in a rolled-back transaction (pytest-django's `db`) never commits, and PostgreSQL counts a changed
    approval into DayCard at commit (payments migration 0015): in such a test it counts at each statement
    instead. Tests with committed transactions (`transaction=True`, the console's processes) count at commit, as
    the console does: tests/app/test_day_summary.py holds both to the same totals."""
    marker = request.node.get_closest_marker("django_db")
    rolled_back = "db" in request.fixturenames or (
        marker is not None and not marker.kwargs.get("transaction") and not (marker.args and marker.args[0]))
    if not rolled_back or "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        return
    request.getfixturevalue("db")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS day_cards_updated IMMEDIATE")


def pytest_configure(config: pytest.Config) -> None:
    # The embedded default keeps its SQLite files in var/; settings create nothing when they are imported.
    (Path(__file__).resolve().parent.parent / "var").mkdir(exist_ok=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def embedded_redis() -> Iterator[EmbeddedRedis | None]:
    """On the embedded default (REDIS_URL unset) a redis-server of our own, which fault tests may restart."""
    if os.environ.get("TEST_EMBEDDED_REDIS") != "1":
        yield None
        return
    ARTIFACTS.mkdir(exist_ok=True)
    server = EmbeddedRedis(urlsplit(os.environ["REDIS_URL"]).port, str(ARTIFACTS))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(embedded_redis: EmbeddedRedis | None) -> str:
    url = os.environ["REDIS_URL"]
    client = redis.Redis.from_url(url)
    client.ping()
    # Leftovers of an earlier run (queued or unacknowledged tasks) must not reach this run's workers.
    for key in ("gateway", "default", "webhooks", "unacked", "unacked_index", "unacked_mutex"):
        client.delete(key)
    return url


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="session")
def console(django_db_setup: None, django_db_blocker: object, redis_url: str) -> Iterator[Console]:
    """Sandbox, gateway worker, default worker, beat and Daphne, all against the test database."""
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings",
           "PYTHONUNBUFFERED": "1"}
    sandbox_port = urlsplit(os.environ["IOTPAY_BASE_URL"]).port
    merchant = f"{SANDBOX_MCH_ID}={os.environ['TEST_SANDBOX_KEY']}"
    running = Console(env, sandbox_port=sandbox_port, daphne_port=_free_port(), merchant=merchant)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def live(console: Console, transactional_db: None) -> Iterator[Console]:
    """A test that runs against the real processes: its data is committed so they can see it.

    Afterwards the payments still in flight are given time to settle, then the tables are emptied. A
    worker holding a row lock while the test's TRUNCATE runs would deadlock with it: then try again.
    """
    yield console
    from django.core.management import CommandError, call_command
    from django.db import OperationalError

    from payments.models import IN_FLIGHT_STATUSES, PaymentAttempt, Refund

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        PaymentAttempt.objects.filter(status__in=IN_FLIGHT_STATUSES).exists()
        or Refund.objects.filter(status__in=IN_FLIGHT_STATUSES).exists()
    ):
        time.sleep(0.2)
    for attempt in range(5):
        try:
            # Ids go on counting: a push still on its way from this test (a worker's late answer, a re-query)
            # must never carry the id of the next test's store or payment.
            call_command("flush", interactive=False, verbosity=0, reset_sequences=False)
            return
        except (OperationalError, CommandError):  # flush reports the deadlock as a CommandError from it
            if attempt == 4:
                raise
            time.sleep(0.5)


@pytest.fixture
def lane(live: Console) -> object:
    terminal = TerminalFactory(lane=LaneFactory(store=StoreFactory()))
    return terminal.lane


@pytest.fixture
def cashier(lane: object) -> object:
    user = UserFactory()
    assign_cashier(lane, user)
    return user


def login_session(base_url: str, username: str, password: str = PASSWORD) -> requests.Session:
    """A requests session logged in through the real login page (CSRF cookie and all)."""
    session = requests.Session()
    session.get(f"{base_url}/accounts/login/", timeout=10)
    token = session.cookies["csrftoken"]
    response = session.post(
        f"{base_url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base_url}/accounts/login/"},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    session.headers["Referer"] = f"{base_url}/"
    return session


@pytest.fixture
def cashier_session(live: Console, cashier: object) -> requests.Session:
    return login_session(live.url, cashier.username)


def wait_for_status(attempt_id: int, statuses: set[str] | str, timeout: float = 20) -> object:
    """Wait until the attempt reaches one of the statuses (read from the database)."""
    from payments.models import PaymentAttempt

    wanted = {statuses} if isinstance(statuses, str) else set(statuses)
    deadline = time.monotonic() + timeout
    attempt = None
    while time.monotonic() < deadline:
        attempt = PaymentAttempt.objects.get(pk=attempt_id)
        if attempt.status in wanted:
            return attempt
        time.sleep(0.1)
    raise AssertionError(f"attempt {attempt_id} is {attempt.status if attempt else '?'}, not {wanted}")


@pytest.fixture
def sandbox_order(live: Console) -> Callable[[str], dict]:
    def get(order_reference: str) -> dict:
        response = requests.get(f"{live.sandbox_url}/_sandbox/orders/{SANDBOX_MCH_ID}/{order_reference}", timeout=5)
        return response.json()

    return get


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def enqueued(redis_url: str) -> Iterator[Callable[[], list[tuple[str, str]]]]:
    """The tasks this test sent to the real broker, as (task name, args repr), read from Redis's queues.

    For tests that run without workers (the `db` tests): the queues are emptied before and after.
    """
    import json

    client = redis.Redis.from_url(redis_url)
    client.delete("default", "gateway")

    def read() -> list[tuple[str, str]]:
        out = []
        for queue in ("default", "gateway"):
            for raw in client.lrange(queue, 0, -1):
                headers = json.loads(raw)["headers"]
                out.append((headers["task"], headers["argsrepr"]))
        return out

    yield read
    client.delete("default", "gateway")
