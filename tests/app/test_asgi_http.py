"""Daphne's HTTP handler runs the whole middleware chain and the view in one call on one thread
(store_console/asgi_http.py), where Django's own ASGIHandler goes back to the event loop between them (its inner
handler is async: the view is reached through ``async_to_sync``)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Iterator

import pytest
from asgiref.sync import AsyncToSync, async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from store_console import asgi
from store_console.asgi_http import SyncChainASGIHandler

seen: dict[str, object] = {}


class Outermost:
    """The first middleware: the view below it should run inside this call, on this thread."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seen["middleware_thread"] = threading.get_ident()
        return self.get_response(request)


def view(request: HttpRequest) -> HttpResponse:
    seen["view_thread"] = threading.get_ident()
    stack = [frame.frame.f_locals.get("self") for frame in inspect.stack()]
    seen["inside_the_middleware"] = any(isinstance(caller, Outermost) for caller in stack)
    # A way back to the event loop on the way down: the loop ran the inner handler, then handed the view back.
    seen["back_to_the_loop"] = any(isinstance(caller, AsyncToSync) for caller in stack)
    return JsonResponse({"ok": True, "user": str(request.user)})


urlpatterns = [path("one-call/", view)]


async def _get(handler: ASGIHandler) -> tuple[int, bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/one-call/", "raw_path": b"/one-call/", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    communicator = ApplicationCommunicator(handler, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(5)
    body = await communicator.receive_output(5)
    await communicator.wait(5)
    return start["status"], body["body"]


def _served_by(handler_class: type[ASGIHandler]) -> dict[str, object]:
    seen.clear()
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[f"{__name__}.Outermost", *settings.MIDDLEWARE]):
        status, body = async_to_sync(_get)(handler_class())
    assert status == 200 and b'"ok": true' in body
    return dict(seen)


@pytest.mark.django_db(transaction=True)
def test_the_chain_and_the_view_run_in_one_call_on_one_thread():
    found = _served_by(SyncChainASGIHandler)
    assert found["inside_the_middleware"] is True and found["back_to_the_loop"] is False
    assert found["middleware_thread"] == found["view_thread"]


@pytest.mark.django_db(transaction=True)
def test_djangos_own_handler_returns_to_the_event_loop_in_between():
    """What the test above tells apart: the same request through Django's handler."""
    assert _served_by(ASGIHandler)["back_to_the_loop"] is True


def test_daphne_serves_http_through_it() -> None:
    assert isinstance(asgi.django_asgi_app, SyncChainASGIHandler)


# --- one hand-over to a kept request thread (docs/performance.md, "Sixth pass")

events: list[tuple[str, int]] = []
release = threading.Event()
view_started = threading.Event()


def _on_started(**kwargs: object) -> None:
    events.append(("started", threading.get_ident()))


def _on_finished(**kwargs: object) -> None:
    events.append(("finished", threading.get_ident()))


def whole(request: HttpRequest) -> HttpResponse:
    events.append(("view", threading.get_ident()))
    return HttpResponse(b"whole")


def streamed(request: HttpRequest) -> StreamingHttpResponse:
    events.append(("view", threading.get_ident()))

    def chunks() -> Iterator[bytes]:
        yield b"one,"
        events.append(("last chunk", threading.get_ident()))
        yield b"two"

    return StreamingHttpResponse(chunks())


barrier = threading.Barrier(4, timeout=10)


def together(request: HttpRequest) -> HttpResponse:
    barrier.wait()  # four requests at once, each on its own thread, or none gets past this
    return HttpResponse(b"together")


def slow(request: HttpRequest) -> HttpResponse:
    events.append(("view", threading.get_ident()))
    view_started.set()
    release.wait(10)
    events.append(("view returned", threading.get_ident()))
    return HttpResponse(b"late")


urlpatterns += [path("whole/", whole), path("streamed/", streamed), path("together/", together), path("slow/", slow)]


def _scope(url: str) -> dict[str, object]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": url, "raw_path": url.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}


async def _body(handler: ASGIHandler, url: str) -> bytes:
    communicator = ApplicationCommunicator(handler, _scope(url))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    body = b""
    message = await communicator.receive_output(10)
    assert message["type"] == "http.response.start" and message["status"] == 200
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(10)
    return body


@pytest.fixture
def signals_seen() -> Iterator[list[tuple[str, int]]]:
    events.clear()
    request_started.connect(_on_started)
    request_finished.connect(_on_finished)
    with override_settings(ROOT_URLCONF=__name__):
        yield events
    request_started.disconnect(_on_started)
    request_finished.disconnect(_on_finished)


@pytest.mark.django_db(transaction=True)
def test_started_view_and_finished_run_on_one_thread_and_the_next_request_gets_the_same_thread(signals_seen):
    handler = SyncChainASGIHandler()

    assert async_to_sync(_body)(handler, "/whole/") == b"whole"
    first = list(signals_seen)
    assert async_to_sync(_body)(handler, "/whole/") == b"whole"

    assert [name for name, _ in first] == ["started", "view", "finished"]  # request_finished once
    assert len({thread for _, thread in signals_seen}) == 1  # one thread, kept for the next request
    assert first[0][1] != threading.get_ident()


@pytest.mark.django_db(transaction=True)
def test_a_streamed_response_is_finished_after_its_last_chunk_on_the_views_thread(signals_seen):
    assert async_to_sync(_body)(SyncChainASGIHandler(), "/streamed/") == b"one,two"

    assert [name for name, _ in signals_seen] == ["started", "view", "last chunk", "finished"]
    assert len({thread for _, thread in signals_seen}) == 1


@pytest.mark.django_db(transaction=True)
def test_requests_at_the_same_time_each_have_their_own_thread(signals_seen):
    handler = SyncChainASGIHandler()

    async def four() -> list[bytes]:
        return list(await asyncio.gather(*(_body(handler, "/together/") for _ in range(4))))

    assert async_to_sync(four)() == [b"together"] * 4


@pytest.mark.django_db(transaction=True)
def test_a_client_gone_mid_view_is_finished_once_after_its_view_and_the_next_request_does_not_wait(signals_seen):
    handler = SyncChainASGIHandler()
    release.clear()
    view_started.clear()

    async def gone_then_next() -> bytes:
        gone = ApplicationCommunicator(handler, _scope("/slow/"))
        await gone.send_input({"type": "http.request", "body": b"", "more_body": False})
        await asyncio.get_running_loop().run_in_executor(None, view_started.wait, 10)
        await gone.send_input({"type": "http.disconnect"})
        served = await _body(handler, "/whole/")  # while the slow view still holds its thread
        release.set()
        await gone.wait(10)
        return served

    assert async_to_sync(gone_then_next)() == b"whole"

    slow_thread = next(thread for name, thread in signals_seen if name == "view returned")
    on_slow = [name for name, thread in signals_seen if thread == slow_thread]
    assert on_slow == ["started", "view", "view returned", "finished"]
    assert [name for name, thread in signals_seen if thread != slow_thread] == ["started", "view", "finished"]
