"""Single rows on the hottest paths without building the SQL through the ORM each time.

Every SMS, bot message and reading runs the same few statements; compiling them through the ORM costs more CPU
than the database spends executing them (bench/sms.py). These helpers build a model's statement once, from its
metadata, and then only bind values — with the fields' own conversions both ways (``get_db_prep_save`` going in,
the backend's and the field's converters coming out), so the rows are exactly what the ORM would write and read.

- ``insert(instance)``: ``Model.save()`` of a new row, minus the signals (refused for a model with its own
  ``save`` or with ``pre_save``/``post_save`` receivers, where skipping them would change behaviour);
- ``Joined``: one SELECT over a chain of foreign keys (``select_related``) whose rows come back as model
  instances linked to each other.
"""

import functools

from django.db import connection, models
from django.db.models.signals import post_save, pre_save


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@functools.cache
def _insert_statement(model, vendor: str) -> tuple[str, tuple, bool]:
    if model.save is not models.Model.save:
        raise TypeError(f"{model.__name__} has its own save(): use the ORM")
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if not isinstance(f, models.AutoField))
    returning = connection.features.can_return_columns_from_insert
    sql = (
        f"INSERT INTO {_quote(meta.db_table)} ({', '.join(_quote(f.column) for f in fields)}) "  # noqa: S608 - names from _meta
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if returning:
        sql += f" RETURNING {_quote(meta.pk.column)}"
    return sql, fields, returning


def insert(instance: models.Model) -> models.Model:
    """Write a new ``instance`` in one statement; its primary key is set. As ``save()`` would, but no signals."""
    model = type(instance)
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        instance.save(force_insert=True)
        return instance
    sql, fields, returning = _insert_statement(model, connection.vendor)
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


class Joined:
    """``SELECT`` of ``model`` joined along ``path`` (foreign keys, as ``select_related("a__b__c")``): the rows
    as ``model`` instances with the related objects attached. ``where`` and ``order`` use the aliases ``t0``
    (the model), ``t1``… (along the path), ``lock`` adds ``FOR UPDATE OF t0`` where the database has it."""

    def __init__(self, model, path: str, *, where: str, order: str = "", lock: bool = False):
        self.chain = [(model, None)]
        current = model
        for name in path.split("__") if path else []:
            field = current._meta.get_field(name)
            self.chain.append((field.related_model, field))
            current = field.related_model
        self.where, self.order, self.lock = where, order, lock

    @functools.cached_property
    def _plan(self):
        columns, joins, layout = [], [], []
        for i, (model, via) in enumerate(self.chain):
            alias = f"t{i}"
            fields = model._meta.concrete_fields
            converters = []
            for f in fields:
                expression = f.get_col(alias)
                found = connection.ops.get_db_converters(expression) + f.get_db_converters(connection)
                converters.append([(convert, expression) for convert in found])
                columns.append(f"{alias}.{_quote(f.column)}")
            layout.append((model, [f.attname for f in fields], converters))
            if via is not None:
                joins.append(
                    f"INNER JOIN {_quote(model._meta.db_table)} {alias} "
                    f"ON t{i - 1}.{_quote(via.column)} = {alias}.{_quote(via.target_field.column)}"
                )
        table = _quote(self.chain[0][0]._meta.db_table)
        sql = f"SELECT {', '.join(columns)} FROM {table} t0 {' '.join(joins)}"  # noqa: S608 - names from _meta
        sql += f" WHERE {self.where}"
        if self.order:
            sql += f" ORDER BY {self.order}"
        if self.lock and connection.features.has_select_for_update:
            sql += " FOR UPDATE OF t0" if connection.features.has_select_for_update_of else " FOR UPDATE"
        return sql, layout

    def fetch(self, params) -> list:
        sql, layout = self._plan
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        result = []
        for row in rows:
            start, previous, first = 0, None, None
            for (model, names, converters), (_m, via) in zip(layout, self.chain, strict=True):
                values = list(row[start : start + len(names)])
                start += len(names)
                for i, field_converters in enumerate(converters):
                    for convert, expression in field_converters:
                        values[i] = convert(values[i], expression, connection)
                instance = model.from_db(connection.alias, names, values)
                if previous is None:
                    first = instance
                else:
                    via.set_cached_value(previous, instance)
                previous = instance
            result.append(first)
        return result
