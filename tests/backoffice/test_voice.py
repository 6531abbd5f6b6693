"""The answering-machine queue in the staff workspace: the queue, taking, listening, entering readings, closing."""

import pytest
import time_machine

from sbyt.core.models import AuditEntry
from sbyt.messaging.models import VoiceMessage
from sbyt.metering.models import Reading
from sbyt.users.roles import ensure_roles
from tests.factories import MeterFactory, VoiceMessageFactory, WindowFactory, aware, staff_login
from tests.messaging.ivr_fake import agi_server, call, data, key, record, voice_dir, write_wav

from .conftest import OPERATOR, SPECIALIST, as_user

__all__ = ["agi_server", "voice_dir"]  # fixtures, imported for pytest

QUEUE = "/staff/voice/"


def url(message, action=""):
    return f"/staff/voice/{message.pk}/{action + '/' if action else ''}"


@pytest.fixture
def message(db, voice_dir):
    message = VoiceMessageFactory()
    write_wav(voice_dir / message.recording, 2)
    return message


@pytest.fixture
def taken(message, operator):
    from sbyt.messaging.voice import take_voice_message

    return take_voice_message(message=message, actor=operator)


@pytest.fixture
def colleague(db):
    return staff_login(OPERATOR)


# -- permissions -------------------------------------------------------------------------------------------------


def test_anonymous_and_clients_are_sent_to_login(client, client_user, message):
    for c in (client, as_user(type(client)(), client_user)):
        for path in (QUEUE, url(message), url(message, "recording")):
            response = c.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/staff/login/")
        assert c.post(url(message, "take")).status_code == 302
    assert VoiceMessage.objects.get().status == "new"


@pytest.mark.parametrize("role", ["no_role_staff", "branch_admin"])
def test_staff_without_the_permission_get_403(client, request, message, role):
    as_user(client, request.getfixturevalue(role))
    for path in (QUEUE, url(message), url(message, "recording")):
        assert client.get(path).status_code == 403
    for action in ("take", "done", "release", "readings"):
        assert client.post(url(message, action)).status_code == 403
    assert client.post(url(message, "reject"), {"note": "нет"}).status_code == 403
    assert VoiceMessage.objects.get().status == "new"


def test_another_operators_message_cannot_be_touched(client, taken, colleague, account, meter):
    as_user(client, colleague)
    page = client.get(url(taken)).content.decode()
    assert 'id="voice-taken"' in page and 'id="voice-readings-form"' not in page
    for action, payload in (
        ("take", {}),
        ("release", {}),
        ("done", {}),
        ("reject", {"note": "неразборчиво"}),
        ("readings", {"account": account.number, f"m{meter.pk}-z1": "1500"}),
    ):
        response = client.post(url(taken, action), payload, follow=True)
        assert [m.level_tag for m in response.context["messages"]] == ["error"], action
    message = VoiceMessage.objects.get()
    assert (message.status, message.operator_id) == ("in_work", taken.operator_id)
    assert not Reading.objects.filter(channel="voice").exists()


def test_views_need_post(client, operator, message):
    as_user(client, operator)
    for action in ("take", "release", "done", "reject", "readings"):
        assert client.get(url(message, action)).status_code == 405


# -- the queue ---------------------------------------------------------------------------------------------------


def test_queue_oldest_first_open_only(client, operator, colleague, voice_dir):
    late = VoiceMessageFactory(received_at=aware(2026, 11, 20, 9))
    early = VoiceMessageFactory(received_at=aware(2026, 11, 18, 9))
    taken = VoiceMessageFactory(received_at=aware(2026, 11, 19, 9), status="in_work", operator=colleague)
    done = VoiceMessageFactory(received_at=aware(2026, 11, 17, 9), status="done")
    response = as_user(client, operator).get(QUEUE)
    assert response.status_code == 200
    assert [m.pk for m in response.context["page"].object_list] == [early.pk, taken.pk, late.pk]
    html = response.content.decode()
    assert f'id="voice-{done.pk}"' not in html
    assert AuditEntry.objects.filter(action="voice_queue.view", actor=operator).exists()


def test_empty_queue_and_home_tile(client, specialist):
    as_user(client, specialist)
    assert 'id="no-voice"' in client.get(QUEUE).content.decode()
    assert 'id="tile-voice"' in client.get("/staff/").content.decode()


# -- listening ---------------------------------------------------------------------------------------------------


def test_recording_is_streamed_as_wav(client, operator, message, voice_dir):
    response = as_user(client, operator).get(url(message, "recording"))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"].startswith("inline")
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content) == (voice_dir / message.recording).read_bytes()
    assert AuditEntry.objects.filter(action="voice_message.listen", actor=operator, kind="view").count() == 1


def test_missing_recording_is_404(client, operator, message, voice_dir):
    (voice_dir / message.recording).unlink()
    as_user(client, operator)
    assert client.get(url(message, "recording")).status_code == 404
    assert 'id="no-recording"' in client.get(url(message)).content.decode()
    assert client.get("/staff/voice/999999/recording/").status_code == 404


@pytest.mark.parametrize("path", ["../secret.wav", "{root}/../secret.wav", "2026/../../secret.wav"])
def test_no_path_traversal(client, operator, voice_dir, path):
    write_wav(voice_dir.parent / "secret.wav")
    message = VoiceMessageFactory(recording=path.format(root=voice_dir))
    assert as_user(client, operator).get(url(message, "recording")).status_code == 404


# -- processing --------------------------------------------------------------------------------------------------


def test_take_then_the_form_for_the_typed_client(client, operator, message, account, meter):
    message.account_number = account.number
    message.save()
    as_user(client, operator)
    response = client.post(url(message, "take"))
    assert response.status_code == 302 and response["Location"] == url(message)
    message.refresh_from_db()
    assert (message.status, message.operator) == ("in_work", operator)
    html = client.get(url(message)).content.decode()
    assert f'name="m{meter.pk}-z1"' in html
    assert "1000" in html  # the previous accepted value (RD-11)
    assert AuditEntry.objects.filter(action="voice_message.view", actor=operator).exists()


def test_find_another_client(client, operator, taken, account, meter):
    as_user(client, operator)
    assert 'id="voice-no-account"' in client.get(url(taken), {"account": "999"}).content.decode()
    assert f'name="m{meter.pk}-z1"' in client.get(url(taken), {"account": account.number}).content.decode()


def test_unknown_client_number(client, operator, taken):
    response = as_user(client, operator).post(url(taken, "readings"), {"account": "000"}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert not Reading.objects.filter(channel="voice").exists()


def test_nothing_entered(client, operator, taken, account):
    response = as_user(client, operator).post(url(taken, "readings"), {"account": account.number}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]


def test_reject_needs_a_reason(client, operator, taken):
    as_user(client, operator)
    client.post(url(taken, "reject"), {"note": " "})
    assert VoiceMessage.objects.get().status == "in_work"
    response = client.post(url(taken, "reject"), {"note": "Неразборчиво"})
    assert response["Location"] == QUEUE
    message = VoiceMessage.objects.get()
    assert (message.status, message.result_note) == ("rejected", "Неразборчиво")
    assert f'id="voice-{message.pk}"' not in client.get(QUEUE).content.decode()


def test_release(client, operator, taken):
    assert as_user(client, operator).post(url(taken, "release"))["Location"] == QUEUE
    assert VoiceMessage.objects.get().status == "new"


def test_a_refused_value_is_shown_for_its_meter(client, operator, taken, account, meter):
    as_user(client, operator)
    with time_machine.travel(aware(2026, 11, 19, 15), tick=False):
        response = client.post(url(taken, "readings"), {"account": account.number, f"m{meter.pk}-z1": "900"})
    assert response.status_code == 200
    assert f'id="result-{meter.pk}"' in response.content.decode()
    assert Reading.objects.get(channel="voice").status == "rejected"  # lower than the previous 1000
    assert VoiceMessage.objects.get().status == "in_work"


# -- the whole way -----------------------------------------------------------------------------------------------


def test_recorded_taken_entered_done(client, agi_server, voice_dir, transactional_db):
    meter = MeterFactory(zones=2, digits=6)
    account = meter.contract.account
    WindowFactory(branch=account.branch, first_day=18, last_day=25)
    WindowFactory(branch=account.branch, channel="voice", first_day=18, last_day=20)
    ensure_roles()  # a transactional test may run after another one flushed the groups of the data migration
    specialist = staff_login(SPECIALIST)

    with time_machine.travel(aware(2026, 11, 20, 19), tick=True):  # the caller, on the last voice day
        call(agi_server, [key("3"), data(account.number), record(6)])
    message = VoiceMessage.objects.get()
    assert (message.account_number, message.duration, message.status) == (account.number, 6, "new")

    as_user(client, specialist)
    with time_machine.travel(aware(2026, 11, 23, 10), tick=True):  # the operator, after the voice days
        assert f'id="voice-{message.pk}"' in client.get(QUEUE).content.decode()
        assert client.post(url(message, "take")).status_code == 302
        assert client.get(url(message, "recording")).status_code == 200
        response = client.post(
            url(message, "readings"),
            {"account": account.number, f"m{meter.pk}-z1": "1500", f"m{meter.pk}-z2": "700"},
        )
        assert response.status_code == 200
        assert "Показания приняты. Спасибо." in response.content.decode()
        assert client.post(url(message, "done"), {"note": "внесено"})["Location"] == QUEUE

    reading = Reading.objects.get()
    assert (reading.channel, reading.status, reading.t1, reading.t2) == ("voice", "accepted", 1500, 700)
    assert (reading.submitted_by, reading.source, reading.received_at) == (
        specialist,
        f"voice:{message.pk}",
        message.received_at,
    )
    message.refresh_from_db()
    assert (message.status, message.operator, message.result_note) == ("done", specialist, "внесено")
    assert list(message.readings.all()) == [reading]
    actions = list(AuditEntry.objects.filter(kind="write").order_by("pk").values_list("action", flat=True))
    assert actions == ["voice.record", "voice.take", "reading.submit", "voice.readings", "voice.done"]
    assert f'id="voice-{message.pk}"' not in client.get(QUEUE).content.decode()
