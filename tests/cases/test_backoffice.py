"""The staff workspace for appeals: every view with each role, the actions through the services, the board and its
XLSX, the contact centre's identification and calls on the client card. Every look at a case is audited."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from sbyt.cases import services
from sbyt.cases.models import Call, Case, Channel, FaqEntry, Kind, Status, Topic
from sbyt.core.models import AuditEntry
from tests.cases.conftest import PDF, msk, upload

pytestmark = pytest.mark.django_db

ROLES = ["operator", "office_specialist", "specialist", "router", "supervisor", "readings_specialist", "no_role_staff"]


def web_case(**fields):
    values = {"name": "Сидоров Пётр", "email": "sidorov@example.ru", "text": "Жалоба на счёт", "consent": True}
    return services.submit_web_form(**(values | fields))


@pytest.fixture
def web(db):
    return web_case(files=[upload("bill.pdf", PDF)])


@pytest.fixture
def routed(web, router, specialist, topic):
    services.register_received(case=web, actor=router, topic=topic, assignee=specialist)
    return Case.objects.get(pk=web.pk)


def status_for(client, user, url, method="get", data=None):
    client.force_login(user)
    response = getattr(client, method)(url, data or {})
    client.logout()
    return response.status_code


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/staff/cases/", {"operator", "office_specialist", "specialist", "router", "supervisor"}),
        ("/staff/cases/routing/", {"router"}),
        ("/staff/cases/new/", {"operator", "office_specialist", "specialist"}),
        ("/staff/cases/board/", {"supervisor"}),
        ("/staff/calls/", {"operator"}),
        ("/staff/faq/", {"operator", "specialist", "supervisor"}),
    ],
)
def test_each_page_by_role(client, request, url, allowed):
    for role in ROLES:
        expected = 200 if role in allowed else 403
        assert status_for(client, request.getfixturevalue(role), url) == expected, (url, role)


def test_the_case_page_by_role_and_every_look_audited(client, request, web):
    url = f"/staff/cases/{web.number}/"
    for role in ROLES:
        expected = 403 if role in ("readings_specialist", "no_role_staff") else 200
        assert status_for(client, request.getfixturevalue(role), url) == expected, role
    looks = AuditEntry.objects.filter(kind="view", action="case.view", target_id=str(web.pk))
    assert looks.count() == 5


def test_a_client_login_is_sent_to_the_staff_login(client, client_user, web):
    client.force_login(client_user)
    response = client.get(f"/staff/cases/{web.number}/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")


def test_unknown_case_is_404(client, specialist):
    client.force_login(specialist)
    assert client.get("/staff/cases/2026-999999/").status_code == 404
    assert client.post("/staff/cases/2026-999999/do/final/", {"text": "x"}).status_code == 404


def test_queue_lists_open_cases_with_their_next_deadline(client, specialist, routed, topic):
    closed = web_case(email="other@example.ru")
    services.decline_case(case=closed, rejection="unreadable", actor=specialist)
    client.force_login(specialist)
    html = client.get("/staff/cases/").content.decode()
    assert f'id="case-{routed.number}"' in html and f'id="case-{closed.number}"' not in html
    mine = client.get("/staff/cases/", {"show": "mine"}).content.decode()
    assert f'id="case-{routed.number}"' in mine
    late = client.get("/staff/cases/", {"show": "late"}).content.decode()
    assert f'id="case-{routed.number}"' not in late
    assert AuditEntry.objects.filter(action="case_queue.view").count() == 3


def test_routing_operator_routes_from_the_page(client, router, specialist, web, topic, account):
    client.force_login(router)
    assert f'id="case-{web.number}"' in client.get("/staff/cases/routing/").content.decode()
    response = client.post(
        f"/staff/cases/{web.number}/do/register/",
        {"topic": topic.pk, "assignee": specialist.pk, "account_number": account.number},
    )
    assert response.status_code == 302
    web.refresh_from_db()
    assert (web.status, web.assignee, web.account) == (Status.IN_WORK, specialist, account)
    assert f'id="case-{web.number}"' not in client.get("/staff/cases/routing/").content.decode()


def test_routing_needs_a_topic_and_a_known_client_number(client, router, web, topic):
    client.force_login(router)
    assert client.post(f"/staff/cases/{web.number}/do/register/", {"topic": ""}).status_code == 400
    response = client.post(f"/staff/cases/{web.number}/do/register/", {"topic": topic.pk, "account_number": "1"})
    assert response.status_code == 400
    web.refresh_from_db()
    assert web.registered_at is None


def test_a_specialist_cannot_route_and_gets_the_reason(client, specialist, web, topic):
    client.force_login(specialist)
    response = client.post(f"/staff/cases/{web.number}/do/register/", {"topic": topic.pk})
    assert response.status_code == 403
    web.refresh_from_db()
    assert web.registered_at is None


def test_specialist_answers_each_question_then_sends_the_answer(client, specialist, routed):
    client.force_login(specialist)
    page = client.get(f"/staff/cases/{routed.number}/").content.decode()
    assert 'id="action-final"' in page and 'id="clocks"' in page
    question = routed.questions.get()
    response = client.post(
        f"/staff/cases/{routed.number}/do/answer_question/", {"question": question.pk, "text": "Счёт исправлен."}
    )
    assert response.status_code == 302
    page = client.get(f"/staff/cases/{routed.number}/").content.decode()
    assert "Счёт исправлен." in page  # put into the final answer's text from the template
    response = client.post(f"/staff/cases/{routed.number}/do/final/", {"text": "Ответ: счёт исправлен."})
    assert response.status_code == 302
    routed.refresh_from_db()
    assert routed.status == Status.ANSWERED


def test_an_empty_answer_is_refused_and_nothing_changes(client, specialist, routed):
    client.force_login(specialist)
    response = client.post(f"/staff/cases/{routed.number}/do/final/", {"text": "  "})
    assert response.status_code == 400
    routed.refresh_from_db()
    assert routed.status == Status.IN_WORK and not routed.messages.filter(purpose="final").exists()


def test_roles_that_do_not_answer_get_403(client, request, routed):
    for role in ("operator", "office_specialist", "router"):
        assert (
            status_for(
                client, request.getfixturevalue(role), f"/staff/cases/{routed.number}/do/final/", "post", {"text": "x"}
            )
            == 403
        ), role
    routed.refresh_from_db()
    assert routed.status == Status.IN_WORK


def test_unknown_action_is_404(client, specialist, routed):
    client.force_login(specialist)
    assert client.post(f"/staff/cases/{routed.number}/do/explode/").status_code == 404


def test_request_and_resume_and_decline_from_the_page(client, specialist, routed):
    client.force_login(specialist)
    assert client.post(f"/staff/cases/{routed.number}/do/request_info/", {"text": "Номер клиента?"}).status_code == 302
    routed.refresh_from_db()
    assert routed.status == Status.WAITING
    assert client.post(f"/staff/cases/{routed.number}/do/resume/", {"note": "сообщил по телефону"}).status_code == 302
    response = client.post(f"/staff/cases/{routed.number}/do/decline/", {"rejection": "repeat", "repeat_of": "2000-1"})
    assert response.status_code == 400  # no such earlier appeal
    response = client.post(f"/staff/cases/{routed.number}/do/decline/", {"rejection": "trade_secret"})
    assert response.status_code == 302
    routed.refresh_from_db()
    assert routed.status == Status.NOT_CONSIDERED


def test_application_stages_and_checklist_from_the_page(client, specialist, client_user, account):
    case = services.file_case(user=client_user, account=account, kind=Kind.REREGISTRATION, text="Переоформление")
    services.register_received(case=case, actor=specialist, topic=Topic.objects.get(code="contracts"))
    client.force_login(specialist)
    page = client.get(f"/staff/cases/{case.number}/").content.decode()
    assert 'id="checklist"' in page and 'id="action-stage"' in page
    assert client.post(f"/staff/cases/{case.number}/do/stage/", {"stage": "processing"}).status_code == 400
    for document in case.documents.filter(required=True):
        client.post(f"/staff/cases/{case.number}/do/document/", {"document": document.pk, "received": "on"})
    assert not case.documents.filter(required=True, received=False).exists()
    assert (
        client.post(f"/staff/cases/{case.number}/do/stage/", {"stage": "processing", "notify": "on"}).status_code == 302
    )
    case.refresh_from_db()
    assert case.stage == "processing"


def test_staff_register_a_letter_with_scans(client, office_specialist, topic, account):
    client.force_login(office_specialist)
    assert 'value="110012345"' in client.get("/staff/cases/new/", {"account": account.number}).content.decode()
    response = client.post(
        "/staff/cases/new/",
        {
            "channel": Channel.POST,
            "kind": Kind.CLAIM,
            "topic": topic.pk,
            "text": "Письмо о перерасчёте",
            "account_number": account.number,
            "received_at": "2026-03-02T10:00",
            "files": [upload("scan.pdf", PDF)],
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/staff/cases/{case.number}/"
    assert (case.channel, case.registered_by, case.attachments.count()) == ("post", office_specialist, 1)


def test_bad_registration_saves_nothing(client, office_specialist, topic):
    client.force_login(office_specialist)
    response = client.post(
        "/staff/cases/new/",
        {
            "channel": Channel.POST,
            "kind": Kind.CLAIM,
            "topic": topic.pk,
            "text": "x",
            "files": [upload("a.exe", b"MZ")],
        },
    )
    assert response.status_code == 400 and "a.exe" in response.content.decode()
    response = client.post(
        "/staff/cases/new/", {"channel": "web_form", "kind": Kind.CLAIM, "topic": topic.pk, "text": "x"}
    )
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_files_and_letters_are_staff_only_and_audited(client, specialist, readings_specialist, routed):
    attachment = routed.attachments.get()
    client.force_login(readings_specialist)
    assert client.get(f"/staff/cases/{routed.number}/files/{attachment.pk}/").status_code == 403
    client.force_login(specialist)
    response = client.get(f"/staff/cases/{routed.number}/files/{attachment.pk}/")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert AuditEntry.objects.filter(action="case.file").exists()
    other = web_case(email="x@example.ru")
    assert client.get(f"/staff/cases/{other.number}/files/{attachment.pk}/").status_code == 404
    services.set_answer_channel(
        case=routed, answer_channel="post", actor=specialist, postal_address="г. Сыктывкар, ул. Ленина, 1"
    )
    message = services.send_final_answer(case=routed, text="Ответ письмом", actor=specialist)
    letter = client.get(f"/staff/cases/{routed.number}/letters/{message.pk}/")
    assert letter.status_code == 200 and letter["Content-Type"] == "application/pdf"


# --- the supervisor ---------------------------------------------------------------------------------------------


def test_board_shows_due_today_and_late_by_office_and_topic(
    client, supervisor, router, specialist, topic, time_machine
):
    time_machine.move_to(msk(2026, 3, 2, 10))
    late_case = web_case()
    services.register_received(case=late_case, actor=router, topic=topic, assignee=specialist)
    time_machine.move_to(msk(2026, 3, 5, 10))
    today_case = web_case(email="b@example.ru")  # its registration is due tomorrow, its contact due 10 March
    time_machine.move_to(msk(2026, 3, 6, 10))  # late_case's contact was due 5 March; today_case's registration today
    client.force_login(supervisor)
    response = client.get("/staff/cases/board/")
    assert response.status_code == 200
    board = response.context["board"]
    assert [c.case.number for c in board["late"]] == [late_case.number]
    assert [c.case.number for c in board["due_today"]] == [today_case.number]
    by_topic = {row.label: (row.open, row.due_today, row.late) for row in board["by_topic"]}
    assert by_topic["Начисления и расчёты"] == (1, 0, 1)
    report = response.context["report"]
    assert report["total"] == 2


def test_board_xlsx_export(client, supervisor, routed, specialist):
    services.send_final_answer(case=routed, text="Ответ", actor=specialist)
    client.force_login(supervisor)
    today = dt.date.today()
    response = client.get(
        "/staff/cases/board/export.xlsx",
        {"start": (today - dt.timedelta(days=3)).isoformat(), "end": today.isoformat()},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 8
    summary = book.worksheets[0]
    assert summary["B2"].value == 1  # received
    topics = book.worksheets[1]
    assert topics["A2"].value == "Начисления и расчёты" and topics["B2"].value == 1
    assert AuditEntry.objects.filter(action="case_board.export").exists()


def test_board_refuses_a_bad_period(client, supervisor):
    client.force_login(supervisor)
    assert client.get("/staff/cases/board/", {"start": "2026-03-10", "end": "2026-03-01"}).status_code == 400
    assert client.get("/staff/cases/board/export.xlsx", {"start": "2025-01-01", "end": "2026-03-01"}).status_code == 400


# --- the contact centre on the client card ----------------------------------------------------------------------


def card(account):
    return f"/staff/clients/{account.number}/"


def test_the_phone_operator_sees_the_confidential_part_only_after_identification(client, operator, account):
    client.force_login(operator)
    html = client.get(card(account)).content.decode()
    assert 'id="identify"' in html and "17.05.1970" not in html and "ivanova@example.ru" not in html
    assert account.customer.display_name in html  # the name and the number are what the caller gave
    response = client.post(
        f"/staff/clients/{account.number}/identify/",
        {"caller_name": "Петров Иван", "relation": "owner", "method": "name_number", "number": account.number},
    )
    assert response.status_code == 400 and "17.05.1970" not in response.content.decode()
    response = client.post(
        f"/staff/clients/{account.number}/identify/",
        {"caller_name": "Иванова Мария", "relation": "owner", "method": "name_number", "number": account.number},
    )
    assert response.status_code == 302
    html = client.get(card(account)).content.decode()
    assert 'id="identified"' in html and "17.05.1970" in html and "ivanova@example.ru" in html
    assert AuditEntry.objects.filter(action="client.identify", actor=operator).exists()


def test_the_one_time_password_needs_the_identification(client, operator, account, client_user):
    client.force_login(operator)
    response = client.post(f"/staff/clients/{account.number}/password/")
    assert response.status_code == 302
    client_user.refresh_from_db()
    assert not client_user.must_change_password


def test_other_roles_see_the_card_without_phone_identification(client, specialist, account):
    client.force_login(specialist)
    html = client.get(card(account)).content.decode()
    assert "17.05.1970" in html and 'id="identify"' not in html and 'id="register-call"' not in html


def test_the_card_lists_the_clients_cases(client, specialist, client_user, account, neighbour_user, neighbour):
    own = services.file_case(user=client_user, account=account, kind=Kind.QUESTION, text="Мой вопрос")
    other = services.file_case(user=neighbour_user, account=neighbour, kind=Kind.QUESTION, text="Чужой")
    client.force_login(specialist)
    html = client.get(card(account)).content.decode()
    assert own.number in html and other.number not in html


def test_register_a_call_with_a_case_and_a_callback(client, operator, account, topic):
    client.force_login(operator)
    response = client.post(
        f"/staff/clients/{account.number}/call/",
        {
            "topic": topic.pk,
            "outcome": "case_opened",
            "kind": "question",
            "note": "Почему начислено по нормативу?",
            "caller_phone": "+7 912 123-45-67",
            "talk_minutes": "4",
            "after_call_minutes": "1.5",
        },
    )
    assert response.status_code == 302
    call = Call.objects.get()
    assert (call.operator, call.talk_seconds, call.after_call_seconds, call.account) == (operator, 240, 90, account)
    assert call.case.channel == "phone" and call.case.answer_channel == "phone"


def test_a_call_without_a_topic_is_refused(client, operator, account):
    client.force_login(operator)
    response = client.post(
        f"/staff/clients/{account.number}/call/",
        {"outcome": "answered", "talk_minutes": "1", "after_call_minutes": "0"},
    )
    assert response.status_code == 400
    assert not Call.objects.exists()


def test_only_the_contact_centre_registers_calls_and_identifies(client, request, account, topic):
    for role in ("specialist", "router", "supervisor", "office_specialist"):
        user = request.getfixturevalue(role)
        data = {"topic": topic.pk, "outcome": "answered", "talk_minutes": "1", "after_call_minutes": "0"}
        assert status_for(client, user, f"/staff/clients/{account.number}/call/", "post", data) == 403, role
        assert status_for(client, user, f"/staff/clients/{account.number}/identify/", "post", {}) == 403, role
    assert not Call.objects.exists()


def test_a_general_call_and_the_faq(client, operator, topic):
    FaqEntry.objects.create(question="Как передать показания?", answer="С 18 по 25 число.")
    client.force_login(operator)
    html = client.get("/staff/calls/", {"faq": "показания"}).content.decode()
    assert "С 18 по 25 число." in html
    response = client.post(
        "/staff/calls/new/", {"topic": topic.pk, "outcome": "answered", "talk_minutes": "2", "after_call_minutes": "0"}
    )
    assert response.status_code == 302 and Call.objects.get().account is None
    assert "С 18 по 25" in client.get("/staff/faq/", {"q": "18"}).content.decode()


@pytest.mark.parametrize(
    "query", ["+7 912 123-45-67", "89121234567", "Коммунистическая 1", "сыктывкар, коммунистическая, 1"]
)
def test_client_search_by_phone_and_address(client, operator, account, neighbour, query):
    client.force_login(operator)
    response = client.get("/staff/clients/", {"q": query})
    numbers = [a.number for a in response.context["results"]] if response.status_code == 200 else None
    assert numbers == [account.number], query
