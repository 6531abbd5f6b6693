"""VK Callback API channel with its real wire format: the confirmation handshake, the secret key in every event,
message_new in, messages.send out (form POST) to a local fake VK API; replays answered once, malformed events
refused, the API being down."""

import datetime as dt
import json
import urllib.parse

import pytest
import time_machine
from django.test import Client

from sbyt.messaging.models import InboundMessage, OutboundMessage
from sbyt.messaging.services import deliver
from sbyt.metering.models import Reading
from tests.messaging.channels_support import ACCEPTED, INSIDE, two_meters
from tests.messaging.test_telegram import FakeApi

pytestmark = pytest.mark.django_db

URL = "/channels/vk/callback"
GROUP = 218456123
SECRET = "vkSecretKey42"
CONFIRMATION = "3f1a5b7c"
ACCESS_TOKEN = "vk1.a.community-token"
PEER = 987654


@pytest.fixture
def fake_api():
    api = FakeApi()
    api.answer = (200, {"response": 501})
    yield api
    api.close()


@pytest.fixture(autouse=True)
def _vk(settings, fake_api):
    settings.SBYT_VK_GROUP_ID = str(GROUP)
    settings.SBYT_VK_CONFIRMATION = CONFIRMATION
    settings.SBYT_VK_SECRET = SECRET
    settings.SBYT_VK_ACCESS_TOKEN = ACCESS_TOKEN
    settings.SBYT_VK_API_URL = fake_api.url + "/method"
    settings.SBYT_VK_API_VERSION = "5.199"
    settings.SBYT_MESSENGER_TIMEOUT = 2


@pytest.fixture(autouse=True)
def _inside_the_window():
    with time_machine.travel(INSIDE, tick=False):
        yield


@pytest.fixture
def meters(db):
    return two_meters()


def message_new(event_id: str, text: str = "", *, peer=PEER, cmid=1, secret=SECRET, **message) -> dict:
    """A message_new event as the Callback API (v5.199) sends it."""
    return {
        "group_id": GROUP,
        "type": "message_new",
        "event_id": event_id,
        "v": "5.199",
        "object": {
            "message": {
                "date": 1794906000,
                "from_id": peer,
                "id": 0,
                "out": 0,
                "version": 10000123,
                "attachments": [],
                "conversation_message_id": cmid,
                "fwd_messages": [],
                "important": False,
                "is_hidden": False,
                "peer_id": peer,
                "random_id": 0,
                "text": text,
                **message,
            },
            "client_info": {"button_actions": ["text"], "keyboard": True, "inline_keyboard": True, "lang_id": 0},
        },
        "secret": secret,
    }


def post(client, payload=None, *, raw: bytes | None = None, capture=None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    if capture is None:
        return client.post(URL, body, content_type="application/json")
    with capture(execute=True):
        return client.post(URL, body, content_type="application/json")


def sent(api) -> list[dict]:
    return [dict(urllib.parse.parse_qsl(r["body"].decode())) for r in api.requests]


def new_readings(meter):
    return Reading.objects.filter(meter=meter, period=dt.date(2026, 11, 1))


def nothing_stored():
    return not InboundMessage.objects.exists() and not OutboundMessage.objects.exists()


# -- confirmation and secret -----------------------------------------------------------------------------------


def test_confirmation_answers_the_string_as_plain_text(meters):
    response = post(Client(), {"type": "confirmation", "group_id": GROUP})
    assert response.status_code == 200 and response.content.decode() == CONFIRMATION
    assert response["Content-Type"].startswith("text/plain")
    assert nothing_stored()


@pytest.mark.parametrize("group", [GROUP + 1, str(GROUP), None])
def test_confirmation_for_another_community_is_refused(meters, group):
    response = post(Client(), {"type": "confirmation", "group_id": group})
    assert response.status_code == 403 and CONFIRMATION not in response.content.decode()


def test_confirmation_not_configured_is_refused(settings, meters):
    settings.SBYT_VK_CONFIRMATION = ""
    assert post(Client(), {"type": "confirmation", "group_id": GROUP}).status_code == 403


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", 42])
def test_a_forged_secret_is_refused_and_nothing_stored(meters, fake_api, secret, django_capture_on_commit_callbacks):
    payload = message_new("ev1", "ПС 102057522 11638", secret=secret)
    if secret is None:
        del payload["secret"]
    response = post(Client(), payload, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 403
    assert nothing_stored() and fake_api.requests == [] and not new_readings(meters[0]).exists()


def test_an_event_for_another_community_is_refused(meters, fake_api):
    payload = {**message_new("ev1", "ПС 102057522 11638"), "group_id": GROUP + 1}
    assert post(Client(), payload).status_code == 403 and nothing_stored()


def test_without_a_configured_secret_every_event_is_refused(settings, meters):
    settings.SBYT_VK_SECRET = ""
    assert post(Client(), message_new("ev1", "ПС 102057522 11638", secret="")).status_code == 403
    assert nothing_stored()


# -- readings --------------------------------------------------------------------------------------------------


def test_a_reading_is_accepted_and_the_reply_sent_with_messages_send(
    meters, fake_api, django_capture_on_commit_callbacks
):
    response = post(Client(), message_new("a1b2c3", "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200 and response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    reading = new_readings(meters[0]).get()
    assert reading.t1 == 11638 and reading.channel == "vk"
    [call] = fake_api.requests
    assert call["path"] == "/method/messages.send"
    assert call["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    out = OutboundMessage.objects.get()
    assert sent(fake_api) == [
        {
            "access_token": ACCESS_TOKEN,
            "v": "5.199",
            "peer_id": str(PEER),
            "random_id": str(out.pk),
            "message": ACCEPTED,
        }
    ]
    assert (out.channel, out.to, out.status, out.external_id) == ("vk", str(PEER), "sent", "501")
    message = InboundMessage.objects.get(channel="vk", external_id="a1b2c3")
    assert message.sender == str(PEER) and message.receiver == str(GROUP) and "secret" not in message.raw


def test_a_replayed_event_is_answered_once(meters, fake_api, django_capture_on_commit_callbacks):
    client = Client()
    for _ in range(3):  # VK repeats an event it did not get "ok" for in time
        response = post(client, message_new("rep1", "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
        assert response.content == b"ok"
    assert new_readings(meters[0]).count() == 1
    assert len(fake_api.requests) == 1 and OutboundMessage.objects.count() == 1


def test_without_event_id_the_conversation_message_id_identifies_the_message(
    meters, fake_api, django_capture_on_commit_callbacks
):
    payload = message_new("", "ПС 102057522 11638", cmid=17)
    del payload["event_id"]
    for _ in range(2):
        assert post(Client(), payload, capture=django_capture_on_commit_callbacks).content == b"ok"
    assert InboundMessage.objects.get().external_id == f"{GROUP}:{PEER}:17"
    assert len(fake_api.requests) == 1


def test_a_two_zone_dialogue_over_several_events_gives_one_reading(
    meters, fake_api, django_capture_on_commit_callbacks
):
    client = Client()
    for n, text in enumerate(("PS 123859", "45100", "23050"), start=1):
        post(client, message_new(f"dz{n}", text, cmid=n), capture=django_capture_on_commit_callbacks)
    reading = new_readings(meters[1]).get()
    assert (reading.t1, reading.t2, reading.status) == (45100, 23050, Reading.Status.ACCEPTED)
    texts = [call["message"] for call in sent(fake_api)]
    assert len(texts) == 3 and texts[-1] == ACCEPTED
    assert len({call["random_id"] for call in sent(fake_api)}) == 3


def test_a_sticker_gets_the_help(meters, fake_api, django_capture_on_commit_callbacks):
    sticker = [{"type": "sticker", "sticker": {"product_id": 1, "sticker_id": 9}}]
    assert (
        post(Client(), message_new("st1", attachments=sticker), capture=django_capture_on_commit_callbacks).content
        == b"ok"
    )
    [call] = sent(fake_api)
    assert "ПС" in call["message"]


@pytest.mark.parametrize("kind", ["message_reply", "message_edit", "message_typing_state", "group_join"])
def test_other_events_are_acknowledged_only(meters, fake_api, kind, django_capture_on_commit_callbacks):
    payload = {**message_new("o1", "ПС 102057522 11638"), "type": kind}
    assert post(Client(), payload, capture=django_capture_on_commit_callbacks).content == b"ok"
    assert nothing_stored() and fake_api.requests == []


def test_a_message_from_a_community_is_ignored(meters, fake_api, django_capture_on_commit_callbacks):
    payload = message_new("c1", "ПС 102057522 11638")
    payload["object"]["message"]["from_id"] = -GROUP
    assert post(Client(), payload, capture=django_capture_on_commit_callbacks).content == b"ok"
    assert nothing_stored()


def _broken(mutate):
    payload = message_new("m1", "ПС 102057522 11638")
    mutate(payload)
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'["message_new"]',
        b'{"group_id": 218456123, "secret": "vkSecretKey42"}',  # no type
        b"\xff\xfe",
        b"[" * 100000,
        _broken(lambda p: p.pop("object")),
        _broken(lambda p: p["object"].pop("message")),
        _broken(lambda p: p["object"]["message"].pop("peer_id")),
        _broken(lambda p: p["object"]["message"].update(peer_id="987654")),
        _broken(lambda p: p["object"]["message"].update(text=["ПС"])),
        _broken(lambda p: p["object"]["message"].update(text="1" * 6000)),
    ],
)
def test_malformed_events_get_400_and_nothing_is_stored(meters, fake_api, raw, django_capture_on_commit_callbacks):
    response = post(Client(), raw=raw, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert nothing_stored() and fake_api.requests == []


# -- the VK API being down or refusing -------------------------------------------------------------------------


def test_the_api_down_the_reading_is_kept_and_the_reply_retried_with_the_same_random_id(
    meters, fake_api, django_capture_on_commit_callbacks
):
    fake_api.answer = (503, b"Service Unavailable")
    post(Client(), message_new("dn1", "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
    assert new_readings(meters[0]).count() == 1 and InboundMessage.objects.get().status == "processed"
    out = OutboundMessage.objects.get()
    assert out.status == "queued" and "503" in out.error and ACCESS_TOKEN not in out.error
    fake_api.answer = (200, {"response": 777})
    assert deliver(out.pk) == "sent"
    first, second = sent(fake_api)
    assert first["random_id"] == second["random_id"] == str(out.pk)


def test_an_api_error_answer_is_recorded(meters, fake_api, django_capture_on_commit_callbacks):
    fake_api.answer = (
        200,
        {"error": {"error_code": 901, "error_msg": "Can't send messages for users without permission"}},
    )
    post(Client(), message_new("er1", "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
    out = OutboundMessage.objects.get()
    assert out.status == "queued" and "901" in out.error and ACCESS_TOKEN not in out.error
    assert new_readings(meters[0]).count() == 1


def test_the_api_unreachable_is_recorded(meters, fake_api, django_capture_on_commit_callbacks):
    fake_api.close()
    post(Client(), message_new("un1", "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
    out = OutboundMessage.objects.get()
    assert out.status == "queued" and "unreachable" in out.error
    assert new_readings(meters[0]).count() == 1
