"""Webhooks against a real HTTP receiver: payments and refunds through the live console (sandbox, workers,
beat, Daphne) post signed events to an http.server in this process, which answers as each test scripts it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from payments.models import PaymentAttempt
from tests.conftest import PASSWORD, _database_url, _free_port, login_session, wait_for_status
from tests.factories import StoreFactory, UserFactory
from tests.metrics_scrape import scrape, value
from tests.processes import ROOT, RUN_DIR
from webhooks.endpoints import endpoint_create
from webhooks.models import Delivery, DeliveryTry, Endpoint, Event
from webhooks.queue import enqueue_delivery

pytestmark = pytest.mark.integration


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that closed its connection (it does not read the answer's body): nothing to report


class Receiver:
    """A webhook endpoint on 127.0.0.1. Each path answers in turn what the test scripted for it (an HTTP status,
    or ("hang", seconds)), repeating the last; every request is kept."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.scripts: dict[str, list[int | tuple[str, float]]] = {}
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path
                with receiver._lock:
                    receiver.hits.append(Hit(path, dict(self.headers.items()), body, time.time()))
                    script = receiver.scripts.get(path, [200])
                    step = script.pop(0) if len(script) > 1 else script[0]
                status = 200
                if isinstance(step, tuple):
                    receiver.release.wait(step[1])  # hangs: the client's read time-out ends its wait
                else:
                    status = step
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    self.close_connection = True  # the client gave up

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 30) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(hits := self.at(path)) >= count:
                return hits
            time.sleep(0.02)
        raise AssertionError(f"{path} got {len(self.at(path))} request(s), not {count}, in {timeout}s")

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


def verified(secret: str, hit: Hit, tolerance: float = 300) -> bool:
    """What a receiver does (docs/webhooks.md): recompute the HMAC over "<t>.<raw body>", compare in constant
    time, refuse an old t."""
    parts = dict(part.split("=", 1) for part in hit.headers["Console-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + hit.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) <= tolerance


def pay(session, live, lane, amount=1250):
    response = session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": amount},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def wait_delivery(endpoint, status, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = Delivery.objects.filter(endpoint=endpoint).select_related("event").first()
        if delivery is not None and delivery.status == status:
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"no {status} delivery to {endpoint.url}")


def tries_of(delivery):
    return list(DeliveryTry.objects.filter(delivery=delivery).order_by("id"))


def test_an_approval_is_posted_once_signed_with_the_endpoints_secret(live, lane, cashier_session, receiver):
    endpoint, secret = endpoint_create(store=lane.store, url=receiver.url("/hooks"), events=["payment.approved"])
    attempt_id = pay(cashier_session, live, lane)
    wait_for_status(attempt_id, "APPROVED")
    [hit] = receiver.wait_for("/hooks", 1)

    event = json.loads(hit.body)
    assert set(event) == {"id", "type", "created", "data"}
    assert event["id"] == hit.headers["Console-Event-Id"] and event["id"].startswith("evt_")
    assert event["type"] == "payment.approved" and isinstance(event["created"], int)
    assert abs(event["created"] - time.time()) < 60
    assert (event["data"]["id"], event["data"]["status"], event["data"]["amount"]) == (attempt_id, "APPROVED", 1250)
    assert event["data"]["lane"] == lane.code and event["data"]["card_last4"]
    assert verified(secret, hit)
    assert not verified("whsec_" + "x" * 43, hit)
    assert not verified(secret, Hit(hit.path, hit.headers, hit.body.replace(b"1250", b"1251"), hit.at))
    delivery = wait_delivery(endpoint, "delivered")
    assert delivery.event.event_id == event["id"] and delivery.event.body.encode() == hit.body
    assert [(t.response_code, t.delivered) for t in tries_of(delivery)] == [(200, True)]
    # CREATED and SENT make no event, and a decline is not what this endpoint asked for.
    wait_for_status(pay(cashier_session, live, lane, 1201), "DECLINED")
    time.sleep(1)
    assert len(receiver.at("/hooks")) == 1 and Event.objects.count() == 1


def test_a_500_is_retried_with_the_same_event_id(live, lane, cashier_session, receiver):
    receiver.scripts["/flaky"] = [500, 200]
    endpoint, secret = endpoint_create(store=lane.store, url=receiver.url("/flaky"))
    wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    first, second = receiver.wait_for("/flaky", 2)
    print(f"\nretry after a 500: {second.at - first.at:.2f} s later")
    assert first.headers["Console-Event-Id"] == second.headers["Console-Event-Id"]
    assert first.body == second.body and verified(secret, first) and verified(secret, second)
    delivery = wait_delivery(endpoint, "delivered")
    assert delivery.tries == 2
    assert [(t.response_code, t.error) for t in tries_of(delivery)] == [(500, "answered 500"), (200, "")]
    time.sleep(1)
    assert len(receiver.at("/flaky")) == 2  # delivered: not sent again


def test_each_try_counts_in_the_webhook_deliveries_metric(live, lane, cashier_session, receiver):
    receiver.scripts["/counted"] = [500, 200]
    endpoint, _ = endpoint_create(store=lane.store, url=receiver.url("/counted"), events=["payment.approved"])
    before = scrape(live.url)
    wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    wait_delivery(endpoint, "delivered")
    after = scrape(live.url)
    for outcome in ("failed", "delivered"):
        assert value(after, "console_webhook_deliveries_total", outcome=outcome) == \
            value(before, "console_webhook_deliveries_total", outcome=outcome) + 1, outcome


def test_a_time_out_is_retried_with_the_same_event_id(live, lane, cashier_session, receiver):
    receiver.scripts["/slow"] = [("hang", 6.0), 200]  # longer than WEBHOOK_READ_TIMEOUT (1.5 s in the tests)
    endpoint, secret = endpoint_create(store=lane.store, url=receiver.url("/slow"), events=["payment.approved"])
    wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    first, second = receiver.wait_for("/slow", 2)
    print(f"\nretry after a time-out: {second.at - first.at:.2f} s later")
    assert first.headers["Console-Event-Id"] == second.headers["Console-Event-Id"] and verified(secret, second)
    delivery = wait_delivery(endpoint, "delivered")
    timed_out, answered = tries_of(delivery)
    assert timed_out.response_code is None and timed_out.error.startswith("time-out") and not timed_out.delivered
    assert timed_out.duration_ms < 6000  # the time-out ended the wait, not the endpoint
    assert answered.response_code == 200 and answered.delivered


def test_a_dead_endpoint_delays_neither_the_payment_nor_another_endpoint(live, lane, cashier_session, receiver):
    start = time.monotonic()
    wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    baseline = time.monotonic() - start

    receiver.scripts["/dead"] = [("hang", 60.0)]
    hanging, _ = endpoint_create(store=lane.store, url=receiver.url("/dead"))
    refusing, _ = endpoint_create(store=lane.store, url=f"http://127.0.0.1:{_free_port()}/hooks")
    good, _ = endpoint_create(store=lane.store, url=receiver.url("/good"))
    start, started = time.monotonic(), time.time()
    attempt = wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    approved = time.monotonic() - start
    [arrived] = receiver.wait_for("/good", 1)
    receiver.wait_for("/dead", 1)
    dead_try = wait_first_try(hanging)
    refused_try = wait_first_try(refusing)
    dead_try_ended = dead_try.started_at + timedelta(milliseconds=dead_try.duration_ms)
    print(f"\npay → APPROVED: {baseline:.2f} s with no endpoint, {approved:.2f} s with a hanging and a refusing one; "
          f"the good endpoint's event {arrived.at - started:.2f} s after pay; the hanging endpoint's try ended after "
          f"{dead_try.duration_ms} ms ({dead_try.error}), the refused one's after {refused_try.duration_ms} ms "
          f"({refused_try.error})")
    # The approval was committed before anything was posted: no endpoint can hold a payment up.
    assert attempt.finalized_at <= dead_try.started_at and attempt.finalized_at <= refused_try.started_at
    # The good endpoint had its event while the hanging one's try was still waiting for an answer.
    assert arrived.at < dead_try_ended.timestamp()
    assert dead_try.error.startswith("time-out") and refused_try.error.startswith("no connection")
    assert wait_delivery(good, "delivered").tries == 1
    assert Delivery.objects.get(endpoint=hanging).status == "pending"  # to be retried


def test_a_hanging_endpoint_is_sent_at_most_its_concurrency_of_tries_at_once(live, lane, cashier_session,
                                                                            receiver, settings):
    attempt = wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    receiver.scripts["/stuck"] = [("hang", 60.0)]
    endpoint, _ = endpoint_create(store=lane.store, url=receiver.url("/stuck"))
    now = timezone.now()
    for n in range(5):
        event = Event.objects.create(event_id=f"evt_backlog{n}{uuid.uuid4().hex[:8]}", type="payment.approved",
                                     store=lane.store, attempt=attempt, body=f'{{"n":{n}}}', created_at=now)
        delivery = Delivery.objects.create(event=event, endpoint=endpoint, next_try_at=now,
                                           give_up_at=now + timedelta(days=1))
        enqueue_delivery(delivery.pk)
    hits = sorted(receiver.wait_for("/stuck", 3), key=lambda hit: hit.at)
    gaps = [round(hit.at - hits[0].at, 2) for hit in hits]
    print(f"\narrivals at the hanging endpoint, seconds after the first: {gaps}")
    # Two tries at once (WEBHOOK_ENDPOINT_CONCURRENCY); a third only once one of them ended (read time-out 1.5 s).
    assert settings.WEBHOOK_ENDPOINT_CONCURRENCY == 2
    assert hits[2].at - hits[0].at >= 1.0


def wait_first_try(endpoint, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := DeliveryTry.objects.filter(delivery__endpoint=endpoint).order_by("id").first():
            return found
        time.sleep(0.05)
    raise AssertionError(f"no try to {endpoint.url}")


def test_a_refund_event_carries_the_refund_and_its_payment(live, lane, cashier_session, receiver):
    _, secret = endpoint_create(store=lane.store, url=receiver.url("/refunds"), events=["refund.approved"])
    attempt_id = pay(cashier_session, live, lane, 2000)
    wait_for_status(attempt_id, "APPROVED")
    manager = login_session(live.url, UserFactory(is_staff=True, is_superuser=True).username, PASSWORD)
    response = manager.post(f"{live.url}/api/payments/{attempt_id}/refunds", json={"amount": 500, "reason": "returned"},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 201, response.text
    [hit] = receiver.wait_for("/refunds", 1)
    event = json.loads(hit.body)
    assert event["type"] == "refund.approved" and verified(secret, hit)
    data = event["data"]
    assert (data["id"], data["status"], data["amount"], data["attempt"]) == (response.json()["id"], "APPROVED", 500,
                                                                             attempt_id)
    assert (data["payment"]["id"], data["payment"]["status"], data["payment"]["amount"]) == (attempt_id, "APPROVED",
                                                                                             2000)


def test_a_delivery_never_enqueued_is_sent_by_the_beat_job(live, lane, cashier_session, receiver):
    attempt = wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    endpoint, secret = endpoint_create(store=lane.store, url=receiver.url("/late"))
    now = timezone.now()
    # As the outbox writes it, but its task was lost (a broker restarted without persistence).
    event = Event.objects.create(event_id="evt_lost" + uuid.uuid4().hex[:8], type="payment.approved",
                                 store=lane.store, attempt=attempt, body='{"id":"lost"}', created_at=now)
    Delivery.objects.create(event=event, endpoint=endpoint, next_try_at=now - timedelta(seconds=10),
                            give_up_at=now + timedelta(days=1))
    [hit] = receiver.wait_for("/late", 1, timeout=20)
    assert hit.headers["Console-Event-Id"] == event.event_id and verified(secret, hit)
    assert wait_delivery(endpoint, "delivered").tries == 1


def test_a_worker_killed_mid_try_loses_nothing_the_try_is_made_again_with_the_same_id(live, lane, cashier_session,
                                                                                       receiver):
    receiver.scripts["/killed"] = [("hang", 60.0), 200]
    endpoint, secret = endpoint_create(store=lane.store, url=receiver.url("/killed"))
    wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    [first] = receiver.wait_for("/killed", 1)
    live.procs["webhooks"].kill()  # while its try waits for the answer: nothing of it is recorded
    try:
        assert Delivery.objects.get(endpoint=endpoint).claimed_until is not None
    finally:
        live.procs["webhooks"].start()
        live.procs["webhooks"].wait_ready()
    _, again = receiver.wait_for("/killed", 2, timeout=60)
    print(f"\nthe try lost with the worker was made again {again.at - first.at:.1f} s later (its claim ran out)")
    assert again.headers["Console-Event-Id"] == first.headers["Console-Event-Id"] and verified(secret, again)
    delivery = wait_delivery(endpoint, "delivered")
    assert [(t.response_code, t.delivered) for t in tries_of(delivery)] == [(200, True)]


def test_add_webhook_prints_the_secret_alone_on_the_last_line(transactional_db):
    store = StoreFactory(name="Corner Store")
    env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run([sys.executable, "manage.py", "add_webhook", "--store", "Corner Store", "--url",
                           "https://hooks.example.com/console", "--events", "payment.approved", "refund.approved"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    lines = done.stdout.splitlines()
    secret = lines[-1]
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{40,}", secret), done.stdout
    assert secret not in "\n".join(lines[:-1]) and secret not in done.stderr
    endpoint = Endpoint.objects.get(store=store)
    assert endpoint.get_secret() == secret and secret not in endpoint.secret_ciphertext
    assert (endpoint.url, endpoint.events, endpoint.active) == ("https://hooks.example.com/console",
                                                                ["payment.approved", "refund.approved"], True)

    out = StringIO()
    call_command("add_webhook", "--store", "Corner Store", "--url", "https://b.example.com/", stdout=out)
    assert Endpoint.objects.get(url="https://b.example.com/").events == [
        "payment.approved", "payment.declined", "payment.failed", "payment.needs_review", "payment.unknown",
        "refund.approved", "refund.failed", "refund.needs_review"]
    call_command("add_webhook", "--store", "Corner Store", "--url", "https://c.example.com/", "--events",
                 "refund.failed,payment.failed", stdout=out)
    assert Endpoint.objects.get(url="https://c.example.com/").events == ["payment.failed", "refund.failed"]


@pytest.mark.parametrize(("args", "message"), [
    (["--store", "No Such Store", "--url", "https://a.example.com/"], 'No store is named "No Such Store"'),
    (["--store", "Corner Store", "--url", "https://a.example.com/", "--events", "payment.refunded"],
     "unknown event type"),
    (["--store", "Corner Store", "--url", "ftp://a.example.com/"], "is not an http:// or https:// URL"),
])
def test_add_webhook_refuses_bad_input_and_adds_nothing(db, args, message):
    StoreFactory(name="Corner Store")
    with pytest.raises(CommandError, match=message):
        call_command("add_webhook", *args, stdout=StringIO())
    assert not Endpoint.objects.exists()


@pytest.fixture
def admin_client(live):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_admin_shows_the_secret_once_and_sends_a_delivery_again(live, lane, cashier_session, receiver,
                                                                    admin_client):
    events = ["payment.approved", "refund.approved"]
    page = admin_client.post("/admin/webhooks/endpoint/add/", {"store": lane.store.pk, "url": receiver.url("/admin"),
                                                               "events": events, "active": "on"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    secret = re.search(r'<code id="webhook-secret">([^<]+)</code>', page.content.decode())[1]
    endpoint = Endpoint.objects.get(url=receiver.url("/admin"))
    assert endpoint.get_secret() == secret and endpoint.events == events
    for path in (f"/admin/webhooks/endpoint/{endpoint.pk}/change/", "/admin/webhooks/endpoint/"):
        shown = admin_client.get(path)
        assert shown.status_code == 200 and secret not in shown.content.decode()
    # Not carried by a message: nothing of it waits in the session or a cookie.
    assert secret not in str(admin_client.cookies)
    assert not any(secret in str(session.get_decoded()) for session in Session.objects.all())

    wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    [first] = receiver.wait_for("/admin", 1)
    delivery = wait_delivery(endpoint, "delivered")
    page = admin_client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").content.decode()
    assert delivery.event.event_id in page and secret not in page
    done = admin_client.post("/admin/webhooks/delivery/", {"action": "send_again", "_selected_action": [delivery.pk]},
                             follow=True)
    assert "will be sent again" in " ".join(str(m) for m in done.context["messages"])
    _, again = receiver.wait_for("/admin", 2)
    assert again.headers["Console-Event-Id"] == first.headers["Console-Event-Id"] and verified(secret, again)
    delivery = wait_delivery(endpoint, "delivered")
    assert delivery.tries == 2 and len(tries_of(delivery)) == 2


def test_the_secret_appears_in_no_log_page_or_table(live, lane, cashier_session, receiver, admin_client):
    receiver.scripts["/scan"] = [500, ("hang", 3.0), 200]
    endpoint, secret = endpoint_create(store=lane.store, url=receiver.url("/scan"))
    wait_for_status(pay(cashier_session, live, lane), "APPROVED")
    receiver.wait_for("/scan", 3)
    delivery = wait_delivery(endpoint, "delivered")
    seen = [hit.body.decode() + json.dumps(hit.headers) for hit in receiver.hits]
    for page in ("/admin/webhooks/endpoint/", f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
                 "/admin/webhooks/delivery/", f"/admin/webhooks/delivery/{delivery.pk}/change/",
                 "/admin/webhooks/event/", f"/admin/webhooks/event/{delivery.event_id}/change/"):
        response = admin_client.get(page)
        assert response.status_code == 200, page
        seen.append(response.content.decode())
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            seen.extend(str(row) for row in cursor.fetchall())
    seen.extend(path.read_text(errors="replace") for path in RUN_DIR.glob("*.log"))
    assert [text[:200] for text in seen if secret in text] == []
    assert any(delivery.event.event_id in text for text in seen) and len(seen) > 20
    assert PaymentAttempt.objects.exists()
