"""Checks on a merchant's gateway credentials."""

from __future__ import annotations

from django.utils.translation import gettext

from gateways.base import GatewayError
from payments.models import Merchant
from payments.services.door import gateway_door


def merchant_test_connection(*, merchant: Merchant) -> tuple[bool, str]:
    """Whether the gateway accepts the merchant's credentials, in a sentence for the person setting them up."""
    with gateway_door() as door:
        try:
            return door.call(merchant, "test the connection", lambda gateway: gateway.test_connection())
        except GatewayError as exc:
            return False, gettext("No usable answer from the gateway: {error}").format(error=exc)
