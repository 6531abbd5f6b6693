import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbyt.core.speech import (
    MAX_NUMBER,
    NUMBER_VOCABULARY,
    date_words,
    day_ordinal_tokens,
    money_words,
    number_tokens,
    number_words,
    phone_words,
    plural,
)


@pytest.mark.parametrize(
    ("n", "gender", "expected"),
    [
        (0, "m", "ноль"),
        (1, "m", "один"),
        (1, "f", "одна"),
        (1, "n", "одно"),
        (2, "m", "два"),
        (2, "f", "две"),
        (11, "m", "одиннадцать"),
        (19, "m", "девятнадцать"),
        (21, "f", "двадцать одна"),
        (40, "m", "сорок"),
        (100, "m", "сто"),
        (101, "m", "сто один"),
        (999, "m", "девятьсот девяносто девять"),
        (1000, "m", "одна тысяча"),
        (1001, "m", "одна тысяча один"),
        (1234, "m", "одна тысяча двести тридцать четыре"),
        (2000, "m", "две тысячи"),
        (4000, "m", "четыре тысячи"),
        (5000, "m", "пять тысяч"),
        (11000, "m", "одиннадцать тысяч"),
        (12345, "m", "двенадцать тысяч триста сорок пять"),
        (21000, "m", "двадцать одна тысяча"),
        (22000, "m", "двадцать две тысячи"),
        (111000, "m", "сто одиннадцать тысяч"),
        (1_000_000, "m", "один миллион"),
        (2_000_001, "f", "два миллиона одна"),
        (5_000_000, "m", "пять миллионов"),
        (1_000_000_000, "m", "один миллиард"),
        (3_000_000_000, "m", "три миллиарда"),
        (10**12, "m", "один триллион"),
        (1_002_003_004, "m", "один миллиард два миллиона три тысячи четыре"),
        (-5, "m", "минус пять"),
    ],
)
def test_number_words(n, gender, expected):
    assert number_words(n, gender) == expected


@given(st.integers(min_value=-MAX_NUMBER, max_value=MAX_NUMBER), st.sampled_from(["m", "f", "n"]))
def test_number_words_never_fails_and_is_tidy(n, gender):
    text = number_words(n, gender)
    assert text and text == text.strip() and "  " not in text
    assert set(number_tokens(n, gender)) <= set(NUMBER_VOCABULARY)
    assert ("тысяч" in text) == (abs(n) % 10**6 >= 1000)


@given(st.integers(min_value=0, max_value=999))
def test_thousand_forms_agree(k):
    text = number_words(k * 1000) if k else ""
    if k % 100 in range(11, 20) or k % 10 in (0, 5, 6, 7, 8, 9):
        assert not k or text.endswith(" тысяч") or text == "тысяч"
    elif k % 10 == 1:
        assert text.endswith("одна тысяча")
    else:
        assert text.endswith(("две тысячи", "три тысячи", "четыре тысячи"))


@pytest.mark.parametrize("bad", [MAX_NUMBER + 1, 1.5, "12", True])
def test_number_words_refuses_what_it_cannot_say(bad):
    with pytest.raises((ValueError, TypeError)):
        number_words(bad)


def test_plural():
    forms = ("рубль", "рубля", "рублей")
    assert [plural(n, forms) for n in (1, 2, 5, 11, 12, 21, 22, 25, 111, 101)] == [
        "рубль",
        "рубля",
        "рублей",
        "рублей",
        "рублей",
        "рубль",
        "рубля",
        "рублей",
        "рублей",
        "рубль",
    ]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1234.50"), "одна тысяча двести тридцать четыре рубля пятьдесят копеек"),
        (Decimal("1.01"), "один рубль одна копейка"),
        (Decimal("2.02"), "два рубля две копейки"),
        (Decimal("100"), "сто рублей"),
        (Decimal("0.05"), "ноль рублей пять копеек"),
        (Decimal("21.999"), "двадцать два рубля"),
        (Decimal("-3.50"), "минус три рубля пятьдесят копеек"),
    ],
)
def test_money_words(amount, expected):
    assert money_words(amount) == expected


@pytest.mark.parametrize(
    ("day", "case", "expected"),
    [
        (dt.date(2026, 11, 23), "nom", "двадцать третье ноября две тысячи двадцать шестого года"),
        (dt.date(2026, 11, 23), "gen", "двадцать третьего ноября две тысячи двадцать шестого года"),
        (dt.date(2000, 1, 1), "gen", "первого января двухтысячного года"),
        (dt.date(1999, 12, 31), "nom", "тридцать первое декабря тысяча девятьсот девяносто девятого года"),
        (dt.date(2010, 3, 10), "nom", "десятое марта две тысячи десятого года"),
        (dt.date(2030, 5, 20), "nom", "двадцатое мая две тысячи тридцатого года"),
        (dt.date(2100, 2, 4), "nom", "четвёртое февраля две тысячи сотого года"),
    ],
)
def test_date_words(day, case, expected):
    assert date_words(day, case) == expected


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(3999, 12, 31)))
def test_date_words_any_date(day):
    text = date_words(day, "gen")
    assert text.endswith(" года") and "  " not in text


def test_day_ordinals():
    assert day_ordinal_tokens(18, "gen") == ["восемнадцатого"]
    assert day_ordinal_tokens(25, "nom") == ["двадцать", "пятое"]


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+7 912 345-67-89", "плюс семь девятьсот двенадцать триста сорок пять шестьдесят семь восемьдесят девять"),
        ("+79123456789", "плюс семь девятьсот двенадцать триста сорок пять шестьдесят семь восемьдесят девять"),
        ("8-800-200-83-81", "восемь восемьсот двести восемьдесят три восемьдесят один"),
        ("28-99-05", "двадцать восемь девяносто девять ноль пять"),
        ("", ""),
    ],
)
def test_phone_words(phone, expected):
    assert phone_words(phone) == expected
