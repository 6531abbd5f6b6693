"""Answers by messenger (APL-6): an appeal registered from a client's stored messenger message keeps the messenger
and the chat; the answer goes back there through ``messaging`` — short as is, long as a notice with the link to
the cabinet (or in parts when there is no cabinet). Delivered to a local fake Telegram Bot API."""

import datetime as dt

import pytest
from django.utils import timezone

from sbyt.cases import services
from sbyt.cases.models import AnswerChannel, Case, Channel, Kind
from sbyt.core.errors import DomainError
from sbyt.messaging.models import InboundMessage, OutboundMessage
from tests.factories import client_login
from tests.messaging.test_telegram import FakeApi

pytestmark = pytest.mark.django_db

CHAT = "1111111"
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


@pytest.fixture
def fake_api(settings):
    api = FakeApi()
    settings.SBYT_TELEGRAM_BOT_TOKEN = TOKEN
    settings.SBYT_TELEGRAM_API_URL = api.url
    settings.SBYT_MESSENGER_TIMEOUT = 2
    yield api
    api.close()


def inbound(channel="telegram", sender=CHAT, text="Почему счёт за октябрь такой большой?", external_id="9001"):
    return InboundMessage.objects.create(
        channel=channel,
        external_id=external_id,
        sender=sender,
        text=text,
        received_at=timezone.now() - dt.timedelta(hours=1),
        status=InboundMessage.Status.PROCESSED,
    )


def from_messenger(actor, topic, message, **fields) -> Case:
    return services.register_case(
        actor=actor, channel=Channel.MESSENGER, kind=Kind.QUESTION, text="", topic=topic, inbound=message, **fields
    )


def test_a_case_from_a_messenger_message_keeps_the_chat_and_answers_there(specialist, topic):
    message = inbound()
    case = from_messenger(specialist, topic, message)
    assert (case.messenger, case.messenger_chat, case.answer_channel) == ("telegram", CHAT, AnswerChannel.MESSENGER)
    assert case.questions.get().text == message.text and case.received_at == message.received_at
    assert services.contact_problem(case) == ""


def test_a_message_is_registered_once_and_only_a_messenger_one(specialist, topic):
    message = inbound()
    case = from_messenger(specialist, topic, message)
    with pytest.raises(DomainError, match=case.number):
        from_messenger(specialist, topic, message)
    with pytest.raises(DomainError):
        from_messenger(specialist, topic, inbound(channel="sms", sender="+79121234567", external_id="s1"))
    with pytest.raises(DomainError):
        services.register_case(
            actor=specialist,
            channel=Channel.PHONE,
            kind=Kind.QUESTION,
            text="?",
            topic=topic,
            inbound=inbound(external_id="9002"),
        )
    assert Case.objects.count() == 1


def test_a_short_answer_goes_to_the_chat_with_the_case_number(
    specialist, topic, fake_api, django_capture_on_commit_callbacks
):
    case = from_messenger(specialist, topic, inbound())
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_final_answer(case=case, text="Счёт выставлен по показаниям 23.10.", actor=specialist)
    out = OutboundMessage.objects.get()
    assert sent.channel == AnswerChannel.MESSENGER and sent.outbound == out
    assert (out.channel, out.to, out.status) == ("telegram", CHAT, "sent")
    (body,) = fake_api.json_bodies()
    assert body["chat_id"] == int(CHAT)
    assert case.number in body["text"] and "Счёт выставлен по показаниям 23.10." in body["text"]


def test_a_long_answer_sends_a_notice_with_the_cabinet_link(specialist, topic, account, settings):
    client_login(account)
    settings.SBYT_SITE_URL = "https://lk.example.ru/"
    case = from_messenger(specialist, topic, inbound(), account=account, answer_channel=AnswerChannel.MESSENGER)
    text = "Подробный разбор начислений. " * 60
    sent = services.send_final_answer(case=case, text=text, actor=specialist)
    (out,) = OutboundMessage.objects.filter(channel="telegram")
    assert case.number in out.body and f"https://lk.example.ru/cabinet/cases/{case.number}/" in out.body
    assert len(out.body) < 400 and "Подробный разбор" not in out.body
    assert sent.text == text.strip()  # the whole answer is kept for the cabinet


def test_a_long_answer_to_a_client_without_a_cabinet_goes_in_numbered_parts(specialist, topic):
    case = from_messenger(specialist, topic, inbound(sender="55555"))
    paragraphs = [f"Пункт {n}. " + "пояснение " * 40 for n in range(1, 23)]
    services.send_final_answer(case=case, text="\n".join(paragraphs), actor=specialist)
    parts = list(OutboundMessage.objects.order_by("pk"))
    assert len(parts) >= 3 and all(p.to == "55555" and len(p.body) <= 4096 for p in parts)
    assert all(f"{case.number} ({i}/{len(parts)})" in p.body for i, p in enumerate(parts, start=1))
    joined = "".join(parts_body.body for parts_body in parts)
    assert all(f"Пункт {n}." in joined for n in range(1, 23))


@pytest.mark.parametrize("channel", ["vk", "viber", "whatsapp"])
def test_every_messenger_answers_through_its_own_channel(specialist, topic, channel):
    case = from_messenger(specialist, topic, inbound(channel=channel, sender="chat-7"))
    services.send_interim_answer(case=case, text="Проверяем, ответим до 20.11.", actor=specialist)
    out = OutboundMessage.objects.get()
    assert (out.channel, out.to) == (channel, "chat-7")


def test_the_messenger_answer_needs_a_messenger_chat(specialist, topic, account, client_user):
    case = services.register_case(
        actor=specialist, channel=Channel.MESSENGER, kind=Kind.QUESTION, text="?", topic=topic, account=account
    )
    assert case.answer_channel != AnswerChannel.MESSENGER  # no chat: another way of the contacts on file
    with pytest.raises(DomainError):
        services.set_answer_channel(case=case, answer_channel=AnswerChannel.MESSENGER, actor=specialist)
    with pytest.raises(DomainError):
        services.register_case(
            actor=specialist,
            channel=Channel.MESSENGER,
            kind=Kind.QUESTION,
            text="?",
            topic=topic,
            account=account,
            answer_channel=AnswerChannel.MESSENGER,
        )
    with pytest.raises(DomainError):
        services.file_case(
            user=client_user, account=account, kind=Kind.QUESTION, text="?", answer_channel=AnswerChannel.MESSENGER
        )
    case.refresh_from_db()
    assert case.answer_channel != AnswerChannel.MESSENGER and not OutboundMessage.objects.exists()


def test_staff_register_a_messenger_appeal_from_the_stored_message(client, specialist, readings_specialist, topic):
    message = inbound()
    client.force_login(readings_specialist)
    assert client.get(f"/staff/cases/new/?inbound={message.pk}").status_code == 403
    client.force_login(specialist)
    page = client.get(f"/staff/cases/new/?inbound={message.pk}").content.decode()
    assert message.text in page and f'value="{message.pk}"' in page
    data = {"channel": "messenger", "kind": "question", "topic": topic.pk, "text": message.text}
    response = client.post("/staff/cases/new/", data | {"inbound": message.pk + 100})
    assert response.status_code == 400 and not Case.objects.exists()
    response = client.post("/staff/cases/new/", data | {"inbound": message.pk})
    case = Case.objects.get()
    assert response.status_code == 302 and (case.messenger, case.messenger_chat) == ("telegram", CHAT)
    assert "Telegram" in client.get(f"/staff/cases/{case.number}/").content.decode()
    assert client.get("/staff/cases/new/?inbound=99999999999999999999999").status_code == 200
