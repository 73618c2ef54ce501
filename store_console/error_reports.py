"""Error reports to Sentry, only when `SENTRY_DSN` is set (optional; nothing is sent otherwise).

Daphne (store_console/asgi.py) and every Celery worker and beat (store_console/celery.py) call
`init_error_reports` once at start, with the Django and Celery integrations. What could identify a merchant's
key or a card never leaves the console: no personal data by default, no request bodies, and the values of
every name below are replaced wherever they appear in an event (frames' local variables, extra data,
breadcrumbs, request headers), at any depth.

The SDK is imported only when a DSN is set: it and its two integrations add about 3 MiB and 80 modules to each
of the console's five processes, which most stores run without Sentry (docs/performance.md, "Memory with 1,000
calls open").
"""

from __future__ import annotations

import os

# Merchant keys and their ciphertext, request signatures, API tokens, webhook secrets, card data and the
# gateway's raw exchanges (which carry the card fields), in the names the console uses for them.
# Added to the SDK's own DEFAULT_DENYLIST (passwords, cookies, tokens, ...).
DENYLIST = [
    "key", "merchant_key", "key_ciphertext", "keys", "sign", "signature", "response_signature", "digest",
    "secret_ciphertext", "webhook_secret", "bearer",
    "card", "card_brand", "card_last4", "auth_num", "entry_method", "extra", "terminal_text",
    "pan", "cardnum", "card_num", "expiry", "track2", "emv",
    "exchange", "exchanges", "raw", "payload", "body",
]


def init_error_reports(process: str) -> bool:
    """Start sending error reports if `SENTRY_DSN` is set; True when it did. `process` names the sender."""
    dsn = os.environ.get("SENTRY_DSN", "").strip()
    if not dsn:
        return False
    # Loaded here, only with a DSN: see the module's docstring.
    import sentry_sdk  # noqa: PLC0415
    from sentry_sdk.integrations.celery import CeleryIntegration  # noqa: PLC0415
    from sentry_sdk.integrations.django import DjangoIntegration  # noqa: PLC0415
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber  # noqa: PLC0415

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        server_name=process,
        send_default_pii=False,
        max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *DENYLIST], recursive=True),
        traces_sample_rate=0.0,
    )
    return True
