"""The office directory: the bundled data file, its loader (idempotent, all-or-nothing) and the command."""

import copy
import datetime as dt
import io
import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.utils import timezone

from sbyt.core.errors import DomainError
from sbyt.core.models import AuditEntry
from sbyt.customers.models import Branch
from sbyt.offices import directory
from sbyt.offices.models import Office, OfficeFunction, OfficeHours, Service, Ticket
from tests.offices.builders import make_office

pytestmark = pytest.mark.django_db

EXPECTED = {"51": 24, "69": 46, "46": 29, "67": 34, "18": 0}


@pytest.fixture
def data():
    return copy.deepcopy(directory.read_directory_file())


def test_the_bundled_file_has_every_office_of_the_appendices(data):
    counts = {b["code"]: len(b["offices"]) for b in data["branches"]}
    assert counts == EXPECTED
    zones = {b["code"]: b["time_zone"] for b in data["branches"]}
    assert zones["18"] == "Europe/Samara"
    assert {zones[c] for c in ("51", "69", "46", "67")} == {"Europe/Moscow"}
    assert directory.directory_problems(data) == []


def test_the_file_keeps_what_the_appendix_prints(data):
    offices = {o["code"]: o for b in data["branches"] for o in b["offices"]}
    murmansk = offices["kola-02"]
    assert murmansk["name"] == "Мурманское отделение"
    assert (murmansk["postcode"], murmansk["town"]) == ("183038", "Мурманск")
    assert {"number": "+7 (815 2) 69-23-07", "label": "юр. лица — договорный отдел"} in murmansk["phones"]
    assert murmansk["hours"]["mon"] == {"opens": "09:00", "closes": "18:00", "break": ["13:00", "14:00"]}
    assert murmansk["hours"]["fri"]["closes"] == "17:00"
    assert "sat" not in murmansk["hours"]
    assert murmansk["functions"] == ["businesses"]
    # Tver's client centre works on Saturdays and without a lunch break.
    assert offices["tver-01"]["hours"]["sat"] == {"opens": "09:00", "closes": "14:00"}
    assert "break" not in offices["tver-01"]["hours"]["mon"]
    # Smolensk's service section: long Tuesdays and Thursdays.
    assert offices["smolensk-02"]["hours"]["tue"]["closes"] == "19:00"
    assert offices["smolensk-02"]["hours"]["wed"]["closes"] == "18:00"
    # Kursk: a break from 12 in the districts, none in the city.
    assert offices["kursk-03"]["hours"]["mon"]["break"] == ["12:00", "13:00"]
    assert "break" not in offices["kursk-01"]["hours"]["mon"]
    udmurt = next(b for b in data["branches"] if b["code"] == "18")
    assert udmurt["contacts"]["email"] == "udm@esplus.ru"
    assert [p["number"] for p in udmurt["contact_centre"]["phones"]] == ["8-800-700-10-32", "8-800-600-03-90"]


def test_loads_every_office_with_hours_and_functions(data):
    result = directory.load_directory(data, actor="test")
    assert Office.objects.count() == 133
    assert sorted(result.branches_created) == ["18", "46", "51", "67", "69"]
    assert Branch.objects.get(code="18").time_zone == "Europe/Samara"
    assert Branch.objects.get(code="18").contact_phones == "8-800-700-10-32, 8-800-600-03-90"
    office = Office.objects.get(code="kola-07")
    assert office.town == "Кола"
    assert office.phones.splitlines()[0] == "+7 (815 53) 38-303 — физ. лица (МКД)"
    assert office.serves_households and office.serves_businesses
    assert set(office.functions.values_list("code", flat=True)) == {
        "households", "businesses", "consultation", "applications", "readings", "payments",
    }  # fmt: skip
    monday = office.hours.get(weekday=0)
    assert (monday.opens, monday.closes, monday.break_starts, monday.break_ends) == (
        dt.time(9), dt.time(18), dt.time(13), dt.time(14),
    )  # fmt: skip
    assert OfficeHours.objects.filter(office__code="tver-01", weekday=5).exists()
    entry = AuditEntry.objects.get(action="offices.directory_loaded")
    assert len(entry.details["offices_created"]) == 133


def test_a_second_run_changes_nothing(data):
    directory.load_directory(data, actor="test")
    hours_ids = set(OfficeHours.objects.values_list("pk", flat=True))
    result = directory.load_directory(data, actor="test")
    assert result.offices_created == result.offices_updated == result.branches_created == []
    assert len(result.offices_unchanged) == 133
    assert not result.changed
    assert set(OfficeHours.objects.values_list("pk", flat=True)) == hours_ids
    assert AuditEntry.objects.filter(action="offices.directory_loaded").count() == 1


def test_a_changed_file_updates_hours_and_fields_but_not_admin_settings(data):
    directory.load_directory(data, actor="test")
    office = Office.objects.get(code="kola-04")
    office.has_queue = True
    office.accepts_appointments = True
    office.save()
    kola = data["branches"][0]
    changed = kola["offices"][3]
    changed["address"] = "г. Мурманск, пр. Ленина, д. 91"
    changed["hours"]["sat"] = {"opens": "10:00", "closes": "14:00"}
    changed["functions"] = ["households"]
    result = directory.load_directory(data, actor="test")
    assert result.offices_updated == ["kola-04"]
    office.refresh_from_db()
    assert office.address == "г. Мурманск, пр. Ленина, д. 91"
    assert office.hours.get(weekday=5).opens == dt.time(10)
    assert list(office.functions.values_list("code", flat=True)) == ["households"]
    assert office.has_queue and office.accepts_appointments


def test_an_existing_branch_is_left_alone(data):
    Branch.objects.create(code="18", name="Удмуртский филиал (демо)", time_zone="Europe/Samara", contact_phones="1")
    result = directory.load_directory(data, actor="test")
    assert "18" in result.branches_existing
    branch = Branch.objects.get(code="18")
    assert (branch.name, branch.contact_phones) == ("Удмуртский филиал (демо)", "1")


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda d: d["branches"][0]["offices"][0].update(code="kola 01"), "kola 01"),
        (lambda d: d["branches"][1]["offices"][0].update(code="kola-02"), "kola-02"),
        (lambda d: d["branches"][0].update(time_zone="Europe/Murmansk"), "Europe/Murmansk"),
        (lambda d: d["branches"][0]["offices"][5]["hours"].update(mon={"opens": "18:00", "closes": "09:00"}), "mon"),
        (lambda d: d["branches"][0]["offices"][5]["hours"].update(mon={"opens": "9 утра", "closes": "18:00"}), "mon"),
        (lambda d: d["branches"][0]["offices"][5]["hours"].update(sat={"opens": "09:00", "closes": "12:00",
                                                                      "break": ["13:00", "14:00"]}), "sat"),
        (lambda d: d["branches"][0]["offices"][5].update(functions=["massage"]), "massage"),
        (lambda d: d["branches"][0]["offices"][5].update(postcode="18303"), "kola-06"),
        (lambda d: d["branches"][0]["offices"][5].update(town=""), "kola-06"),
        (lambda d: d.pop("branches"), "branches"),
    ],
)  # fmt: skip
def test_a_bad_file_is_refused_whole(data, spoil, words):
    spoil(data)
    with pytest.raises(DomainError) as error:
        directory.load_directory(data, actor="test")
    assert words in str(error.value)
    assert not Office.objects.exists()
    assert not Branch.objects.exists()
    assert not OfficeFunction.objects.exists()


def test_a_bad_file_never_touches_a_loaded_directory(data):
    directory.load_directory(data, actor="test")
    data["branches"][0]["offices"][0]["name"] = "Переименованный офис"
    data["branches"][2]["offices"][0]["hours"]["mon"]["opens"] = "25:00"
    with pytest.raises(DomainError):
        directory.load_directory(data, actor="test")
    assert Office.objects.get(code="kola-01").name == "Головной офис"


def test_prune_deletes_unlisted_offices_but_keeps_those_with_tickets(data):
    directory.load_directory(data, actor="test")
    kola = data["branches"][0]
    gone, kept = kola["offices"].pop(), kola["offices"].pop()
    office = Office.objects.get(code=kept["code"])
    Ticket.objects.create(
        office=office,
        service=Service.objects.get(code="cash"),
        day=dt.date(2026, 11, 23),
        sequence=1,
        number="О-001",
        issued_at=timezone.now(),
    )
    result = directory.load_directory(data, actor="test")
    assert not result.offices_deleted  # only with prune
    result = directory.load_directory(data, actor="test", prune=True)
    assert result.offices_deleted == [gone["code"]]
    assert result.offices_deactivated == [kept["code"]]
    assert not Office.objects.filter(code=gone["code"]).exists()
    office.refresh_from_db()
    assert not office.is_active


def test_offices_not_in_the_file_stay_without_prune_and_other_branches_always_stay(data):
    izhevsk = make_office(code="izh-demo", branch_code="18", time_zone="Europe/Samara")
    syktyvkar = make_office(code="syk-demo", branch_code="11")
    directory.load_directory(data, actor="test")
    assert Office.objects.filter(pk=izhevsk.pk).exists()
    result = directory.load_directory(data, actor="test", prune=True)
    assert result.offices_deleted == ["izh-demo"]  # branch 18 is in the file, with no offices
    assert Office.objects.filter(pk=syktyvkar.pk).exists()  # branch 11 is not in the file


def test_command_loads_the_bundled_file_and_says_what_it_did():
    out = io.StringIO()
    call_command("load_offices", stdout=out)
    text = out.getvalue()
    assert "Офисы созданы: 133" in text
    assert "Филиалы созданы: 5" in text
    out = io.StringIO()
    call_command("load_offices", stdout=out)
    assert "Офисы без изменений: 133" in out.getvalue()
    assert "Изменений нет" in out.getvalue()


def test_command_refuses_a_broken_file_with_a_clear_error(tmp_path):
    broken = tmp_path / "offices.json"
    broken.write_text('{"branches": [', encoding="utf-8")
    with pytest.raises(CommandError) as error:
        call_command("load_offices", str(broken), stdout=io.StringIO())
    assert "JSON" in str(error.value)
    with pytest.raises(CommandError):
        call_command("load_offices", str(tmp_path / "missing.json"), stdout=io.StringIO())
    assert not Office.objects.exists()


def test_command_reads_another_file(tmp_path, data):
    data["branches"] = [data["branches"][0]]
    data["branches"][0]["offices"] = data["branches"][0]["offices"][:2]
    path = tmp_path / "two.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = io.StringIO()
    call_command("load_offices", str(path), stdout=out)
    assert "Офисы созданы: 2 (kola-01, kola-02)" in out.getvalue()
    assert Office.objects.count() == 2


def test_search_by_town_function_and_open_now(data):
    directory.load_directory(data, actor="test")
    # Wednesday 2026-11-25, 12:30 in Moscow: Kursk's districts are at lunch (12–13), Murmansk is open.
    at = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
    murmansk = directory.search_offices(town="мурманск", now=at)
    assert {o.code for o in murmansk} == {f"kola-0{n}" for n in range(1, 7)}
    assert all(o.status.is_open for o in murmansk)
    paying = directory.search_offices(town="Мурманск", function="payments", now=at)
    assert [o.code for o in paying] == ["kola-04"]
    open_now = {o.code for o in directory.search_offices(open_now=True, now=at)}
    assert "kola-01" in open_now
    assert "kursk-03" not in open_now  # lunch
    assert "kursk-01" in open_now  # no break in Kursk itself
    # Saturday: only Tver's client centre works.
    saturday = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
    assert [o.code for o in directory.search_offices(open_now=True, now=saturday)] == ["tver-01"]


def test_office_by_code_finds_only_active_offices(data):
    directory.load_directory(data, actor="test")
    assert directory.office_by_code("kola-04").name.startswith("Октябрьский")
    Office.objects.filter(code="kola-04").update(is_active=False)
    with pytest.raises(DomainError):
        directory.office_by_code("kola-04")


def test_contact_centre_hours_of_a_branch_not_in_the_file():
    komi = Branch.objects.create(code="11", name="Коми", time_zone="Europe/Moscow", contact_phones="8-800-200-83-81")
    centre = directory.contact_centre(komi)
    assert centre.phones == [("8-800-200-83-81", "")]
    assert centre.schedule.weekly[0].opens == dt.time(8)
    assert centre.schedule.weekly[5].closes == dt.time(14)
    assert 6 not in centre.schedule.weekly


def test_offices_demo_makes_a_queue_office_per_demo_branch_and_two_office_logins():
    from sbyt.offices.demo import print_offices_demo, seed_offices_demo

    Branch.objects.create(code="11", name="Коми", time_zone="Europe/Moscow")
    Branch.objects.create(code="18", name="Удмуртский филиал", time_zone="Europe/Samara")
    result = seed_offices_demo()
    assert Office.objects.count() == 135
    for code, windows in (("syk-demo", 5), ("izh-demo", 6)):
        office = Office.objects.get(code=code)
        assert office.has_queue and office.accepts_appointments
        assert office.windows.count() == windows
        assert office.hours.count() == 6
        assert all(w.services.exists() for w in office.windows.all())
        assert {u.username for u in office.staff.all()} == {"office", "office-head"}
        assert [u.username for u in office.managers.all()] == ["office-head"]
    assert Office.objects.get(code="izh-demo").windows.filter(is_duty_admin=True).count() == 1  # > 5 windows
    assert Office.objects.get(code="izh-demo").branch.code == "18"
    specialist = authenticate(username="office", password="staff-pass-2026")
    assert specialist is not None and specialist.has_perm("offices.serve_window")
    head = authenticate(username="office-head", password="staff-pass-2026")
    assert head.has_perm("offices.view_queue_stats")
    lines = []
    print_offices_demo(result, lines.append)
    assert "  office / staff-pass-2026 — специалист офиса (окно, киоск, книга жалоб)" in lines
    # Again: nothing new, passwords kept.
    again = seed_offices_demo()
    assert Office.objects.count() == 135
    assert Office.objects.get(code="izh-demo").windows.count() == 6
    assert again.staff[0][1] == "(уже был, пароль не менялся)"
