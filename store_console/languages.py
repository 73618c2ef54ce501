"""Which language each request is answered in, and the header's switch that changes it (docs/languages.md).

For a page, the first that gives a language of ``settings.LANGUAGES`` wins:

1. the signed-in user's own choice (``LanguagePreference``, set by the header's switch or in the admin);
2. their store's default (``Store.default_language``: its language, else French for a Quebec store). On a
   lane's checkout page that is the lane's store; elsewhere the stores they have a role in, when those agree
   (a person of several stores with different languages gets no store default: the next rule decides);
3. the language cookie, which the switch sets for a visitor who is not signed in (the login page);
4. the browser's Accept-Language;
5. ``settings.LANGUAGE_CODE`` (English).

The JSON API is called by registers with keys, not by people: a request under ``/api/`` without a signed-in
session follows Accept-Language only (then English). The checkout page's own calls carry its session and so
get the page's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.http import require_POST

from lanes import access
from lanes.models import Lane, Language, LanguagePreference, store_default_language

API_PREFIX = "/api/"
LANE_PAGE = "lane-checkout"
SCRIPT_CATALOG = "javascript-catalog"


def supported(code: str | None) -> str | None:
    """``code`` (or its base language: "fr-CA" gives "fr") when the console speaks it, else None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def from_accept_language(header: str) -> str | None:
    """The first language of an Accept-Language header (by its q-values) that the console speaks."""
    for code, _quality in parse_accept_lang_header(header):
        if code == "*":
            break
        if language := supported(code):
            return language
    return None


def user_languages(user: Any) -> tuple[str, str]:
    """The user's own choice and their stores' agreed default ("" for none): from ``access.standing``, the one
    statement that also gives the request's access checks their roles and permissions."""
    found = access.standing(user)
    stores = {store_default_language(language, province) for _, _, language, province in found.memberships}
    agreed = stores.pop() if len(stores) == 1 else ""
    return found.language or "", agreed


def _signed_in(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class LanguageMiddleware:
    """Activates the request's language (the rules above) in place of Django's LocaleMiddleware.

    Placed after AuthenticationMiddleware: the user's choice and stores need ``request.user``. Like
    LocaleMiddleware it leaves the language active after the response (lazy strings of a streamed or inspected
    response are read in it); under Daphne each request runs in a context of its own, so it reaches no other
    request. Tests start each in English (tests/conftest.py).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self._activate(request, self._choose(request))
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> None:
        """On a lane's checkout page the lane's store is the store (unless the user chose their own language);
        the scripts' catalog comes in the language of the page that asks for it (``?language=``, base.html)."""
        match = request.resolver_match
        if match is not None and match.url_name == SCRIPT_CATALOG:
            if language := supported(request.GET.get("language")):
                self._activate(request, language)
            return
        if match is None or match.url_name != LANE_PAGE or getattr(request, "_language_from_user", False):
            return
        row = (Lane.objects.filter(code=kwargs.get("code", "")).values_list("store__language", "store__province")
               .first())
        if row is not None and (language := supported(store_default_language(*row))):
            self._activate(request, language)

    @staticmethod
    def _activate(request: HttpRequest, language: str) -> None:
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()

    def _choose(self, request: HttpRequest) -> str:
        accepted = from_accept_language(request.headers.get("Accept-Language", ""))
        if _signed_in(request):
            own, store = user_languages(request.user)
            if language := supported(own):
                request._language_from_user = True  # type: ignore[attr-defined]
                return language
            if language := supported(store):
                return language
        elif request.path.startswith(API_PREFIX):
            return accepted or supported(settings.LANGUAGE_CODE) or settings.LANGUAGE_CODE
        cookie = supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
        return cookie or accepted or supported(settings.LANGUAGE_CODE) or settings.LANGUAGE_CODE


SWITCH_LANGUAGES = (Language.ENGLISH, Language.FRENCH)


def _back_to(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.headers.get("Referer") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/"


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """The header's switch: saves a signed-in user's choice and sets the language cookie (the login page's,
    and the page after signing out), then goes back to the page it was on."""
    response = HttpResponseRedirect(_back_to(request), status=303)
    language = request.POST.get("language", "")
    if language not in SWITCH_LANGUAGES:
        return response
    if _signed_in(request) and request.user.pk is not None:
        LanguagePreference.objects.update_or_create(user_id=request.user.pk, defaults={"language": language})
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
