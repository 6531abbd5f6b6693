"""The answering-machine services: storing once per call, the queue's guards, readings through the one service."""

import pytest
from django.contrib.auth.models import Group, Permission

from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.messaging import voice
from sbyt.messaging.models import VoiceMessage
from sbyt.metering.models import Reading
from sbyt.metering.rules import Reason
from sbyt.users.roles import ROLES
from tests.factories import (
    BranchFactory,
    MeterFactory,
    VoiceMessageFactory,
    WindowFactory,
    aware,
    staff_login,
)

pytestmark = pytest.mark.django_db

OPERATOR = "Оператор контакт-центра"


@pytest.fixture
def operator():
    return staff_login(OPERATOR)


@pytest.fixture
def colleague():
    return staff_login("Специалист по показаниям")


@pytest.fixture
def message():
    return VoiceMessageFactory()


@pytest.fixture
def meter():
    meter = MeterFactory(zones=2, digits=6)
    branch = meter.contract.account.branch
    branch.late_reading_policy = "refuse"
    branch.save()
    WindowFactory(branch=branch, first_day=18, last_day=25)
    WindowFactory(branch=branch, channel="voice", first_day=18, last_day=20)
    return meter


def test_record_once_per_call():
    first, created = voice.record_voice_message(call_id="1.1", caller="79121234567", recording="a.wav", duration=5)
    again, created_again = voice.record_voice_message(call_id="1.1", caller="x", recording="b.wav", duration=9)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and again.recording == "a.wav"
    assert AuditEntry.objects.filter(action="voice.record").count() == 1


def test_record_keeps_only_a_numeric_client_number():
    message, _created = voice.record_voice_message(
        call_id="1.2", caller="79121234567", recording="a.wav", duration=1, account_number="12#"
    )
    assert message.account_number == ""


def test_take_and_the_lock(message, operator, colleague):
    voice.take_voice_message(message=message, actor=operator)
    message.refresh_from_db()
    assert (message.status, message.operator, message.taken_at is not None) == ("in_work", operator, True)
    voice.take_voice_message(message=message, actor=operator)  # one's own again: nothing changes
    assert AuditEntry.objects.filter(action="voice.take").count() == 1
    with pytest.raises(DomainError):
        voice.take_voice_message(message=message, actor=colleague)
    for action in (voice.release_voice_message, voice.finish_voice_message):
        with pytest.raises(DomainError):
            action(message=message, actor=colleague)
    with pytest.raises(DomainError):
        voice.reject_voice_message(message=message, actor=colleague, note="неразборчиво")
    message.refresh_from_db()
    assert (message.status, message.operator) == ("in_work", operator)


def test_acting_on_a_new_message_needs_taking_it(message, operator, meter):
    with pytest.raises(DomainError):
        voice.finish_voice_message(message=message, actor=operator)
    with pytest.raises(DomainError):
        voice.enter_voice_readings(
            message=message, account=meter.contract.account, values={meter.pk: ["1", "2"]}, actor=operator
        )
    assert not Reading.objects.exists()


def test_without_the_permission(message, meter):
    for user in (staff_login(), staff_login("Администратор филиала")):
        with pytest.raises(PermissionDenied):
            voice.take_voice_message(message=message, actor=user)
    message.refresh_from_db()
    assert message.status == "new"


def test_release_returns_it_to_the_queue(message, operator, colleague):
    voice.take_voice_message(message=message, actor=operator)
    voice.release_voice_message(message=message, actor=operator)
    message.refresh_from_db()
    assert (message.status, message.operator) == ("new", None)
    voice.take_voice_message(message=message, actor=colleague)


def test_closed_messages_never_change(message, operator, meter):
    voice.take_voice_message(message=message, actor=operator)
    voice.finish_voice_message(message=message, actor=operator, note="внесено")
    message.refresh_from_db()
    assert (message.status, message.result_note, message.finished_at is not None) == ("done", "внесено", True)
    with pytest.raises(DomainError):
        voice.take_voice_message(message=message, actor=operator)
    with pytest.raises(DomainError):
        voice.reject_voice_message(message=message, actor=operator, note="нет")
    with pytest.raises(DomainError):
        voice.enter_voice_readings(
            message=message, account=meter.contract.account, values={meter.pk: ["1", "2"]}, actor=operator
        )
    assert VoiceMessage.objects.get().status == "done"


def test_reject_needs_a_reason(message, operator):
    voice.take_voice_message(message=message, actor=operator)
    with pytest.raises(DomainError):
        voice.reject_voice_message(message=message, actor=operator, note="  ")
    voice.reject_voice_message(message=message, actor=operator, note="Неразборчиво")
    message.refresh_from_db()
    assert (message.status, message.result_note) == ("rejected", "Неразборчиво")
    assert AuditEntry.objects.filter(action="voice.reject", actor=operator).count() == 1


def test_readings_are_dated_with_the_call(message, operator, meter, time_machine):
    """Left on the 20th (the last voice day), entered on the 23rd: judged as received on the 20th."""
    message.received_at = aware(2026, 11, 20, 18)
    message.save()
    time_machine.move_to(aware(2026, 11, 23, 10))
    voice.take_voice_message(message=message, actor=operator)
    results = voice.enter_voice_readings(
        message=message, account=meter.contract.account, values={meter.pk: ["1500", "700"]}, actor=operator
    )
    assert [r.reason for r in results] == [Reason.ACCEPTED]
    reading = Reading.objects.get()
    assert (reading.channel, reading.t1, reading.t2, reading.source) == ("voice", 1500, 700, f"voice:{message.pk}")
    assert (reading.submitted_by, reading.received_at) == (operator, message.received_at)
    assert list(VoiceMessage.objects.get().readings.all()) == [reading]
    message.refresh_from_db()
    assert message.account_number == meter.contract.account.number
    entry = AuditEntry.objects.get(action="voice.readings")
    assert entry.details["reasons"] == ["accepted"]


def test_a_refused_value_is_reported_per_meter(message, operator, meter):
    voice.take_voice_message(message=message, actor=operator)
    results = voice.enter_voice_readings(
        message=message, account=meter.contract.account, values={meter.pk: ["15x", "7"]}, actor=operator
    )
    assert results[0].reason == Reason.INVALID_VALUE
    assert not Reading.objects.filter(status="accepted").exists()


def test_only_the_clients_own_meters(message, operator, meter):
    stranger = MeterFactory()  # another client's meter
    voice.take_voice_message(message=message, actor=operator)
    with pytest.raises(DomainError):
        voice.enter_voice_readings(
            message=message, account=meter.contract.account, values={stranger.pk: ["5"]}, actor=operator
        )
    with pytest.raises(DomainError):
        voice.enter_voice_readings(message=message, account=meter.contract.account, values={}, actor=operator)
    assert not Reading.objects.exists()


def test_voice_days(time_machine):
    branch = BranchFactory()
    time_machine.move_to(aware(2026, 11, 20, 23))
    assert voice.voice_days(branch).is_open
    time_machine.move_to(aware(2026, 11, 21, 0, tz="Europe/Moscow"))
    assert not voice.voice_days(branch).is_open
    WindowFactory(branch=branch, channel="voice", first_day=21, last_day=21)
    assert voice.voice_days(branch).is_open
    assert voice.voice_days(None).first_day == 18  # no branch at all: the settings


def test_recording_path_stays_inside_the_directory(settings, tmp_path):
    root = tmp_path / "voice"
    (root / "2026").mkdir(parents=True)
    (root / "2026" / "ok.wav").write_bytes(b"RIFF")
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    settings.SBYT_VOICE_RECORDINGS_DIR = root
    assert voice.recording_path(VoiceMessage(recording="2026/ok.wav")) == (root / "2026" / "ok.wav").resolve()
    for bad in ("../secret.wav", str(tmp_path / "secret.wav"), "2026/../../secret.wav", "2026/missing.wav", ""):
        assert voice.recording_path(VoiceMessage(recording=bad)) is None
    assert voice.recording_name("1763540000.42/../x", aware(2026, 11, 19)) == "2026/11/1763540000_42____x"


def test_roles_have_every_permission_they_name():
    for name, codes in ROLES.items():
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.all()}
        assert granted == set(codes), name
    assert Permission.objects.filter(codename="process_voice", content_type__app_label="messaging").exists()
