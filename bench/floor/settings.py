"""Settings of the architecture's floor (bench.floor): Django with no middleware, the console's channel layer.

Nothing of the console is imported here (``store_console`` would load the console's Celery app and connect its
worker signals, heartbeats and log context, into the skeleton's worker). Redis by TCP URL only.
"""

from __future__ import annotations

import os

import environ

REDIS_URL = os.environ["FLOOR_REDIS_URL"]
WRITES = os.environ.get("FLOOR_WRITES") == "1"
GATEWAY_URL = os.environ.get("FLOOR_GATEWAY_URL", "")

SECRET_KEY = os.environ["FLOOR_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
INSTALLED_APPS = ["channels"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.floor.views"
ASGI_APPLICATION = "bench.floor.asgi.application"
LOGGING_CONFIG = None
DATABASES = {}
if WRITES:
    DATABASES["default"] = {
        **environ.Env.db_url_config(os.environ["FLOOR_DATABASE_URL"]),
        # As the console: a pool per process, each connection lent for a request or a task and given back.
        "OPTIONS": {"pool": {"min_size": 2, "max_size": 20}},
        "CONN_MAX_AGE": 0,
    }
CHANNEL_LAYERS = {
    # The console's layer, with its own prefix: the console may run beside it on the same Redis (its groups have
    # the same names). No read time-out, as the console's (store_console.redis_urls.channels_host).
    "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}], "prefix": "floor"}},
}
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
