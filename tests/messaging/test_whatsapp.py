"""The WhatsApp Cloud API webhook with its real wire format: the verify-token handshake, notifications signed with
X-Hub-Signature-256, replies out through /{phone-number-id}/messages to a local fake Graph API. Forged signatures,
replays, malformed notifications, several messages in one notification, a two-zone dialogue, the API down."""

import copy
import hashlib
import hmac
import json

import pytest
import time_machine

from sbyt.core.models import AuditEntry
from sbyt.messaging import dialogue, services
from sbyt.messaging.channels import whatsapp
from sbyt.messaging.inbound import try_later_text
from sbyt.messaging.models import Conversation, InboundMessage, OutboundMessage
from sbyt.metering.models import Reading
from tests.messaging.channels_support import ACCEPTED, INSIDE, two_meters
from tests.messaging.test_inbound import readings_table_refuses_inserts
from tests.messaging.test_viber import FakeApi, closed_port_url, new_readings

pytestmark = pytest.mark.django_db


@pytest.fixture
def meters(db):
    return two_meters()


VERIFY = "verify-me-7f3a"
SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # the shape of a Meta app secret
ACCESS = "EAAG-test-access-token"
NUMBER_ID = "106540352242922"
URL = "/channels/whatsapp/webhook"
WA_ID = "79121234567"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SBYT_WHATSAPP_VERIFY_TOKEN = VERIFY
    settings.SBYT_WHATSAPP_APP_SECRET = SECRET
    settings.SBYT_WHATSAPP_ACCESS_TOKEN = ACCESS
    settings.SBYT_WHATSAPP_PHONE_NUMBER_ID = "999000111"


@pytest.fixture(autouse=True)
def _inside_the_window():
    with time_machine.travel(INSIDE, tick=False):
        yield


@pytest.fixture
def api(settings):
    answer = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": WA_ID, "wa_id": WA_ID}],
        "messages": [{"id": "wamid.HBgLNzkxMjEyMzQ1NjcVAgARGBJBQkNERUYxMjM0NTY3ODkwAA=="}],
    }
    with FakeApi(answer) as fake:
        settings.SBYT_WHATSAPP_API_URL = fake.url + "/v21.0"
        yield fake


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


SIGNED = object()


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """POST a notification as Meta does (signed; Meta escapes non-ASCII as \\uXXXX); the on-commit work runs."""

    def send(payload=None, *, raw: bytes | None = None, signature=SIGNED):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {}
        if signature is not None:
            headers["HTTP_X_HUB_SIGNATURE_256"] = sign(body) if signature is SIGNED else signature
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, body, content_type="application/json", **headers)

    return send


_IDS = iter(range(1, 100_000))


def text_message(text="ПС 102057522 11638", *, wa_id=WA_ID, wamid=None, kind="text", **extra) -> dict:
    body = {"from": wa_id, "id": wamid or f"wamid.HBgLNzkxMjEyMzQ1NjcVAgASGBQz{next(_IDS):08d}AA==",
            "timestamp": "1763629200", "type": kind, **extra}  # fmt: skip
    if kind == "text":
        body["text"] = {"body": text}
    return body


def notification(*messages: dict, statuses: list | None = None, number_id=NUMBER_ID) -> dict:
    """A ``messages`` notification exactly as the Cloud API sends it."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "78002345678", "phone_number_id": number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Иван Петров"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = list(messages)
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def texts(api) -> list[str]:
    return [body["text"]["body"] for body in api.bodies()]


# -- the verification handshake -------------------------------------------------------------------------------------


def test_verification_handshake_echoes_the_challenge(client):
    response = client.get(URL, {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY},
        {},
    ],
)
def test_verification_with_a_wrong_token_or_mode_is_refused(client, params):
    response = client.get(URL, params)
    assert response.status_code == 403
    assert b"1158201444" not in response.content


def test_verification_with_no_token_configured_is_refused(client, settings):
    settings.SBYT_WHATSAPP_VERIFY_TOKEN = ""
    response = client.get(URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})
    assert response.status_code == 403


# -- messages --------------------------------------------------------------------------------------------------------


def test_text_message_is_stored_read_and_answered_from_the_business_number(send, meters, api):
    incoming = text_message(wamid="wamid.HBgLNzkxMjEyMzQ1NjcVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
    response = send(notification(incoming))

    assert response.status_code == 200
    stored = InboundMessage.objects.get()
    assert (stored.channel, stored.external_id) == ("whatsapp", incoming["id"])
    assert (stored.sender, stored.receiver, stored.text) == ("+79121234567", "+78002345678", "ПС 102057522 11638")
    assert (stored.status, stored.reply) == ("processed", ACCEPTED)
    reading = new_readings(meters[0]).get()
    assert (reading.t1, reading.channel, reading.status) == (11638, "whatsapp", Reading.Status.ACCEPTED)

    [(method, path, headers, body)] = api.requests
    assert (method, path) == ("POST", f"/v21.0/{NUMBER_ID}/messages")
    assert headers["Authorization"] == f"Bearer {ACCESS}"
    assert headers["Content-Type"].startswith("application/json")
    assert body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "text",
        "text": {"preview_url": False, "body": ACCEPTED},
    }
    outbound = OutboundMessage.objects.get()
    assert (outbound.channel, outbound.to, outbound.status) == ("whatsapp", WA_ID, OutboundMessage.Status.SENT)
    assert outbound.external_id.startswith("wamid.")


def test_without_metadata_the_configured_number_replies(send, meters, api):
    payload = notification(text_message())
    del payload["entry"][0]["changes"][0]["value"]["metadata"]
    assert send(payload).status_code == 200
    assert api.requests[0][1] == "/v21.0/999000111/messages"
    assert InboundMessage.objects.get().receiver == ""


def test_statuses_only_notification_does_nothing(send, meters, api):
    status = {"id": "wamid.HBgLNzkxMjEyMzQ1NjcVAgARGBI5", "status": "delivered", "timestamp": "1763629260",
              "recipient_id": WA_ID, "conversation": {"id": "c1", "origin": {"type": "service"}},
              "pricing": {"billable": False, "pricing_model": "PMP", "category": "service"}}  # fmt: skip
    response = send(notification(statuses=[status]))
    assert response.status_code == 200
    assert not InboundMessage.objects.exists() and not OutboundMessage.objects.exists() and not api.requests


def test_other_webhook_fields_are_acknowledged(send, meters, api):
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]}  # fmt: skip
    assert send(payload).status_code == 200
    assert not InboundMessage.objects.exists() and not api.requests


def test_several_messages_in_one_notification_are_each_answered(send, meters, api):
    payload = notification(
        text_message("ПС 102057522 11638"),
        text_message("ПС 123859 45055 23186", wa_id="79127654321"),
        text_message("помощь", wa_id="4915112345678"),  # a German number stays as it is
    )
    assert send(payload).status_code == 200
    assert InboundMessage.objects.filter(status="processed").count() == 3
    assert set(InboundMessage.objects.values_list("sender", flat=True)) == {
        "+79121234567",
        "+79127654321",
        "+4915112345678",
    }
    assert new_readings(meters[0]).count() == 1 and new_readings(meters[1]).count() == 1
    assert sorted((body["to"], body["text"]["body"]) for body in api.bodies()) == sorted(
        [(WA_ID, ACCEPTED), ("79127654321", ACCEPTED), ("4915112345678", dialogue.help_text())]
    )


def test_a_two_zone_dialogue_over_several_messages(send, meters, api):
    _one, two = meters
    for text in ("ПС 123859", "45055", "23186"):
        assert send(notification(text_message(text))).status_code == 200

    assert texts(api) == [dialogue.zone_prompt(2, 0), dialogue.zone_prompt(2, 1), ACCEPTED]
    reading = new_readings(two).get()
    assert (reading.t1, reading.t2, reading.status, reading.channel) == (
        45055,
        23186,
        Reading.Status.ACCEPTED,
        "whatsapp",
    )
    assert not Conversation.objects.exists()


def test_an_image_gets_the_help_and_a_reaction_nothing(send, meters, api):
    image = text_message(kind="image", image={"mime_type": "image/jpeg", "sha256": "abc", "id": "1479537139650973"})
    reaction = text_message(kind="reaction", reaction={"message_id": "wamid.x", "emoji": "👍"})
    assert send(notification(image, reaction)).status_code == 200
    stored = InboundMessage.objects.get()
    assert stored.text == "" and stored.raw["type"] == "image"
    assert texts(api) == [dialogue.help_text()]


def test_address_normalisation():
    assert whatsapp.address("79121234567") == "+79121234567"
    assert whatsapp.address("+7 912 123-45-67") == "+79121234567"
    assert whatsapp.address("16505551234") == "+16505551234"
    assert whatsapp.address("821012345678") == "+821012345678"
    assert whatsapp.address("abc") == ""


# -- signatures, replays, malformed notifications -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "empty", "no prefix", "zeros", "other secret", "other body", "sha1"])
def test_forged_or_missing_signature_is_refused_and_nothing_stored(send, meters, api, kind):
    body = json.dumps(notification(text_message())).encode()
    signature = {
        "missing": None,
        "empty": "",
        "no prefix": sign(body)[len("sha256=") :],
        "zeros": "sha256=" + "0" * 64,
        "other secret": sign(body, secret=SECRET + "x"),
        "other body": sign(body + b" "),
        "sha1": "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest(),
    }[kind]
    response = send(raw=body, signature=signature)
    assert response.status_code == 403
    assert not InboundMessage.objects.exists() and not new_readings(meters[0]).exists() and not api.requests


def test_with_no_app_secret_configured_every_notification_is_refused(send, meters, api, settings):
    settings.SBYT_WHATSAPP_APP_SECRET = ""
    body = json.dumps(notification(text_message())).encode()
    assert send(raw=body, signature=sign(body, secret="")).status_code == 403
    assert not InboundMessage.objects.exists()


def test_replay_of_the_same_wamid_is_answered_once(send, meters, api):
    payload = notification(text_message(wamid="wamid.REPLAY"))
    responses = [send(payload) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert InboundMessage.objects.count() == 1
    assert new_readings(meters[0]).count() == 1
    assert len(api.requests) == 1 and OutboundMessage.objects.count() == 1
    assert AuditEntry.objects.filter(action="reading.submit").count() == 1


def _broken(change) -> bytes:
    payload = notification(text_message(), text_message("ПС 123859 45055 23186", wa_id="79127654321"))
    change(payload)
    return json.dumps(payload).encode()


def _value(payload) -> dict:
    return payload["entry"][0]["changes"][0]["value"]


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[]",
        b"",
        b"[" * 20_000 + b"]" * 20_000,
        json.dumps({"entry": []}).encode(),  # no object
        json.dumps({"object": "page", "entry": []}).encode(),
        _broken(lambda p: p.update(entry={"id": "1"})),
        _broken(lambda p: p["entry"].append("x")),
        _broken(lambda p: p["entry"][0].update(changes="x")),
        _broken(lambda p: p["entry"][0]["changes"].append(5)),
        _broken(lambda p: p["entry"][0]["changes"][0].update(value=None)),
        _broken(lambda p: _value(p).update(messages={"from": WA_ID})),
        _broken(lambda p: _value(p).update(statuses="read")),
        # the second message is broken: the first, valid one is not stored either (nothing half-written)
        _broken(lambda p: _value(p)["messages"][1].pop("id")),
        _broken(lambda p: _value(p)["messages"][1].update(id="")),
        _broken(lambda p: _value(p)["messages"][1].update(id="w" * 500)),
        _broken(lambda p: _value(p)["messages"][1].pop("from")),
        _broken(lambda p: _value(p)["messages"][1].update({"from": "abc"})),
        _broken(lambda p: _value(p)["messages"][1].update({"from": 79127654321})),
        _broken(lambda p: _value(p)["messages"][1].pop("type")),
        _broken(lambda p: _value(p)["messages"][1].pop("text")),
        _broken(lambda p: _value(p)["messages"][1].update(text={"body": 5})),
        _broken(lambda p: _value(p)["messages"].append("x")),
        json.dumps(notification(text_message("1" * 2_000_000))).encode(),  # over the body limit
    ],
)
def test_malformed_notification_gets_400_and_nothing_is_stored(send, meters, api, raw):
    response = send(raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] and response.json()["message"]
    assert not InboundMessage.objects.exists()
    assert not new_readings(meters[0]).exists() and not new_readings(meters[1]).exists()
    assert not OutboundMessage.objects.exists() and not api.requests


def test_webhook_takes_only_get_and_post(client):
    assert client.put(URL).status_code == 405


def test_a_forged_phone_number_id_does_not_reach_the_url(send, meters, api):
    payload = notification(text_message(), number_id="../../me/evil")
    assert send(copy.deepcopy(payload)).status_code == 200
    assert api.requests[0][1] == "/v21.0/999000111/messages"


# -- failures --------------------------------------------------------------------------------------------------------


def test_api_down_the_inbound_is_kept_answered_and_the_reply_retried(send, meters, api, settings):
    settings.SBYT_WHATSAPP_API_URL = closed_port_url() + "/v21.0"

    assert send(notification(text_message())).status_code == 200  # Meta must not resend it

    stored = InboundMessage.objects.get()
    assert (stored.status, stored.reply) == ("processed", ACCEPTED)
    assert new_readings(meters[0]).count() == 1
    outbound = OutboundMessage.objects.get()
    assert (outbound.status, outbound.attempts, outbound.body) == (OutboundMessage.Status.QUEUED, 1, ACCEPTED)
    assert "unreachable" in outbound.error and outbound.extra == {"phone_number_id": NUMBER_ID}

    settings.SBYT_WHATSAPP_API_URL = api.url + "/v21.0"  # back up: the periodic retry delivers it
    assert services.deliver(outbound.pk) == OutboundMessage.Status.SENT
    assert api.requests[0][1] == f"/v21.0/{NUMBER_ID}/messages" and texts(api) == [ACCEPTED]


def test_api_error_answer_is_recorded(send, meters, api):
    error = {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
    api.answers.append((401, error))
    assert send(notification(text_message())).status_code == 200
    outbound = OutboundMessage.objects.get()
    assert outbound.status == OutboundMessage.Status.QUEUED and "HTTP 401" in outbound.error
    assert ACCESS not in outbound.error


def test_not_configured_for_replies_is_recorded(send, meters, api, settings):
    settings.SBYT_WHATSAPP_ACCESS_TOKEN = ""
    assert send(notification(text_message())).status_code == 200
    outbound = OutboundMessage.objects.get()
    assert outbound.status == OutboundMessage.Status.QUEUED and "not configured" in outbound.error
    assert not api.requests and InboundMessage.objects.get().status == "processed"


def test_processing_failure_is_answered_politely_and_kept(send, meters, api):
    with readings_table_refuses_inserts():
        assert send(notification(text_message())).status_code == 200
    stored = InboundMessage.objects.get()
    assert stored.status == InboundMessage.Status.FAILED and stored.text == "ПС 102057522 11638"
    assert texts(api) == [try_later_text()]
