"""The store's lanes-wall websocket over a real connection to Daphne; who may open which websocket."""

from __future__ import annotations

import json
import uuid

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import login_session
from tests.factories import LaneFactory, StoreFactory, TerminalFactory, UserFactory, assign_cashier, staff

pytestmark = pytest.mark.integration

FINAL = {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}


def user_in(role, store=None):
    return staff(role, store) if store is not None else staff(role)


def ws_connect(live, path, session=None):
    headers = {"Cookie": f"sessionid={session.cookies['sessionid']}"} if session is not None else {}
    url = live.url.replace("http://", "ws://") + path
    return connect(url, additional_headers=headers, origin=live.url, open_timeout=5)


def wall_path(store):
    return f"/ws/stores/{store.pk}/lanes/"


def receive(ws, timeout=15):
    return json.loads(ws.recv(timeout=timeout))


def pay(live, session, lane, cents):
    response = session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": cents},
                            headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def follow(ws, attempt_id):
    """The attempt's pushes until a final status."""
    seen = []
    while not seen or seen[-1]["status"] not in FINAL:
        message = receive(ws)
        assert message["type"] == "attempt"
        assert message["attempt"]["id"] == attempt_id
        seen.append(message["attempt"])
    return seen


def test_a_supervisor_gets_the_wall_then_every_change_of_a_payment(live, lane, cashier_session):
    other = TerminalFactory(lane=LaneFactory(store=lane.store)).lane
    supervisor = login_session(live.url, user_in("supervisor", lane.store).username)
    with ws_connect(live, wall_path(lane.store), supervisor) as ws:
        wall = receive(ws)
        assert wall["type"] == "wall"
        assert wall["store"] == lane.store.pk
        tiles = {tile["code"]: tile for tile in wall["lanes"]}
        assert set(tiles) == {lane.code, other.code}
        assert tiles[lane.code]["state"] == "IDLE"
        assert tiles[lane.code]["terminal"] == lane.terminal.device
        assert tiles[lane.code]["approved_count"] == 0
        attempt_id = pay(live, cashier_session, lane, 1250)
        seen = follow(ws, attempt_id)
    statuses = [s["status"] for s in seen]
    assert statuses[0] == "CREATED"
    assert "SENT" in statuses
    assert statuses[-1] == "APPROVED"
    assert {s["lane"] for s in seen} == {lane.code}
    assert seen[-1]["card_last4"]
    # A page that reconnects reads the wall again: the approval is counted, once.
    with ws_connect(live, wall_path(lane.store), supervisor) as ws:
        tiles = {tile["code"]: tile for tile in receive(ws)["lanes"]}
    tile = tiles[lane.code]
    assert tile["state"] == "IDLE"
    assert (tile["approved_count"], tile["approved_total"]) == (1, 1250)
    assert tile["last"]["id"] == attempt_id
    assert tile["current"]["id"] == attempt_id
    assert tiles[other.code]["approved_count"] == 0


def test_the_wall_of_a_store_gets_only_its_own_lanes(live, lane, cashier_session):
    elsewhere = TerminalFactory(lane=LaneFactory(store=StoreFactory())).lane
    elsewhere_cashier = UserFactory()
    assign_cashier(elsewhere, elsewhere_cashier)
    supervisor = login_session(live.url, user_in("supervisor", lane.store).username)
    with ws_connect(live, wall_path(lane.store), supervisor) as ws:
        receive(ws)
        pay(live, login_session(live.url, elsewhere_cashier.username), elsewhere, 700)
        attempt_id = pay(live, cashier_session, lane, 800)
        seen = follow(ws, attempt_id)  # asserts every push is this store's attempt
    assert seen[-1]["status"] == "APPROVED"


@pytest.mark.parametrize("role", ["manager", "owner", "admin"])
def test_managers_owners_and_admins_watch_the_wall_too(live, lane, role):
    user = user_in(role, lane.store) if role == "manager" else user_in(role)
    session = login_session(live.url, user.username)
    with ws_connect(live, wall_path(lane.store), session) as ws:
        assert receive(ws)["type"] == "wall"


def test_a_cashier_is_refused_the_wall(live, lane, cashier, cashier_session):
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(live, wall_path(lane.store), cashier_session)
    assert refused.value.response.status_code == 403


def test_anonymous_users_are_refused_the_wall(live, lane):
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(live, wall_path(lane.store))
    assert refused.value.response.status_code == 403


def test_an_unknown_store_is_refused(live, lane):
    supervisor = login_session(live.url, user_in("supervisor", lane.store).username)
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(live, f"/ws/stores/{lane.store.pk + 100000}/lanes/", supervisor)
    assert refused.value.response.status_code == 403


def test_a_cashier_is_refused_on_another_lanes_websocket(live, lane, cashier, cashier_session):
    neighbour = TerminalFactory(lane=LaneFactory(store=lane.store)).lane
    with ws_connect(live, f"/ws/lanes/{lane.code}/", cashier_session) as ws:
        assert receive(ws)["type"] == "snapshot"  # their own lane opens
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(live, f"/ws/lanes/{neighbour.code}/", cashier_session)
    assert refused.value.response.status_code == 403


def test_a_supervisor_watches_lanes_but_does_not_open_their_checkout_websocket(live, lane):
    supervisor = login_session(live.url, user_in("supervisor", lane.store).username)
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(live, f"/ws/lanes/{lane.code}/", supervisor)
    assert refused.value.response.status_code == 403
