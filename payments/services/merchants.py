"""Checks on a merchant's IOTPay credentials."""

from __future__ import annotations

from payments.gateway import client_for
from payments.iotpay import GatewayRefused, IOTPayError, OrderNotFound
from payments.models import Merchant


def merchant_test_connection(*, merchant: Merchant) -> tuple[bool, str]:
    """A signed query_order for an order that cannot exist: "not found" proves the mchId and key work."""
    try:
        client_for(merchant).query_order(mch_order_no="CONNECTION-TEST")
    except OrderNotFound:
        return True, "IOTPay accepted the signed request (mchId and key are right)."
    except GatewayRefused as exc:
        return False, f"IOTPay refused the request: {exc.err_code} {exc.message}".strip()
    except IOTPayError as exc:
        return False, f"No usable answer from IOTPay: {exc}"
    except ValueError as exc:
        return False, str(exc)
    return True, "IOTPay answered the signed request."
