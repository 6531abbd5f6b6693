"""Appeals (issue 6) in a real browser: a complaint from the public form → the acknowledgement e-mail → the routing
operator routes it → the specialist answers → the client reads the answer in the cabinet; a cabinet application,
the supervisor's board, the contact centre's identification and call. Screenshots (360 px, 1280 px): screenshots/tmp/

Until the lead merges ``var/tr_cases.json`` into the catalog, the new interface texts are English msgids; this test
adds them from that file as an extra catalog (a temporary .mo), so the pages are seen as the client sees them."""

import json
import re
import struct
from pathlib import Path

import pytest
from django.core import mail

from sbyt.cases.models import Case, Topic
from tests.browser.conftest import no_horizontal_scroll
from tests.cases.conftest import PDF, ROUTING, SUPERVISOR
from tests.factories import AccountFactory, CustomerFactory, PremisesFactory, client_login, staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots" / "tmp"
PASSWORD = "Secret-pass-42"
PLURAL = (
    "nplurals=4; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<12 || n%100>14) ? 1 : "
    "n%10==0 || (n%10>=5 && n%10<=9) || (n%100>=11 && n%100<=14)? 2 : 3);"
)


def write_mo(path: Path, catalog: dict[str, str]) -> None:
    """A GNU .mo file of ``catalog`` (plural entries are left out)."""
    entries = {"": f"Content-Type: text/plain; charset=UTF-8\nPlural-Forms: {PLURAL}\n"}
    entries.update({k: v for k, v in catalog.items() if isinstance(v, str)})
    keys = sorted(entries)
    ids = [k.encode() for k in keys]
    strs = [entries[k].encode() for k in keys]
    count = len(keys)
    start = 7 * 4 + 16 * count
    offsets, data = [], b""
    for raw in ids:
        offsets.append((len(raw), start + len(data)))
        data += raw + b"\0"
    trans = []
    for raw in strs:
        trans.append((len(raw), start + len(data)))
        data += raw + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, 0)
    tables = b"".join(struct.pack("<2I", *o) for o in offsets) + b"".join(struct.pack("<2I", *t) for t in trans)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + tables + data)


@pytest.fixture(autouse=True)
def _new_texts_in_russian(settings, tmp_path):
    source = ROOT / "var" / "tr_cases.json"
    if source.exists():
        write_mo(tmp_path / "locale" / "ru" / "LC_MESSAGES" / "django.mo", json.loads(source.read_text()))
        settings.LOCALE_PATHS = [tmp_path / "locale", *settings.LOCALE_PATHS]


def shot(page, name: str) -> None:
    """The page at 360 px and at 1280 px; at 360 px nothing may stick out sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for label, size in (("360", {"width": 360, "height": 780}), ("1280", {"width": 1280, "height": 900})):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"cases-{name}-{label}.png"), full_page=True)
        if label == "360":
            assert no_horizontal_scroll(page), name
    page.set_viewport_size(original)


def staff_log_in(page, user) -> None:
    page.goto(page.base_url + "/staff/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/$"))


def log_out_staff(page) -> None:
    page.locator("header form button").click()


@pytest.fixture
def people(db, tmp_path, settings):
    # A transactional test starts from empty tables (an earlier one flushed what the migrations seeded): seed
    # the roles and the classifier again, the same way the migrations do.
    import importlib

    from django.apps import apps

    from sbyt.users.roles import ensure_roles

    importlib.import_module("sbyt.cases.migrations.0002_seed").seed(apps, None)
    ensure_roles()
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = CustomerFactory(last_name="Сидорова", first_name="Анна", email="sidorova@example.ru")
    account = AccountFactory(number="110055555", customer=customer)
    PremisesFactory(account=account, address="г. Сыктывкар, ул. Ленина, д. 10, кв. 3")
    client_login(account)
    return {
        "account": account,
        "router": staff_login(ROUTING, first_name="Ирина", last_name="Маршрутова"),
        "specialist": staff_login("Специалист бэк-офиса", first_name="Анна", last_name="Исполнитова"),
        "supervisor": staff_login(SUPERVISOR),
    }


def test_complaint_from_the_site_to_the_answer_in_the_cabinet(page, people, tmp_path):
    base = page.base_url
    account = people["account"]

    # 1. The public form, no login: a wrong attempt first, then the complaint with a scan.
    page.goto(base + "/appeal/")
    shot(page, "01-public-form")
    page.locator("textarea[name=text]").fill("Второй месяц в квитанции неверные показания, прошу сделать перерасчёт.")
    page.locator("input[name=name]").fill("Сидорова Анна")
    page.locator("input[name=email]").fill("sidorova@example")
    page.locator("#appeal-form button[type=submit]").click()
    assert page.locator(".alert.error").count() == 1
    assert not Case.objects.exists()
    shot(page, "02-public-form-errors")
    page.locator("input[name=email]").fill("sidorova@example.ru")
    page.locator("input[name=account_number]").fill(account.number)
    page.locator("select[name=topic]").select_option(str(Topic.objects.get(code="billing-charges").pk))
    scan = tmp_path / "kvitanciya.pdf"
    scan.write_bytes(PDF)
    page.locator("input[name=files]").set_input_files(str(scan))
    page.locator("input[name=consent]").check()
    page.locator("#appeal-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/appeal/sent/"))
    case = Case.objects.get()
    assert case.number in page.content()
    shot(page, "03-public-sent")

    # 2. The acknowledgement went at once.
    ack = mail.outbox[-1]
    assert ack.to == ["sidorova@example.ru"] and "3 рабочих дней" in ack.body and case.number in ack.body

    # 3. The routing operator checks the complaint, links the client and routes it to the specialist.
    staff_log_in(page, people["router"])
    page.goto(base + "/staff/cases/routing/")
    assert case.number in page.content()
    shot(page, "04-routing-queue")
    page.locator(f"#case-{case.number} a").first.click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case.number}/"))
    shot(page, "05-routing-case")
    form = page.locator("#action-register form")
    form.locator("select[name=topic]").select_option(str(Topic.objects.get(code="billing-charges").pk))
    form.locator("select[name=assignee]").select_option(str(people["specialist"].pk))
    form.locator("input[name=account_number]").fill(account.number)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case.number}/$"))
    case.refresh_from_db()
    assert (case.status, case.account, case.assignee) == ("in_work", account, people["specialist"])
    log_out_staff(page)

    # 4. The specialist answers the question and sends the answer from the template.
    staff_log_in(page, people["specialist"])
    page.goto(f"{base}/staff/cases/?show=mine")
    assert case.number in page.content()
    shot(page, "06-specialist-queue")
    page.goto(f"{base}/staff/cases/{case.number}/")
    question = page.locator("#question-1 form")
    question.locator("textarea[name=text]").fill("Показания исправлены, перерасчёт отражён в счёте за март.")
    question.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case.number}/$"))
    final = page.locator("#action-final textarea[name=text]")
    assert "перерасчёт отражён" in final.input_value() and "Спасибо за обращение!" in final.input_value()
    shot(page, "07-specialist-case")
    page.locator("#send-final").click()
    page.wait_for_url(re.compile(rf"/staff/cases/{case.number}/$"))
    case.refresh_from_db()
    assert case.status == "answered"
    assert "перерасчёт отражён" in mail.outbox[-1].body
    log_out_staff(page)

    # 5. The client logs in and reads the answer in the cabinet.
    page.goto(base + "/login/")
    page.locator("input[name=identifier]").fill(account.number)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/cabinet/"))
    page.goto(base + "/cabinet/cases/")
    assert case.number in page.content()
    shot(page, "08-cabinet-list")
    page.goto(f"{base}/cabinet/cases/{case.number}/")
    assert "перерасчёт отражён в счёте за март" in page.content()
    shot(page, "09-cabinet-answer")


def test_cabinet_application_and_the_supervisor_board(page, people, tmp_path):
    base = page.base_url
    account = people["account"]
    page.goto(base + "/login/")
    page.locator("input[name=identifier]").fill(account.number)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/cabinet/"))
    page.goto(base + "/cabinet/cases/new/?type=application")
    shot(page, "10-cabinet-new-application")
    page.locator("input[name=kind][value=reregistration]").check()
    page.locator("textarea[name=text]").fill("Прошу переоформить лицевой счёт на меня в связи с покупкой квартиры.")
    page.locator("#case-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/cabinet/cases/\d{4}-\d{6}/"))
    shot(page, "11-cabinet-application")
    page.goto(base + "/cabinet/cases/new/")
    shot(page, "12-cabinet-new-appeal")

    page.context.clear_cookies()
    staff_log_in(page, people["supervisor"])
    page.goto(base + "/staff/cases/board/")
    assert page.locator("#counts").count() == 1
    shot(page, "13-supervisor-board")
    page.goto(base + "/staff/cases/")
    shot(page, "14-supervisor-queue")


def test_contact_centre_identifies_the_caller_and_opens_a_case_with_a_callback(page, people):
    base = page.base_url
    account = people["account"]
    operator = staff_login("Оператор контакт-центра", first_name="Ольга", last_name="Операторова")
    staff_log_in(page, operator)
    page.goto(f"{base}/staff/clients/?q=Сидорова")
    page.goto(f"{base}/staff/clients/{account.number}/")
    assert "sidorova@example.ru" not in page.content()  # confidential until the caller is identified
    shot(page, "15-card-before-identification")
    form = page.locator("#identify form")
    form.locator("input[name=caller_name]").fill("Сидорова Анна Петровна")
    form.locator("input[name=method][value=name_address]").check()
    form.locator("input[name=address]").fill("Сыктывкар, Ленина 10, кв 3")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/staff/clients/{account.number}/$"))
    assert "sidorova@example.ru" in page.content()
    call = page.locator("#register-call form")
    call.locator("select[name=topic]").select_option(str(Topic.objects.get(code="payments-debt").pk))
    call.locator("select[name=outcome]").select_option("case_opened")
    call.locator("textarea[name=note]").fill("Просит проверить, почему пришло уведомление о задолженности.")
    shot(page, "16-card-identified")
    call.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/staff/clients/{account.number}/$"))
    case = Case.objects.get()
    assert case.channel == "phone" and case.number in page.content()
    shot(page, "17-card-with-case")
    page.goto(f"{base}/staff/cases/new/?account={account.number}")
    shot(page, "18-staff-register")
    page.goto(f"{base}/staff/calls/")
    shot(page, "19-calls")
