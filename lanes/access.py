"""Who may do what, in which store: the one place every view, API route and websocket asks.

A permission is held in a store through the user's role there (``StoreMembership``, ``lanes.roles.STORE_ROLES``)
or everywhere through an organisation-wide role (the owner and admin groups, or a superuser: Django's own
permissions). A lane is used by the cashiers assigned to it who belong to its store, and by users who may
use any lane. Nothing else in the console calls ``has_perm``.

A register's API key (``KeyHolder``, made by ``integrations``) is asked the same questions: it belongs to one
store, holds scopes instead of a role (``KEY_SCOPES``: which permissions each scope gives) and may be kept to
some of the store's lanes for charging.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeGuard

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as Account
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext

from lanes import rows
from lanes.models import Lane, Store
from lanes.roles import STORE_ROLES

User = Account | AnonymousUser  # whoever a request or a websocket carries, signed in or not


@dataclass(frozen=True)
class KeyHolder:
    """A request signed with a register's API key, as access sees it (``integrations.models.ApiKey.holder``)."""

    key_id: int
    name: str  # "API key sck_1a2b3c4d (Lane 3 register)": how events and logs name it
    store_id: int
    scopes: frozenset[str]
    lane_ids: frozenset[int] | None  # the lanes it may charge; None: every lane of its store


Principal = User | KeyHolder  # whoever asks through the API: a person (session) or a register (key)


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

PAYMENTS_WRITE = "payments:write"
PAYMENTS_READ = "payments:read"
REFUNDS_WRITE = "refunds:write"
# What each scope of an API key allows in its store. Charging a lane is PAYMENTS_WRITE (``can_operate``).
KEY_SCOPES: dict[str, frozenset[str]] = {
    PAYMENTS_WRITE: frozenset(),
    PAYMENTS_READ: frozenset({VIEW_PAYMENTS}),
    REFUNDS_WRITE: frozenset({REFUND}),
}

_STANDING = "_console_standing"
# Django's ModelBackend keeps a user's permissions on the user object under these names once it has read them.
_BACKEND_CACHES = ("_user_perm_cache", "_group_perm_cache", "_perm_cache")


def _active(user: User) -> TypeGuard[Account]:
    return bool(user.is_authenticated and user.is_active)


def standing(user: Account) -> rows.Standing:
    """The person's language, stores and roles (``rows.Standing``), read once per user object (a request, a
    websocket's connection): the language middleware's read, which the access checks share."""
    found: rows.Standing | None = getattr(user, _STANDING, None)
    if found is None:
        found = rows.standing_of(user.pk)
        setattr(user, _STANDING, found)
    return found


def _read_permissions(user: Account) -> None:
    """Django's permissions of a person who is not a superuser, read in one statement where Django's ModelBackend
    takes two, and handed to it the way it keeps them once read (on the user object, as ``_user_perm_cache``,
    ``_group_perm_cache`` and ``_perm_cache``: its own names), so that ``has_perm`` finds them. Should Django ever
    keep them otherwise, it reads them itself again: slower, never different (tests/app/test_access_reads.py
    holds both to the same answers). A superuser's ``has_perm`` never asks the backend."""
    if user.is_superuser or any(hasattr(user, name) for name in _BACKEND_CACHES):
        return
    own, grouped = rows.permissions_of(user.pk)
    for name, perms in zip(_BACKEND_CACHES, (own, grouped, own | grouped), strict=True):
        setattr(user, name, perms)


def store_roles(user: User) -> dict[int, str]:
    """{store id: role} of the user's memberships (``standing``)."""
    if not _active(user):
        return {}
    return standing(user).roles


def everywhere(user: User, perm: str) -> bool:
    """An organisation-wide role grants ``perm`` in every store."""
    if not _active(user):
        return False
    _read_permissions(user)
    return user.has_perm(perm)


def _key_can(key: KeyHolder, perm: str, store: Store | int) -> bool:
    store_id = store if isinstance(store, int) else store.pk
    return store_id == key.store_id and any(perm in KEY_SCOPES.get(scope, ()) for scope in key.scopes)


def can(user: Principal, perm: str, store: Store | int) -> bool:
    if isinstance(user, KeyHolder):
        return _key_can(user, perm, store)
    if not _active(user):
        return False
    if everywhere(user, perm):
        return True
    store_id = store if isinstance(store, int) else store.pk
    role = store_roles(user).get(store_id)
    return role is not None and perm in STORE_ROLES[role]


def require(user: User, perm: str, store: Store | int) -> None:
    if not can(user, perm, store):
        raise PermissionDenied(gettext("You have no access to this in this store."))


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


def _assignment(user: Account, lane: Any, store: Any) -> QuerySet[Any]:
    """The user's assignment to ``lane``, while they are a member of ``store`` (the lane's). The Pay request's
    read (``rows.lane_for_payment``) writes the same rule in SQL; tests/app/test_lane_to_operate.py holds the two
    to the same answers."""
    return Lane.cashiers.through.objects.filter(lane_id=lane, user_id=user.pk,
                                                user__store_memberships__store_id=store)


def can_operate(user: Principal, lane: Lane, *, assigned: bool | None = None) -> bool:
    """Take payments on the lane: its assigned cashiers who belong to its store, or anyone allowed any lane;
    a key of its store with ``payments:write``, unless the key is kept to other lanes. ``assigned``: the person's
    assignment already read with the lane (``lane_to_operate``)."""
    if isinstance(user, KeyHolder):
        return (PAYMENTS_WRITE in user.scopes and lane.store_id == user.store_id
                and (user.lane_ids is None or lane.pk in user.lane_ids))
    if not _active(user):
        return False
    if assigned is None:  # one query (what ``store_roles`` would have read for the membership)
        assigned = _assignment(user, lane.pk, lane.store_id).exists()
    return assigned or everywhere(user, OPERATE_ANY_LANE)


def lane_to_operate(user: Principal, code: str) -> tuple[Lane | None, bool]:
    """The lane ``code`` (with its store, merchant and terminal) and whether ``user`` may take payments on it:
    ``can_operate``'s answer, a person's assignment read in the same query as the lane (the Pay request's one
    read before its insert)."""
    person = None if isinstance(user, KeyHolder) or not _active(user) else user.pk
    found = rows.lane_for_payment(code, user_id=person)  # the same rule as _assignment, in SQL
    if found is None:
        return None, False
    lane, assigned = found
    return lane, can_operate(user, lane, assigned=assigned)


def lanes_for(user: Principal) -> QuerySet[Lane]:
    """The lanes a person may take payments on; a key's lanes (those it may charge, else its store's)."""
    lanes = Lane.objects.select_related("store", "terminal")
    if isinstance(user, KeyHolder):
        lanes = lanes.filter(store_id=user.store_id)
        return lanes if user.lane_ids is None else lanes.filter(pk__in=user.lane_ids)
    if not _active(user):
        return lanes.none()
    if everywhere(user, OPERATE_ANY_LANE):
        return lanes.all()
    return lanes.filter(cashiers=user, store_id__in=list(store_roles(user)))


def can_see_payment(user: Principal, attempt: Any) -> bool:
    """A payment (and its receipts) is seen by its lane's cashiers and by whoever sees the store's payments;
    by a key of its store with ``payments:read``."""
    if isinstance(user, KeyHolder):
        return can(user, VIEW_PAYMENTS, attempt.store_id)
    return can(user, VIEW_PAYMENTS, attempt.store_id) or can_operate(user, attempt.lane)


def payments_visible(user: Principal) -> Q:
    """A filter on payment attempts (their ``store`` and ``lane``): those ``can_see_payment`` allows, for a
    search over many."""
    nothing = Q(pk__in=[])
    if isinstance(user, KeyHolder):
        return Q(store_id=user.store_id) if can(user, VIEW_PAYMENTS, user.store_id) else nothing
    if not _active(user):
        return nothing
    if everywhere(user, VIEW_PAYMENTS) or everywhere(user, OPERATE_ANY_LANE):
        return Q()
    stores = [store_id for store_id, role in store_roles(user).items() if VIEW_PAYMENTS in STORE_ROLES[role]]
    lanes = list(lanes_for(user).values_list("pk", flat=True))
    return Q(store_id__in=stores) | Q(lane_id__in=lanes) if stores or lanes else nothing


def somewhere(perm: str) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """View decorator: 403 unless the user holds ``perm`` in at least one store. The view then checks the
    store it touches with ``can`` / ``require`` / ``stores_for``."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not (everywhere(request.user, perm) or stores_for(request.user, perm).exists()):
                raise PermissionDenied(gettext("You have no access to this in any store."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
