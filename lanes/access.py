"""Who may do what, in which store: the one place every view, API route and websocket asks.

A permission is held in a store through the user's role there (``StoreMembership``, ``lanes.roles.STORE_ROLES``)
or everywhere through an organisation-wide role (the owner and admin groups, or a superuser: Django's own
permissions). A lane is used by the cashiers assigned to it who belong to its store, and by users who may
use any lane. Nothing else in the console calls ``has_perm``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeGuard

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as Account
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase

from lanes.models import Lane, Store, StoreMembership
from lanes.roles import STORE_ROLES

User = Account | AnonymousUser  # whoever a request or a websocket carries, signed in or not


class SignedInRequest(HttpRequest):
    """The request a view behind ``login_required`` gets: its user is signed in (django-stubs' advice)."""

    user: Account

VIEW_WALL = "lanes.view_lanes_wall"
VIEW_RECONCILIATION = "payments.view_reconciliation"
VIEW_PAYMENTS = "payments.view_paymentattempt"
REFUND = "payments.refund_payment"
RESOLVE = "payments.resolve_exception"
OVERRIDE_SALE = "payments.override_sale"
OPERATE_ANY_LANE = "lanes.operate_any_lane"
BACK_OFFICE = (VIEW_WALL, VIEW_RECONCILIATION, VIEW_PAYMENTS)

_CACHE = "_console_store_roles"


def _active(user: User) -> TypeGuard[Account]:
    return bool(user.is_authenticated and user.is_active)


def store_roles(user: User) -> dict[int, str]:
    """{store id: role} of the user's memberships, read once per user object (a request, a connection)."""
    if not _active(user):
        return {}
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = dict(StoreMembership.objects.filter(user_id=user.pk).values_list("store_id", "role"))
        setattr(user, _CACHE, cached)
    return cached


def forget(user: User) -> None:
    """Drop what ``store_roles`` remembered (a long-lived websocket re-checks after a change)."""
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


def everywhere(user: User, perm: str) -> bool:
    """An organisation-wide role grants ``perm`` in every store."""
    return _active(user) and user.has_perm(perm)


def can(user: User, perm: str, store: Store | int) -> bool:
    if not _active(user):
        return False
    if everywhere(user, perm):
        return True
    store_id = store if isinstance(store, int) else store.pk
    role = store_roles(user).get(store_id)
    return role is not None and perm in STORE_ROLES[role]


def require(user: User, perm: str, store: Store | int) -> None:
    if not can(user, perm, store):
        raise PermissionDenied("You have no access to this in this store.")


def stores_for(user: User, perm: str) -> QuerySet[Store]:
    """The stores where the user holds ``perm``: what a store picker lists."""
    stores = Store.objects.select_related("merchant").order_by("name", "pk")
    if not _active(user):
        return stores.none()
    if everywhere(user, perm):
        return stores
    ids = [store_id for store_id, role in store_roles(user).items() if perm in STORE_ROLES[role]]
    return stores.filter(pk__in=ids)


def in_back_office(user: User) -> bool:
    """A supervisor, manager, owner or admin somewhere: the back office's pages are for them."""
    if not _active(user):
        return False
    if any(everywhere(user, perm) for perm in BACK_OFFICE):
        return True
    return any(STORE_ROLES[role] for role in store_roles(user).values())


def can_operate(user: User, lane: Lane) -> bool:
    """Take payments on the lane: its assigned cashiers who belong to its store, or anyone allowed any lane."""
    if not _active(user):
        return False
    if lane.store_id in store_roles(user) and lane.cashiers.filter(pk=user.pk).exists():
        return True
    return everywhere(user, OPERATE_ANY_LANE)


def lanes_for(user: User) -> QuerySet[Lane]:
    lanes = Lane.objects.select_related("store", "terminal")
    if not _active(user):
        return lanes.none()
    if everywhere(user, OPERATE_ANY_LANE):
        return lanes.all()
    return lanes.filter(cashiers=user, store_id__in=list(store_roles(user)))


def can_see_payment(user: User, attempt: Any) -> bool:
    """A payment (and its receipts) is seen by its lane's cashiers and by whoever sees the store's payments."""
    return can(user, VIEW_PAYMENTS, attempt.store_id) or can_operate(user, attempt.lane)


def somewhere(perm: str) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """View decorator: 403 unless the user holds ``perm`` in at least one store. The view then checks the
    store it touches with ``can`` / ``require`` / ``stores_for``."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not (everywhere(request.user, perm) or stores_for(request.user, perm).exists()):
                raise PermissionDenied("You have no access to this in any store.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
