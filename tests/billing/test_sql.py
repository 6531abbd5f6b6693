"""The billing run's bulk writer: COPY lines built per table from the model's fields."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from sbyt.billing.models import LedgerEntry
from sbyt.billing.sql import _copy_line, _line_formatter, allocate_ids, insert
from tests.billing.builders import make_branch, make_household

COLUMNS = ("id", "account_id", "contract_id", "kind", "amount", "period", "due_date", "value_date", "document_type",
           "document_id", "charge_id", "run_id", "invoice_id", "note", "created_at")  # fmt: skip
AT = dt.datetime(2026, 11, 23, 10, 30, tzinfo=dt.UTC)


def row(pk, account, contract, note, *, document_id=""):
    return [pk, account, contract, "correction", "-12.50", dt.date(2026, 10, 1), None, dt.date(2026, 10, 31),
            "manual", document_id, None, None, None, note, AT]  # fmt: skip


def test_text_escaped_nulls_marked_the_rest_as_is():
    line = _line_formatter("billing_ledgerentry", COLUMNS)
    text = line(row(7, 1, 2, "tab\there\nnew \\ back", document_id="A\t1"))
    assert text == (
        "7\t1\t2\tcorrection\t-12.50\t2026-10-01\t\\N\t2026-10-31\tmanual\tA\\t1\t\\N\t\\N\t\\N\t"
        "tab\\there\\nnew \\\\ back\t2026-11-23 10:30:00+00:00\n"
    )
    assert text == _copy_line(row(7, 1, 2, "tab\there\nnew \\ back", document_id="A\t1")).replace(
        "2026-11-23T10:30:00+00:00", "2026-11-23 10:30:00+00:00"
    )
    assert _line_formatter("no_such_table", ("a",)) is _copy_line


@pytest.mark.django_db
def test_rows_written_read_back_equal():
    contract = make_household(make_branch(), zones=None)
    notes = ["plain", "tab\there", "new\nline", "back\\slash", "кириллица «ёлка»", ""]
    pks = allocate_ids(LedgerEntry._meta.db_table, len(notes))
    when = AT if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(AT)
    rows = []
    for pk, note in zip(pks, notes, strict=True):
        r = row(pk, contract.account_id, contract.pk, note)
        r[5], r[7], r[14] = (connection.ops.adapt_datefield_value(r[5]), connection.ops.adapt_datefield_value(r[7]),
                             when)  # fmt: skip
        rows.append(r)
    assert insert(LedgerEntry._meta.db_table, COLUMNS, rows) == len(notes)
    stored = {e.pk: e for e in LedgerEntry.objects.filter(pk__in=pks)}
    for pk, note in zip(pks, notes, strict=True):
        entry = stored[pk]
        assert (entry.note, entry.amount, entry.period, entry.due_date) == (
            note,
            D("-12.50"),
            dt.date(2026, 10, 1),
            None,
        )
        assert entry.created_at == AT and entry.charge_id is None


def test_write_once_documents_are_json_on_postgresql_and_read_back_whole():
    from django.db import models

    from sbyt.billing.models import Charge, Invoice

    for field in (Invoice._meta.get_field("data"), Charge._meta.get_field("lines"), Charge._meta.get_field("basis")):
        expected = "json" if connection.vendor == "postgresql" else models.JSONField().db_type(connection)
        assert field.db_type(connection) == expected
        assert field.from_db_value('{"a": [1, "б"]}', None, connection) == {"a": [1, "б"]}
        assert field.from_db_value({"a": 1}, None, connection) == {"a": 1}  # psycopg decodes json itself
        assert field.from_db_value(None, None, connection) is None
