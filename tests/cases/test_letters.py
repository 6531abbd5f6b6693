"""The answer letter as a PDF (APL-3): what it prints, and who may download it — staff (audited) and the client
whose case it is."""

import dataclasses
import datetime as dt
import re

import pypdfium2 as pdfium
import pytest

from sbyt.cases import services
from sbyt.cases.letters import LetterDocument, letter_document, render_letter
from sbyt.cases.models import Channel, Kind
from sbyt.core.models import AuditEntry
from tests.cases.conftest import msk

pytestmark = pytest.mark.django_db

A4 = (595.28, 841.89)


def pages_text(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [" ".join(page.get_textpage().get_text_bounded().replace("\u00a0", " ").split()) for page in document]
    finally:
        document.close()


def letter(**changes) -> LetterDocument:
    values = {
        "company": "АО «Энергосбыт»",
        "branch": "Коми филиал",
        "contact_phones": "8 800 200-00-00",
        "outgoing_number": "2026-000123/45",
        "date": dt.date(2026, 11, 20),
        "case_number": "2026-000123",
        "case_date": dt.date(2026, 11, 10),
        "addressee": "Иванова Мария Петровна",
        "address": "167000, г. Сыктывкар, ул. Коммунистическая, д. 12, кв. 34",
        "subject": "Ответ на обращение № 2026-000123",
        "text": "Здравствуйте, Мария Петровна!\n\nНачисление за октябрь выполнено по показаниям.",
        "signatory": "Начальник отдела по работе с клиентами",
        "signatory_name": "А. В. Смирнова",
        "executor": "Петров Пётр Петрович",
        "executor_phone": "8 800 200-00-01",
    }
    values.update(changes)
    return LetterDocument(**values)


def test_the_letter_is_an_a4_page_on_the_letterhead_with_signatory_and_executor():
    pdf = render_letter(letter())
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1
    assert tuple(round(v, 2) for v in document[0].get_size()) == A4
    document.close()
    fonts = re.findall(rb"/BaseFont\s*/([^\s/>]+)", pdf)
    assert fonts and all(re.fullmatch(rb"[A-Z]{6}\+DejaVuSansCondensed", name) for name in fonts)
    (text,) = pages_text(pdf)
    for phrase in [
        "АО «Энергосбыт»",
        "Контакт-центр: 8 800 200-00-00",
        "20.11.2026 № 2026-000123/45",
        "На № 2026-000123 от 10.11.2026",
        "Иванова Мария Петровна",
        "ул. Коммунистическая, д. 12, кв. 34",
        "Начисление за октябрь выполнено по показаниям.",
        "Начальник отдела по работе с клиентами",
        "А. В. Смирнова",
        "Исп.: Петров Пётр Петрович",
        "тел. 8 800 200-00-01",
    ]:
        assert phrase in text, phrase
    assert text.index("Начисление") < text.index("Начальник отдела") < text.index("Исп.:")


def test_a_long_letter_flows_onto_pages_with_a_running_head_and_signs_on_the_last():
    body = "\n\n".join(f"Абзац {n}: " + "текст ответа на обращение " * 20 for n in range(1, 16))
    pages = pages_text(render_letter(letter(text=body, signatory_name="")))
    assert len(pages) >= 2
    assert "лист 2" in pages[1] and "Исх. № 2026-000123/45 от 20.11.2026" in pages[1]
    assert "Абзац 15" in pages[-1] and "Начальник отдела" in pages[-1] and "Исп.:" in pages[-1]
    assert all("Начальник отдела" not in page for page in pages[:-1])


@pytest.fixture
def posted(office_specialist, specialist, topic, account):
    case = services.register_case(
        actor=office_specialist,
        channel=Channel.POST,
        kind=Kind.QUESTION,
        text="Почему счёт больше?",
        topic=topic,
        account=account,
        assignee=specialist,
        received_at=msk(2026, 3, 2),
        now=msk(2026, 3, 3),
    )
    message = services.send_final_answer(case=case, text="Счёт выставлен по показаниям.", actor=specialist)
    return case, message


def test_the_letter_of_a_message_takes_the_case_and_the_sender(posted, specialist, settings):
    settings.SBYT_CASES_SIGNATORY = "Директор филиала"
    case, message = posted
    doc = letter_document(message)
    assert doc.case_number == case.number and doc.outgoing_number == f"{case.number}/{message.pk}"
    assert doc.case_date == dt.date(2026, 3, 2)
    assert doc.address == "г. Сыктывкар, ул. Коммунистическая, д. 1, кв. 5"
    assert doc.executor == "Анна Исполнитова" and doc.signatory == "Директор филиала"
    assert doc.text == "Счёт выставлен по показаниям."
    assert dataclasses.asdict(doc)["addressee"] == case.applicant_name


def test_staff_download_the_letter_pdf_audited_and_other_roles_cannot(client, posted, specialist, no_role_staff):
    case, message = posted
    url = f"/staff/cases/{case.number}/letters/{message.pk}/"
    client.force_login(no_role_staff)
    assert client.get(url).status_code == 403
    assert not AuditEntry.objects.filter(action="case.letter").exists()
    client.force_login(specialist)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="letter-{case.number}-{message.pk}.pdf"'
    assert "Счёт выставлен по показаниям." in pages_text(response.content)[0]
    assert AuditEntry.objects.filter(kind="view", action="case.letter", target_id=str(case.pk)).count() == 1
    page = client.get(f"/staff/cases/{case.number}/").content.decode()
    assert url in page
    assert client.get(f"/staff/cases/{case.number}/letters/{message.pk + 1000}/").status_code == 404


def test_the_client_downloads_the_posted_letter_of_an_own_case_only(
    client, posted, client_user, neighbour_user, specialist, topic, account
):
    case, message = posted
    url = f"/cabinet/cases/{case.number}/letters/{message.pk}/"
    assert client.get(url).status_code == 302  # login first
    client.force_login(neighbour_user)
    assert client.get(url).status_code == 404
    client.force_login(client_user)
    page = client.get(f"/cabinet/cases/{case.number}/").content.decode()
    assert url in page
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert "Счёт выставлен по показаниям." in pages_text(response.content)[0]
    # an answer by e-mail is not a letter
    by_email = services.register_case(
        actor=specialist, channel=Channel.EMAIL, kind=Kind.QUESTION, text="?", topic=topic, account=account
    )
    sent = services.send_final_answer(case=by_email, text="Ответ по почте", actor=specialist)
    assert client.get(f"/cabinet/cases/{by_email.number}/letters/{sent.pk}/").status_code == 404
    assert f"/letters/{sent.pk}/" not in client.get(f"/cabinet/cases/{by_email.number}/").content.decode()
