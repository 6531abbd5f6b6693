"""The case engine's services: every entry point, every guard, the clocks they start, stop and pause."""

import datetime as dt

import pytest
from django.core import mail

from sbyt.cases import services
from sbyt.cases.models import (
    AnswerChannel,
    Attachment,
    Case,
    CaseClock,
    CaseMessage,
    Channel,
    Kind,
    Milestone,
    Rejection,
    Segment,
    Status,
    Topic,
)
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.customers.models import Customer
from sbyt.messaging.backends import locmem
from tests.cases.conftest import JPEG, PDF, PNG, docx_bytes, msk, upload
from tests.factories import AccountFactory, CustomerFactory, PremisesFactory, client_login

pytestmark = pytest.mark.django_db

MON = msk(2026, 3, 2, 10)  # Monday 2 March 2026


def web_form(**fields):
    values = {
        "name": "Сидоров Пётр",
        "email": "sidorov@example.ru",
        "text": "Второй месяц приходит счёт с ошибкой в показаниях.",
        "consent": True,
        "now": MON,
    }
    return services.submit_web_form(**(values | fields))


def clock(case: Case, milestone: str) -> CaseClock:
    return case.clocks.get(milestone=milestone)


def routed(case, router, topic, **kwargs):
    return services.register_received(case=case, actor=router, topic=topic, now=kwargs.pop("now", MON), **kwargs)


# --- the public web form (PUB-4, APL-8) -----------------------------------------------------------------------


def test_web_form_case_waits_for_the_routing_operator_and_the_acknowledgement_goes_at_once(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        case = web_form(phone="8 912 000-11-22", account_number="110012345")
    assert case.number == "2026-000001"
    assert (case.channel, case.status, case.needs_routing, case.kind) == ("web_form", "received", True, "claim")
    assert case.account is None  # a number typed in an anonymous form is not proof: the operator links it
    assert case.phone == "+79120001122"
    assert case.questions.get().text.startswith("Второй месяц")
    ack = mail.outbox[-1]
    assert ack.to == ["sidorov@example.ru"]
    assert case.number in ack.subject
    assert "3 рабочих дней" in ack.body and "свяжется специалист" in ack.body
    assert "05.03.2026" in ack.body  # the contact deadline: Mon + 3 working days
    assert CaseMessage.objects.get(case=case).purpose == "acknowledgement"
    assert clock(case, Milestone.REGISTRATION).due_on == dt.date(2026, 3, 3)
    assert clock(case, Milestone.RESPONSE).due_on == dt.date(2026, 3, 5)
    assert clock(case, Milestone.RESOLUTION).due_on == dt.date(2026, 3, 16)  # 14 calendar days
    assert AuditEntry.objects.filter(action="case.web_form", target_id=str(case.pk)).exists()


def test_case_numbers_run_per_year():
    first = web_form()
    second = web_form(now=msk(2026, 3, 3))
    third = web_form(now=msk(2027, 1, 13))
    assert [first.number, second.number, third.number] == ["2026-000001", "2026-000002", "2027-000001"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"name": "  "}, "name"),
        ({"email": ""}, "e-mail"),
        ({"email": "not-an-address"}, "e-mail"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 10_001}, "10"),
        ({"consent": False}, "consent"),
        ({"kind": "contract_conclusion"}, "question"),
        ({"phone": "12345"}, "phone"),
        ({"account_number": "11-00A"}, "digits"),
        ({"answer_channel": "sms"}, "phone"),
        ({"answer_channel": "post"}, "address"),
        ({"answer_channel": "cabinet"}, "cabinet"),
    ],
)
def test_web_form_bad_input_is_refused_and_nothing_is_saved(fields, words, media_files):
    with pytest.raises(DomainError) as error:
        web_form(**fields)
    assert error.value.message
    assert not Case.objects.exists()
    assert not mail.outbox and not media_files()


def test_web_form_accepts_pdf_jpeg_png_docx_and_stores_them_under_random_names(media_files):
    files = [
        upload("счёт.pdf", PDF),
        upload("photo.JPG", JPEG),
        upload("scan.png", PNG),
        upload("заявление.docx", docx_bytes()),
    ]
    case = web_form(files=files)
    names = sorted(a.original_name for a in case.attachments.all())
    assert names == sorted(["счёт.pdf", "photo.JPG", "scan.png", "заявление.docx"])
    stored = media_files()
    assert len(stored) == 4
    assert all("счёт" not in p.name and "photo" not in p.name for p in stored)
    pdf = case.attachments.get(original_name="счёт.pdf")
    assert (pdf.content_type, pdf.size) == ("application/pdf", len(PDF))


@pytest.mark.parametrize(
    ("file", "words"),
    [
        (upload("virus.pdf", b"MZ\x90\x00 this is an executable"), "PDF"),
        (upload("photo.png", JPEG), "PDF"),  # the bytes are JPEG, the name says PNG
        (upload("archive.docx", b"PK\x03\x04not really a zip"), "PDF"),
        (upload("empty.pdf", b""), "empty"),
        (upload("big.pdf", PDF + b"0" * (1024 * 1024)), "MB"),
    ],
)
def test_web_form_refuses_a_wrong_type_or_oversized_attachment_and_saves_nothing(file, words, media_files):
    with pytest.raises(DomainError) as error:
        web_form(files=[file])
    assert error.value.message
    assert not Case.objects.exists() and not Attachment.objects.exists()
    assert not media_files() and not mail.outbox


def test_too_many_attachments_are_refused(settings):
    settings.SBYT_CASE_ATTACHMENT_MAX_FILES = 2
    with pytest.raises(DomainError):
        web_form(files=[upload(f"{n}.pdf", PDF) for n in range(3)])
    assert not Case.objects.exists()


def test_web_form_case_of_a_stated_client_goes_to_that_clients_branch(account):
    case = web_form(account_number=account.number)
    assert case.branch == account.branch
    assert case.account is None


# --- routing (APL-8) and registration (APL-1) ------------------------------------------------------------------


def test_routing_operator_routes_a_complete_complaint_and_links_the_client(router, specialist, topic, account):
    case = web_form(account_number=account.number)
    routed(case, router, topic, assignee=specialist, account=account, now=msk(2026, 3, 2, 15))
    case.refresh_from_db()
    assert (case.status, case.needs_routing, case.topic, case.assignee) == ("in_work", False, topic, specialist)
    assert case.account == account
    registration = clock(case, Milestone.REGISTRATION)
    assert registration.met is True and registration.stopped_on == dt.date(2026, 3, 2)
    assert case.events.filter(type="routed").exists()
    assert AuditEntry.objects.filter(action="case.route").exists()


def test_only_the_routing_operator_routes_web_form_complaints(specialist, supervisor, operator, topic):
    case = web_form()
    for actor in (specialist, supervisor, operator):
        with pytest.raises(PermissionDenied):
            routed(case, actor, topic)
    case.refresh_from_db()
    assert case.registered_at is None


def test_registration_needs_a_topic_and_happens_once(router, topic):
    case = web_form()
    with pytest.raises(DomainError):
        routed(case, router, None)
    routed(case, router, topic)
    with pytest.raises(DomainError):
        routed(case, router, topic)


def test_an_inactive_topic_cannot_be_chosen(router, topic):
    topic.is_active = False
    topic.save()
    with pytest.raises(DomainError):
        routed(web_form(), router, topic)


def test_the_executor_must_be_someone_who_considers_appeals(router, operator, topic):
    with pytest.raises(DomainError):
        routed(web_form(), router, topic, assignee=operator)


def test_routing_operator_asks_for_missing_data_and_the_clocks_pause_until_resumed(
    router, topic, django_capture_on_commit_callbacks
):
    case = web_form()  # Mon 2 March: contact due Thu 5 March, the answer due Mon 16 March
    with django_capture_on_commit_callbacks(execute=True):
        services.request_information(
            case=case, text="Укажите, пожалуйста, номер клиента.", actor=router, now=msk(2026, 3, 3, 11)
        )
    case.refresh_from_db()
    assert case.status == Status.WAITING
    assert mail.outbox[-1].body == "Укажите, пожалуйста, номер клиента."
    assert clock(case, Milestone.RESPONSE).met is True  # asking is the contact the form promised
    resolution = clock(case, Milestone.RESOLUTION)
    assert resolution.paused_on == dt.date(2026, 3, 3)
    with pytest.raises(DomainError):  # asked already
        services.request_information(case=case, text="Ещё вопрос", actor=router, now=msk(2026, 3, 4))
    # answered by phone on Tuesday 10 March: 7 calendar days of waiting (4-10 March)
    services.resume_case(case=case, actor=router, note="Клиент сообщил номер по телефону", now=msk(2026, 3, 10, 9))
    case.refresh_from_db()
    resolution.refresh_from_db()
    registration = clock(case, Milestone.REGISTRATION)
    assert case.status == Status.RECEIVED  # not registered yet: back to the routing operator
    assert (resolution.paused_on, resolution.extension, resolution.due_on) == (None, 7, dt.date(2026, 3, 23))
    # registration: 1 working day from 2 March, paused 3 → 10 March = 4 working days (4, 5, 6, 10; 9 March off)
    assert registration.extension == 4 and registration.due_on == dt.date(2026, 3, 10)
    with pytest.raises(DomainError):
        services.resume_case(case=case, actor=router)


def test_cabinet_case_is_registered_by_the_back_office(client_user, account, specialist, topic, router):
    case = services.file_case(user=client_user, account=account, kind=Kind.QUESTION, text="Как узнать тариф?", now=MON)
    assert (case.status, case.needs_routing, case.channel, case.account) == ("received", False, "cabinet", account)
    assert (case.email, case.phone) == ("ivanova@example.ru", "+79121234567")  # from the card, never asked (CC-6)
    assert case.answer_channel == AnswerChannel.CABINET
    services.register_received(case=case, actor=specialist, topic=topic, assignee=specialist, now=MON)
    case.refresh_from_db()
    assert case.status == Status.IN_WORK and case.registered_by == specialist


def test_a_client_files_only_for_an_own_account(client_user, neighbour):
    with pytest.raises(PermissionDenied):
        services.file_case(user=client_user, account=neighbour, kind=Kind.QUESTION, text="?")
    assert not Case.objects.exists()


def test_cabinet_application_with_several_questions_and_a_checklist(client_user, account):
    case = services.file_case(
        user=client_user,
        account=account,
        kind=Kind.REREGISTRATION,
        text="Прошу переоформить лицевой счёт на меня.",
        questions=["Нужно ли менять счётчик?", " "],
        files=[upload("egrn.pdf", PDF)],
        now=MON,
    )
    assert [q.text for q in case.questions.all()] == [
        "Прошу переоформить лицевой счёт на меня.",
        "Нужно ли менять счётчик?",
    ]
    assert case.documents.filter(required=True).count() == 4
    assert case.attachments.count() == 1
    assert clock(case, Milestone.RESOLUTION).due_on == dt.date(2026, 3, 4)  # re-registration online: 2 working days


def test_staff_register_a_letter_with_the_date_it_came(operator, office_specialist, topic, account):
    case = services.register_case(
        actor=office_specialist,
        channel=Channel.POST,
        kind=Kind.CLAIM,
        text="Письмо о неверном начислении.",
        topic=topic,
        account=account,
        received_at=msk(2026, 2, 27, 16),
        now=MON,
    )
    assert case.status == Status.IN_WORK and case.registered_by == office_specialist
    assert case.answer_channel == AnswerChannel.POST and case.postal_address.startswith("г. Сыктывкар")
    reg = clock(case, Milestone.REGISTRATION)
    assert reg.due_on == dt.date(2026, 3, 2) and reg.met is True  # came Fri 27 Feb, registered Mon: in time
    assert clock(case, Milestone.RESPONSE).due_on == dt.date(2026, 3, 10)  # 10 calendar days → 9 March is off
    assert clock(case, Milestone.RESOLUTION).due_on == dt.date(2026, 3, 13)


def test_registration_late_is_recorded_as_missed(office_specialist, topic):
    case = services.register_case(
        actor=office_specialist,
        channel=Channel.POST,
        kind=Kind.QUESTION,
        text="Вопрос",
        topic=topic,
        applicant_name="Аноним",
        received_at=msk(2026, 2, 25),
        now=MON,
    )
    assert clock(case, Milestone.REGISTRATION).met is False


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"channel": "web_form"}, DomainError),
        ({"channel": "cabinet"}, DomainError),
        ({"kind": "bribe"}, DomainError),
        ({"topic": None}, DomainError),
        ({"text": ""}, DomainError),
        ({"received_at": msk(2026, 3, 3)}, DomainError),
        ({"email": "broken@"}, DomainError),
        ({"answer_channel": "sms"}, DomainError),  # no phone given
    ],
)
def test_staff_registration_guards(office_specialist, topic, fields, error):
    values = {
        "actor": office_specialist,
        "channel": Channel.OFFICE_WRITTEN,
        "kind": Kind.QUESTION,
        "text": "Вопрос",
        "topic": topic,
        "applicant_name": "Иванов",
        "email": "a@example.ru",
        "now": MON,
    }
    with pytest.raises(error):
        services.register_case(**(values | fields))
    assert not Case.objects.exists()


@pytest.mark.parametrize("role", ["readings_specialist", "router", "no_role_staff"])
def test_staff_without_the_role_cannot_register(request, role, topic):
    with pytest.raises(PermissionDenied):
        services.register_case(
            actor=request.getfixturevalue(role),
            channel=Channel.OFFICE_ORAL,
            kind=Kind.QUESTION,
            text="?",
            topic=topic,
            now=MON,
        )


def test_a_client_login_is_no_staff(client_user, topic):
    with pytest.raises(PermissionDenied):
        services.register_case(
            actor=client_user, channel=Channel.OFFICE_ORAL, kind=Kind.QUESTION, text="?", topic=topic
        )


# --- answers -----------------------------------------------------------------------------------------------


@pytest.fixture
def in_work(router, specialist, topic):
    """A web-form complaint routed to the specialist, with a second question added."""
    case = web_form(phone="+79120001122")
    routed(case, router, topic, assignee=specialist)
    services.add_question(case=case, text="Когда сделают перерасчёт?", actor=specialist)
    return Case.objects.get(pk=case.pk)


def test_final_answer_needs_every_question_answered_and_goes_by_email(
    in_work, specialist, django_capture_on_commit_callbacks
):
    first, second = in_work.questions.all()
    services.answer_question(question=first, text="Ошибка исправлена.", actor=specialist, now=MON)
    with pytest.raises(DomainError) as error:
        services.send_final_answer(case=in_work, text="Ответ", actor=specialist, now=MON)
    assert "2" in error.value.message
    services.answer_question(question=second, text="Перерасчёт будет в марте.", actor=specialist, now=MON)
    subject, text = services.render_template(services._template("final"), in_work)
    assert "Ошибка исправлена." in text and "Перерасчёт будет в марте." in text and "Спасибо за обращение!" in text
    with django_capture_on_commit_callbacks(execute=True):
        services.send_final_answer(case=in_work, text=text, actor=specialist, now=msk(2026, 3, 4))
    in_work.refresh_from_db()
    assert in_work.status == Status.ANSWERED and in_work.closed_at
    assert mail.outbox[-1].to == ["sidorov@example.ru"] and "Перерасчёт будет в марте." in mail.outbox[-1].body
    assert all(c.stopped_at for c in in_work.clocks.all())
    assert clock(in_work, Milestone.RESOLUTION).met is True
    with pytest.raises(DomainError):  # closed
        services.send_interim_answer(case=in_work, text="ещё", actor=specialist)


def test_a_single_question_is_answered_by_the_final_text_itself(router, specialist, topic):
    case = web_form()
    routed(case, router, topic, assignee=specialist)
    services.send_final_answer(case=case, text="Ваш счёт исправлен.", actor=specialist, now=MON)
    assert case.questions.get().answer == "Ваш счёт исправлен."


def test_an_unregistered_case_cannot_be_answered(specialist):
    case = web_form()
    with pytest.raises(DomainError):
        services.send_final_answer(case=case, text="Ответ", actor=specialist)


def test_interim_answer_stops_the_response_clock_only(in_work, specialist):
    services.send_interim_answer(case=in_work, text="Изучаем документы, ответим до 16.03.", actor=specialist, now=MON)
    assert clock(in_work, Milestone.RESPONSE).stopped_at is not None
    assert clock(in_work, Milestone.RESOLUTION).stopped_at is None


def test_answer_by_sms(in_work, specialist, django_capture_on_commit_callbacks):
    services.set_answer_channel(case=in_work, answer_channel=AnswerChannel.SMS, actor=specialist)
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_interim_answer(case=in_work, text="Ответим до 16.03.", actor=specialist)
    assert message.channel == "sms" and message.outbound.channel == "sms"
    assert locmem.outbox[-1]["to"] == "+79120001122"


def test_answer_in_the_cabinet_needs_a_cabinet(client_user, account, specialist, topic, neighbour):
    case = services.file_case(user=client_user, account=account, kind=Kind.QUESTION, text="Вопрос", now=MON)
    services.register_received(case=case, actor=specialist, topic=topic, now=MON)
    message = services.send_final_answer(case=case, text="Ответ в кабинете", actor=specialist, now=MON)
    assert message.channel == "cabinet" and message.outbound is None
    # a client without a login cannot be answered in the cabinet
    other = services.register_case(
        actor=specialist,
        channel=Channel.OFFICE_ORAL,
        kind=Kind.QUESTION,
        text="?",
        topic=topic,
        account=neighbour,
        now=MON,
    )
    with pytest.raises(DomainError):
        services.set_answer_channel(case=other, answer_channel=AnswerChannel.CABINET, actor=specialist)


def test_answer_by_post_is_kept_for_the_letter(office_specialist, specialist, topic, account):
    case = services.register_case(
        actor=office_specialist, channel=Channel.POST, kind=Kind.QUESTION, text="?", topic=topic, account=account
    )
    message = services.send_final_answer(case=case, text="Ответ письмом", actor=specialist)
    assert message.channel == "post" and message.outbound is None and not mail.outbox


def test_only_back_office_and_supervisors_answer(in_work, router, operator, office_specialist):
    for actor in (router, operator, office_specialist):
        with pytest.raises(PermissionDenied):
            services.send_final_answer(case=in_work, text="Ответ", actor=actor)
        with pytest.raises(PermissionDenied):
            services.answer_question(question=in_work.questions.first(), text="Ответ", actor=actor)


def test_supervisor_may_answer_and_reassign(in_work, supervisor, specialist, router):
    services.assign_case(case=in_work, assignee=supervisor, actor=supervisor)
    in_work.refresh_from_db()
    assert in_work.assignee == supervisor
    services.assign_case(case=in_work, assignee=specialist, actor=supervisor)
    with pytest.raises(PermissionDenied):  # a specialist takes a case, never gives it away
        services.assign_case(case=in_work, assignee=supervisor, actor=specialist)
    with pytest.raises(DomainError):
        services.assign_case(case=in_work, assignee=router, actor=supervisor)


# --- not considered on the merits (APL-7) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rejection", "phrase"),
    [
        (Rejection.OFFENSIVE, "оскорбительные выражения"),
        (Rejection.UNREADABLE, "не поддаётся прочтению"),
        (Rejection.TRADE_SECRET, "коммерческую тайну"),
    ],
)
def test_not_considered_with_the_notice_of_its_ground(
    in_work, specialist, rejection, phrase, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = services.decline_case(case=in_work, rejection=rejection, actor=specialist, now=MON)
    in_work.refresh_from_db()
    assert in_work.status == Status.NOT_CONSIDERED and in_work.rejection == rejection
    assert phrase in message.text and phrase in mail.outbox[-1].body
    assert in_work.number in message.text


def test_a_repeat_names_the_earlier_answered_case_of_the_same_client(router, specialist, topic):
    earlier = web_form(now=msk(2026, 2, 2))
    routed(earlier, router, topic, assignee=specialist, now=msk(2026, 2, 2))
    later = web_form(now=MON)
    routed(later, router, topic, assignee=specialist)
    stranger = web_form(email="someone@example.ru", now=msk(2026, 2, 3))
    with pytest.raises(DomainError):  # no earlier case named
        services.decline_case(case=later, rejection=Rejection.REPEAT, actor=specialist)
    with pytest.raises(DomainError):  # not answered on the merits yet
        services.decline_case(case=later, rejection=Rejection.REPEAT, actor=specialist, repeat_of=earlier)
    services.send_final_answer(case=earlier, text="Ответ по существу", actor=specialist, now=msk(2026, 2, 5))
    with pytest.raises(DomainError):  # someone else's
        services.decline_case(case=later, rejection=Rejection.REPEAT, actor=specialist, repeat_of=stranger)
    message = services.decline_case(case=later, rejection=Rejection.REPEAT, actor=specialist, repeat_of=earlier)
    later.refresh_from_db()
    assert later.repeat_of == earlier and earlier.number in message.text


def test_an_application_is_refused_not_declined(client_user, account, specialist, topic):
    case = services.file_case(user=client_user, account=account, kind=Kind.METER_REPLACEMENT, text="Замена", now=MON)
    services.register_received(case=case, actor=specialist, topic=topic, now=MON)
    with pytest.raises(DomainError):
        services.decline_case(case=case, rejection=Rejection.UNREADABLE, actor=specialist)
    message = services.refuse_application(case=case, reasons="Прибор учёта не принадлежит заявителю.", actor=specialist)
    case.refresh_from_db()
    assert case.status == Status.REFUSED and "не принадлежит заявителю" in message.text


def test_no_contact_no_answer(office_specialist, specialist, topic):
    anonymous = services.register_case(
        actor=office_specialist, channel=Channel.POST, kind=Kind.CLAIM, text="Анонимное письмо", topic=topic
    )
    assert not anonymous.has_contact
    with pytest.raises(DomainError):
        services.send_final_answer(case=anonymous, text="Ответ", actor=specialist)
    assert services.decline_case(case=anonymous, rejection=Rejection.OFFENSIVE, actor=specialist) is None
    anonymous.refresh_from_db()
    assert anonymous.status == Status.NOT_CONSIDERED and not anonymous.messages.exists()


def test_close_without_answer_only_without_contacts(office_specialist, specialist, topic, in_work):
    anonymous = services.register_case(
        actor=office_specialist, channel=Channel.POST, kind=Kind.QUESTION, text="Без адреса", topic=topic
    )
    services.close_without_answer(case=anonymous, actor=specialist)
    anonymous.refresh_from_db()
    assert anonymous.status == Status.NO_CONTACT and not anonymous.messages.exists()
    with pytest.raises(DomainError):
        services.close_without_answer(case=in_work, actor=specialist)


# --- applications: stages, documents and their clocks ----------------------------------------------------------


@pytest.fixture
def contract_case(client_user, account, specialist):
    case = services.file_case(
        user=client_user,
        account=account,
        kind=Kind.CONTRACT_CONCLUSION,
        text="Прошу заключить договор энергоснабжения дома.",
        now=MON,
    )
    services.register_received(
        case=case, actor=specialist, topic=Topic.objects.get(code="contracts-conclusion"), assignee=specialist, now=MON
    )
    return Case.objects.get(pk=case.pk)


def names(case):
    return {c.norm.code: c for c in case.clocks.select_related("norm")}


def test_contract_conclusion_clocks_from_the_standard(contract_case):
    clocks = names(contract_case)
    assert contract_case.stage == "documents"
    assert clocks["contract-refusal"].due_on == dt.date(2026, 3, 10)  # 5 days → Sat 7 → Tue 10 (9 March off)
    assert clocks["contract-draft-household"].due_on == dt.date(2026, 3, 17)  # 10 working days
    assert clocks["contract-online-notice"].due_on == dt.date(2026, 3, 5)  # 3 working days
    assert "contract-draft-business" not in clocks and "contract-disagreement" not in clocks


def test_a_business_gets_thirty_days_for_the_draft(specialist, db):
    org = CustomerFactory(kind=Customer.Kind.ORGANISATION, org_name="ООО «Ромашка»", email="info@romashka.ru")
    account = AccountFactory(customer=org)
    PremisesFactory(account=account, is_residential=False)
    user = client_login(account)
    case = services.file_case(user=user, account=account, kind=Kind.CONTRACT_CONCLUSION, text="Договор", now=MON)
    assert case.segment == Segment.BUSINESS
    services.register_received(case=case, actor=specialist, topic=Topic.objects.get(code="contracts"), now=MON)
    clocks = names(case)
    assert clocks["contract-draft-business"].due_on == dt.date(2026, 4, 1)
    assert "contract-draft-household" not in clocks


def test_stages_move_only_forward_with_the_documents_received(contract_case, specialist):
    with pytest.raises(DomainError):  # documents missing
        services.set_stage(case=contract_case, stage="draft", actor=specialist, now=MON)
    with pytest.raises(DomainError):  # no such move
        services.set_stage(case=contract_case, stage="signing", actor=specialist, now=MON)
    with pytest.raises(DomainError):  # «done» only through the final answer
        services.set_stage(case=contract_case, stage="done", actor=specialist, now=MON)
    for document in contract_case.documents.filter(required=True):
        services.mark_document(document=document, received=True, actor=specialist, now=MON)
    services.set_stage(case=contract_case, stage="draft", actor=specialist, now=msk(2026, 3, 3))
    clocks = names(contract_case)
    assert clocks["contract-refusal"].met is True
    assert clocks["contract-online-notice"].met is True  # the stage notice is the contact
    assert clocks["contract-draft-household"].stopped_at is None
    services.set_stage(case=contract_case, stage="signing", actor=specialist, now=msk(2026, 3, 12))
    assert names(contract_case)["contract-draft-household"].met is True
    services.set_stage(case=contract_case, stage="disagreement", actor=specialist, now=msk(2026, 3, 13))
    disagreement = names(contract_case)["contract-disagreement"]
    assert disagreement.started_on == dt.date(2026, 3, 13) and disagreement.due_on == dt.date(2026, 3, 27)
    services.set_stage(case=contract_case, stage="signing", actor=specialist, now=msk(2026, 3, 30))
    disagreement.refresh_from_db()
    assert disagreement.met is False  # answered late
    services.send_final_answer(case=contract_case, text="Договор подписан.", actor=specialist, now=msk(2026, 3, 31))
    contract_case.refresh_from_db()
    assert (contract_case.stage, contract_case.status) == ("done", "answered")


def test_missing_documents_request_lists_them_and_pauses(contract_case, specialist):
    first = contract_case.documents.first()
    services.mark_document(document=first, received=True, actor=specialist, now=MON)
    message = services.request_missing_documents(case=contract_case, actor=specialist, now=MON)
    assert first.name not in message.text
    assert all(d.name in message.text for d in contract_case.documents.filter(required=True, received=False))
    contract_case.refresh_from_db()
    assert contract_case.status == Status.WAITING
    assert contract_case.clocks.filter(stopped_at__isnull=True, paused_on__isnull=True).count() == 0
    with pytest.raises(DomainError):  # waiting: resume first
        services.set_stage(case=contract_case, stage="draft", actor=specialist)


def test_an_appeal_has_no_stages(in_work, specialist):
    with pytest.raises(DomainError):
        services.set_stage(case=in_work, stage="draft", actor=specialist)


# --- the client's reply ---------------------------------------------------------------------------------------


def test_client_reply_resumes_a_waiting_case(client_user, account, specialist, topic, neighbour_user):
    case = services.file_case(user=client_user, account=account, kind=Kind.QUESTION, text="Вопрос", now=MON)
    services.register_received(case=case, actor=specialist, topic=topic, now=MON)
    services.request_information(case=case, text="Пришлите фото счётчика.", actor=specialist, now=MON)
    with pytest.raises(PermissionDenied):
        services.reply_as_client(case=case, user=neighbour_user, text="Это не моё", now=MON)
    services.reply_as_client(
        case=case, user=client_user, text="Фото прилагаю.", files=[upload("meter.jpg", JPEG)], now=msk(2026, 3, 4)
    )
    case.refresh_from_db()
    assert case.status == Status.IN_WORK
    assert case.messages.filter(direction="in").get().text == "Фото прилагаю."
    assert case.attachments.get().original_name == "meter.jpg"
    assert clock(case, Milestone.RESOLUTION).extension == 2  # 3 and 4 March


# --- phone: callback and the agreed date (APL-5, CC-2) -------------------------------------------------------------


def test_call_with_a_case_and_a_callback_within_the_working_day(operator, account, topic):
    call = services.register_call(
        actor=operator,
        topic=topic,
        outcome="case_opened",
        talk_seconds=240,
        after_call_seconds=60,
        account=account,
        note="Почему начислено по нормативу?",
        now=msk(2026, 3, 6, 11),
    )
    case = call.case
    assert (case.channel, case.answer_channel, case.phone) == ("phone", "phone", "+79121234567")
    assert clock(case, Milestone.RESPONSE).due_on == dt.date(2026, 3, 6)  # the same working day
    assert call.operator == operator and call.talk_seconds == 240 and not call.identified


def test_callback_by_an_agreed_date_at_most_five_working_days(operator, account, topic):
    with pytest.raises(DomainError):  # Fri 6 March + 5 working days = Mon 16 March (9 March is off)
        services.register_call(
            actor=operator,
            topic=topic,
            outcome="case_opened",
            talk_seconds=60,
            account=account,
            note="Сложный вопрос",
            callback_on=dt.date(2026, 3, 17),
            now=msk(2026, 3, 6, 11),
        )
    assert not Case.objects.exists()
    call = services.register_call(
        actor=operator,
        topic=topic,
        outcome="case_opened",
        talk_seconds=60,
        account=account,
        note="Сложный вопрос",
        callback_on=dt.date(2026, 3, 16),
        now=msk(2026, 3, 6, 11),
    )
    response = clock(call.case, Milestone.RESPONSE)
    assert (response.agreed_on, response.due_on) == (dt.date(2026, 3, 16), dt.date(2026, 3, 16))
    with pytest.raises(DomainError):  # not in the past
        services.agree_deadline(case=call.case, day=dt.date(2026, 3, 5), actor=operator, now=msk(2026, 3, 6, 12))


@pytest.mark.parametrize(
    "fields",
    [
        {"topic": None},
        {"outcome": "hung_up"},
        {"talk_seconds": -1},
        {"outcome": "case_opened", "note": ""},
        {"outcome": "case_opened", "note": "?", "account": None},  # no phone to call back
    ],
)
def test_call_registration_guards(operator, account, topic, fields):
    values = {"actor": operator, "topic": topic, "outcome": "answered", "talk_seconds": 30, "account": account}
    with pytest.raises(DomainError):
        services.register_call(**(values | fields))
    assert not Case.objects.exists()


def test_only_the_contact_centre_registers_calls(specialist, router, topic):
    for actor in (specialist, router):
        with pytest.raises(PermissionDenied):
            services.register_call(actor=actor, topic=topic, outcome="answered", talk_seconds=30)


# --- caller identification (CC-5, SEC-2) --------------------------------------------------------------------------


def test_identification_by_name_and_number(operator, account):
    row = services.identify_caller(
        account=account,
        actor=operator,
        caller_name="Иванова Мария Петровна",
        method="name_number",
        relation="owner",
        number=" 110012345 ",
        now=MON,
    )
    assert services.identification_of(account, operator, now=MON + dt.timedelta(minutes=29)) == row
    assert services.identification_of(account, operator, now=MON + dt.timedelta(minutes=31)) is None
    assert AuditEntry.objects.filter(action="client.identify", account_number=account.number).exists()


def test_identification_by_address(operator, account):
    services.identify_caller(
        account=account,
        actor=operator,
        caller_name="Иванов Сергей",
        method="name_address",
        relation="resident",
        address="Сыктывкар, Коммунистическая 1, кв 5",
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"number": "110012346"},
        {"method": "name_address", "address": "Ухта, Зелёная 7"},
        {"caller_name": "Петров Иван"},  # the owner must be the account holder
        {"caller_name": ""},
        {"method": "passport"},
        {"relation": "friend"},
    ],
)
def test_identification_that_does_not_match_is_refused(operator, account, fields):
    values = {
        "account": account,
        "actor": operator,
        "caller_name": "Иванова Мария",
        "method": "name_number",
        "relation": "owner",
        "number": account.number,
    }
    with pytest.raises(DomainError):
        services.identify_caller(**(values | fields))
    assert services.identification_of(account, operator) is None


def test_identification_is_per_operator(operator, account, db):
    from tests.factories import staff_login

    other = staff_login("Оператор контакт-центра")
    services.identify_caller(
        account=account,
        actor=operator,
        caller_name="Иванова Мария",
        method="name_number",
        relation="owner",
        number=account.number,
    )
    assert services.identification_of(account, other) is None


# --- SLA warnings (the periodic job) --------------------------------------------------------------------------------


def test_warnings_before_a_breach_and_the_breach_go_to_the_assignee_and_supervisors(
    in_work, specialist, supervisor, django_capture_on_commit_callbacks
):
    # response due Thu 5 March: on Wed 4 March it is due on the next working day → a warning
    with django_capture_on_commit_callbacks(execute=True):
        result = services.check_clocks(now=msk(2026, 3, 4, 9))
    assert result == {"warned": 1, "breached": 0}
    recipients = sorted(
        address for m in mail.outbox if m.subject.startswith(("Обращения", "Appeals")) for address in m.to
    )
    assert recipients == ["boss@example.ru", "spec@example.ru"]
    assert in_work.number in mail.outbox[-1].body
    mail.outbox.clear()
    assert services.check_clocks(now=msk(2026, 3, 4, 10)) == {"warned": 0, "breached": 0}  # once
    with django_capture_on_commit_callbacks(execute=True):
        assert services.check_clocks(now=msk(2026, 3, 6, 9)) == {"warned": 0, "breached": 1}
    assert len(mail.outbox) == 2
    assert services.check_clocks(now=msk(2026, 3, 6, 10)) == {"warned": 0, "breached": 0}


def test_paused_and_stopped_clocks_are_not_warned_about(in_work, specialist):
    services.request_information(case=in_work, text="Уточните адрес", actor=specialist, now=MON)
    assert services.check_clocks(now=msk(2026, 3, 20)) == {"warned": 0, "breached": 0}


# --- the complaints book (OFF-7) ----------------------------------------------------------------------------------


def test_a_complaints_book_entry_becomes_a_registered_case_once(account, settings):
    from sbyt.offices.complaints import record_complaint_entry
    from tests.offices.builders import make_office, make_staff

    settings.SBYT_HEAD_OFFICE_EMAIL = ""
    office = make_office()
    clerk = make_staff("clerk")
    office.staff.add(clerk)
    entry = record_complaint_entry(
        office=office,
        author_name="Иванов Пётр",
        text="Долго ждал в очереди.",
        contact="ivanov@example.ru",
        account_number=account.number,
        actor=clerk,
        now=MON,
    )
    case = Case.objects.get(source_ref=f"complaint_book:{entry.pk}")
    assert (case.channel, case.kind, case.status, case.office) == ("complaints_book", "claim", "in_work", office)
    assert (case.email, case.answer_channel, case.account) == ("ivanov@example.ru", "email", account)
    assert case.topic.code == "service-office" and case.registered_by == clerk
    assert services.case_from_complaint_entry(entry=entry, actor=clerk) == case
    assert Case.objects.count() == 1
