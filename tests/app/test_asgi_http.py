"""Daphne's HTTP handler runs the whole middleware chain and the view in one call on one thread
(store_console/asgi_http.py), where Django's own ASGIHandler goes back to the event loop between them (its inner
handler is async: the view is reached through ``async_to_sync``)."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable

import pytest
from asgiref.sync import AsyncToSync, async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
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
