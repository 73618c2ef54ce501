"""The Pay request reads the lane and whether its caller may take payments on it in one query
(``access.lane_to_operate``): the same answer as ``access.can_operate`` for everyone who can ask."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lanes import access
from lanes.models import Lane, StoreMembership, Terminal
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier, staff


@pytest.fixture
def lanes(db):
    store, other = StoreFactory(), StoreFactory()
    return (TerminalFactory(lane=LaneFactory(store=store)).lane, TerminalFactory(lane=LaneFactory(store=store)).lane,
            TerminalFactory(lane=LaneFactory(store=other)).lane)


def _people(lane, second, foreign):
    assigned = UserFactory()
    assign_cashier(lane, assigned)
    left_the_store = UserFactory()
    assign_cashier(lane, left_the_store)
    StoreMembership.objects.filter(user=left_the_store).delete()
    inactive = UserFactory(is_active=False)
    assign_cashier(lane, inactive)
    other_lane = UserFactory()
    assign_cashier(second, other_lane)
    return {
        "assigned cashier": assigned, "assigned, no longer a member": left_the_store, "inactive": inactive,
        "cashier of another lane": other_lane, "supervisor": staff("supervisor", lane.store),
        "admin (any lane)": staff("admin"), "owner": staff("owner"), "anonymous": AnonymousUser(),
        "key of the store": access.KeyHolder(1, "k", lane.store_id, frozenset({access.PAYMENTS_WRITE}), None),
        "key of other lanes": access.KeyHolder(2, "k", lane.store_id, frozenset({access.PAYMENTS_WRITE}),
                                               frozenset({second.pk})),
        "key of another store": access.KeyHolder(3, "k", foreign.store_id, frozenset({access.PAYMENTS_WRITE}), None),
    }


def test_the_answer_is_can_operates_for_everyone(lanes):
    lane, second, foreign = lanes
    answers = {}
    for who, user in _people(lane, second, foreign).items():
        found, allowed = access.lane_to_operate(user, lane.code)
        assert found == lane and found.terminal == lane.terminal
        assert allowed == access.can_operate(user, lane), who
        answers[who] = allowed
    assert [who for who, allowed in answers.items() if allowed] == ["assigned cashier", "admin (any lane)",
                                                                   "key of the store"]


def test_an_unknown_lane_is_none(lanes):
    assert access.lane_to_operate(UserFactory(), "no-such-lane") == (None, False)


def test_an_assigned_cashier_costs_one_query(lanes):
    lane = lanes[0]
    cashier = UserFactory()
    assign_cashier(lane, cashier)
    with CaptureQueriesContext(connection) as queries:
        found, allowed = access.lane_to_operate(cashier, lane.code)
        assert (found.store.merchant.pk, found.terminal.device, allowed) == (
            lane.store.merchant_id, lane.terminal.device, True)
    assert len(queries) == 1


def test_the_lane_and_what_comes_with_it_are_read_as_the_orm_reads_them(lanes):
    lane = lanes[0]
    found, _ = access.lane_to_operate(staff("admin"), lane.code)
    fresh = Lane.objects.select_related("store__merchant", "terminal").get(pk=lane.pk)

    def values(instance):
        return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}

    for a, b in ((found, fresh), (found.store, fresh.store), (found.store.merchant, fresh.store.merchant),
                 (found.terminal, fresh.terminal)):
        assert values(a) == values(b), type(a).__name__
    assert found.terminal.lane is found


def test_a_lane_without_a_terminal_says_so_as_after_select_related(lanes):
    bare = LaneFactory(store=lanes[0].store)
    found, _ = access.lane_to_operate(staff("admin"), bare.code)
    assert found == bare
    with CaptureQueriesContext(connection) as queries, pytest.raises(Terminal.DoesNotExist):
        found.terminal  # noqa: B018
    assert len(queries) == 0
