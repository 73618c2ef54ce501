"""The JSON API under /api/ (django-ninja): the checkout page's routes and the registers' (docs/api.md).

The routes keep their first paths, methods, status codes and bodies; the schema is generated from them
(``/api/schema/``) and browsable at ``/api/docs/``.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, reverse
from ninja import NinjaAPI

from checkout.api import lane_routes, payment_routes, refund_routes
from checkout.api.auth import ApiKeyAuth, SessionAuth
from checkout.api.docs import OwnFilesSwagger, docs_access
from checkout.api.errors import install

DESCRIPTION = """The store console's API, for the checkout page and for stores' registers.

**Authentication.** A register sends `Authorization: Bearer <token>` with an API key made in the admin or by
`python manage.py create_api_key`; it needs no CSRF token. The checkout page uses the console's session and sends
Django's CSRF token (`X-CSRFToken`) on every POST.

**Money** is integer cents; **times** are ISO-8601 with their offset.

**Errors** all have one shape: `{"error": "<for people>", "code": "<for programs>", "errors": {"<field>":
["<message>"]}}` (`errors` when fields are at fault); a 409 may add the `attempt` or `refund` in the way.
"""



class ConsoleAPI(NinjaAPI):
    """Ninja's API, its root route left out (``urls``): the schema's paths start where the schema is served."""

    def get_root_path(self, path_params: dict[str, Any]) -> str:
        schema = reverse(f"{self.urls_namespace}:openapi-json", kwargs=path_params)
        return schema.removesuffix((self.openapi_url or "").lstrip("/"))


api = ConsoleAPI(
    title="Store console API", version="1", description=DESCRIPTION,
    auth=[ApiKeyAuth(), SessionAuth()], urls_namespace="api",
    openapi_url="/schema/", docs_url="/docs/", docs=OwnFilesSwagger(settings={"persistAuthorization": False}),
    docs_decorator=docs_access,
)
install(api)
api.add_router("", payment_routes.router)
api.add_router("", refund_routes.router)
api.add_router("", lane_routes.router)


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """The API's URL patterns for ``include``, without ninja's root route (it only names the docs' address;
    an unknown /api/ address answers the API's 404)."""
    patterns, app_name, namespace = api.urls
    return [p for p in patterns if getattr(p, "name", None) != "api-root"], app_name, namespace
