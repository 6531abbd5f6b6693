"""Russian words for numbers, money, dates and phone numbers, for voice messages and IVR read-backs (INF-4).

Pure functions, no Django: ``number_words(1234) == "одна тысяча двести тридцать четыре"``. The IVR plays
these words as a sequence of recorded prompts (one sound file per word, see ``NUMBER_VOCABULARY``); a TTS
engine can speak the same strings.
"""

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

MAX_NUMBER = 10**12

_UNITS = {
    "m": ("ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"),
    "f": ("ноль", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"),
    "n": ("ноль", "одно", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"),
}
_TEENS = (
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
)
_TENS = ("", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят", "восемьдесят", "девяносто")
_HUNDREDS = ("", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот", "восемьсот", "девятьсот")
# (forms for 1 / 2–4 / 5–20, grammatical gender) of each power of a thousand
_SCALES = (
    (("тысяча", "тысячи", "тысяч"), "f"),
    (("миллион", "миллиона", "миллионов"), "m"),
    (("миллиард", "миллиарда", "миллиардов"), "m"),
    (("триллион", "триллиона", "триллионов"), "m"),
)
_GENDERS = ("m", "f", "n")


def plural(n: int, forms: tuple[str, str, str]) -> str:
    """The noun form that goes with ``n``: plural(1, ("рубль", "рубля", "рублей")) == "рубль"."""
    n = abs(n)
    if n % 100 in range(11, 20):
        return forms[2]
    if n % 10 == 1:
        return forms[0]
    if n % 10 in (2, 3, 4):
        return forms[1]
    return forms[2]


def _triple(n: int, gender: str) -> list[str]:
    """Words for 1..999."""
    words = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words.append(_HUNDREDS[hundreds])
    if 10 <= rest < 20:
        words.append(_TEENS[rest - 10])
    else:
        tens, units = divmod(rest, 10)
        if tens:
            words.append(_TENS[tens])
        if units:
            words.append(_UNITS[gender][units])
    return words


def number_tokens(n: int, gender: str = "m") -> list[str]:
    """The words of ``n`` as a list (one recorded prompt each). ``gender``: of the counted noun, m / f / n."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("number_words() takes an int")
    if gender not in _GENDERS:
        raise ValueError(f"gender must be one of {_GENDERS}")
    if abs(n) > MAX_NUMBER:
        raise ValueError(f"number_words() supports up to {MAX_NUMBER}")
    if n == 0:
        return [_UNITS[gender][0]]
    words = ["минус"] if n < 0 else []
    n = abs(n)
    groups = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    for power in range(len(groups) - 1, -1, -1):
        group = groups[power]
        if not group:
            continue
        if power == 0:
            words += _triple(group, gender)
        else:
            forms, scale_gender = _SCALES[power - 1]
            words += _triple(group, scale_gender)
            words.append(plural(group, forms))
    return words


def number_words(n: int, gender: str = "m") -> str:
    """0 … 10¹² in Russian words: number_words(2, "f") == "две", number_words(21000) == "двадцать одна тысяча"."""
    return " ".join(number_tokens(n, gender))


RUBLE = (("рубль", "рубля", "рублей"), "m")
KOPEK = (("копейка", "копейки", "копеек"), "f")


def money_tokens(amount) -> list[str]:
    amount = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = ["минус"] if amount < 0 else []
    kopeks_total = int(abs(amount) * 100)
    rubles, kopeks = divmod(kopeks_total, 100)
    words = sign + number_tokens(rubles, RUBLE[1]) + [plural(rubles, RUBLE[0])]
    if kopeks:
        words += number_tokens(kopeks, KOPEK[1]) + [plural(kopeks, KOPEK[0])]
    return words


def money_words(amount) -> str:
    """Decimal("1234.50") → «одна тысяча двести тридцать четыре рубля пятьдесят копеек» (zero kopeks unsaid)."""
    return " ".join(money_tokens(amount))


_MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
# ordinal stems: (nominative neuter, genitive) for 1..19 and the tens
_ORD_UNITS = (
    None,
    ("первое", "первого"),
    ("второе", "второго"),
    ("третье", "третьего"),
    ("четвёртое", "четвёртого"),
    ("пятое", "пятого"),
    ("шестое", "шестого"),
    ("седьмое", "седьмого"),
    ("восьмое", "восьмого"),
    ("девятое", "девятого"),
    ("десятое", "десятого"),
    ("одиннадцатое", "одиннадцатого"),
    ("двенадцатое", "двенадцатого"),
    ("тринадцатое", "тринадцатого"),
    ("четырнадцатое", "четырнадцатого"),
    ("пятнадцатое", "пятнадцатого"),
    ("шестнадцатое", "шестнадцатого"),
    ("семнадцатое", "семнадцатого"),
    ("восемнадцатое", "восемнадцатого"),
    ("девятнадцатое", "девятнадцатого"),
)
_ORD_TENS = (
    None,
    None,
    ("двадцатое", "двадцатого"),
    ("тридцатое", "тридцатого"),
    ("сороковое", "сорокового"),
    ("пятидесятое", "пятидесятого"),
    ("шестидесятое", "шестидесятого"),
    ("семидесятое", "семидесятого"),
    ("восьмидесятое", "восьмидесятого"),
    ("девяностое", "девяностого"),
)
_ORD_HUNDREDS_GEN = (
    None,
    "сотого",
    "двухсотого",
    "трёхсотого",
    "четырёхсотого",
    "пятисотого",
    "шестисотого",
    "семисотого",
    "восьмисотого",
    "девятисотого",
)
_ORD_THOUSANDS_GEN = (None, "тысячного", "двухтысячного", "трёхтысячного")


def _ordinal_below_100(n: int, case: int) -> list[str]:
    """1..99 as an ordinal (neuter nominative: case 0; genitive: case 1); only the last word is ordinal."""
    if n < 20:
        return [_ORD_UNITS[n][case]]
    tens, units = divmod(n, 10)
    if not units:
        return [_ORD_TENS[tens][case]]
    return [_TENS[tens], _ORD_UNITS[units][case]]


def day_ordinal_tokens(day: int, case: str = "nom") -> list[str]:
    """A day of the month as an ordinal: 25 → «двадцать пятое» (case="gen": «двадцать пятого»)."""
    if not 1 <= day <= 31 or case not in ("nom", "gen"):
        raise ValueError("day must be 1..31, case 'nom' or 'gen'")
    return _ordinal_below_100(day, 0 if case == "nom" else 1)


def _year_tokens(year: int) -> list[str]:
    """A year as said in a date, genitive: 2026 → «две тысячи двадцать шестого»."""
    if not 1 <= year <= 3999:
        raise ValueError("year out of range")
    thousands, rest = divmod(year, 1000)
    hundreds, below = divmod(rest, 100)
    if not rest:
        return [_ORD_THOUSANDS_GEN[thousands]]
    words = number_tokens(thousands * 1000) if thousands else []
    if thousands == 1:
        words = ["тысяча"]  # «тысяча девятьсот …», never «одна тысяча» in a year
    if not below:
        return words + [_ORD_HUNDREDS_GEN[hundreds]]
    if hundreds:
        words.append(_HUNDREDS[hundreds])
    return words + _ordinal_below_100(below, 1)


def date_tokens(day: dt.date, case: str = "nom") -> list[str]:
    if case not in ("nom", "gen"):
        raise ValueError("case must be 'nom' or 'gen'")
    return day_ordinal_tokens(day.day, case) + [_MONTHS_GENITIVE[day.month - 1]] + _year_tokens(day.year) + ["года"]


def date_words(day: dt.date, case: str = "nom") -> str:
    """date(2026, 11, 23) → «двадцать третье ноября две тысячи двадцать шестого года»;
    case="gen" (after «от», «до») → «двадцать третьего ноября …»."""
    return " ".join(date_tokens(day, case))


_PHONE_GROUPS = re.compile(r"\d+")


def _phone_group(group: str) -> list[str]:
    if group.startswith("0") or len(group) > 3:
        return [_UNITS["m"][int(d)] for d in group]  # «ноль пять», long runs digit by digit
    return number_tokens(int(group))


def phone_tokens(phone: str) -> list[str]:
    text = (phone or "").strip()
    digits = re.sub(r"\D", "", text)
    if not digits:
        return []
    groups = _PHONE_GROUPS.findall(text)
    if len(groups) == 1:  # no separators: the usual Russian grouping
        if len(digits) == 11:
            groups = [digits[0], digits[1:4], digits[4:7], digits[7:9], digits[9:]]
        elif len(digits) == 10:
            groups = [digits[:3], digits[3:6], digits[6:8], digits[8:]]
        elif len(digits) in (5, 6, 7):
            cut = len(digits) - 4
            groups = [digits[:cut], digits[cut:-2], digits[-2:]]
    words = ["плюс"] if text.startswith("+") else []
    for group in groups:
        words += _phone_group(group)
    return words


def phone_words(phone: str) -> str:
    """+7 912 345-67-89 → «плюс семь девятьсот двенадцать триста сорок пять шестьдесят семь восемьдесят девять»:
    in the groups as written (or the usual 1-3-3-2-2), a group with a leading zero digit by digit."""
    return " ".join(phone_tokens(phone))


def _vocabulary() -> tuple[str, ...]:
    words = {"минус", "плюс", "года"}
    for gender in _GENDERS:
        words.update(_UNITS[gender])
    words.update(_TEENS, _TENS[2:], _HUNDREDS[1:], _MONTHS_GENITIVE)
    for forms, _gender in _SCALES + (RUBLE, KOPEK):
        words.update(forms)
    for pair in _ORD_UNITS[1:] + _ORD_TENS[2:]:
        words.update(pair)
    words.update(_ORD_HUNDREDS_GEN[1:], _ORD_THOUSANDS_GEN[1:])
    return tuple(sorted(words))


NUMBER_VOCABULARY = _vocabulary()
"""Every word the functions above can produce: the sound files an IVR needs to say any of them."""
