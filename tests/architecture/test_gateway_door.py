"""Every gateway call goes through the door (``payments.services.door``): no other code builds a gateway.

A gateway object comes only from ``payments.gateways.gateway_for``; only the door calls it, so only the door
holds one. The door's own behaviour (no connection held during a call, bounded slots after it, neutral errors,
redacted logs) is tested in tests/integration/test_gateway_door.py.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["payments", "lanes", "live", "webhooks", "checkout", "backoffice", "store_console"]
BUILDS_A_GATEWAY = re.compile(r"\bgateway_for\b|\bIOTPayGateway\s*\(|\b_BUILDERS\b")


def test_only_the_door_builds_a_gateway() -> None:
    users = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "/migrations/" not in path.as_posix() and BUILDS_A_GATEWAY.search(path.read_text(encoding="utf-8")):
                users.add(path.relative_to(ROOT).as_posix())
    assert users == {"payments/gateways.py", "payments/services/door.py"}
