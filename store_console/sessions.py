"""Django's database sessions, each request's read made by one hand-written statement.

Every request a signed-in person makes reads their session. Django's database store reads it through the ORM
(``Session.objects.get``), which builds and compiles the same query each time: about 0.3 ms of CPU of the
0.4 ms the read costs (docs/performance.md, "Sixth pass"). This store reads the same row with the same
conditions (the key, not expired by this process's clock, as Django's store asks) in one prepared statement;
everything else (saving, expiry, cycling the key on sign-in, clearing) is Django's own store, unchanged.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import connections, router
from django.utils import timezone

from payments.services.statements import prepared

__all__ = ["SessionStore"]


class SessionStore(db.SessionStore):
    """``SESSION_ENGINE = "store_console.sessions"``: Django's database store with a cheaper read."""

    def _get_session_from_db(self) -> AbstractBaseSession | None:
        """The unexpired session of this key, or None (and no key: a new session is made on save), as Django's
        store answers; the instance carries what ``load()`` reads (the key and the data)."""
        key = self.session_key
        if key is None:
            return None
        model = self.model
        connection = connections[router.db_for_read(model)]
        # The columns of Django's AbstractBaseSession (django.contrib.sessions' first migration).
        statement = (
            f"SELECT session_data FROM {connection.ops.quote_name(model._meta.db_table)} "  # noqa: S608
            "WHERE session_key = %s AND expire_date > %s"
        )
        with prepared(), connection.cursor() as cursor:  # a key's look-up: planned once per connection
            cursor.execute(statement, [key, connection.ops.adapt_datetimefield_value(timezone.now())])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return model(session_key=key, session_data=row[0])
