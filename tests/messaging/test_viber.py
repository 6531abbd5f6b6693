"""The Viber REST bot with its real wire format: signed callbacks in (X-Viber-Content-Signature), replies out through
``send_message`` to a local fake Viber API (an http.server on 127.0.0.1). Forged signatures, replays, malformed
callbacks, a two-zone dialogue, the API down."""

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine

from sbyt.core.models import AuditEntry
from sbyt.messaging import dialogue, services
from sbyt.messaging.channels import viber
from sbyt.messaging.inbound import try_later_text
from sbyt.messaging.models import Conversation, InboundMessage, OutboundMessage
from sbyt.metering.models import Reading
from tests.messaging.channels_support import ACCEPTED, INSIDE, two_meters
from tests.messaging.test_inbound import readings_table_refuses_inserts

pytestmark = pytest.mark.django_db

TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"  # the shape of a Viber auth token
URL = "/channels/viber/webhook"
USER = "01234567890A="


# -- a fake messenger API: records every request, answers what the test says -------------------------------------


class FakeApi:
    """An HTTP server on 127.0.0.1 (a free port) in a thread. ``requests``: (method, path, headers, JSON body);
    ``answers``: (status, JSON) given in turn, then ``default``."""

    def __init__(self, default: dict):
        self.requests: list[tuple[str, str, dict, object]] = []
        self.answers: list[tuple[int, dict]] = []
        self.default = default
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = raw
                api.requests.append(("POST", self.path, dict(self.headers.items()), body))
                status, answer = api.answers.pop(0) if api.answers else (200, api.default)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list:
        return [body for _method, _path, _headers, body in self.requests]


def closed_port_url() -> str:
    """A loopback URL nobody listens on: the API is down (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SBYT_VIBER_AUTH_TOKEN = TOKEN
    settings.SBYT_VIBER_SENDER_NAME = "Энергосбыт"


@pytest.fixture(autouse=True)
def _inside_the_window():
    with time_machine.travel(INSIDE, tick=False):
        yield


@pytest.fixture
def meters(db):
    """A one-zone meter on contract 102057522 and a two-zone one on 123859; readings window 18–25."""
    return two_meters()


@pytest.fixture
def api(settings):
    with FakeApi({"status": 0, "status_message": "ok", "message_token": 5098034272017990000}) as fake:
        settings.SBYT_VIBER_API_URL = fake.url
        yield fake


def new_readings(meter):
    return Reading.objects.filter(meter=meter, period=dt.date(2026, 11, 1))


def sign(body: bytes, token: str = TOKEN) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


SIGNED = object()


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    """POST a callback as Viber does (compact JSON, signed); the on-commit work (the reply's delivery) runs."""

    def send(payload=None, *, raw: bytes | None = None, signature=SIGNED):
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {}
        if signature is not None:
            headers["HTTP_X_VIBER_CONTENT_SIGNATURE"] = sign(body) if signature is SIGNED else signature
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, body, content_type="application/json", **headers)

    return send


TOKENS = iter(range(4912661846655238145, 4912661846655238145 + 10_000))


def message(text: str | None = "ПС 102057522 11638", *, token=None, user=USER, kind="text", **extra) -> dict:
    """A ``message`` callback exactly as Viber sends it."""
    body = {"type": kind, **extra}
    if text is not None:
        body["text"] = text
    return {
        "event": "message",
        "timestamp": 1763629200000,
        "chat_hostname": "SN-CHAT-12_",
        "message_token": next(TOKENS) if token is None else token,
        "sender": {
            "id": user,
            "name": "Иван Петров",
            "avatar": "https://media-direct.cdn.viber.com/download_photo?dlid=x",
            "language": "ru",
            "country": "RU",
            "api_version": 10,
        },
        "message": body,
        "silent": False,
    }


# -- messages ----------------------------------------------------------------------------------------------------


def test_text_message_is_stored_read_and_answered_through_send_message(send, meters, api):
    response = send(message(token=4912661846655238145))

    assert response.status_code == 200
    stored = InboundMessage.objects.get()
    assert (stored.channel, stored.external_id, stored.sender) == ("viber", "4912661846655238145", USER)
    assert stored.text == "ПС 102057522 11638" and stored.status == "processed" and stored.reply == ACCEPTED
    assert stored.raw["sender"]["name"] == "Иван Петров"
    reading = new_readings(meters[0]).get()
    assert (reading.t1, reading.channel, reading.status) == (11638, "viber", Reading.Status.ACCEPTED)

    [(method, path, headers, body)] = api.requests
    assert (method, path) == ("POST", "/send_message")
    assert headers["X-Viber-Auth-Token"] == TOKEN
    assert headers["Content-Type"].startswith("application/json")
    assert body == {"receiver": USER, "type": "text", "text": ACCEPTED, "sender": {"name": "Энергосбыт"}}
    outbound = OutboundMessage.objects.get()
    assert (outbound.channel, outbound.to, outbound.status) == ("viber", USER, OutboundMessage.Status.SENT)
    assert outbound.external_id == "5098034272017990000"


def test_set_webhook_check_is_answered_and_nothing_stored(send, meters, api):
    response = send({"event": "webhook", "timestamp": 1763629200000, "chat_hostname": "SN-CHAT-12_",
                     "message_token": 5098034272017990001})  # fmt: skip
    assert response.status_code == 200
    assert not InboundMessage.objects.exists() and not api.requests


def test_conversation_started_is_greeted_with_the_help_in_the_response(send, meters, api):
    response = send(
        {
            "event": "conversation_started",
            "timestamp": 1763629200000,
            "chat_hostname": "SN-CHAT-12_",
            "message_token": 5098034272017990002,
            "type": "open",
            "context": "",
            "user": {"id": USER, "name": "Иван Петров", "language": "ru", "country": "RU", "api_version": 10},
            "subscribed": False,
        }
    )
    assert response.status_code == 200
    assert response.json() == {"type": "text", "text": viber.welcome_text(), "sender": {"name": "Энергосбыт"}}
    assert dialogue.help_text() in response.json()["text"]
    assert not InboundMessage.objects.exists() and not api.requests


@pytest.mark.parametrize("event", ["subscribed", "unsubscribed", "delivered", "seen", "failed", "client_status"])
def test_other_events_are_acknowledged_and_do_nothing(send, meters, api, event):
    payload = {"event": event, "timestamp": 1763629200000, "chat_hostname": "SN-CHAT-12_",
               "message_token": 5098034272017990003}  # fmt: skip
    if event == "subscribed":
        payload["user"] = {"id": USER, "name": "Иван Петров", "language": "ru", "country": "RU", "api_version": 10}
    else:
        payload["user_id"] = USER
    response = send(payload)
    assert response.status_code == 200
    assert not InboundMessage.objects.exists() and not OutboundMessage.objects.exists() and not api.requests


def test_a_photo_gets_the_help(send, meters, api):
    response = send(message(None, kind="picture", media="https://dl-media.viber.com/x.jpg", size=20480))
    assert response.status_code == 200
    stored = InboundMessage.objects.get()
    assert stored.text == "" and stored.raw["message"]["type"] == "picture"
    assert api.bodies()[0]["text"] == dialogue.help_text()


def test_a_sticker_in_the_middle_of_a_dialogue_repeats_the_prompt(send, meters, api):
    send(message("ПС 123859"))
    send(message(None, kind="sticker", sticker_id=46105))
    assert [body["text"] for body in api.bodies()] == [dialogue.zone_prompt(2, 0)] * 2
    assert Conversation.objects.filter(channel="viber", sender=USER).exists()


def test_a_two_zone_dialogue_over_several_messages(send, meters, api):
    _one, two = meters
    for text in ("пс 123859", "45055", "23186"):
        assert send(message(text)).status_code == 200

    assert [body["text"] for body in api.bodies()] == [dialogue.zone_prompt(2, 0), dialogue.zone_prompt(2, 1), ACCEPTED]
    reading = new_readings(two).get()
    assert (reading.t1, reading.t2, reading.status, reading.channel) == (45055, 23186, Reading.Status.ACCEPTED, "viber")
    assert not Conversation.objects.exists()
    assert OutboundMessage.objects.filter(status="sent").count() == 3


def test_two_users_have_two_dialogues(send, meters, api):
    send(message("ПС 123859", user="AAAAAAAAAAAAAAAAAAAAAA=="))
    send(message("45055 23186", user="BBBBBBBBBBBBBBBBBBBBBB=="))  # not the one who was asked
    assert api.bodies()[1]["text"] == dialogue.help_text()
    assert not new_readings(meters[1]).exists()


# -- signatures, replays, malformed callbacks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "0" * 64,
        "not hex at all",
        sign(b"another body"),
        "forged-by-another-token",  # replaced below by a signature made with another token
    ],
)
def test_forged_or_missing_signature_is_refused_and_nothing_stored(send, meters, api, signature):
    payload = message()
    if signature == "forged-by-another-token":
        signature = sign(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(), token=TOKEN + "x")
    response = send(payload, signature=signature)
    assert response.status_code == 403
    assert not InboundMessage.objects.exists() and not new_readings(meters[0]).exists() and not api.requests


def test_with_no_token_configured_every_callback_is_refused(send, meters, api, settings):
    settings.SBYT_VIBER_AUTH_TOKEN = ""
    body = json.dumps(message()).encode()
    assert send(raw=body, signature=hmac.new(b"", body, hashlib.sha256).hexdigest()).status_code == 403
    assert not InboundMessage.objects.exists()


def test_a_signature_over_the_raw_bytes_not_the_parsed_json(send, meters, api):
    payload = message()
    pretty = json.dumps(payload, ensure_ascii=True, indent=2).encode()  # the same JSON, other bytes
    compact = json.dumps(payload, separators=(",", ":")).encode()
    assert send(raw=pretty, signature=sign(compact)).status_code == 403
    assert send(raw=pretty).status_code == 200


def test_replay_of_the_same_message_token_is_answered_once(send, meters, api):
    payload = message(token=4912661846655239999)
    first, second, third = send(payload), send(payload), send(payload)
    assert first.status_code == second.status_code == third.status_code == 200
    assert InboundMessage.objects.count() == 1
    assert new_readings(meters[0]).count() == 1
    assert len(api.requests) == 1 and OutboundMessage.objects.count() == 1
    assert AuditEntry.objects.filter(action="reading.submit").count() == 1


def test_a_message_stored_but_never_answered_is_answered_on_the_replay(send, meters, api):
    """The process died between storing and processing: Viber's retry processes it and sends the reply once."""
    payload = message(token=4912661846655238000)
    InboundMessage.objects.create(
        channel="viber", external_id="4912661846655238000", sender=USER, text=payload["message"]["text"],
        raw=payload, received_at=INSIDE,
    )  # fmt: skip
    send(payload)
    send(payload)
    assert [body["text"] for body in api.bodies()] == [ACCEPTED]
    assert new_readings(meters[0]).count() == 1


def _without(payload: dict, *path: str) -> dict:
    target = payload
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return payload


def _with(payload: dict, value, *path: str) -> dict:
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'"message"',
        b"",
        b"[" * 20_000 + b"]" * 20_000,
        json.dumps({"timestamp": 1}).encode(),  # no event
        json.dumps({"event": 5}).encode(),
        json.dumps(_without(message(), "sender")).encode(),
        json.dumps(_with(message(), "x", "sender")).encode(),
        json.dumps(_without(message(), "sender", "id")).encode(),
        json.dumps(_with(message(), "", "sender", "id")).encode(),
        json.dumps(_with(message(), "A" * 500, "sender", "id")).encode(),
        json.dumps(_without(message(), "message_token")).encode(),
        json.dumps(_with(message(), True, "message_token")).encode(),
        json.dumps(_with(message(), {"id": 1}, "message_token")).encode(),
        json.dumps(_with(message(), "9" * 500, "message_token")).encode(),
        json.dumps(_without(message(), "message")).encode(),
        json.dumps(_without(message(), "message", "type")).encode(),
        json.dumps(_without(message(), "message", "text")).encode(),
        json.dumps(_with(message(), ["ПС"], "message", "text")).encode(),
        json.dumps(_with(message(), "x" * 300_000, "message", "text")).encode(),  # over the body limit
    ],
)
def test_malformed_callback_gets_400_and_nothing_is_stored(send, meters, api, raw):
    response = send(raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] and response.json()["message"]
    assert not InboundMessage.objects.exists() and not new_readings(meters[0]).exists()
    assert not OutboundMessage.objects.exists() and not api.requests


def test_a_long_text_is_read_and_kept_whole_in_the_raw_payload(send, meters, api):
    text = "ПС 102057522 11638 " + "я" * 6000  # Viber allows 7 000 characters
    assert send(message(text)).status_code == 200
    stored = InboundMessage.objects.get()
    assert len(stored.text) == 5000 and stored.raw["message"]["text"] == text
    assert api.bodies()[0]["text"] == ACCEPTED


def test_webhook_takes_only_post(client, meters):
    assert client.get(URL).status_code == 405


# -- failures --------------------------------------------------------------------------------------------------------


def test_api_down_the_inbound_is_kept_answered_and_the_reply_retried(send, meters, api, settings):
    settings.SBYT_VIBER_API_URL = closed_port_url()

    response = send(message())

    assert response.status_code == 200  # the message is ours: Viber must not resend it
    stored = InboundMessage.objects.get()
    assert (stored.status, stored.reply) == ("processed", ACCEPTED)
    assert new_readings(meters[0]).count() == 1
    outbound = OutboundMessage.objects.get()
    assert (outbound.status, outbound.attempts, outbound.body) == (OutboundMessage.Status.QUEUED, 1, ACCEPTED)
    assert "unreachable" in outbound.error

    settings.SBYT_VIBER_API_URL = api.url  # back up: the periodic retry delivers it
    assert services.deliver(outbound.pk) == OutboundMessage.Status.SENT
    assert api.bodies() == [{"receiver": USER, "type": "text", "text": ACCEPTED, "sender": {"name": "Энергосбыт"}}]


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (200, {"status": 6, "status_message": "notSubscribed"}, "Viber status 6: notSubscribed"),
        (500, {"error": "internal"}, "HTTP 500"),
        (200, {"unexpected": True}, "Viber status None"),
    ],
)
def test_api_refusing_the_reply_is_recorded(send, meters, api, status, answer, error):
    api.answers.append((status, answer))
    assert send(message()).status_code == 200
    outbound = OutboundMessage.objects.get()
    assert outbound.status == OutboundMessage.Status.QUEUED and error in outbound.error
    assert InboundMessage.objects.get().status == "processed"


def test_processing_failure_is_answered_politely_and_kept(send, meters, api):
    with readings_table_refuses_inserts():
        assert send(message()).status_code == 200
    stored = InboundMessage.objects.get()
    assert stored.status == InboundMessage.Status.FAILED and stored.text == "ПС 102057522 11638"
    assert not new_readings(meters[0]).exists()
    assert api.bodies()[0]["text"] == try_later_text()
