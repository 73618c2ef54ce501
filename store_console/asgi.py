"""ASGI entry point: HTTP through Django, websockets through Channels (Daphne serves both)."""

import os

from store_console.asgi_http import get_http_application
from store_console.error_reports import init_error_reports

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store_console.settings")
init_error_reports("daphne")  # before Django handles anything, as the Django integration asks
django_asgi_app = get_http_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from live.routing import websocket_urlpatterns  # noqa: E402
from store_console.gc_tuning import freeze_startup_objects  # noqa: E402
from store_console.metrics import forget_process_at_exit  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # types-channels want their own URLPattern type, which django-stubs' path() does not return.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))  # type: ignore[arg-type]
        ),
    }
)

forget_process_at_exit()
freeze_startup_objects()  # after Django, Channels and the routes are loaded: see store_console/gc_tuning.py
