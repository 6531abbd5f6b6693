"""Tariffs and norms from a CSV / XLSX table: all or nothing, every bad row named; the command around it."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sbyt.billing.config import BranchConfig
from sbyt.billing.models import ConsumptionNorm, Tariff
from sbyt.billing.tariffs import import_file

from .builders import make_branch

pytestmark = pytest.mark.django_db

TARIFFS = """branch;resource;group;zones;zone;valid_from;valid_to;range1_upto;range2_upto;price1;price2;price3;source
11;электроэнергия;город;1;1;01.07.2026;;3900;6000;6,93;9,08;11,65;Приказ № 1
11;электроэнергия;город;2;день;01.07.2026;;3900;6000;7,94;10,40;13,34;Приказ № 1
11;электроэнергия;город;2;ночь;01.07.2026;;3900;6000;3,81;4,99;6,40;Приказ № 1
11;горячая вода;все;1;1;01.07.2026;;;;251,40;;;Приказ № 2
"""
NORMS = """филиал;ресурс;плита;комнат;проживающих;норматив
11;электроэнергия;газ;1;1;151
11;электроэнергия;газ;1;2;94
11;электроэнергия;электро;1;1;204
11;горячая вода;;;;3,5
"""


@pytest.fixture
def branch():
    return make_branch()


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_tariffs_from_csv(branch, tmp_path):
    result = import_file(write(tmp_path, "t.csv", TARIFFS), actor="test")
    assert result.ok and (result.created, result.rows) == (3, 4)
    two = Tariff.objects.get(zones=2)
    assert (two.range1_upto, two.range2_upto, two.source) == (D("3900"), D("6000"), "Приказ № 1")
    assert {(p.zone, p.range_no): p.price for p in two.prices.all()}[(2, 3)] == D("6.40")
    config = BranchConfig(branch, dt.date(2026, 7, 1))
    assert config.terms("hot_water", "any", 1)[0].prices == {(1, 1): D("251.40")}
    again = import_file(write(tmp_path, "t.csv", TARIFFS), actor="test")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_a_new_tariff_closes_the_open_ended_one_it_follows(branch, tmp_path):
    import_file(write(tmp_path, "t.csv", TARIFFS), actor="test")
    later = TARIFFS.replace("01.07.2026", "01.07.2027").replace("6,93", "7,50")
    result = import_file(write(tmp_path, "t2.csv", later), actor="test")
    assert result.created == 3 and len(result.closed) == 3
    old = Tariff.objects.get(zones=1, resource="electricity", valid_from=dt.date(2026, 7, 1))
    assert old.valid_to == dt.date(2027, 6, 30)


def test_cp1251_and_a_changed_price_updates_the_tariff(branch, tmp_path):
    import_file(write(tmp_path, "t.csv", TARIFFS), actor="test")
    changed = TARIFFS.replace("251,40", "260,00")
    result = import_file(write(tmp_path, "t.csv", changed, encoding="cp1251"), actor="test")
    assert (result.updated, result.unchanged) == (1, 2)
    assert Tariff.objects.get(resource="hot_water").prices.get().price == D("260.00")


def test_a_table_with_errors_imports_nothing_and_names_every_bad_line(branch, tmp_path):
    bad = TARIFFS + "99;электроэнергия;город;1;1;01.07.2026;;;;5;;;\n11;газ;город;1;1;2026-13-01;;;;x;;;\n"
    bad += "11;электроэнергия;село;2;день;01.07.2026;;;;5;;;\n"  # the night zone is missing
    result = import_file(write(tmp_path, "t.csv", bad), actor="test")
    assert not result.ok and not Tariff.objects.exists()
    lines = {line for line, _message in result.errors}
    assert {6, 7, 8} <= lines
    text = " ".join(message for _line, message in result.errors)
    assert "«99»" in text and "«газ»" in text and "зоны 2" in text


def test_a_missing_range_price_is_an_error(branch, tmp_path):
    table = (
        "branch;resource;group;zones;zone;valid_from;range1_upto;price1;price2\n11;ээ;город;1;1;01.07.2026;3900;6;\n"
    )
    result = import_file(write(tmp_path, "t.csv", table), actor="test")
    assert not result.ok and "Цена 2" in result.errors[0][1]


def test_norms_from_xlsx(branch, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    for row in NORMS.strip().splitlines():
        workbook.active.append([int(c) if c.isdigit() else c for c in row.split(";")])
    path = tmp_path / "norms.xlsx"
    workbook.save(path)
    result = import_file(path, actor="test")
    assert result.ok and result.kind == "norms" and result.created == 4
    config = BranchConfig(branch, dt.date(2026, 7, 1))
    assert config.norm_per_person("electricity", stove_type="gas", rooms=1, residents=2) == D("94")
    assert config.norm_per_person("electricity", stove_type="gas", rooms=3, residents=5) == D("94")  # the largest
    assert config.norm_per_person("electricity", stove_type="electric", rooms=1, residents=1) == D("204")
    assert config.norm_per_person("hot_water", stove_type="gas", rooms=2, residents=3) == D("3.5")
    assert ConsumptionNorm.objects.get(resource="hot_water").stove_type == ""


def test_the_command(branch, tmp_path, capsys):
    path = write(tmp_path, "t.csv", TARIFFS)
    call_command("import_tariffs", str(path), "--dry-run")
    assert not Tariff.objects.exists() and "ничего не изменено" in capsys.readouterr().out
    call_command("import_tariffs", str(path))
    assert Tariff.objects.count() == 3 and "Создано: 3" in capsys.readouterr().out
    with pytest.raises(CommandError, match="ничего не загружено"):
        call_command("import_tariffs", str(write(tmp_path, "bad.csv", TARIFFS.replace("11;", "77;"))))
    with pytest.raises(CommandError, match="нет ни столбца цены, ни столбца норматива"):
        call_command("import_tariffs", str(write(tmp_path, "x.csv", "a;b\n1;2\n")))
