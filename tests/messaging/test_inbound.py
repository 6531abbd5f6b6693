"""The inbound service: stored first, answered once, dialogue state per channel and sender, failures kept and
retried, and the ``inbound`` / ``inbound_retry`` commands."""

import datetime as dt
from contextlib import contextmanager
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from sbyt.core.errors import DomainError
from sbyt.core.models import AuditEntry
from sbyt.messaging import dialogue
from sbyt.messaging.inbound import MAX_TEXT_LENGTH, purge_conversations, receive_text, retry_message, try_later_text
from sbyt.messaging.models import Conversation, InboundMessage
from sbyt.messaging.smslength import fits_one_sms
from sbyt.metering.models import Reading
from tests.factories import ContractFactory, MeterFactory, ReadingFactory, WindowFactory, aware

pytestmark = pytest.mark.django_db

INSIDE = aware(2026, 11, 20)
ACCEPTED = "Показания приняты. Спасибо."
PHONE = "+79121234567"


@pytest.fixture
def meters():
    """A one-zone meter on contract 102057522 and a two-zone one on 123859, both with October's reading."""
    one = MeterFactory(contract=ContractFactory(number="102057522"))
    two = MeterFactory(contract=ContractFactory(number="123859"), zones=2, digits=6)
    WindowFactory(branch=one.contract.account.branch, first_day=18, last_day=25)
    ReadingFactory(meter=one, t1=11000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    ReadingFactory(meter=two, t1=45000, t2=23000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    return one, two


def sms(text, external_id, sender=PHONE, **kwargs):
    return receive_text(channel="sms", external_id=external_id, sender=sender, receiver="7377", text=text, **kwargs)


def new_readings(meter):
    return Reading.objects.filter(meter=meter, period=dt.date(2026, 11, 1))


@contextmanager
def readings_table_refuses_inserts():
    """A real database failure while processing (not a mock): a trigger makes every reading insert fail."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
                " LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON metering_reading"
                " FOR EACH ROW EXECUTE FUNCTION test_refuse()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse BEFORE INSERT ON metering_reading"
                " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("DROP TRIGGER test_refuse ON metering_reading")
                cursor.execute("DROP FUNCTION test_refuse()")
            else:
                cursor.execute("DROP TRIGGER test_refuse")


@time_machine.travel(INSIDE, tick=False)
def test_one_sms_is_stored_processed_and_answered(meters):
    result = sms("ПС 102057522 11638", "k-1")

    assert result.reply == ACCEPTED
    assert not result.duplicate
    message = InboundMessage.objects.get()
    assert (message.channel, message.external_id, message.sender, message.receiver) == ("sms", "k-1", PHONE, "7377")
    assert message.status == InboundMessage.Status.PROCESSED
    assert (message.reply, message.reason, message.error) == (ACCEPTED, "accepted", "")
    assert message.processed_at is not None and message.attempts == 1
    reading = new_readings(meters[0]).get()
    assert (reading.t1, reading.channel, reading.status) == (11638, "sms", Reading.Status.ACCEPTED)
    assert not Conversation.objects.exists()
    # The message row is the record of its processing; the reading has its own audit entry.
    entry = AuditEntry.objects.get(action="reading.submit")
    assert entry.actor_label == f"sms:{PHONE}" and entry.target_id == str(reading.pk)
    assert entry.details["reason"] == "accepted"
    assert not AuditEntry.objects.filter(action="inbound.process").exists()


@time_machine.travel(INSIDE, tick=False)
def test_a_replay_is_answered_once_with_the_stored_reply(meters):
    first = sms("ПС 102057522 11638", "k-1")
    # The gateway retries the same message id (even with other text, the stored message is what counts).
    again = sms("ПС 102057522 99999", "k-1")

    assert again.duplicate and again.reply == first.reply == ACCEPTED
    assert again.message.pk == first.message.pk
    assert InboundMessage.objects.count() == 1
    assert new_readings(meters[0]).count() == 1
    assert new_readings(meters[0]).get().t1 == 11638
    assert AuditEntry.objects.filter(action="reading.submit").count() == 1


@time_machine.travel(INSIDE, tick=False)
def test_the_same_id_on_another_channel_is_another_message(meters):
    sms("ПС 102057522 11638", "1")
    receive_text(channel="telegram", external_id="1", sender="555", text="помощь")
    assert InboundMessage.objects.count() == 2


@time_machine.travel(INSIDE, tick=False)
def test_a_message_stored_but_never_processed_is_processed_by_its_replay(meters):
    stored = InboundMessage.objects.create(
        channel="sms", external_id="k-9", sender=PHONE, text="ПС 102057522 11638", received_at=INSIDE
    )
    result = sms("ПС 102057522 11638", "k-9")
    assert result.duplicate and result.reply == ACCEPTED
    stored.refresh_from_db()
    assert stored.status == InboundMessage.Status.PROCESSED
    assert new_readings(meters[0]).count() == 1


def test_two_zone_dialogue_keeps_state_per_sender(meters):
    _one, two = meters
    with time_machine.travel(INSIDE, tick=False) as clock:
        first = sms("ПС 123859", "a-1")
        assert first.reply == dialogue.zone_prompt(2, 0)
        conversation = Conversation.objects.get()
        assert (conversation.channel, conversation.sender) == ("sms", PHONE)
        assert conversation.state["contract"] == "123859"
        assert conversation.expires_at == INSIDE + dialogue.STATE_TTL

        # Another sender's message does not touch this dialogue.
        other = sms("45055", "b-1", sender="+79120000000")
        assert other.reply == dialogue.help_text()

        clock.shift(dt.timedelta(minutes=2))
        second = sms("45055", "a-2")
        assert second.reply == dialogue.zone_prompt(2, 1)
        assert Conversation.objects.get().expires_at == INSIDE + dt.timedelta(minutes=2) + dialogue.STATE_TTL
        third = sms("23186", "a-3")

    assert third.reply == ACCEPTED
    reading = new_readings(two).get()
    assert (reading.t1, reading.t2) == (45055, 23186)
    assert not Conversation.objects.exists()
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"processed"}


def test_an_expired_dialogue_is_not_continued(meters):
    _one, two = meters
    with time_machine.travel(INSIDE, tick=False) as clock:
        sms("ПС 123859", "a-1")
        clock.shift(dialogue.STATE_TTL + dt.timedelta(seconds=1))
        late = sms("45055 23186", "a-2")

    assert late.reply == dialogue.expired_text()
    assert not new_readings(two).exists()
    assert not Conversation.objects.exists()
    assert InboundMessage.objects.get(external_id="a-2").status == InboundMessage.Status.PROCESSED


def test_a_processing_failure_keeps_the_message_as_failed_and_writes_nothing_else(meters):
    _one, two = meters
    with time_machine.travel(INSIDE, tick=False):
        sms("ПС 123859", "a-1")
        state = Conversation.objects.get().state
        audited = set(AuditEntry.objects.values_list("pk", flat=True))
        with readings_table_refuses_inserts():
            failed = sms("45055 23186", "a-2")
            replay = sms("45055 23186", "a-2")

        assert failed.reply == replay.reply == try_later_text()
        assert fits_one_sms(failed.reply)
        message = InboundMessage.objects.get(external_id="a-2")
        assert message.status == InboundMessage.Status.FAILED
        assert "disk full" in message.error
        assert message.text == "45055 23186"  # nothing the client sent is lost
        assert not new_readings(two).exists()
        assert Conversation.objects.get().state == state  # the dialogue step rolled back too
        added = AuditEntry.objects.exclude(pk__in=audited)
        assert list(added.values_list("action", "target_id")) == [("inbound.fail", str(message.pk))]

        # Once the cause is fixed, an operator retries it: the reading goes in, the dialogue ends.
        result = retry_message(message=message, actor="operator")

    assert result.reply == ACCEPTED
    message.refresh_from_db()
    assert (message.status, message.error, message.attempts) == (InboundMessage.Status.PROCESSED, "", 2)
    assert new_readings(two).count() == 1
    assert not Conversation.objects.exists()
    assert AuditEntry.objects.get(action="inbound.retry").actor_label == "operator"


@time_machine.travel(INSIDE, tick=False)
def test_retrying_a_processed_message_changes_nothing(meters):
    result = sms("ПС 102057522 11638", "k-1")
    again = retry_message(message=result.message, actor="operator")
    assert again.reply == ACCEPTED
    assert new_readings(meters[0]).count() == 1
    assert InboundMessage.objects.get().attempts == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"channel": "pigeon"}, "bad_channel"),
        ({"external_id": ""}, "bad_id"),
        ({"external_id": "x" * 129}, "bad_id"),
        ({"sender": ""}, "bad_sender"),
        ({"sender": "   "}, "bad_sender"),
        ({"receiver": "7" * 129}, "bad_receiver"),
        ({"text": "1" * (MAX_TEXT_LENGTH + 1)}, "too_long"),
    ],
)
def test_malformed_input_is_refused_and_nothing_is_stored(kwargs, code):
    args = {"channel": "sms", "external_id": "m-1", "sender": PHONE, "text": "ПС 102057522 11638", **kwargs}
    with pytest.raises(DomainError) as refused:
        receive_text(**args)
    assert refused.value.code == code
    assert not InboundMessage.objects.exists()
    assert not AuditEntry.objects.exists()


@time_machine.travel(INSIDE, tick=False)
def test_text_the_database_cannot_store_is_cleaned(meters):
    result = sms("ПС 102057522\x00 11638\ud800", "k-1", raw={"text": "\x00\udfff", "\x00k": ["\ud800"]})
    message = InboundMessage.objects.get()
    assert message.text == "ПС 102057522 11638\ufffd"
    assert message.raw == {"text": "\ufffd", "k": ["\ufffd"]}
    assert result.message.status == InboundMessage.Status.PROCESSED


def test_long_expired_dialogues_are_purged():
    now = aware(2026, 11, 20)
    Conversation.objects.create(channel="sms", sender="a", state={}, expires_at=now - dt.timedelta(days=2))
    Conversation.objects.create(channel="sms", sender="b", state={}, expires_at=now - dt.timedelta(hours=1))
    assert purge_conversations(now=now) == 1
    assert list(Conversation.objects.values_list("sender", flat=True)) == ["b"]


@time_machine.travel(INSIDE, tick=False)
def test_the_inbound_command_runs_the_full_path(meters):
    out = StringIO()
    call_command(
        "inbound", "sms", "--from", "8 912 123-45-67", "--text", "ПС 102057522 11638", "--id", "c1", stdout=out
    )
    assert out.getvalue().strip() == ACCEPTED
    assert InboundMessage.objects.get().sender == PHONE
    assert new_readings(meters[0]).count() == 1

    again, err = StringIO(), StringIO()
    call_command("inbound", "sms", "--from", PHONE, "--text", "x", "--id", "c1", stdout=again, stderr=err)
    assert again.getvalue().strip() == ACCEPTED
    assert "already received" in err.getvalue()
    assert new_readings(meters[0]).count() == 1

    out = StringIO()
    call_command("inbound", "telegram", "--from", "4242", "--text", "помощь", stdout=out)
    assert out.getvalue().strip() == dialogue.help_text()


def test_the_inbound_command_refuses_bad_input():
    with pytest.raises(CommandError):
        call_command("inbound", "sms", "--from", " ", "--text", "ПС 1 2")
    with pytest.raises(CommandError):
        call_command("inbound", "pigeon", "--from", PHONE, "--text", "ПС 1 2")
    assert not InboundMessage.objects.exists()


def test_the_retry_command_processes_failed_messages(meters):
    with time_machine.travel(INSIDE, tick=False):
        with readings_table_refuses_inserts():
            sms("ПС 102057522 11638", "k-1")
        assert InboundMessage.objects.get().status == InboundMessage.Status.FAILED
        out = StringIO()
        call_command("inbound_retry", stdout=out)
    assert "processed 1, failed again 0" in out.getvalue()
    assert InboundMessage.objects.get().status == InboundMessage.Status.PROCESSED
    assert new_readings(meters[0]).count() == 1


def test_retry_refuses_letters_of_the_email_robot():
    from django.utils import timezone

    from sbyt.messaging.inbound import retry_message

    letter = InboundMessage.objects.create(
        channel="email",
        external_id="<x@example.ru>",
        sender="a@example.ru",
        text="",
        raw={},
        status="failed",
        received_at=timezone.now(),
    )
    with pytest.raises(DomainError):
        retry_message(message=letter, actor="test")
    letter.refresh_from_db()
    assert letter.status == "failed"
