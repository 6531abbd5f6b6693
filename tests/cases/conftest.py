"""Shared data of the case-engine tests: a household with a cabinet login, a neighbour, staff of every role,
files of each kind, and a MEDIA_ROOT of its own."""

import datetime as dt
import io
import zipfile
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sbyt.cases.models import Topic
from tests.factories import AccountFactory, BranchFactory, CustomerFactory, PremisesFactory, client_login, staff_login

MSK = ZoneInfo("Europe/Moscow")

OPERATOR = "Оператор контакт-центра"
OFFICE_SPECIALIST = "Специалист офиса"
BACK_OFFICE = "Специалист бэк-офиса"
ROUTING = "Оператор маршрутизации обращений"
SUPERVISOR = "Супервизор обращений"
READINGS = "Специалист по показаниям"

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def msk(year, month, day, hour=12, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=MSK)


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def branch(db):
    """The branch every case without a client goes to (the first by code)."""
    return BranchFactory()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SBYT_CASE_ATTACHMENT_MAX_MB = 1
    return settings.MEDIA_ROOT


@pytest.fixture
def media_files(_media):
    def files():
        return sorted(p for p in _media.rglob("*") if p.is_file()) if _media.exists() else []

    return files


@pytest.fixture
def account(db):
    customer = CustomerFactory(email="ivanova@example.ru", phone="+79121234567")
    account = AccountFactory(number="110012345", customer=customer)
    PremisesFactory(account=account, address="г. Сыктывкар, ул. Коммунистическая, д. 1, кв. 5")
    return account


@pytest.fixture
def client_user(account):
    return client_login(account)


@pytest.fixture
def neighbour(db):
    customer = CustomerFactory(last_name="Петров", first_name="Иван", email="petrov@example.ru")
    account = AccountFactory(number="110099999", customer=customer)
    PremisesFactory(account=account, address="г. Сыктывкар, ул. Ленина, д. 2, кв. 1")
    return account


@pytest.fixture
def neighbour_user(neighbour):
    return client_login(neighbour)


@pytest.fixture
def topic(db):
    return Topic.objects.get(code="billing-charges")


@pytest.fixture
def operator(db):
    return staff_login(OPERATOR, email="operator@example.ru", first_name="Ольга", last_name="Операторова")


@pytest.fixture
def office_specialist(db):
    return staff_login(OFFICE_SPECIALIST)


@pytest.fixture
def specialist(db):
    return staff_login(BACK_OFFICE, email="spec@example.ru", first_name="Анна", last_name="Исполнитова")


@pytest.fixture
def router(db):
    return staff_login(ROUTING, email="router@example.ru")


@pytest.fixture
def supervisor(db):
    return staff_login(SUPERVISOR, email="boss@example.ru")


@pytest.fixture
def readings_specialist(db):
    return staff_login(READINGS)


@pytest.fixture
def no_role_staff(db):
    return staff_login()
