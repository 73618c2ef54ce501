"""Django's HTTP handler for Daphne, running the middleware chain and the view in one worker thread.

Every view and middleware of the console is synchronous. Django's own ``ASGIHandler`` builds its chain for async
and adapts each sync part where the chain changes mode: under Daphne one request went from the event loop to a
thread for the outer middleware, back to the loop for the inner handler, and to a thread again for the view, each
hand-over a wake-up of the other side (docs/performance.md, "Fourth pass"). This handler builds the chain as WSGI
does and hands the whole of it to one thread: the request's thread-sensitive thread, where its database connection,
its ``request_finished`` clean-up and a streamed CSV's ``COPY`` (backoffice/views/reconciliation.py) also run.
Reading the body, the disconnect watch and sending the response stay Django's.
"""

from __future__ import annotations

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)  # the chain as WSGI builds it: sync from the first to the view

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        return response


def get_http_application() -> SyncChainASGIHandler:
    """What ``django.core.asgi.get_asgi_application()`` does, with this handler."""
    django.setup(set_prefix=False)
    return SyncChainASGIHandler()
