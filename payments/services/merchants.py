"""Checks on a merchant's gateway credentials."""

from __future__ import annotations

from gateways.base import GatewayError
from payments.models import Merchant
from payments.services.door import gateway_door


def merchant_test_connection(*, merchant: Merchant) -> tuple[bool, str]:
    """Whether the gateway accepts the merchant's credentials, in a sentence for the person setting them up."""
    with gateway_door() as door:
        try:
            return door.call(merchant, "test the connection", lambda gateway: gateway.test_connection())
        except GatewayError as exc:
            return False, f"No usable answer from the gateway: {exc}"
