"""API v1 /cases: the caller's own cases only; filing, replying, files; errors as {code, message}."""

import pytest

from sbyt.cases import services
from sbyt.cases.models import Case, Kind, Topic
from sbyt.users.services import issue_token
from tests.cases.conftest import JPEG, PDF, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def bearer(client_user):
    return {"Authorization": f"Bearer {issue_token(user=client_user)[1]}"}


@pytest.fixture
def own_case(client_user, account):
    return services.file_case(user=client_user, account=account, kind=Kind.QUESTION, text="Как сменить тариф?")


@pytest.fixture
def other_case(neighbour_user, neighbour):
    return services.file_case(
        user=neighbour_user, account=neighbour, kind=Kind.CLAIM, text="Чужая", files=[upload("a.pdf", PDF)]
    )


def test_without_a_token_401(client):
    assert client.get("/api/v1/cases").status_code == 401


def test_staff_tokens_do_not_exist(client, specialist):
    client.force_login(specialist)
    assert client.get("/api/v1/cases").status_code == 401


def test_lists_only_own_cases(client, bearer, own_case, other_case):
    response = client.get("/api/v1/cases", headers=bearer)
    assert response.status_code == 200
    assert [row["number"] for row in response.json()] == [own_case.number]
    assert response.json()[0]["answer_due"]


def test_someone_elses_case_is_404_everywhere(client, bearer, other_case):
    attachment = other_case.attachments.get()
    for method, url, kwargs in [
        ("get", f"/api/v1/cases/{other_case.number}", {}),
        ("post", f"/api/v1/cases/{other_case.number}/messages", {"data": {"text": "x"}}),
        ("get", f"/api/v1/cases/{other_case.number}/attachments/{attachment.pk}", {}),
    ]:
        if method == "post":
            response = client.post(url, kwargs["data"], content_type="application/json", headers=bearer)
        else:
            response = client.get(url, headers=bearer)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"
    assert not other_case.messages.filter(direction="in").exists()


def test_file_a_case_and_read_it(client, bearer, account):
    topic = Topic.objects.get(code="metering-install")
    response = client.post(
        "/api/v1/cases",
        {
            "account": account.number,
            "kind": "meter_replacement",
            "text": "Прошу заменить счётчик.",
            "questions": ["Сколько это стоит?"],
            "topic_id": topic.pk,
            "answer_channel": "email",
        },
        content_type="application/json",
        headers=bearer,
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "meter_replacement" and data["status"] == "received"
    assert [q["text"] for q in data["questions"]] == ["Прошу заменить счётчик.", "Сколько это стоит?"]
    assert data["deadlines"] and all(d["due_on"] for d in data["deadlines"])
    assert Case.objects.get().channel == "cabinet"


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"kind": "question", "text": "?"}, 422),  # no account
        ({"account": "110099999", "kind": "question", "text": "?"}, 404),  # the neighbour's
        ({"account": "110012345", "kind": "bribe", "text": "?"}, 400),
        ({"account": "110012345", "kind": "question", "text": "  "}, 400),
        ({"account": "110012345", "kind": "question", "text": "?", "topic_id": 999999}, 404),
        ({"account": "110012345", "kind": "question", "text": "?", "answer_channel": "pigeon"}, 400),
    ],
)
def test_bad_requests_change_nothing(client, bearer, account, neighbour, payload, status):
    response = client.post("/api/v1/cases", payload, content_type="application/json", headers=bearer)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] and body["message"]
    assert not Case.objects.exists()


def test_reply_and_attach_files(client, bearer, own_case, specialist, topic):
    services.register_received(case=own_case, actor=specialist, topic=topic)
    services.request_information(case=own_case, text="Фото счётчика?", actor=specialist)
    response = client.get(f"/api/v1/cases/{own_case.number}", headers=bearer)
    assert response.json()["waiting_for_client"] is True
    assert response.json()["messages"][-1]["text"] == "Фото счётчика?"
    response = client.post(
        f"/api/v1/cases/{own_case.number}/attachments", {"files": [upload("m.jpg", JPEG)]}, headers=bearer
    )
    assert response.status_code == 201, response.content
    assert response.json()["waiting_for_client"] is False
    attachment = response.json()["attachments"][0]
    download = client.get(f"/api/v1/cases/{own_case.number}/attachments/{attachment['id']}", headers=bearer)
    assert download.status_code == 200 and b"".join(download.streaming_content) == JPEG
    response = client.post(
        f"/api/v1/cases/{own_case.number}/attachments", {"files": [upload("m.exe", b"MZ")]}, headers=bearer
    )
    assert response.status_code == 400 and "m.exe" in response.json()["message"]
    response = client.post(
        f"/api/v1/cases/{own_case.number}/messages",
        {"text": "Спасибо"},
        content_type="application/json",
        headers=bearer,
    )
    assert response.status_code == 201


def test_topics_and_kinds(client, bearer):
    topics = client.get("/api/v1/cases/topics", headers=bearer).json()
    assert any(t["name"] == "Договоры" and t["parent_id"] is None for t in topics)
    kinds = {k["code"]: k["application"] for k in client.get("/api/v1/cases/kinds", headers=bearer).json()}
    assert kinds["claim"] is False and kinds["contract_conclusion"] is True
