"""Telegram Bot API channel with its real wire format: Update JSON in through the webhook (secret-token header),
sendMessage out over HTTP to a local fake Bot API; replays answered once, malformed updates refused, /start and
contact sharing, the Bot API being down."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.test import Client

from sbyt.messaging.models import InboundMessage, MessengerLink, OutboundMessage
from sbyt.messaging.services import deliver
from sbyt.metering.models import Reading
from tests.factories import (
    ContractFactory,
    CustomerFactory,
    MeterFactory,
    PremisesFactory,
)
from tests.messaging.channels_support import ACCEPTED, INSIDE, two_meters

pytestmark = pytest.mark.django_db

SECRET = "tg-Secret_token-42"
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
URL = "/channels/telegram/webhook"
CHAT = 1111111
PHONE = "+79121234567"


class FakeApi:
    """A local HTTP server standing in for a messenger API: records every request, answers as told."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answer: tuple[int, object] = (200, {"ok": True, "result": {"message_id": 1}})
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, answer = api.answer
                payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def json_bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    api = FakeApi()
    yield api
    api.close()


@pytest.fixture(autouse=True)
def _telegram(settings, fake_api):
    settings.SBYT_TELEGRAM_SECRET_TOKEN = SECRET
    settings.SBYT_TELEGRAM_BOT_TOKEN = TOKEN
    settings.SBYT_TELEGRAM_API_URL = fake_api.url
    settings.SBYT_MESSENGER_TIMEOUT = 2


@pytest.fixture(autouse=True)
def _inside_the_window():
    with time_machine.travel(INSIDE, tick=False):
        yield


@pytest.fixture
def meters(db):
    owner = CustomerFactory(phone=PHONE)
    return two_meters(premises=PremisesFactory(account__customer=owner))


def update(update_id: int, text: str | None = None, *, chat=CHAT, from_id=CHAT, key="message", **message) -> dict:
    """An Update as the Bot API sends it to a webhook."""
    body = {
        "message_id": update_id % 10000,
        "from": {"id": from_id, "is_bot": False, "first_name": "Мария", "language_code": "ru"},
        "chat": {"id": chat, "first_name": "Мария", "type": "private"},
        "date": 1794906000,
        **message,
    }
    if text is not None:
        body["text"] = text
    return {"update_id": update_id, key: body}


def post(client, payload=None, *, raw: bytes | None = None, secret=SECRET, capture=None):
    body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret} if secret is not None else {}
    if capture is None:
        return client.post(URL, body, content_type="application/json", **headers)
    with capture(execute=True):
        return client.post(URL, body, content_type="application/json", **headers)


def new_readings(meter):
    return Reading.objects.filter(meter=meter, period=dt.date(2026, 11, 1))


def nothing_stored():
    return not InboundMessage.objects.exists() and not OutboundMessage.objects.exists()


# -- secret token ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
def test_a_forged_or_missing_secret_token_is_refused_and_nothing_stored(
    meters, fake_api, secret, django_capture_on_commit_callbacks
):
    response = post(
        Client(), update(1, "ПС 102057522 11638"), secret=secret, capture=django_capture_on_commit_callbacks
    )
    assert response.status_code == 403
    assert nothing_stored() and not new_readings(meters[0]).exists() and fake_api.requests == []


def test_without_a_configured_secret_every_update_is_refused(settings, meters):
    settings.SBYT_TELEGRAM_SECRET_TOKEN = ""
    assert post(Client(), update(1, "ПС 102057522 11638"), secret="").status_code == 403
    assert nothing_stored()


def test_only_post(meters):
    assert Client().get(URL, HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=SECRET).status_code == 405


# -- readings through the webhook ------------------------------------------------------------------------------


def test_a_reading_is_accepted_and_the_reply_sent_with_send_message(
    meters, fake_api, django_capture_on_commit_callbacks
):
    response = post(Client(), update(5001, "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200 and response.json() == {"ok": True}
    reading = new_readings(meters[0]).get()
    assert reading.t1 == 11638 and reading.channel == "telegram" and reading.status == Reading.Status.ACCEPTED
    [call] = fake_api.requests
    assert call["path"] == f"/bot{TOKEN}/sendMessage"
    assert call["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(call["body"]) == {"chat_id": CHAT, "text": ACCEPTED}
    message = InboundMessage.objects.get(channel="telegram", external_id="5001")
    assert message.sender == str(CHAT) and message.status == "processed" and message.raw["update_id"] == 5001
    out = OutboundMessage.objects.get()
    assert (out.channel, out.to, out.status, out.external_id) == ("telegram", str(CHAT), "sent", "1")
    assert out.purpose == f"reply:{message.pk}"


def test_a_replayed_update_is_answered_once(meters, fake_api, django_capture_on_commit_callbacks):
    client = Client()
    for _ in range(3):
        response = post(client, update(5002, "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
        assert response.status_code == 200
    assert new_readings(meters[0]).count() == 1
    assert len(fake_api.requests) == 1 and OutboundMessage.objects.count() == 1
    assert InboundMessage.objects.filter(external_id="5002").count() == 1


def test_a_two_zone_dialogue_over_several_updates_gives_one_reading(
    meters, fake_api, django_capture_on_commit_callbacks
):
    client = Client()
    for update_id, text in ((6001, "пс 123859"), (6002, "45100"), (6003, "23050")):
        assert post(client, update(update_id, text), capture=django_capture_on_commit_callbacks).status_code == 200
    reading = new_readings(meters[1]).get()
    assert (reading.t1, reading.t2, reading.status) == (45100, 23050, Reading.Status.ACCEPTED)
    texts = [body["text"] for body in fake_api.json_bodies()]
    assert len(texts) == 3 and texts[-1] == ACCEPTED and ACCEPTED not in texts[:2]
    # the replay of the middle step neither moves the dialogue nor sends again
    post(client, update(6002, "45100"), capture=django_capture_on_commit_callbacks)
    assert len(fake_api.requests) == 3 and new_readings(meters[1]).count() == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"sticker": {"file_id": "CAACAgIAAxk", "file_unique_id": "AgAD", "width": 512, "height": 512, "emoji": "👍"}},
        {"photo": [{"file_id": "AgACAgIAAxk", "file_unique_id": "AQAD", "width": 90, "height": 67}]},
        {"voice": {"file_id": "AwACAgIAAxk", "file_unique_id": "AgAD", "duration": 3}},
        {"location": {"latitude": 61.67, "longitude": 50.83}},
    ],
)
def test_non_text_messages_get_the_help(meters, fake_api, extra, django_capture_on_commit_callbacks):
    response = post(Client(), update(7001, **extra), capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    [body] = fake_api.json_bodies()
    assert "ПС" in body["text"] and body["chat_id"] == CHAT
    assert not Reading.objects.filter(period=dt.date(2026, 11, 1)).exists()


def test_an_edited_message_is_not_read_again(meters, fake_api, django_capture_on_commit_callbacks):
    client = Client()
    post(client, update(7101, "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
    edited = update(7102, "ПС 102057522 11700", key="edited_message", edit_date=1794906100)
    assert post(client, edited, capture=django_capture_on_commit_callbacks).status_code == 200
    assert [r.t1 for r in new_readings(meters[0])] == [11638]
    assert len(fake_api.requests) == 2 and "ПС" in fake_api.json_bodies()[1]["text"]


def test_updates_without_a_message_are_acknowledged_and_ignored(meters, fake_api, django_capture_on_commit_callbacks):
    callback = {"update_id": 7201, "callback_query": {"id": "4382", "from": {"id": CHAT}, "data": "x"}}
    assert post(Client(), callback, capture=django_capture_on_commit_callbacks).status_code == 200
    assert nothing_stored() and fake_api.requests == []


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"message": {"chat": {"id": 1}, "text": "x"}}',  # no update_id
        b'{"update_id": "12", "message": {"chat": {"id": 1}, "text": "x"}}',  # update_id not a number
        b'{"update_id": 12, "message": {"text": "x"}}',  # no chat
        b'{"update_id": 12, "message": "x"}',
        b'{"update_id": 12, "message": {"chat": {"id": "1"}, "text": "x"}}',
        b'{"update_id": 12, "message": {"chat": {"id": 1}, "text": 42}}',
        b'{"update_id": 12, "message": {"chat": {"id": 1}, "text": "' + b"1" * 6000 + b'"}}',  # over 5 000 chars
        b'{"update_id": 12, "message": {"chat": {"id": 1}, "text": "\xff\xfe"}}',
        b"[" * 100000,
    ],
)
def test_malformed_updates_get_400_and_nothing_is_stored(meters, fake_api, raw, django_capture_on_commit_callbacks):
    response = post(Client(), raw=raw, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "message" in response.json()
    assert nothing_stored() and fake_api.requests == []


def test_a_nul_character_is_stored_without_a_crash(meters, fake_api, django_capture_on_commit_callbacks):
    payload = update(7301, "ПС 102057522\x00 11638")
    assert post(Client(), payload, capture=django_capture_on_commit_callbacks).status_code == 200
    assert "\x00" not in InboundMessage.objects.get().text


# -- /start and sharing the contact ----------------------------------------------------------------------------


def test_start_greets_and_offers_to_share_the_phone(meters, fake_api, django_capture_on_commit_callbacks):
    assert post(Client(), update(8001, "/start"), capture=django_capture_on_commit_callbacks).status_code == 200
    [body] = fake_api.json_bodies()
    assert body["chat_id"] == CHAT and "ПС" in body["text"]
    [[button]] = body["reply_markup"]["keyboard"]
    assert button["request_contact"] is True
    post(Client(), update(8001, "/start"), capture=django_capture_on_commit_callbacks)  # replay
    assert len(fake_api.requests) == 1 and InboundMessage.objects.get().status == "processed"


def contact_update(update_id, *, user_id=CHAT, phone="79121234567"):
    contact = {"phone_number": phone, "first_name": "Мария", "last_name": "Иванова", "user_id": user_id}
    return update(update_id, contact=contact)


def test_sharing_ones_own_contact_links_the_chat_and_offers_the_contracts(
    meters, fake_api, django_capture_on_commit_callbacks
):
    MeterFactory(contract=ContractFactory(number="555555"))  # another client's contract: never offered
    assert post(Client(), contact_update(8101), capture=django_capture_on_commit_callbacks).status_code == 200
    link = MessengerLink.objects.get()
    assert (link.channel, link.chat_id, link.phone) == ("telegram", str(CHAT), PHONE)
    [body] = fake_api.json_bodies()
    buttons = [b["text"] for row in body["reply_markup"]["keyboard"] for b in row]
    assert buttons == ["ПС 102057522", "ПС 123859"]
    owner = meters[0].contract.account.customer
    assert owner.last_name not in body["text"] and "ул." not in body["text"]  # no names, no addresses
    # the button's text is an ordinary readings command
    post(Client(), update(8102, buttons[0] + " 11638"), capture=django_capture_on_commit_callbacks)
    assert new_readings(meters[0]).get().t1 == 11638
    # a replay of the contact update is answered once
    post(Client(), contact_update(8101), capture=django_capture_on_commit_callbacks)
    assert len(fake_api.requests) == 2 and MessengerLink.objects.count() == 1
    # and /start now offers the contracts again
    post(Client(), update(8103, "/start"), capture=django_capture_on_commit_callbacks)
    start_buttons = [b["text"] for row in fake_api.json_bodies()[-1]["reply_markup"]["keyboard"] for b in row]
    assert "ПС 102057522" in start_buttons and "ПС 123859" in start_buttons


def test_a_linked_phone_without_contracts_gets_the_help(meters, fake_api, django_capture_on_commit_callbacks):
    post(Client(), contact_update(8201, phone="+79990000000"), capture=django_capture_on_commit_callbacks)
    assert MessengerLink.objects.get().phone == "+79990000000"
    [body] = fake_api.json_bodies()
    assert body["reply_markup"] == {"remove_keyboard": True} and "ПС" in body["text"]


def test_someone_elses_contact_is_refused(meters, fake_api, django_capture_on_commit_callbacks):
    post(Client(), contact_update(8301, user_id=2222222), capture=django_capture_on_commit_callbacks)
    assert not MessengerLink.objects.exists()
    [body] = fake_api.json_bodies()
    assert "102057522" not in body["text"]
    assert body["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert "79121234567" not in json.dumps(InboundMessage.objects.get().raw)  # their number is not kept


def test_a_contact_without_a_user_id_is_refused(meters, fake_api, django_capture_on_commit_callbacks):
    payload = update(8401, contact={"phone_number": "79121234567", "first_name": "Мария"})
    assert post(Client(), payload, capture=django_capture_on_commit_callbacks).status_code == 200
    assert not MessengerLink.objects.exists()


# -- the Bot API being down ------------------------------------------------------------------------------------


def test_the_bot_api_down_the_reading_is_kept_and_the_reply_retried(
    meters, fake_api, django_capture_on_commit_callbacks
):
    fake_api.answer = (502, b"<html>Bad Gateway</html>")
    response = post(Client(), update(9001, "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert new_readings(meters[0]).count() == 1
    assert InboundMessage.objects.get().status == "processed"
    out = OutboundMessage.objects.get()
    assert out.status == "queued" and out.attempts == 1 and "502" in out.error and TOKEN not in out.error
    fake_api.answer = (200, {"ok": True, "result": {"message_id": 77}})
    assert deliver(out.pk) == "sent"
    out.refresh_from_db()
    assert out.external_id == "77" and len(fake_api.requests) == 2
    assert fake_api.json_bodies()[1]["text"] == ACCEPTED


def test_the_bot_api_unreachable_or_refusing(settings, meters, fake_api, django_capture_on_commit_callbacks):
    fake_api.close()  # nothing listens there any more
    post(Client(), update(9101, "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
    out = OutboundMessage.objects.get()
    assert out.status == "queued" and "unreachable" in out.error and TOKEN not in out.error
    assert new_readings(meters[0]).count() == 1
    fake_api.__init__()  # a new server, the Bot API refusing (the client blocked the bot)
    settings.SBYT_TELEGRAM_API_URL = fake_api.url
    fake_api.answer = (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    assert deliver(out.pk) == "queued"
    out.refresh_from_db()
    assert "blocked" in out.error and out.attempts == 2


def test_no_bot_token_configured_is_recorded(settings, meters, fake_api, django_capture_on_commit_callbacks):
    settings.SBYT_TELEGRAM_BOT_TOKEN = ""
    post(Client(), update(9201, "ПС 102057522 11638"), capture=django_capture_on_commit_callbacks)
    assert "TOKEN" in OutboundMessage.objects.get().error and fake_api.requests == []
