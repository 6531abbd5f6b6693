"""The registry import's set-based writer: every value comes back as written, whatever it contains."""

import pytest

from sbyt.core.models import AuditEntry
from sbyt.payments.bulk import Inserter

pytestmark = pytest.mark.django_db

TRICKY = ["plain", "", "tab\there", "new\nline", "cr\rlf", "back\\slash \\N", "\\", "кириллица «ёлка»", "a;b|c"]


def test_written_rows_read_back_equal_with_escapes_nulls_and_json():
    columns = ("kind", "action", "actor_label", "account_number", "details", "target_type", "target_id")
    rows = [
        ("write", f"bulk.{i}", text, str(1000 + i), {"text": text, "n": i, "none": None}, text[:40], str(i))
        for i, text in enumerate(TRICKY)
    ]
    assert Inserter(AuditEntry, columns).write(rows) == len(rows)
    stored = {e.action: e for e in AuditEntry.objects.filter(action__startswith="bulk.")}
    assert len(stored) == len(TRICKY)
    for i, text in enumerate(TRICKY):
        entry = stored[f"bulk.{i}"]
        assert (entry.actor_label, entry.account_number, entry.target_type) == (text, str(1000 + i), text[:40])
        assert entry.details == {"text": text, "n": i, "none": None}
        assert entry.created_at is not None and entry.actor_id is None  # defaults filled


def test_a_value_of_another_type_in_a_text_column_is_written_as_text():
    Inserter(AuditEntry, ("kind", "action", "actor_label")).write([("write", "bulk.int", 12345)])
    assert AuditEntry.objects.get(action="bulk.int").actor_label == "12345"


def test_nothing_to_write():
    assert Inserter(AuditEntry, ("kind", "action")).write([]) == 0
