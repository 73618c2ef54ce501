"""Django's HTTP handler for Daphne: one hand-over to a kept request thread for the whole of a request.

Every view and middleware of the console is synchronous. Django's own ``ASGIHandler`` builds its chain for async
and adapts each sync part where the chain changes mode: under Daphne one request went from the event loop to a
thread for the outer middleware, back to the loop for the inner handler, and to a thread again for the view, each
hand-over a wake-up of the other side (docs/performance.md, "Fourth pass"). This handler builds the chain as WSGI
does and hands the whole of it to one thread: the request's thread-sensitive thread, where its database connection,
its ``request_started`` and ``request_finished`` and a streamed CSV's ``COPY`` (backoffice/views/reconciliation.py)
also run. Reading the body, the disconnect watch and sending the response stay Django's.

Two more costs of Django's handler are gone (docs/performance.md, "Sixth pass"): it made a new thread for every
request and ended it after, and it handed each request to its thread three times (``request_started``, the view,
``close()``). Here the request threads are kept and lent, one request at a time each, and a response already
whole (not streamed) is closed, which sends ``request_finished``, in the same hand-over as the view.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.urls import set_script_prefix

IDLE_REQUEST_THREADS = 64
"""Request threads kept for the next requests; more are made while more requests run at once, and ended after."""


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: collections.deque[ThreadPoolExecutor] = collections.deque()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)  # the chain as WSGI builds it: sync from the first to the view

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        return response

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's, with the request's thread lent from the kept ones instead of made for it."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self._idle.popleft() if self._idle else ThreadPoolExecutor(1, thread_name_prefix="request")
        async with ThreadSensitiveContext(executor=thread):
            try:
                await self.handle(scope, receive, send)
            except BaseException:
                # Lent again only once what the request left on it has run: the next request never waits behind it.
                thread.submit(_nothing).add_done_callback(lambda _: self._give_back(thread))
                raise
        self._give_back(thread)  # handle() waited for everything it gave the thread

    def _give_back(self, thread: ThreadPoolExecutor) -> None:
        if len(self._idle) < IDLE_REQUEST_THREADS:
            self._idle.append(thread)
        else:
            thread.shutdown(wait=False)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django 5.2's ``ASGIHandler.handle`` with one hand-over to the request's thread: ``request_started``,
        the request, the middleware chain and the view and, for a response already whole, its ``close()``. A
        streamed response is closed after it was sent, on the same thread, as Django does; so is a request whose
        client went away, once its view has returned."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        closed = False

        def respond() -> HttpResponseBase:
            nonlocal closed
            set_script_prefix(get_script_prefix(scope))
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, error_response = self.create_request(scope, body_file)
            # Django's create_request gives a request, or else an error response
            response = self.get_response(request) if request is not None else cast(HttpResponseBase, error_response)
            response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django's handler marks it
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
            if not response.streaming:
                response.close()
                closed = True
            return response

        def finish() -> None:
            if not closed:
                signals.request_finished.send(sender=self.__class__)

        async def process_request() -> HttpResponseBase:
            response = await sync_to_async(respond, thread_sensitive=True)()
            with contextlib.suppress(asyncio.CancelledError):  # the client went away while it was sent
                await self.send_response(response, send)
            return response

        # Django's disconnect watch: a client that goes away ends the sending (a streamed CSV stops).
        answer = asyncio.create_task(process_request())
        tasks = [asyncio.create_task(self.listen_for_disconnect(receive)), answer]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if not task.done():
                task.cancel()
            try:
                await task
            except (asyncio.CancelledError, RequestAborted):
                pass
            except AssertionError:
                body_file.close()
                raise
        if closed:
            pass
        elif not answer.cancelled():  # a streamed response, sent
            await sync_to_async(answer.result().close, thread_sensitive=True)()
        else:
            # The client went away: queued behind what the request left on its thread (a view still running).
            await sync_to_async(finish, thread_sensitive=True)()
        body_file.close()


def _nothing() -> None:
    return None


def get_http_application() -> SyncChainASGIHandler:
    """What ``django.core.asgi.get_asgi_application()`` does, with this handler."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
