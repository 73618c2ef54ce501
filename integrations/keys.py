"""Making, checking and revoking API keys. Nothing else writes an ``ApiKey``'s secret parts.

A token is ``sck_<prefix>_<secret>``: 8 hex characters of prefix (unique, stored in the clear) and 256 random
bits of secret. Only the SHA-256 of the whole token is stored: the token has that much entropy, so a fast digest
is enough (a slow password hash would only slow every API call), and a leaked table gives no usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import SCOPES, ApiKey
from lanes.models import Lane, Store

TOKEN_START = "sck_"  # noqa: S105 - how every token starts, not a token
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    token: str  # shown once to whoever made the key; never stored


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_key_issue(key: ApiKey) -> str:
    """Give an unsaved key its token and save it; returns the token (to show once, never to store)."""
    for _ in range(5):
        key.prefix = secrets.token_hex(4)
        token = f"{TOKEN_START}{key.prefix}_{secrets.token_urlsafe(32)}"
        key.token_hash = _digest(token)
        try:
            with transaction.atomic():
                key.save()
        except IntegrityError:  # the prefix is taken (one chance in four billion per key): draw again
            continue
        return token
    raise RuntimeError("could not draw a free key prefix")


def api_key_create(*, store: Store, label: str, scopes: list[str], lanes: list[Lane] | None = None,
                   user: User | None = None) -> NewKey:
    """A new key of ``store``. Refuses unknown scopes and lanes of another store (ValueError)."""
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}")
    if any(lane.store_id != store.pk for lane in lanes or ()):
        raise ValueError("a key may only be kept to lanes of its own store")
    with transaction.atomic():
        key = ApiKey(store=store, label=label, scopes=sorted(set(scopes)), created_by=user)
        token = api_key_issue(key)
        key.lanes.set(lanes or [])
    return NewKey(key, token)


def api_key_for_token(token: str) -> ApiKey | None:
    """The live key the token belongs to, or None (unknown, mistyped or revoked). Marks it used."""
    start, _, rest = token.partition(TOKEN_START)
    prefix, sep, secret = rest.partition("_")
    if start or not sep or not secret or len(prefix) != 8:
        return None
    key = ApiKey.objects.select_related("store").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.token_hash, _digest(token)) or key.revoked_at is not None:
        return None
    _touch(key)
    return key


def _touch(key: ApiKey) -> None:
    """One conditional update a minute per key, however many calls it makes."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_EVERY:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)).update(last_used_at=now)


def api_keys_revoke(*, ids: Iterable[int]) -> int:
    """Revoke keys (those not revoked yet); they are refused from the next request on. Returns how many."""
    return ApiKey.objects.filter(pk__in=list(ids), revoked_at__isnull=True).update(revoked_at=timezone.now())
