"""The lane's websocket, over a real connection to Daphne: snapshots pushed after commit, access checked."""

from __future__ import annotations

import json
import uuid

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import login_session
from tests.factories import UserFactory

pytestmark = pytest.mark.integration


def ws_connect(live, lane, session=None, origin=None):
    headers = {}
    if session is not None:
        headers["Cookie"] = f"sessionid={session.cookies['sessionid']}"
    url = live.url.replace("http://", "ws://") + f"/ws/lanes/{lane.code}/"
    return connect(url, additional_headers=headers, origin=origin or live.url, open_timeout=5)


def receive(ws, timeout=15):
    return json.loads(ws.recv(timeout=timeout))


def test_pushes_every_state_change_and_resyncs_on_reconnect(live, lane, cashier_session):
    with ws_connect(live, lane, cashier_session) as ws:
        first = receive(ws)
        assert first == {"type": "snapshot", "lane": lane.code, "attempt": None}
        response = cashier_session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": 1250},
                                        headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
        attempt_id = response.json()["id"]
        seen = []
        while not seen or seen[-1]["status"] not in {"APPROVED", "DECLINED", "FAILED", "NEEDS_REVIEW"}:
            message = receive(ws)
            assert message["type"] == "attempt"
            assert message["attempt"]["id"] == attempt_id
            seen.append(message["attempt"])
        statuses = [s["status"] for s in seen]
        assert statuses[0] == "CREATED"
        assert "SENT" in statuses
        assert statuses[-1] == "APPROVED"
        final = seen[-1]
        assert final["card_brand"] == "VISA CREDIT"
        assert len(final["card_last4"]) == 4
        assert final["terminal_text"].startswith("000 Approved")
        for field in ("amount", "tip", "total", "poll_count", "created_at", "finalized_at"):
            assert field in final
    # A page that reconnects reads the current state first.
    with ws_connect(live, lane, cashier_session) as ws:
        snapshot = receive(ws)
        assert snapshot["type"] == "snapshot"
        assert snapshot["attempt"]["id"] == attempt_id
        assert snapshot["attempt"]["status"] == "APPROVED"


def test_polling_count_is_pushed_while_the_outcome_is_unknown(live, lane, cashier_session):
    with ws_connect(live, lane, cashier_session) as ws:
        receive(ws)
        cashier_session.post(f"{live.url}/api/lanes/{lane.code}/payments", json={"amount": 1207},
                             headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
        polls = []
        status = None
        while status != "APPROVED":
            attempt = receive(ws)["attempt"]
            status = attempt["status"]
            if status == "UNKNOWN":
                polls.append(attempt["poll_count"])
        assert polls and polls[0] == 0


def test_refused_for_a_cashier_of_another_lane(live, lane):
    stranger = UserFactory()
    session = login_session(live.url, stranger.username)
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(live, lane, session)
    assert refused.value.response.status_code == 403


def test_refused_for_anonymous_users_and_foreign_origins(live, lane, cashier_session):
    with pytest.raises(InvalidStatus):
        ws_connect(live, lane)
    with pytest.raises(InvalidStatus):
        ws_connect(live, lane, cashier_session, origin="http://evil.example")
