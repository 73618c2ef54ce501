"""Tell a user's open websockets to check their access again whenever it may have changed: a log-out, the
account deactivated or deleted, a store role given, changed or taken, a lane assigned or taken away, a group
changed. The checks themselves are the consumers' (``lanes.access``); these receivers only say "check"."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, post_delete, post_save

from lanes.models import Lane, StoreMembership
from live.broadcast import access_changed


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        session = getattr(request, "session", None)
        access_changed(user.pk, session_key=getattr(session, "session_key", "") or "")


def _user_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    if not created and set(update_fields or ()) != {"last_login"}:  # every log-in saves last_login alone
        access_changed(instance.pk)


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    access_changed(instance.pk)


def _membership_changed(sender: Any, instance: StoreMembership, **kwargs: Any) -> None:
    access_changed(instance.user_id)


def _lane_cashiers_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None,
                           **kwargs: Any) -> None:
    if action == "pre_clear":
        # The ids are gone after the clear: keep them for post_clear.
        instance._cleared_cashiers = (
            [instance.pk] if reverse else list(instance.cashiers.values_list("pk", flat=True)))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if action == "post_clear":
        users = getattr(instance, "_cleared_cashiers", [])
    else:
        users = [instance.pk] if reverse else list(pk_set or ())
    for user_id in users:
        access_changed(user_id)


def _groups_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None,
                    **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        for user_id in (list(pk_set or ()) if reverse else [instance.pk]):
            access_changed(user_id)


def connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(_logged_out, dispatch_uid="console-access-logout")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="console-access-user-saved")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid="console-access-user-deleted")
    for signal in (post_save, post_delete):
        signal.connect(_membership_changed, sender=StoreMembership, dispatch_uid=f"console-access-role-{signal}")
    m2m_changed.connect(_lane_cashiers_changed, sender=Lane.cashiers.through, dispatch_uid="console-access-lanes")
    m2m_changed.connect(_groups_changed, sender=user_model.groups.through, dispatch_uid="console-access-groups")
