"""The inbound path's few statements written out: every SMS and bot message runs them, and building them through
the ORM each time cost more than the database spent executing them (bench/sms.py). Table and column names come
from the models' metadata, so a renamed field breaks here at import, not silently. Both backends: row locks are
``FOR UPDATE`` where the database has them (SQLite serialises writers anyway); the JSON state is a parameter cast
to ``jsonb`` on PostgreSQL and stored as text on SQLite, as ``JSONField`` does."""

import datetime as dt
import functools
import json

from django.db import connection

from .models import Conversation, InboundMessage


def _names(model) -> tuple[str, dict[str, str]]:
    meta = model._meta
    return connection.ops.quote_name(meta.db_table), {
        f.name: connection.ops.quote_name(f.column) for f in meta.concrete_fields
    }


@functools.cache
def _statements(vendor: str) -> dict[str, str]:
    # Only names from the models' metadata go into the text; every value is a parameter.
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    json_param = "CAST(%s AS jsonb)" if vendor == "postgresql" else "%s"
    m, mc = _names(InboundMessage)
    c, cc = _names(Conversation)
    return {
        "lock_message": f"SELECT {mc['status']} FROM {m} WHERE {mc['id']} = %s{lock}",  # noqa: S608
        "finish_message": (
            f"UPDATE {m} SET {mc['status']} = %s, {mc['reply']} = %s, {mc['reason']} = %s, {mc['error']} = %s, "  # noqa: S608
            f"{mc['processed_at']} = %s, {mc['attempts']} = %s WHERE {mc['id']} = %s"
        ),
        "lock_conversation": (
            f"SELECT {cc['id']}, {cc['state']} FROM {c} WHERE {cc['channel']} = %s AND {cc['sender']} = %s{lock}"  # noqa: S608
        ),
        "delete_conversation": f"DELETE FROM {c} WHERE {cc['id']} = %s",  # noqa: S608
        "save_conversation": (
            f"INSERT INTO {c} ({cc['channel']}, {cc['sender']}, {cc['state']}, {cc['expires_at']}, {cc['updated_at']}) "  # noqa: S608
            f"VALUES (%s, %s, {json_param}, %s, %s) ON CONFLICT ({cc['channel']}, {cc['sender']}) DO UPDATE SET "
            f"{cc['state']} = EXCLUDED.{cc['state']}, {cc['expires_at']} = EXCLUDED.{cc['expires_at']}, "
            f"{cc['updated_at']} = EXCLUDED.{cc['updated_at']}"
        ),
    }


def _run(name: str, params: list, *, fetch: bool = False):
    with connection.cursor() as cursor:
        cursor.execute(_statements(connection.vendor)[name], params)
        return cursor.fetchone() if fetch else None


def _when(value: dt.datetime | None):
    return connection.ops.adapt_datetimefield_value(value)


def lock_message(pk: int) -> str:
    """Lock a stored message's row for its processing; its status."""
    row = _run("lock_message", [pk], fetch=True)
    if row is None:
        raise InboundMessage.DoesNotExist(pk)
    return row[0]


def finish_message(message: InboundMessage) -> None:
    """Write the outcome fields of a processed message (the same as ``save(update_fields=[...])``)."""
    _run(
        "finish_message",
        [
            message.status,
            message.reply,
            message.reason,
            message.error,
            _when(message.processed_at),
            message.attempts,
            message.pk,
        ],
    )


def lock_conversation(channel: str, sender: str) -> tuple[int, dict] | None:
    """The sender's dialogue row, locked: (id, state), or None. At most one row (unique channel + sender)."""
    row = _run("lock_conversation", [channel, sender], fetch=True)
    if row is None:
        return None
    state = row[1]
    return row[0], json.loads(state) if isinstance(state, str | bytes) else state


def delete_conversation(pk: int) -> None:
    _run("delete_conversation", [pk])


def save_conversation(channel: str, sender: str, state: dict, expires_at: dt.datetime, now: dt.datetime) -> None:
    """Create or replace the sender's dialogue state in one statement."""
    _run("save_conversation", [channel, sender, json.dumps(state), _when(expires_at), _when(now)])
