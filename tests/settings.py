"""Settings for the test suite: the console's own settings with short gateway timings.

The worker, beat and Daphne processes the tests start use this module too (through the
environment), so the pytest process and those processes agree on every value.
"""

import os
import secrets
import socket


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_defaults = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(40),
    "FIELD_ENCRYPTION_KEYS": secrets.token_urlsafe(32),
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    "IOTPAY_CREATE_TIMEOUT": "3",
    "IOTPAY_CONNECT_TIMEOUT": "1",
    "IOTPAY_QUERY_TIMEOUT": "3",
    "IOTPAY_POLL_INTERVAL": "0.5",
    "IOTPAY_POLL_WINDOW": "60",  # what production settings accept; lowered below for the tests
    "CONSOLE_RESUME_INTERVAL": "1",
    "CONSOLE_STALE_CREATED_AFTER": "3",
    "CONSOLE_REVIEW_REQUERY_INTERVAL": "3600",
    "IOTPAY_BASE_URL": f"http://127.0.0.1:{_free_port()}/v1",
    "TEST_SANDBOX_KEY": secrets.token_hex(16),
    "LOG_LEVEL": "WARNING",
    # Webhook retries within a second and a read time-out a test can wait out.
    "WEBHOOK_RETRY_BASE_SECONDS": "0.5",
    "WEBHOOK_CONNECT_TIMEOUT": "1",
    "WEBHOOK_READ_TIMEOUT": "1.5",
    "WEBHOOK_LOST_AFTER_SECONDS": "3",
}
if not os.environ.get("REDIS_URL"):
    # The embedded default: tests start their own redis-server on this port (tests/conftest.py). TCP as
    # in production: the fault suite restarts it, and kombu reconnects to a TCP Redis.
    _defaults["REDIS_URL"] = f"redis://127.0.0.1:{_free_port()}/0"
    _defaults["TEST_EMBEDDED_REDIS"] = "1"
for _name, _value in _defaults.items():
    os.environ.setdefault(_name, _value)

from store_console.settings import *  # noqa: E402,F403

# Polling windows of seconds, not minutes, so that a test sees an attempt need review: the workers and
# Daphne the tests start read this module too. Production settings refuse a window under 60 s.
PAYMENT_POLL_WINDOW = float(os.environ.get("TEST_POLL_WINDOW", "4"))

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

# The pseudo-locale of the translation checks (tests/pseudo_locale.py): the live console's Daphne is restarted
# with this variable naming the directory its catalogs were built in, so its pages and /jsi18n/ can speak it.
if _pseudo_locale_dir := os.environ.get("TEST_PSEUDO_LOCALE_DIR"):
    LANGUAGES = [*LANGUAGES, ("en-xa", "Pseudo-English")]  # noqa: F405
    LOCALE_PATHS = [_pseudo_locale_dir, *LOCALE_PATHS]  # noqa: F405
