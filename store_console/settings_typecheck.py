"""Settings for the type checker only: `make lint` runs mypy, whose Django plugin (django-stubs) imports a
settings module and sets Django up to learn the models.

store_console.settings fails closed: without DEBUG it refuses to start with no SECRET_KEY or no encryption key
for merchant keys. A fresh clone has neither in its environment, so this module gives throwaway values for
them (random, made anew on every run, never written anywhere) when the environment has none, then reads the
real settings (the same apps and models as every process of the console). Any value set in the environment
wins.

It refuses to load anywhere but inside mypy, so that it can never become the settings of a running console.
"""

import os
import secrets
import sys

from django.core.exceptions import ImproperlyConfigured

if "mypy" not in sys.modules:
    raise ImproperlyConfigured("store_console.settings_typecheck is for mypy only: "
                               "use store_console.settings")

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", secrets.token_urlsafe(32))

from store_console.settings import *  # noqa: F403
