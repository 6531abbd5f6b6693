"""Indexes for the staff client search (CC-3, issue 6; `docs/cases.md`, `bench/search.py`). Indexes only.

- the mobile phone (searched by equality after normalising to +7XXXXXXXXXX) — a b-tree, every database;
- PostgreSQL only, on ``UPPER(col::text)`` — exactly the expression Django's ``istartswith`` / ``icontains``
  compare: b-trees (``text_pattern_ops``) for a prefix of the surname and of the organisation's name, a trigram GIN
  index (``pg_trgm``) for any fragment of the premises' address. SQLite gets none of these (the operation does
  nothing there); its search stays a scan, fine for the embedded size.

They are not in the models' ``Meta.indexes`` (a GIN expression index cannot be declared for both databases), so
they live here as SQL. On a large live table, run the statements with ``CONCURRENTLY`` by hand before migrating
(``IF NOT EXISTS`` then makes this migration a no-op).
"""

from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL and does nothing elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


# (name, table, expression with its operator class, method, condition)
INDEXES = [
    # a prefix of the surname / the organisation's name: a b-tree range scan («ИВАНОВ» ≤ x < «ИВАНОВА»…);
    # text_pattern_ops because LIKE cannot use a b-tree of a non-C collation (C.UTF-8 counts as one)
    # (the first name second: «Петров Ян» is checked in the index, not by reading every Петров's row)
    (
        "cust_name_prefix",
        "customers_customer",
        "UPPER(last_name::text) text_pattern_ops, UPPER(first_name::text) text_pattern_ops",
        "btree",
        "",
    ),
    (
        "cust_org_name_prefix",
        "customers_customer",
        "UPPER(org_name::text) text_pattern_ops",
        "btree",
        "WHERE org_name <> ''",
    ),  # fmt: skip
    # any fragment of the address: trigrams
    ("premises_address_trgm", "customers_premises", "UPPER(address::text) gin_trgm_ops", "gin", ""),
]


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS cust_phone_idx ON customers_customer (phone)",
            "DROP INDEX IF EXISTS cust_phone_idx",
        ),
        # not TrigramExtension(): its backwards step queries pg_extension on any database; the extension is left
        # installed on the way back (other indexes may use it)
        PostgresOnlySQL("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        *[
            PostgresOnlySQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {method} ({expression}) {where}",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, table, expression, method, where in INDEXES
        ],
    ]
