"""factory_boy factories for the console's models."""

from __future__ import annotations

import os
import uuid

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from lanes.models import Lane, Store, StoreMembership, Terminal
from payments.models import Merchant

SANDBOX_MCH_ID = "10000576"


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant
        django_get_or_create = ("gateway_account",)
        skip_postgeneration_save = True

    name = "Test Merchant"
    gateway_account = SANDBOX_MCH_ID
    gateway_login = "testpax"
    currency = "CAD"

    @factory.post_generation
    def key(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_key(extracted or os.environ["TEST_SANDBOX_KEY"])
        if create:
            self.save()


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    address = "100 King St W\nToronto ON M5X 1A9"
    time_zone = "America/Toronto"
    merchant = factory.SubFactory(MerchantFactory)
    tips_enabled = True


class LaneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lane

    store = factory.SubFactory(StoreFactory)
    code = factory.LazyFunction(lambda: f"L{uuid.uuid4().hex[:8]}")
    name = factory.LazyAttribute(lambda o: f"Lane {o.code}")


class TerminalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Terminal

    lane = factory.SubFactory(LaneFactory)
    # A fresh device per test: the sandbox remembers which devices are busy.
    device = factory.LazyFunction(lambda: f"PAX-{uuid.uuid4().hex[:10]}")
    enabled = True


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"cashier{n}")

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object) -> object:
        kwargs.setdefault("password", "pass-word-123")
        return model_class.objects.create_user(*args, **kwargs)


ORGANISATION_ROLES = ("owner", "admin")


def staff(role: str, *stores: Store, **fields: object) -> object:
    """A user with ``role``: a store role (cashier, supervisor, manager) in each of ``stores``, or an
    organisation-wide one (owner, admin) in every store."""
    user = UserFactory(**fields)
    if role in ORGANISATION_ROLES:
        assert not stores, "owners and admins see every store"
        user.groups.add(Group.objects.get(name=role))
        return user
    assert stores, f"a {role} belongs to a store"
    for store in stores:
        StoreMembership.objects.update_or_create(user=user, store=store, defaults={"role": role})
    return user


def assign_cashier(lane: Lane, user: object) -> None:
    """``user`` takes payments on ``lane``: a member of its store (a cashier unless they have a role there)."""
    StoreMembership.objects.get_or_create(user=user, store=lane.store, defaults={"role": "cashier"})
    lane.cashiers.add(user)
