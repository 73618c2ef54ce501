"""Access against the real processes: websockets closed within a second when their user's access ends, and the
login lock-out in the documented deployment (nginx from deploy/nginx/, Daphne without proxy headers,
TRUSTED_PROXY_COUNT=1), where a client's forged X-Forwarded-For changes nothing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import urllib3
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from lanes.models import StoreMembership
from store_console import processes
from tests import nginx_site
from tests.conftest import PASSWORD, login_session
from tests.factories import UserFactory, staff
from tests.processes import ROOT, Proc, wait_http

pytestmark = pytest.mark.integration


def _ws(live, path, session):
    url = live.url.replace("http://", "ws://") + path
    return connect(url, additional_headers={"Cookie": f"sessionid={session.cookies['sessionid']}"},
                   origin=live.url, open_timeout=5)


def _closed_within(ws, seconds: float) -> int:
    """The close code the server sent within ``seconds`` (pushes before it are skipped)."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"the websocket was still open after {seconds} s")
        try:
            ws.recv(timeout=left)
        except TimeoutError:
            continue
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else 1006


def _opened(ws) -> None:
    assert ws.recv(timeout=5)  # the first snapshot: the socket is open and joined


def test_logging_out_closes_that_sessions_socket_within_a_second(live, lane, cashier, cashier_session):
    other_session = login_session(live.url, cashier.username)  # the same cashier on another PC
    with _ws(live, f"/ws/lanes/{lane.code}/", cashier_session) as ws, \
            _ws(live, f"/ws/lanes/{lane.code}/", other_session) as other:
        _opened(ws)
        _opened(other)
        assert cashier_session.post(f"{live.url}/accounts/logout/", timeout=5).status_code in (200, 302)
        assert _closed_within(ws, 1.0) == 4401
        other.send('{"type": "ping"}')
        assert "pong" in other.recv(timeout=2)  # the other session's socket stays open


def test_a_deactivated_cashiers_socket_is_closed_within_a_second(live, lane, cashier, cashier_session):
    with _ws(live, f"/ws/lanes/{lane.code}/", cashier_session) as ws:
        _opened(ws)
        cashier.is_active = False
        cashier.save()
        assert _closed_within(ws, 1.0) == 4403


def test_a_cashier_taken_off_the_lane_loses_its_socket_within_a_second(live, lane, cashier, cashier_session):
    with _ws(live, f"/ws/lanes/{lane.code}/", cashier_session) as ws:
        _opened(ws)
        lane.cashiers.remove(cashier)
        assert _closed_within(ws, 1.0) == 4403


@pytest.mark.parametrize("change", ["role removed", "demoted to cashier"])
def test_a_demoted_supervisors_wall_is_closed_within_a_second(live, lane, change):
    supervisor = staff("supervisor", lane.store)
    session = login_session(live.url, supervisor.username)
    with _ws(live, f"/ws/stores/{lane.store.pk}/lanes/", session) as ws:
        _opened(ws)
        membership = StoreMembership.objects.get(user=supervisor, store=lane.store)
        if change == "role removed":
            membership.delete()
        else:
            membership.role = "cashier"
            membership.save()
        assert _closed_within(ws, 1.0) == 4403


def test_an_unrelated_change_leaves_the_socket_open(live, lane, cashier, cashier_session):
    with _ws(live, f"/ws/lanes/{lane.code}/", cashier_session) as ws:
        _opened(ws)
        cashier.first_name = "Ana"
        cashier.save()
        time.sleep(1.0)
        ws.send('{"type": "ping"}')
        assert "pong" in ws.recv(timeout=2)


# ---------------------------------------------------------------- the documented proxy layout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def behind_nginx(live, tmp_path):
    """An nginx as deploy/ documents it, in front of a Daphne started as deploy/systemd/ documents it."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is missing: apt-get install -y nginx (.ci/run does it)")
    daphne_port, https_port, http_port = _free_port(), _free_port(), _free_port()
    base = f"https://127.0.0.1:{https_port}"
    env = {**live.procs["daphne"].env, "TRUSTED_PROXY_COUNT": "1", "CSRF_TRUSTED_ORIGINS": base}
    unit = (ROOT / "deploy" / "systemd" / "store-console-daphne@.service").read_text()
    assert "--proxy-headers" not in unit.split("ExecStart=")[1].splitlines()[0]
    daphne = Proc("daphne-behind-nginx",
                  processes.argv("daphne", processes.Context(var=tmp_path, port=daphne_port)), env)
    (tmp_path / "site.conf").write_text(nginx_site.site(tmp_path, daphne_port, https_port, http_port))
    (tmp_path / "nginx.conf").write_text(nginx_site.main_conf(tmp_path))
    test = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                          capture_output=True, text=True, timeout=30)
    assert test.returncode == 0, test.stderr
    daphne.start()
    server = subprocess.Popen([nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-g", "daemon off;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{daphne_port}/healthz")
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{base}/healthz", verify=False, timeout=2).status_code == 200:  # noqa: S501
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (tmp_path / "error.log").read_text()
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(10)
        daphne.stop()


def _try(base: str, username: str, password: str, forged: str) -> int:
    session = requests.Session()  # verify=False on each call: a CA bundle in the environment would win otherwise
    session.get(f"{base}/accounts/login/", timeout=10, verify=False)
    return session.post(f"{base}/accounts/login/", timeout=10, allow_redirects=False, verify=False,
                        data={"username": username, "password": password,
                              "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                        headers={"Referer": f"{base}/accounts/login/", "X-Forwarded-For": forged}).status_code


def test_behind_nginx_a_forged_forwarded_for_on_every_try_still_locks_the_account(behind_nginx):
    from axes.models import AccessAttempt

    user = UserFactory()
    codes = [_try(behind_nginx, user.username, "wrong", f"10.{n}.{n}.{n}") for n in range(1, 6)]
    assert codes[:4] == [200] * 4 and codes[4] == 429, codes
    assert _try(behind_nginx, user.username, PASSWORD, "10.200.0.1") == 429
    # The address axes saw is the one nginx appended, never one a client wrote.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_behind_nginx_spraying_one_password_over_many_usernames_locks_the_address(behind_nginx):
    victim = UserFactory()
    limit = int(os.environ.get("AXES_ADDRESS_FAILURE_LIMIT", "20"))
    codes = [_try(behind_nginx, f"nobody{n}", "Summer2026!", f"172.16.0.{n}") for n in range(limit)]
    assert codes[-1] == 429 and set(codes[:-1]) == {200}, codes
    assert _try(behind_nginx, victim.username, PASSWORD, "172.16.9.9") == 429
