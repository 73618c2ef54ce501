"""Who may use which lane, and the lanes a user sees."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from lanes.models import Lane


def user_can_operate_lane(user: AbstractBaseUser | AnonymousUser, lane: Lane) -> bool:
    """Cashiers use the lanes they are assigned to; users with `operate_any_lane` use every lane."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.has_perm("lanes.operate_any_lane"):
        return True
    return lane.cashiers.filter(pk=user.pk).exists()


def lanes_for_user(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Lane]:
    if not user.is_authenticated or not user.is_active:
        return Lane.objects.none()
    lanes = Lane.objects.select_related("store", "terminal")
    if user.has_perm("lanes.operate_any_lane"):
        return lanes.all()
    return lanes.filter(cashiers=user)
