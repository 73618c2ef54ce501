"""Settings of the store console, read from the environment (django-environ).

Every value a store's IT person may change is an environment variable with a safe default;
README.md lists them. A `.env` file at the project root is read when present. Settings fail closed: DEBUG is
off unless asked for, and without DEBUG the console refuses to start with no SECRET_KEY or no encryption key
for merchant keys. Importing this module creates no file or directory (`make run` prepares var/).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import environ

from store_console.databases import pool_options, prepare_runs, sqlite_options
from store_console.redis_urls import celery_broker_url, channels_host

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("CONSOLE_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG: bool = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    """Given in the environment; in development (DEBUG on) the one `make run` keeps in var/secret_key."""
    key: str = env.str("SECRET_KEY", default="")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if DEBUG and path.exists():
        return path.read_text().strip()
    raise environ.ImproperlyConfigured(
        "SECRET_KEY must be set (in development, `make run` keeps one in var/secret_key and turns DEBUG on)")


SECRET_KEY = _secret_key()
# Merchant keys are encrypted with the first of these (MultiFernet; each derived with scrypt) and decrypted with
# any: to rotate, put a new key first, run `manage.py rotate_merchant_keys`, then drop the old one. Set them on
# their own in production, so that rotating SECRET_KEY keeps stored merchant keys readable.
FIELD_ENCRYPTION_KEYS: list[str] = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS and (single := env.str("FIELD_ENCRYPTION_KEY", default="")):
    FIELD_ENCRYPTION_KEYS = [single]  # the older single-key setting
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise environ.ImproperlyConfigured("FIELD_ENCRYPTION_KEYS (or FIELD_ENCRYPTION_KEY) must be set when DEBUG "
                                           "is off: it encrypts the merchants' signing keys")
    FIELD_ENCRYPTION_KEYS = [SECRET_KEY]

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS",
                                    default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT: int = env.int("PORT", default=8000)

# Neither Daphne nor django-ninja is an installed app: every process imports its installed apps, and these two
# would bring Twisted (16 MiB) and pydantic (12 MiB) into the workers and beat, which serve no page. Daphne is
# started by the process table (store_console/processes.py), not by `runserver`; ninja's template and files for
# the API's docs page are found through NINJA_FILES below.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "axes",
    "payments",
    "lanes",
    "live",
    "webhooks",
    "integrations",
    "backoffice",
    "checkout",  # no models: installed for its catalog (checkout/locale), the API's and the lane pages' words
]

MIDDLEWARE = [
    # First: every other middleware's and the view's log lines carry the request's correlation id.
    "store_console.logs.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # In place of LocaleMiddleware, after the user is known: their choice, their store's, the browser's.
    "store_console.languages.LanguageMiddleware",
    "store_console.security.SessionIdleTimeout",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "store_console.security.PermissionsPolicy",
    # A 404 or 405 under /api/ in the API's error shape (below the headers' middleware: they still apply).
    "checkout.api.errors.ApiErrorShape",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes), for AXES_COOLOFF_MINUTES: a username after AXES_FAILURE_LIMIT failures from
# one address or from any mix of addresses (rotating addresses does not help), an address after
# AXES_ADDRESS_FAILURE_LIMIT failures for any usernames (spraying one password over many accounts). The
# client's address comes from X-Forwarded-For only as far as the proxies the console trusts wrote it:
# TRUSTED_PROXY_COUNT hops, or the hops sent by TRUSTED_PROXIES; by default none (REMOTE_ADDR).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT: int = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_ADDRESS_FAILURE_LIMIT: int = env.int("AXES_ADDRESS_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME: float = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username", "ip_address"]
AXES_HANDLER = "store_console.security.ConsoleAxesHandler"
AXES_CLIENT_IP_CALLABLE = "store_console.security.client_ip"
TRUSTED_PROXY_COUNT: int = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXIES: list[str] = env.list("TRUSTED_PROXIES", default=[])
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

ROOT_URLCONF = "store_console.urls"
ASGI_APPLICATION = "store_console.asgi.application"
WSGI_APPLICATION = None

# django-ninja's own Swagger UI template and files, served by the console (no CDN; checkout/api/docs.py).
# find_spec locates the package without importing it.
_ninja = importlib.util.find_spec("ninja")
if _ninja is None or _ninja.origin is None:
    raise environ.ImproperlyConfigured("django-ninja is not installed: `make install`")
NINJA_FILES = Path(_ninja.origin).parent

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", NINJA_FILES / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# store_console/databases.py says why each option is there.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'console.sqlite3'}")}
_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].update(sqlite_options(VAR_DIR))
# Never ATOMIC_REQUESTS: views enqueue tasks on commit and must not hold a transaction open.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
CONSOLE_DB_POOL_SIZE: int = env.int("CONSOLE_DB_POOL_SIZE", default=20)
CONSOLE_DB_POOL_TIMEOUT: float = env.float("CONSOLE_DB_POOL_TIMEOUT", default=60.0)
if _POSTGRESQL:
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    if CONSOLE_DB_POOL_SIZE > 0:
        DATABASES["default"]["OPTIONS"]["pool"] = pool_options(
            CONSOLE_DB_POOL_SIZE, CONSOLE_DB_POOL_TIMEOUT, DATABASES["default"]["CONN_MAX_AGE"])
        # The pool checks a connection (one empty round trip) before lending it: one that PostgreSQL closed (a
        # restart, a failover) is replaced, not handed to the next payment (tests/integration/test_database_pool.py).
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CONSOLE_DB_PREPARE_RUNS: int | None = prepare_runs(env.str("CONSOLE_DB_PREPARE_THRESHOLD", default="5"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# English is the source language; French (Canadian usage) is the other. The language of a request is the
# user's own choice, else their store's, else the browser's Accept-Language (store_console/languages.py).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE: str = env.str("TIME_ZONE", default="America/Toronto")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static", NINJA_FILES / "static"]
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True

# --- Redis: Celery broker and channel layer -----------------------------------------------
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"
REDIS_URL: str = env.str("REDIS_URL", default=f"unix://{EMBEDDED_REDIS_SOCKET}?db=0")

# The pubsub layer (channels_redis.pubsub): a push is one Redis PUBLISH, and each Daphne process takes its
# websockets' messages off one subscribed connection. The default RedisChannelLayer queued every message for
# a Daphne process in one sorted set and took them off one round trip at a time: with 500 lanes paying at
# once the last results reached their pages 15 s late (bench/push_latency.py; docs/performance.md §1).
# Nothing is kept for a page that is not connected: a page re-reads the attempt when its socket (re)opens.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [channels_host(REDIS_URL)]},
    }
}

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# Tasks are acknowledged when a worker takes them. Correctness never rests on the broker redelivering
# a message: every step checks the attempt's state in the database, and the beat resume job picks up an
# attempt whose task died within seconds (a redelivery would come after the one-hour visibility time-out).
# Acknowledging late would also crash a worker whose long charge call ends after Redis restarted.
CELERY_TASK_ACKS_LATE = False
# For the same reason the Redis transport keeps no copy of each message taken (its "ack emulation": a hash and a
# sorted set written when a task is taken and cleared when it is acknowledged, three more Redis commands per task
# in the gateway worker's busiest moments, for a redelivery an hour later that nothing relies on). A worker that
# stops gracefully still puts back the messages it had taken and not started.
CELERY_BROKER_TRANSPORT_OPTIONS = {"ack_emulation": False}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "payments.tasks.send_attempt": {"queue": "gateway"},
    # Webhooks have a worker of their own: an endpoint that hangs never holds a payment's task up.
    "webhooks.tasks.deliver": {"queue": "webhooks"},
    "webhooks.tasks.resume_deliveries": {"queue": "webhooks"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CONSOLE_RESUME_INTERVAL: float = env.float("CONSOLE_RESUME_INTERVAL", default=10.0)
# Seconds between the heartbeats each worker and beat write in Redis (store_console/heartbeats.py); /readyz wants
# a gateway worker and beat seen within the last 30 s.
CONSOLE_HEARTBEAT_INTERVAL: float = env.float("CONSOLE_HEARTBEAT_INTERVAL", default=10.0)
if not 0 < CONSOLE_HEARTBEAT_INTERVAL <= 20:
    raise environ.ImproperlyConfigured("CONSOLE_HEARTBEAT_INTERVAL must be more than 0 and at most 20 (readiness "
                                       f"wants a heartbeat within 30 s); it is {CONSOLE_HEARTBEAT_INTERVAL:g}")
CELERY_BEAT_SCHEDULE = {
    "resume-stalled-attempts": {
        "task": "payments.tasks.resume_stalled_attempts",
        "schedule": CONSOLE_RESUME_INTERVAL,
    },
    "resume-stalled-refunds": {
        "task": "payments.tasks.resume_stalled_refunds",
        "schedule": CONSOLE_RESUME_INTERVAL,
    },
    "resume-webhook-deliveries": {
        "task": "webhooks.tasks.resume_deliveries",
        "schedule": CONSOLE_RESUME_INTERVAL,
    },
}

# --- The payment gateway --------------------------------------------------------------------
# The environment keeps its first gateway's names (IOTPAY_*): deployments set them. The console's settings
# are neutral; only payments/gateways.py, which builds a merchant's gateway, reads the gateway-specific ones.
SANDBOX_PORT: int = env.int("SANDBOX_PORT", default=8010)
IOTPAY_BASE_URL: str = env.str("IOTPAY_BASE_URL", default=f"http://127.0.0.1:{SANDBOX_PORT}/v1")
# A charge waits for the cardholder.
GATEWAY_CHARGE_TIMEOUT: float = env.float("IOTPAY_CREATE_TIMEOUT", default=120.0)
GATEWAY_CONNECT_TIMEOUT: float = env.float("IOTPAY_CONNECT_TIMEOUT", default=5.0)
GATEWAY_QUERY_TIMEOUT: float = env.float("IOTPAY_QUERY_TIMEOUT", default=10.0)  # a look-up or a refund
# No call goes out on a kept-alive connection idle longer than this: the gateway's load balancer closes idle ones
# (commonly after 60 s), and a charge sent as it does is a payment in doubt. Well under any such limit.
GATEWAY_KEEPALIVE_IDLE_MAX: float = env.float("IOTPAY_KEEPALIVE_IDLE_MAX", default=15.0)
if GATEWAY_KEEPALIVE_IDLE_MAX < 0:
    raise environ.ImproperlyConfigured("IOTPAY_KEEPALIVE_IDLE_MAX must be 0 or more seconds")
PAYMENT_POLL_INTERVAL: float = env.float("IOTPAY_POLL_INTERVAL", default=2.0)
PAYMENT_POLL_WINDOW: float = env.float("IOTPAY_POLL_WINDOW", default=180.0)
# The gateway's advice after a time-out: look up every 2 s for one minute at least. Shorter windows are for tests
# and demos (DEBUG on); a test settings module may lower it after this check.
POLL_WINDOW_MIN = 60.0
if not DEBUG and PAYMENT_POLL_WINDOW < POLL_WINDOW_MIN:
    raise environ.ImproperlyConfigured(
        f"IOTPAY_POLL_WINDOW must be at least {POLL_WINDOW_MIN:g} s when DEBUG is off (the gateway's advice: "
        f"look up for one minute at least after a time-out); it is {PAYMENT_POLL_WINDOW:g}")
# A CREATED attempt older than this is sent by the resume job (its task never ran)...
CONSOLE_STALE_CREATED_AFTER: float = env.float("CONSOLE_STALE_CREATED_AFTER", default=15.0)
# ...but one older than this is never sent: it fails as "not sent, too old", so a terminal never asks for a
# card for a sale from long ago.
CONSOLE_STALE_CREATED_AFTER_MAX: float = env.float("CONSOLE_STALE_CREATED_AFTER_MAX", default=60.0)
CONSOLE_CLIENT_IP: str = env.str("CONSOLE_CLIENT_IP", default="127.0.0.1")
# Database connections one gateway worker process opens at a time (its waiting calls hold none).
CONSOLE_GATEWAY_DB_CONNECTIONS: int = env.int("CONSOLE_GATEWAY_DB_CONNECTIONS", default=20)
if CONSOLE_GATEWAY_DB_CONNECTIONS < 1:
    raise environ.ImproperlyConfigured("CONSOLE_GATEWAY_DB_CONNECTIONS must be at least 1")
# A slot must always find a pooled connection: with the pool on, a gateway worker takes at most as many
# slots as its pool holds.
if "pool" in DATABASES["default"].get("OPTIONS", {}):
    CONSOLE_GATEWAY_DB_CONNECTIONS = min(CONSOLE_GATEWAY_DB_CONNECTIONS, CONSOLE_DB_POOL_SIZE)

# --- Webhooks (docs/webhooks.md) ------------------------------------------------------------------
# Each POST to an endpoint is bounded by these time-outs (seconds): a slow endpoint costs a try, not a worker.
WEBHOOK_CONNECT_TIMEOUT: float = env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.0)
WEBHOOK_READ_TIMEOUT: float = env.float("WEBHOOK_READ_TIMEOUT", default=5.0)
# A failed try is tried again after base, 2 x base, 4 x base ... seconds (±20 %), each wait at most the
# maximum, until the retry window after the event has passed; then the delivery fails.
WEBHOOK_RETRY_BASE_SECONDS: float = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=10.0)
WEBHOOK_RETRY_MAX_SECONDS: float = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
WEBHOOK_RETRY_WINDOW_SECONDS: float = env.float("WEBHOOK_RETRY_WINDOW_SECONDS", default=86400.0)
# Tries in flight to one endpoint at a time: a dead endpoint with a backlog holds at most this many of the
# webhooks worker's threads (CELERY_WEBHOOKS_CONCURRENCY).
WEBHOOK_ENDPOINT_CONCURRENCY: int = env.int("WEBHOOK_ENDPOINT_CONCURRENCY", default=2)
# A delivery due this long (seconds) that no try took is enqueued again by the beat job.
WEBHOOK_LOST_AFTER_SECONDS: float = env.float("WEBHOOK_LOST_AFTER_SECONDS", default=30.0)
# The first retry comes within 30 s of the first try (docs/webhooks.md): the base plus its 20 % jitter.
if not 0 < WEBHOOK_RETRY_BASE_SECONDS <= 25:
    raise environ.ImproperlyConfigured("WEBHOOK_RETRY_BASE_SECONDS must be more than 0 and at most 25 (the first "
                                       f"retry comes within 30 s); it is {WEBHOOK_RETRY_BASE_SECONDS:g}")
if WEBHOOK_ENDPOINT_CONCURRENCY < 1:
    raise environ.ImproperlyConfigured("WEBHOOK_ENDPOINT_CONCURRENCY must be at least 1")

# LOG_FORMAT=json: one JSON object per line, with the request's or task's correlation id and its payment
# (store_console/logs.py). Every process reads these settings: Daphne, the workers, beat.
LOG_FORMAT: str = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise environ.ImproperlyConfigured(f"LOG_FORMAT must be plain or json; it is {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "store_console.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}

# --- Metrics (docs/running.md, "Metrics") -------------------------------------------------------------
# /metrics answers the addresses (or networks) listed here, as the trusted proxies tell the client's address,
# and any request with `Authorization: Bearer <METRICS_TOKEN>` when a token is set.
METRICS_ALLOWED_IPS: list[str] = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
METRICS_TOKEN: str = env.str("METRICS_TOKEN", default="")

# Django's database sessions, read by one hand-written statement (store_console/sessions.py).
SESSION_ENGINE = "store_console.sessions"
# Sessions end after this long without a request (seconds): back-office roles, and cashiers (a shift).
SESSION_IDLE_BACKOFFICE: int = env.int("SESSION_IDLE_BACKOFFICE", default=30 * 60)
SESSION_IDLE_CASHIER: int = env.int("SESSION_IDLE_CASHIER", default=8 * 3600)
SESSION_COOKIE_AGE = max(SESSION_IDLE_BACKOFFICE, SESSION_IDLE_CASHIER)

# Headers: no inline script may run (every script is a file of ours), no other site may frame a page, the
# Referer stays on our own origin, and browser features the console never uses are off.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
                      "payment=(), usb=(), interest-cohort=()")

if not DEBUG:
    SESSION_COOKIE_SECURE: bool = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE: bool = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT: bool = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD: bool = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Probes ask Daphne itself over plain http, not through the proxy that ends TLS.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Attempts needing review are re-queried this often (seconds) during their first day.
CONSOLE_REVIEW_REQUERY_INTERVAL: float = env.float("CONSOLE_REVIEW_REQUERY_INTERVAL", default=300.0)
CSRF_FAILURE_VIEW = "checkout.views.csrf_failure"
# --- Back office: reconciliation ----------------------------------------------------------------
# Two approvals with the same card last 4 and total this close together are listed as possible duplicates.
CONSOLE_DUPLICATE_WINDOW_MINUTES: float = env.float("CONSOLE_DUPLICATE_WINDOW_MINUTES", default=10.0)
# "Verify the day" makes at most this many look-ups per second at the gateway.
CONSOLE_VERIFY_RATE: float = env.float("CONSOLE_VERIFY_RATE", default=5.0)
# The dashboard lists the open exceptions this many to a page, most serious first (the CSV has the whole day).
CONSOLE_EXCEPTIONS_SHOWN: int = env.int("CONSOLE_EXCEPTIONS_SHOWN", default=50)
# PostgreSQL memory for the dashboard's sorts (one transaction at a time): a busy day sorts in memory.
CONSOLE_DASHBOARD_WORK_MEM: str = env.str("CONSOLE_DASHBOARD_WORK_MEM", default="64MB")
