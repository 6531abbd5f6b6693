"""Single rows on the hottest paths without building the SQL through the ORM each time.

Every SMS, bot message and reading runs the same few statements; compiling them through the ORM costs more CPU
than the database spends executing them (bench/sms.py). These helpers build a model's statement once, from its
metadata, and then only bind values — with the fields' own conversions both ways (``get_db_prep_save`` going in,
the backend's and the field's converters coming out), so the rows are exactly what the ORM would write and read.

- ``insert(instance)``: ``Model.save()`` of a new row, without sending signals — refused (TypeError) for a model
  with its own ``save``; a model with ``pre_save``/``post_save`` receivers goes through ``save()`` itself;
- ``Joined``: one SELECT over foreign keys (``select_related``) whose rows come back as model instances linked
  to each other.
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
    """``SELECT`` of ``model`` with related rows (foreign keys, as ``select_related("a__b", "c")``): the rows as
    ``model`` instances with the related objects attached (None where a nullable link is empty: LEFT JOIN).
    ``where`` and ``order`` use the aliases ``t0`` (the model) and ``t1``… in the order the paths name the
    relations; ``lock`` adds ``FOR UPDATE OF t0`` where the database has it (``no_key``: ``FOR NO KEY UPDATE``, which
    does not block inserts referencing the row)."""

    def __init__(self, model, *paths: str, where: str, order: str = "", lock: bool = False, no_key: bool = False):
        # nodes: (model, the FK followed from the parent, the parent's index, outer join?)
        self.nodes = [(model, None, None, False)]
        index: dict[tuple[int, str], int] = {}
        for path in paths:
            parent = 0
            for name in path.split("__") if path else []:
                if (parent, name) not in index:
                    parent_model, _via, _p, parent_outer = self.nodes[parent]
                    field = parent_model._meta.get_field(name)
                    self.nodes.append((field.related_model, field, parent, parent_outer or field.null))
                    index[(parent, name)] = len(self.nodes) - 1
                parent = index[(parent, name)]
        self.where, self.order, self.lock, self.no_key = where, order, lock, no_key

    @functools.cached_property
    def _plan(self):
        columns, joins, layout = [], [], []
        for i, (model, via, parent, outer) in enumerate(self.nodes):
            alias = f"t{i}"
            fields = model._meta.concrete_fields
            converters = []
            for f in fields:
                expression = f.get_col(alias)
                found = connection.ops.get_db_converters(expression) + f.get_db_converters(connection)
                converters.append([(convert, expression) for convert in found])
                columns.append(f"{alias}.{_quote(f.column)}")
            pk_position = next(k for k, f in enumerate(fields) if f.primary_key)
            layout.append((model, [f.attname for f in fields], converters, pk_position))
            if via is not None:
                joins.append(
                    f"{'LEFT OUTER' if outer else 'INNER'} JOIN {_quote(model._meta.db_table)} {alias} "
                    f"ON t{parent}.{_quote(via.column)} = {alias}.{_quote(via.target_field.column)}"
                )
        table = _quote(self.nodes[0][0]._meta.db_table)
        sql = f"SELECT {', '.join(columns)} FROM {table} t0 {' '.join(joins)}"  # noqa: S608 - names from _meta
        sql += f" WHERE {self.where}"
        if self.order:
            sql += f" ORDER BY {self.order}"
        features = connection.features
        if self.lock and features.has_select_for_update:
            strength = "NO KEY UPDATE" if self.no_key and features.has_select_for_no_key_update else "UPDATE"
            sql += f" FOR {strength}" + (" OF t0" if features.has_select_for_update_of else "")
        return sql, layout

    def fetch(self, params) -> list:
        sql, layout = self._plan
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        result = []
        nodes = self.nodes
        for row in rows:
            start, built = 0, []
            for (model, names, converters, pk_position), (_m, via, parent, _outer) in zip(layout, nodes, strict=True):
                values = list(row[start : start + len(names)])
                start += len(names)
                if values[pk_position] is None:  # an empty nullable link
                    instance = None
                else:
                    for i, field_converters in enumerate(converters):
                        for convert, expression in field_converters:
                            values[i] = convert(values[i], expression, connection)
                    instance = model.from_db(connection.alias, names, values)
                if via is not None and built[parent] is not None:
                    via.set_cached_value(built[parent], instance)
                built.append(instance)
            result.append(built[0])
        return result
