"""Model instances read by one hand-written statement.

For the few statements the console runs on every payment (the claim of a sale before it goes to the terminal),
compiling the ORM's query costs several times the CPU PostgreSQL spends answering it (docs/performance.md,
issue 16). Such a statement names its columns with ``Columns(model, alias).sql`` and builds the instances
from its row with ``Columns.build``: Django's own ``from_db`` after the fields' own converters (JSON, for
example), so an instance read this way is the same as one the ORM reads. Everything else uses the ORM.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections
from django.db.models import Model
from django.db.models.sql import Query

from lanes.models import Lane, LanguagePreference, Store, StoreMembership, Terminal

__all__ = ["Columns", "Standing", "lane_for_payment", "permissions_of", "split", "standing_of"]

M = TypeVar("M", bound=Model)


class Columns(Generic[M]):
    """Every concrete column of ``model`` as ``alias."column", ...`` (for a SELECT or a RETURNING list)."""

    def __init__(self, model: type[M], alias: str, *, using: str = "default") -> None:
        self.model, self.alias, self.using = model, alias, using
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        quote = connections[using].ops.quote_name
        self.sql = ", ".join(f"{alias}.{quote(cast(str, field.column))}" for field in self.fields)  # all concrete
        expressions = [field.get_col(alias) for field in self.fields]
        compiler = Query(model).get_compiler(using)
        self._converters = [(index, fns, expression) for index, (fns, expression)
                            in compiler.get_converters(expressions).items()]

    def __len__(self) -> int:
        return len(self.fields)

    def build(self, values: Sequence[Any]) -> M:
        """The instance, as the ORM would have read it, from this model's slice of a row."""
        if self._converters:
            values = list(values)
            connection = connections[self.using]
            for index, fns, expression in self._converters:
                value = values[index]
                for fn in fns:
                    value = fn(value, expression, connection)
                values[index] = value
        return self.model.from_db(self.using, self.attnames, values)


def split(row: Sequence[Any], *columns: Columns[Any]) -> list[Any]:
    """One instance per ``Columns``, from a row that lists their columns in that order (extra values after)."""
    out, start = [], 0
    for cols in columns:
        out.append(cols.build(row[start:start + len(cols)]))
        start += len(cols)
    return out


@functools.cache
def _lane_statement() -> tuple[str, tuple[Columns[Any], ...]]:
    merchant = Store._meta.get_field("merchant").related_model  # payments' model, without importing payments
    columns = (Columns(Lane, "l"), Columns(Store, "s"), Columns(merchant, "m"),
               Columns(Terminal, "t"))
    cashiers = Lane.cashiers.through._meta.db_table
    members = StoreMembership._meta.db_table
    sql = (  # names from the models' metadata; every value is a parameter
        f"SELECT {', '.join(c.sql for c in columns)}, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {cashiers} AS c JOIN {members} AS sm ON sm.user_id = c.user_id "
        "WHERE c.lane_id = l.id AND c.user_id = %s AND sm.store_id = l.store_id) "
        f"FROM {Lane._meta.db_table} AS l JOIN {Store._meta.db_table} AS s ON s.id = l.store_id "
        f"JOIN {merchant._meta.db_table} AS m ON m.id = s.merchant_id "
        f"LEFT JOIN {Terminal._meta.db_table} AS t ON t.lane_id = l.id WHERE l.code = %s"
    )
    return sql, columns


def lane_for_payment(code: str, *, user_id: int | None) -> tuple[Lane, bool] | None:
    """The lane ``code`` with its store, the store's merchant and the lane's terminal (``lane.terminal`` raises
    ``Terminal.DoesNotExist`` when it has none, as after ``select_related``), and whether ``user_id`` is
    assigned to it while a member of its store (``access._assignment``'s rule); None when there is no such lane.

    The Pay request's one read before its insert; hand-written because compiling it through the ORM cost more
    CPU than the rest of the view's reads."""
    sql, columns = _lane_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, code])
        row = cursor.fetchone()
    if row is None:
        return None
    lane_cols, store_cols, merchant_cols, terminal_cols = columns
    lane, store, merchant = split(row, lane_cols, store_cols, merchant_cols)
    start = len(lane_cols) + len(store_cols) + len(merchant_cols)
    terminal = terminal_cols.build(row[start:start + len(terminal_cols)]) if row[start] is not None else None
    store.merchant = merchant
    lane.store = store
    Lane.terminal.related.set_cached_value(lane, terminal)
    if terminal is not None:
        terminal.lane = lane
    return cast(Lane, lane), bool(row[-1])


@dataclass(frozen=True, eq=False)
class Standing:
    """What the console asks of a signed-in person on each request, read in one statement: their own language
    choice, and their stores (role, the store's language and province)."""

    language: str | None
    memberships: tuple[tuple[int, str, str, str], ...]  # (store id, role, store language, store province)

    @functools.cached_property
    def roles(self) -> dict[int, str]:
        """{store id: role}"""
        return {store_id: role for store_id, role, _, _ in self.memberships}


@functools.cache
def _standing_statement() -> str:
    return (  # names from the models' metadata; the value is a parameter
        "SELECT p.language, sm.store_id, sm.role, s.language, s.province "  # noqa: S608
        f"FROM {User._meta.db_table} AS u "
        f"LEFT JOIN {LanguagePreference._meta.db_table} AS p ON p.user_id = u.id "
        f"LEFT JOIN {StoreMembership._meta.db_table} AS sm ON sm.user_id = u.id "
        f"LEFT JOIN {Store._meta.db_table} AS s ON s.id = sm.store_id WHERE u.id = %s"
    )


def standing_of(user_id: int) -> Standing:
    """``Standing`` of the user ``user_id``: one row per store they belong to (one row of NULLs but their choice
    when they belong to none). Every request of a signed-in person reads it: the language middleware, and
    ``lanes.access`` for the roles."""
    with connection.cursor() as cursor:
        cursor.execute(_standing_statement(), [user_id])
        found = cursor.fetchall()
    language = next((chosen for chosen, *_ in found if chosen), None)
    memberships = tuple((store_id, role, store_language, province or "")
                        for _, store_id, role, store_language, province in found if store_id is not None)
    return Standing(language, memberships)


def _column(model: type[Model], name: str) -> str:
    return cast(str, model._meta.get_field(name).column)  # type: ignore[union-attr]


@functools.cache
def _permissions_statement() -> str:
    own, in_group, granted = User.user_permissions.through, User.groups.through, Group.permissions.through
    perm, kind = Permission._meta.db_table, ContentType._meta.db_table
    return (  # names from the models' metadata; the value (the user's id, twice) is a parameter
        f"SELECT 0, k.app_label, p.codename FROM {own._meta.db_table} AS o "  # noqa: S608
        f"JOIN {perm} AS p ON p.id = o.{_column(own, 'permission')} JOIN {kind} AS k ON k.id = p.content_type_id "
        f"WHERE o.{_column(own, 'user')} = %s "
        f"UNION ALL SELECT 1, k.app_label, p.codename FROM {in_group._meta.db_table} AS ug "
        f"JOIN {granted._meta.db_table} AS gp ON gp.{_column(granted, 'group')} = ug.{_column(in_group, 'group')} "
        f"JOIN {perm} AS p ON p.id = gp.{_column(granted, 'permission')} "
        f"JOIN {kind} AS k ON k.id = p.content_type_id WHERE ug.{_column(in_group, 'user')} = %s"
    )


def permissions_of(user_id: int) -> tuple[set[str], set[str]]:
    """The user's own permissions and their groups' (``app_label.codename``), as Django's ModelBackend reads them
    (``get_user_permissions``, ``get_group_permissions``), in one statement where it takes two."""
    own: set[str] = set()
    grouped: set[str] = set()
    with connection.cursor() as cursor:
        cursor.execute(_permissions_statement(), [user_id, user_id])
        for part, app_label, codename in cursor.fetchall():
            (grouped if part else own).add(f"{app_label}.{codename}")
    return own, grouped
