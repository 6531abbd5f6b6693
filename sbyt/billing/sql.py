"""Set-based reads and writes for the billing run: ``IN`` lists, id allocation, bulk inserts (COPY on PostgreSQL).

Values cross as plain text where Django's converters would cost more than the query (dates and decimals are
selected ``CAST(... AS TEXT)`` and parsed with ``date.fromisoformat`` / ``Decimal``, both C)."""

import datetime as dt
import functools
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.apps import apps
from django.db import connection, models

SQLITE_MAX_IDS = 10_000  # one parameter per id on SQLite (its limit is 32 766 parameters per statement)


def in_ids(ids: Sequence[int]) -> tuple[str, list]:
    """``IN (...)`` as the backend takes it best: PostgreSQL one array parameter, SQLite one placeholder per id."""
    if connection.vendor == "postgresql":
        return "= ANY(CAST(%s AS bigint[]))", ["{" + ",".join(map(str, ids)) + "}"]
    if len(ids) > SQLITE_MAX_IDS:
        raise ValueError("too many ids for one statement")
    return f"IN ({', '.join(['%s'] * len(ids))})" if ids else "IN (NULL)", list(ids)


def fetch(sql: str, params: Sequence = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def allocate_ids(table: str, count: int) -> list[int]:
    """``count`` fresh primary keys of ``table``, so rows can be inserted with their ids known (COPY returns none).
    SQLite: the write transaction is held (IMMEDIATE, or after the run's heartbeat update), so MAX(id) is stable."""
    if count <= 0:
        return []
    if connection.vendor == "postgresql":
        rows = fetch("SELECT nextval(CAST(%s AS regclass)) FROM generate_series(1, %s)", [_sequence(table), count])
        return [row[0] for row in rows]
    (last,) = fetch(f"SELECT COALESCE(MAX(id), 0) FROM {table}")[0]  # noqa: S608 - a model's table name
    return list(range(last + 1, last + 1 + count))


_SEQUENCES: dict[tuple[str, str], str] = {}


def _sequence(table: str) -> str:
    """The id sequence of ``table``, looked up once per database (naming it in every row of the allocating query
    cost eight times as much as ``nextval`` itself)."""
    key = (connection.settings_dict["NAME"], table)
    if key not in _SEQUENCES:
        _SEQUENCES[key] = fetch("SELECT pg_get_serial_sequence(%s, 'id')", [table])[0][0]
    return _SEQUENCES[key]


def insert(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Bulk insert: COPY on PostgreSQL (psycopg 3), ``executemany`` elsewhere. Values already adapted
    (``db_date``, ``db_datetime``, ``db_json``, ``str`` for decimals)."""
    rows = list(rows)
    if not rows:
        return 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor == "postgresql" and hasattr(raw, "copy"):
            # COPY's text format written directly: formatting rows here is several times cheaper than letting
            # the driver dump value by value (write_row).
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                line = _line_formatter(table, tuple(columns))
                for start in range(0, len(rows), 1000):
                    copy.write("".join(map(line, rows[start : start + 1000])))
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",  # noqa: S608
                rows,
            )
    return len(rows)


def db_date(value: dt.date | None):
    return None if value is None else connection.ops.adapt_datefield_value(value)


def db_datetime(value: dt.datetime | None):
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


def db_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def as_date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value[:10])


def as_decimal(value) -> Decimal:
    if value is None:
        return Decimal("0.00")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value)


def as_datetime(value) -> dt.datetime | None:
    """A stored timestamp read as text: SQLite keeps naive UTC, PostgreSQL's text carries the offset."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _escape(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _escape(value)
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (int, Decimal, dt.date)):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return _escape(str(value))


def _copy_line(row) -> str:
    return "\t".join(map(_copy_value, row)) + "\n"


_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def _null(value) -> str:
    return "\\N" if value is None else str(value)


def _text(value) -> str:
    return "\\N" if value is None else _escape(value if value.__class__ is str else str(value))


@functools.cache
def _line_formatter(table: str, columns: tuple[str, ...]):
    """One COPY line per row, compiled once per table and column list from the model's fields: text columns
    escaped, nullable ones ``\\N`` for None, the rest (ids, numbers already as text, dates, timestamps) as
    ``str()`` gives them — no per-value type tests. A value a column cannot take (None where the field is NOT
    NULL) reaches the database as text and is refused there, loudly. Tables that are no model's: ``_copy_line``."""
    model = next((m for m in apps.get_models() if m._meta.db_table == table), None)
    if model is None:
        return _copy_line
    by_column = {f.column: f for f in model._meta.concrete_fields}
    parts = []
    for i, column in enumerate(columns):
        field = by_column[column]
        if isinstance(field, _TEXT_FIELDS):
            parts.append(f"{{_text(r[{i}])}}")
        elif field.null:
            parts.append(f"{{_null(r[{i}])}}")
        else:
            parts.append(f"{{r[{i}]}}")
    source = "lambda r: f'" + "\\t".join(parts) + "\\n'"
    return eval(source, {"_text": _text, "_null": _null})  # noqa: S307 - built above from column positions only
