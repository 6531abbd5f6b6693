"""The public appeal form and the cabinet's appeals: happy paths, bad input, and who may see what."""

import pytest
from django.core import mail

from sbyt.cases import services
from sbyt.cases.models import Case, Kind, Topic
from sbyt.customers.models import AccountAccess
from tests.cases.conftest import JPEG, PDF, msk, upload
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

FORM = "/appeal/"


def form_data(**fields):
    data = {
        "kind": "claim",
        "topic": "",
        "text": "Неверно начислено за февраль.",
        "name": "Сидоров Пётр",
        "email": "sidorov@example.ru",
        "phone": "",
        "account_number": "",
        "answer_channel": "email",
        "postal_address": "",
        "consent": "on",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_opens_without_login(client):
    response = client.get(FORM)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="appeal-form"' in html and 'enctype="multipart/form-data"' in html
    assert 'name="files"' in html and "multiple" in html


def test_a_complaint_is_sent_and_acknowledged(client, django_capture_on_commit_callbacks):
    topic = Topic.objects.get(code="billing-charges")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(FORM, form_data(topic=str(topic.pk), files=[upload("bill.pdf", PDF)]))
    assert response.status_code == 302 and response["Location"] == "/appeal/sent/"
    case = Case.objects.get()
    assert (case.topic, case.needs_routing, case.attachments.count()) == (topic, True, 1)
    assert mail.outbox[-1].to == ["sidorov@example.ru"]
    page = client.get("/appeal/sent/").content.decode()
    assert case.number in page and "sidorov@example.ru" in page


def test_the_sent_page_without_a_sent_appeal_goes_back_to_the_form(client):
    assert client.get("/appeal/sent/")["Location"] == FORM


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"email": "no-at-sign"},
        {"text": ""},
        {"consent": None},
        {"kind": "contract_conclusion"},
        {"answer_channel": "post"},  # no address
        {"phone": "555"},
        {"topic": "999999"},
    ],
)
def test_bad_input_gets_an_answer_and_nothing_is_saved(client, fields):
    response = client.post(FORM, form_data(**fields))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="alert error"' in html
    assert "Сидоров" in html or fields.get("name") == ""  # what was typed stays in the form
    assert not Case.objects.exists() and not mail.outbox


@pytest.mark.parametrize(
    "file",
    [
        upload("virus.pdf", b"MZ\x90\x00 executable", "application/pdf"),
        upload("big.jpg", JPEG + b"0" * (1024 * 1024), "image/jpeg"),
        upload("notes.txt", b"plain text", "text/plain"),
    ],
)
def test_a_wrong_or_oversized_attachment_is_refused_with_its_name(client, file, media_files):
    response = client.post(FORM, form_data(files=[file]))
    assert response.status_code == 400
    assert file.name in response.content.decode()
    assert not Case.objects.exists() and not media_files() and not mail.outbox


def test_the_form_is_rate_limited(client, settings):
    settings.RATELIMIT_APPEALS = "2/h"
    for _ in range(2):
        assert client.post(FORM, form_data()).status_code == 302
    response = client.post(FORM, form_data())
    assert response.status_code == 429
    assert Case.objects.count() == 2


# --- the cabinet ----------------------------------------------------------------------------------------------


@pytest.fixture
def own_case(client_user, account):
    return services.file_case(
        user=client_user,
        account=account,
        kind=Kind.QUESTION,
        text="Как сменить тариф?",
        files=[upload("scan.pdf", PDF)],
        now=msk(2026, 3, 2),
    )


@pytest.fixture
def other_case(neighbour_user, neighbour):
    return services.file_case(user=neighbour_user, account=neighbour, kind=Kind.CLAIM, text="Чужая жалоба")


def test_cabinet_pages_need_a_client_login(client, own_case, specialist):
    for url in ("/cabinet/cases/", "/cabinet/cases/new/", f"/cabinet/cases/{own_case.number}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(specialist)
    assert client.get("/cabinet/cases/")["Location"] == "/staff/"


def test_the_list_shows_only_own_cases(client, client_user, own_case, other_case):
    client.force_login(client_user)
    response = client.get("/cabinet/cases/")
    html = response.content.decode()
    assert own_case.number in html and other_case.number not in html


def test_someone_elses_case_and_its_files_are_404(client, client_user, own_case, other_case):
    client.force_login(client_user)
    assert client.get(f"/cabinet/cases/{other_case.number}/").status_code == 404
    assert client.post(f"/cabinet/cases/{other_case.number}/", {"text": "влезу"}).status_code == 404
    attachment = own_case.attachments.get()
    assert client.get(f"/cabinet/cases/{other_case.number}/files/{attachment.pk}/").status_code == 404
    assert client.get("/cabinet/cases/1999-000001/").status_code == 404
    assert not other_case.messages.exists()


def test_the_client_downloads_an_own_file_as_an_attachment(client, client_user, own_case):
    client.force_login(client_user)
    attachment = own_case.attachments.get()
    response = client.get(f"/cabinet/cases/{own_case.number}/files/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF


def test_file_an_appeal_with_two_questions_and_a_file(client, client_user, account):
    client.force_login(client_user)
    assert client.get("/cabinet/cases/new/").status_code == 200
    response = client.post(
        "/cabinet/cases/new/",
        {
            "type": "appeal",
            "kind": "question",
            "topic": "",
            "text": "Когда придёт счёт?",
            "question1": "Можно ли получать счёт по e-mail?",
            "question2": "",
            "answer_channel": "cabinet",
            "files": [upload("photo.jpg", JPEG)],
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cabinet/cases/{case.number}/"
    assert case.account == account and case.questions.count() == 2 and case.attachments.count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "Можно ли получать счёт по e-mail?" in page and 'id="deadlines"' in page


def test_file_an_application_shows_the_checklists_and_the_stages(client, client_user, specialist):
    client.force_login(client_user)
    page = client.get("/cabinet/cases/new/?type=application").content.decode()
    assert "Документ о праве собственности нового собственника" in page
    response = client.post(
        "/cabinet/cases/new/?type=application",
        {"type": "application", "kind": "reregistration", "text": "Переоформите счёт", "answer_channel": "cabinet"},
    )
    assert response.status_code == 302
    case = Case.objects.get()
    services.register_received(case=case, actor=specialist, topic=Topic.objects.get(code="contracts"))
    page = client.get(response["Location"]).content.decode()
    assert 'id="stages"' in page and "проверка документов" in page


def test_the_account_choice_lists_only_own_accounts(client, client_user, account, neighbour):
    second = AccountFactory()  # two own accounts: the form offers a choice of them
    AccountAccess.objects.create(user=client_user, account=second, proof="sms_code")
    client.force_login(client_user)
    response = client.post(
        "/cabinet/cases/new/",
        {"account": neighbour.number, "kind": "question", "text": "Чужой счёт", "answer_channel": "cabinet"},
    )
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_bad_input_in_the_cabinet_form_saves_nothing(client, client_user):
    client.force_login(client_user)
    response = client.post("/cabinet/cases/new/", {"kind": "question", "text": "", "answer_channel": "cabinet"})
    assert response.status_code == 400
    response = client.post(
        "/cabinet/cases/new/",
        {"kind": "question", "text": "Вопрос", "answer_channel": "cabinet", "files": [upload("x.exe", b"MZ")]},
    )
    assert response.status_code == 400 and "x.exe" in response.content.decode()
    assert not Case.objects.exists()


def test_the_client_reads_the_answer_and_replies_to_a_request(client, client_user, own_case, specialist, topic):
    services.register_received(case=own_case, actor=specialist, topic=topic)
    services.request_information(case=own_case, text="Пришлите фото счётчика.", actor=specialist)
    client.force_login(client_user)
    page = client.get(f"/cabinet/cases/{own_case.number}/").content.decode()
    assert "Пришлите фото счётчика." in page and 'id="reply-form"' in page
    response = client.post(
        f"/cabinet/cases/{own_case.number}/", {"text": "Фото во вложении", "files": [upload("m.jpg", JPEG)]}
    )
    assert response.status_code == 302
    own_case.refresh_from_db()
    assert own_case.status == "in_work" and own_case.attachments.count() == 2
    services.send_final_answer(case=own_case, text="Тариф сменён с 1 апреля.", actor=specialist)
    page = client.get(f"/cabinet/cases/{own_case.number}/").content.decode()
    assert "Тариф сменён с 1 апреля." in page and 'id="reply-form"' not in page


def test_an_empty_reply_is_refused(client, client_user, own_case):
    client.force_login(client_user)
    response = client.post(f"/cabinet/cases/{own_case.number}/", {"text": ""})
    assert response.status_code == 400
    assert not own_case.messages.filter(direction="in").exists()
