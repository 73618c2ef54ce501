"""What ``lanes.access`` reads of a person, and in how many statements: their standing (language, stores, roles)
in one, Django's permissions in one more where its ModelBackend takes two, with the same answers as Django's own."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lanes import access
from lanes.models import LanguagePreference
from tests.factories import StoreFactory, UserFactory, staff

pytestmark = pytest.mark.django_db

PERMS = [*access.BACK_OFFICE, access.REFUND, access.RESOLVE, access.OVERRIDE_SALE, access.OPERATE_ANY_LANE,
         "auth.change_user", "lanes.no_such_permission"]


def fresh(user: object) -> object:
    """The same person as a request would load them: a new object, nothing read yet."""
    return get_user_model().objects.get(pk=user.pk)  # type: ignore[attr-defined]


def django_reads(user: object) -> dict[str, object]:
    """What Django's own ModelBackend answers for this person, read by itself."""
    found = fresh(user)
    return {"has": {perm: found.has_perm(perm) for perm in PERMS}, "all": found.get_all_permissions(),
            "own": found.get_user_permissions(), "groups": found.get_group_permissions()}


def console_reads(user: object) -> dict[str, object]:
    found = fresh(user)
    has = {perm: access.everywhere(found, perm) for perm in PERMS}
    return {"has": has, "all": found.get_all_permissions(), "own": found.get_user_permissions(),
            "groups": found.get_group_permissions()}


def people() -> dict[str, object]:
    store, other = StoreFactory(), StoreFactory()
    direct = staff("supervisor", store)
    direct.user_permissions.add(Permission.objects.get(codename="refund_payment"),
                                Permission.objects.get(codename="change_user"))
    both = staff("manager", store, other)
    both.groups.add(Group.objects.get(name="owner"))
    both.user_permissions.add(Permission.objects.get(codename="override_sale"))
    return {
        "a cashier": staff("cashier", store),
        "a supervisor with permissions of their own": direct,
        "an owner (a group)": staff("owner"),
        "an admin (a group)": staff("admin"),
        "a manager of two stores, in a group and with one of their own": both,
        "a superuser": UserFactory(is_superuser=True),
        "a signed-out account": staff("owner", is_active=False),
    }


def test_the_permissions_read_are_djangos_own_for_every_kind_of_person():
    for who, user in people().items():
        assert console_reads(user) == django_reads(user), who


def test_every_question_a_page_asks_reads_the_standing_and_the_permissions_once():
    store, other = StoreFactory(), StoreFactory()
    user = staff("manager", store, other)
    user.groups.add(Group.objects.get(name="owner"))
    found = fresh(user)
    with CaptureQueriesContext(connection) as queries:
        for perm in PERMS:
            access.everywhere(found, perm)
            access.can(found, perm, store)
        assert access.store_roles(found) == {store.pk: "manager", other.pk: "manager"}
        assert access.in_back_office(found)
        list(access.stores_for(found, access.REFUND).values_list("pk", flat=True))
    # the standing, the permissions, and the stores listed; Django's ModelBackend read nothing itself
    assert len(queries) == 3, [q["sql"][:80] for q in queries.captured_queries]


def test_django_finds_the_permissions_read_where_it_keeps_its_own():
    """Fails should Django keep a user's permissions under other names: it would read them again (still right)."""
    found = fresh(staff("owner"))
    with CaptureQueriesContext(connection) as queries:
        assert access.everywhere(found, access.REFUND)
        assert found.has_perm(access.RESOLVE)
        assert found.get_all_permissions() >= {access.REFUND, access.RESOLVE}
        assert found.get_group_permissions() >= {access.REFUND}
    assert len(queries) == 1, "the console's one read; Django's backend none"


def test_what_was_read_holds_for_its_user_object_and_a_new_one_reads_again():
    """Read once per user object (a request's): a change shows to the next request's, as a websocket told that
    access changed loads the user again (live/consumers.py)."""
    store = StoreFactory()
    user = staff("supervisor", store)
    user.groups.add(Group.objects.get(name="owner"))
    found = fresh(user)
    assert access.everywhere(found, access.REFUND)
    assert access.store_roles(found) == {store.pk: "supervisor"}
    user.groups.clear()
    user.store_memberships.all().delete()
    assert access.everywhere(found, access.REFUND), "remembered for the request"
    assert access.store_roles(found) == {store.pk: "supervisor"}
    again = fresh(user)
    assert not access.everywhere(again, access.REFUND)
    assert access.store_roles(again) == {}


def test_the_standing_gives_the_language_and_each_store():
    store, other = StoreFactory(language="fr"), StoreFactory(language="", province="QC")
    user = staff("supervisor", store, other)
    LanguagePreference.objects.create(user=user, language="en")
    standing = access.standing(fresh(user))
    assert standing.language == "en"
    assert sorted(standing.memberships) == sorted([(store.pk, "supervisor", "fr", store.province),
                                                   (other.pk, "supervisor", "", "QC")])
    assert standing.roles == {store.pk: "supervisor", other.pk: "supervisor"}
    alone = access.standing(fresh(UserFactory()))
    assert (alone.language, alone.memberships, alone.roles) == (None, (), {})
