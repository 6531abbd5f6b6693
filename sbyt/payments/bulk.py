"""Set-based writes of the registry import: many rows in a fixed number of statements.

PostgreSQL gets ``COPY … FROM STDIN`` (psycopg 3 streams Python values), SQLite multi-row ``INSERT``s within its
parameter limit. Columns not given take the model field's default (``auto_now_add`` fields: now), so a field another
app adds to its model with a default does not break these writes. ``ids_of`` reads back the ids of rows just
written by a unique key, in one query per chunk (``= ANY(array)`` on PostgreSQL)."""

import datetime as dt
import functools
import json
from collections.abc import Iterable, Sequence

from django.db import connection
from django.utils import timezone

_SQLITE_IDS_PER_QUERY = 5_000


class Inserter:
    """Writes rows of ``model`` given as tuples of the ``attnames`` in order."""

    def __init__(self, model, attnames: Sequence[str]):
        meta = model._meta
        by_attname = {f.attname: f for f in meta.concrete_fields}
        given = [by_attname[name] for name in attnames]
        rest = [f for f in meta.concrete_fields if not f.primary_key and f.attname not in attnames]
        now = timezone.now()
        self.extra = tuple(
            now if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False) else f.get_default() for f in rest
        )
        fields = given + rest
        self.formats = [_copy_format(f) for f in given]
        self.table = meta.db_table
        self.columns = [f.column for f in fields]
        self.postgres = connection.vendor == "postgresql"
        # SQLite takes dates and Decimals as they are (Django registers adapters) but not aware datetimes, nor
        # JSON values: those columns are adapted as the ORM would.
        self.adapters = ()
        if not self.postgres:
            self.adapters = tuple(
                (i, f.get_db_prep_save)
                for i, f in enumerate(fields)
                if f.get_internal_type() in ("DateTimeField", "JSONField")
            )

    def write(self, rows: Iterable[tuple]) -> int:
        extra = self.extra
        with connection.cursor() as cursor:
            if self.postgres and hasattr(cursor.cursor, "copy"):
                rows = list(rows)
                if not rows:
                    return 0
                # COPY's text format built here (~5x cheaper than psycopg's write_row); the defaults once
                suffix = "".join("\t" + _copy_text(value) for value in extra)
                formats = self.formats
                with cursor.cursor.copy(f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN") as copy:
                    block = []
                    for row in rows:
                        block.append("\t".join([f(v) for f, v in zip(formats, row, strict=True)]) + suffix)
                        if len(block) >= 5_000:
                            copy.write(("\n".join(block) + "\n").encode())
                            block = []
                    if block:
                        copy.write(("\n".join(block) + "\n").encode())
                return len(rows)
            rows = [tuple(row) + extra for row in rows]
            if not rows:
                return 0
            if self.adapters:
                adapted = []
                for row in rows:
                    row = list(row)
                    for i, prepare in self.adapters:
                        row[i] = prepare(row[i], connection)
                    adapted.append(row)
                rows = adapted
            width = len(self.columns)
            per_statement = max(1, (connection.features.max_query_params or 999) // width)
            for start in range(0, len(rows), per_statement):
                part = rows[start : start + per_statement]
                cursor.execute(
                    _insert_sql(self.table, tuple(self.columns), len(part)), [value for row in part for value in row]
                )
        return len(rows)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in COPY's text format: NULL is ``\\N``; backslash, tab, newline and CR escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_ESCAPES) if value else value
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a COPY row")
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False).translate(_ESCAPES)
    return str(value)  # int, Decimal


_NEEDS_ESCAPE = frozenset("\\\t\n\r")


def _copy_str(value) -> str:
    if value.__class__ is not str:
        return _copy_text(value)
    if _NEEDS_ESCAPE.isdisjoint(value):
        return value
    return value.translate(_ESCAPES)


def _copy_plain(value) -> str:  # int, Decimal: their str() is COPY's text
    return "\\N" if value is None else str(value)


def _copy_format(field):
    """The formatter of one column, chosen once by the field's type (``_copy_text`` decides per value)."""
    kind = field.get_internal_type()
    if kind in ("CharField", "TextField", "SlugField", "EmailField"):
        return _copy_str
    if kind in (
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
        "ForeignKey",
        "DecimalField",
        "AutoField",
        "BigAutoField",
    ):
        return _copy_plain
    return _copy_text


@functools.lru_cache(maxsize=64)
def _insert_sql(table: str, columns: tuple[str, ...], count: int) -> str:
    one = f"({', '.join(['%s'] * len(columns))})"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * count)}"  # noqa: S608


def in_clause(values: list) -> tuple[str, list]:
    """``column IN (...)`` as the backend takes it best: PostgreSQL one array parameter passed as its text form
    (psycopg dumps a list element by element in Python), SQLite one placeholder per value."""
    if connection.vendor == "postgresql":
        if values and isinstance(values[0], int):
            return "= ANY(CAST(%s AS bigint[]))", ["{" + ",".join(map(str, values)) + "}"]
        quoted = ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        return "= ANY(CAST(%s AS text[]))", ["{" + quoted + "}"]
    return f"IN ({', '.join(['%s'] * len(values))})", list(values)


def slices(values: list):
    step = (len(values) or 1) if connection.vendor == "postgresql" else _SQLITE_IDS_PER_QUERY
    for i in range(0, len(values), step):
        yield values[i : i + step]


def select(sql_template: str, values: list, params_before: Sequence = ()) -> list[tuple]:
    """Run ``sql_template`` (with one ``{in}`` for ``column {in}``) over ``values`` in as few queries as the backend
    allows; the rows of all of them."""
    rows: list[tuple] = []
    if not values:
        return rows
    with connection.cursor() as cursor:
        for part in slices(values):
            clause, params = in_clause(part)
            cursor.execute(sql_template.format(**{"in": clause}), [*params_before, *params])
            rows.extend(cursor.fetchall())
    return rows
