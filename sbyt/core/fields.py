"""Model fields the project shares."""

import json

from django.db import models


class DocumentField(models.JSONField):
    """A JSON document written once and read whole (a bill's snapshot, a charge's priced lines and basis).

    On PostgreSQL the column is ``json`` — the text as written, checked to be JSON — instead of ``jsonb``, which
    parses the document into its binary form on every write: a billing run writes hundreds of thousands of them
    and never searches inside them, and the COPY of a run's bills takes half the time (bench/billing.py). Key
    lookups (``data__address``) still work (``->``); containment and key-existence lookups (``jsonb`` operators) do
    not — use ``JSONField`` for data that is searched. Elsewhere it is a plain ``JSONField``."""

    def db_type(self, connection):
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        # psycopg hands ``json`` columns over already decoded (Django's text loader covers ``jsonb`` only)
        if value is None or not isinstance(value, str | bytes | bytearray):
            return value
        try:
            return json.loads(value, cls=self.decoder)
        except json.JSONDecodeError:
            return value
