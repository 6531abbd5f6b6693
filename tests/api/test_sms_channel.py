"""Inbound SMS endpoints with their real wire formats: Kannel's sms-service get-url (query string in, plain-text
reply out) and an aggregator's JSON webhook; the shared secret, replays, malformed requests, a whole dialogue."""

import datetime as dt
import json
import urllib.parse
import uuid

import pytest
import time_machine
from django.test import Client

from sbyt.core.models import AuditEntry
from sbyt.messaging import dialogue
from sbyt.messaging.inbound import try_later_text
from sbyt.messaging.models import Conversation, InboundMessage
from sbyt.metering.models import Reading
from tests.messaging.channels_support import ACCEPTED, INSIDE, two_meters
from tests.messaging.test_inbound import readings_table_refuses_inserts

pytestmark = pytest.mark.django_db

SECRET = "s3cret-Kannel-42"
KANNEL = "/channels/sms/kannel"
WEBHOOK = "/channels/sms/webhook"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.SBYT_SMS_INBOUND_SECRET = SECRET


@pytest.fixture(autouse=True)
def _inside_the_window():
    with time_machine.travel(INSIDE, tick=False):
        yield


@pytest.fixture
def meters(db):
    return two_meters()


NEW = object()


def kannel_url(text: str | bytes, *, msg_id=NEW, sender="+79121234567", receiver="7377", secret=SECRET, **extra):
    """The URL Kannel requests for get-url = "…/channels/sms/kannel?secret=…&id=%I&from=%p&to=%P&text=%b&coding=%c
    &charset=%C": every value URL-encoded by Kannel (bytes as they are for UCS-2)."""
    params = {
        "secret": secret,
        "id": str(uuid.uuid4()) if msg_id is NEW else msg_id,
        "from": sender,
        "to": receiver,
        "text": text,
    }
    params.update(extra)
    query = "&".join(f"{key}={urllib.parse.quote_plus(value)}" for key, value in params.items() if value is not None)
    return f"{KANNEL}?{query}"


def post(client, payload, *, secret=SECRET, raw=None, **headers):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    if secret is not None:
        headers["HTTP_X_SBYT_SECRET"] = secret
    return client.post(WEBHOOK, body, content_type="application/json", **headers)


def new_readings(meter):
    return Reading.objects.filter(meter=meter, period=dt.date(2026, 11, 1))


# -- Kannel get-url ---------------------------------------------------------------------------------------------


def test_kannel_sms_is_answered_in_the_response_body(client, meters):
    response = client.get(kannel_url("ПС 102057522 11638", msg_id="6f1c2a9e-0b7d-4a55-9c1e-2d4b8a7f3e10"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode("utf-8") == ACCEPTED
    message = InboundMessage.objects.get()
    assert message.external_id == "6f1c2a9e-0b7d-4a55-9c1e-2d4b8a7f3e10"
    assert (message.sender, message.receiver, message.text) == ("+79121234567", "7377", "ПС 102057522 11638")
    assert "secret" not in message.raw and message.raw["to"] == "7377"
    reading = new_readings(meters[0]).get()
    assert (reading.t1, reading.channel) == (11638, "sms")


def test_kannel_ucs2_text_in_utf16be_is_decoded(client, meters):
    text = "пс 102057522 11638".encode("utf-16-be")  # a Cyrillic SMS that Kannel did not recode (mo-recode off)
    response = client.get(kannel_url(text, coding="2", charset="UTF-16BE"))
    assert response.content.decode() == ACCEPTED
    assert InboundMessage.objects.get().text == "пс 102057522 11638"


def test_kannel_latin1_text_and_a_sender_without_plus(client, meters):
    response = client.get(kannel_url("PS 102057522 11638".encode("latin-1"), sender="79121234567", charset="GSM"))
    assert response.content.decode() == ACCEPTED
    assert InboundMessage.objects.get().sender == "+79121234567"


def test_kannel_secret_may_come_in_a_header(client, meters):
    response = client.get(kannel_url("ПС 102057522 11638", secret=None), HTTP_X_SBYT_SECRET=SECRET)
    assert response.status_code == 200
    assert new_readings(meters[0]).count() == 1


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
def test_kannel_without_the_right_secret_is_refused_and_nothing_stored(client, meters, secret):
    response = client.get(kannel_url("ПС 102057522 11638", secret=secret))
    assert response.status_code == 403
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert not InboundMessage.objects.exists()
    assert not new_readings(meters[0]).exists()


def test_with_no_secret_configured_everything_is_refused(client, meters, settings):
    settings.SBYT_SMS_INBOUND_SECRET = ""
    assert client.get(kannel_url("ПС 102057522 11638", secret="")).status_code == 403
    assert post(client, {"id": "1", "from": "+79121234567", "text": "x"}, secret="").status_code == 403
    assert not InboundMessage.objects.exists()


def test_kannel_replay_is_answered_once(client, meters):
    url = kannel_url("ПС 102057522 11638", msg_id="kannel-1")
    first, second = client.get(url), client.get(url)
    assert first.content == second.content == ACCEPTED.encode()
    assert InboundMessage.objects.count() == 1
    assert new_readings(meters[0]).count() == 1
    assert AuditEntry.objects.filter(action="reading.submit").count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"text": None},  # no text parameter at all
        {"sender": ""},
        {"sender": None},
        {"msg_id": ""},
        {"msg_id": None},
        {"text": "ПС 102057522 " + "1" * 6000},
        {"msg_id": "x" * 500},
    ],
)
def test_kannel_malformed_request_gets_400_and_nothing_is_stored(client, meters, overrides):
    args = {"text": "ПС 102057522 11638", **overrides}
    url = kannel_url(args.pop("text"), **args)
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode()  # a message, not an empty body
    assert not InboundMessage.objects.exists()
    assert not new_readings(meters[0]).exists()


def test_kannel_empty_sms_is_answered_with_help(client, meters):
    response = client.get(kannel_url(""))
    assert response.status_code == 200
    assert response.content.decode() == dialogue.help_text()


def test_kannel_takes_only_get(client, meters):
    assert client.post(kannel_url("ПС 102057522 11638")).status_code == 405
    assert not InboundMessage.objects.exists()


def test_several_branch_numbers_are_kept(client, meters):
    client.get(kannel_url("ПС 102057522 11638", receiver="7377"))
    client.get(kannel_url("помощь", receiver="+7 (8212) 28-99-99", sender="+79120000001"))
    assert set(InboundMessage.objects.values_list("receiver", flat=True)) == {"7377", "+78212289999"}


def test_a_two_zone_dialogue_over_several_sms(client, meters):
    _one, two = meters
    replies = [
        client.get(kannel_url(text)).content.decode()
        for text in ("ПС 123859", "45055", "23186")  # the client answers each prompt in its own SMS
    ]
    assert replies == [dialogue.zone_prompt(2, 0), dialogue.zone_prompt(2, 1), ACCEPTED]
    reading = new_readings(two).get()
    assert (reading.t1, reading.t2, reading.status) == (45055, 23186, Reading.Status.ACCEPTED)
    assert not Conversation.objects.exists()
    assert InboundMessage.objects.filter(status="processed").count() == 3


def test_an_expired_dialogue_over_sms(client, meters):
    _one, two = meters
    with time_machine.travel(INSIDE, tick=False) as clock:
        client.get(kannel_url("ПС 123859"))
        clock.shift(dialogue.STATE_TTL + dt.timedelta(minutes=1))
        late = client.get(kannel_url("45055 23186"))
    assert late.content.decode() == dialogue.expired_text()
    assert not new_readings(two).exists()


# -- JSON webhook -------------------------------------------------------------------------------------------------


def test_webhook_answers_json(meters):
    client = Client(enforce_csrf_checks=True)  # a gateway has no CSRF token; the endpoint does not need one
    response = post(client, {"id": "agg-1", "from": "+79121234567", "to": "7377", "text": "ПС 102057522 11638"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"reply": ACCEPTED}
    assert ACCEPTED.encode() in response.content  # UTF-8 as is, not \\u escapes
    message = InboundMessage.objects.get()
    assert message.raw == {"id": "agg-1", "from": "+79121234567", "to": "7377", "text": "ПС 102057522 11638"}
    assert new_readings(meters[0]).count() == 1


def test_webhook_secret_as_query_parameter_and_numeric_fields(client, meters):
    body = json.dumps({"id": 1234567, "from": 79121234567, "text": "ПС 102057522 11638"})
    response = client.post(f"{WEBHOOK}?secret={SECRET}", body, content_type="application/json")
    assert response.json() == {"reply": ACCEPTED}
    message = InboundMessage.objects.get()
    assert (message.external_id, message.sender, message.receiver) == ("1234567", "+79121234567", "")


@pytest.mark.parametrize("secret", [None, "", "forged"])
def test_webhook_forged_or_missing_secret_is_refused(client, meters, secret):
    response = post(client, {"id": "agg-1", "from": "+79121234567", "text": "ПС 102057522 11638"}, secret=secret)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not InboundMessage.objects.exists()


def test_webhook_replay_is_answered_once(client, meters):
    payload = {"id": "agg-1", "from": "+79121234567", "to": "7377", "text": "ПС 102057522 11638"}
    first, second = post(client, payload), post(client, payload)
    assert first.json() == second.json() == {"reply": ACCEPTED}
    assert InboundMessage.objects.count() == 1
    assert new_readings(meters[0]).count() == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'"text"',
        b"",
        json.dumps({"from": "+79121234567", "text": "x"}).encode(),  # no id
        json.dumps({"id": "1", "text": "x"}).encode(),  # no sender
        json.dumps({"id": "1", "from": "", "text": "x"}).encode(),  # empty sender
        json.dumps({"id": "1", "from": "+79121234567"}).encode(),  # no text
        json.dumps({"id": "1", "from": "+79121234567", "text": None}).encode(),
        json.dumps({"id": "1", "from": "+79121234567", "text": 12345}).encode(),
        json.dumps({"id": "1", "from": "+79121234567", "text": ["ПС"]}).encode(),
        json.dumps({"id": True, "from": "+79121234567", "text": "x"}).encode(),
        json.dumps({"id": {"a": 1}, "from": "+79121234567", "text": "x"}).encode(),
        json.dumps({"id": "1", "from": "+79121234567", "text": "1" * 6000}).encode(),
        b"[" * 20_000 + b"]" * 20_000,  # nested deeper than the parser goes
    ],
)
def test_webhook_malformed_payload_gets_400_and_nothing_is_stored(client, meters, raw):
    response = post(client, None, raw=raw)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] and body["message"]
    assert not InboundMessage.objects.exists()
    assert not new_readings(meters[0]).exists()


def test_webhook_takes_only_post(client, meters):
    assert client.get(WEBHOOK, HTTP_X_SBYT_SECRET=SECRET).status_code == 405


def test_webhook_processing_failure_is_answered_politely_and_kept(client, meters):
    with readings_table_refuses_inserts():
        response = post(client, {"id": "agg-1", "from": "+79121234567", "text": "ПС 102057522 11638"})
    assert response.status_code == 200
    assert response.json() == {"reply": try_later_text()}
    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.FAILED and message.text == "ПС 102057522 11638"
    assert not new_readings(meters[0]).exists()
