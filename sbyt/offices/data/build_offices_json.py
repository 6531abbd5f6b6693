"""Build ``offices.json`` from the seed texts of the two service standards (run by hand, output committed).

    .venv/bin/python sbyt/offices/data/build_offices_json.py \\
        ../shared/seeds/003_1ea7ec4257bdb029.txt ../shared/seeds/004_6e1854634ac68ece.txt \\
        > sbyt/offices/data/offices.json

Appendix 1 of the AtomEnergoSbyt standard (003) is a table flattened to text: a branch header line, then per
office its number («12.»), name, address, phones, hours and functions, one cell or cell line per text line.
The four branches write hours four different ways; one parser reads them all (see ``parse_hours``) and the
script stops with an error on anything it does not understand, so nothing is guessed silently. The appendix
of the Udmurt standard (004) is the branch's contact table: it becomes the branch's contacts (no offices).

Plain Python, no Django: it only reads text and prints JSON.
"""

import json
import re
import sys
from pathlib import Path

APPENDIX_START = "Приложение 1\n\n№ п/п"
BRANCH_HEADER = re.compile(r"^(?:Филиал|ОП)\s+«([^»]+)»\s*$")
ITEM_NUMBER = re.compile(r"^(\d+)\.\s*$")

# Branches of appendix 1 as (name in the text, code, slug for office codes, time zone, region).
# Codes are the regions' numbers (as the demo's «11» Komi and «18» Udmurtia); all four regions keep Moscow time.
BRANCHES = {
    "КолАтомЭнергоСбыт": ("51", "kola", "Europe/Moscow", "Мурманская область"),
    "ТверьАтомЭнергоСбыт": ("69", "tver", "Europe/Moscow", "Тверская область"),
    "КурскАтомЭнергоСбыт": ("46", "kursk", "Europe/Moscow", "Курская область"),
    "СмоленскАтомЭнергоСбыт": ("67", "smolensk", "Europe/Moscow", "Смоленская область"),
}
EXPECTED_OFFICES = {"51": 24, "69": 46, "46": 29, "67": 34}

# Contact centre hours for billing questions (REQUIREMENTS CC-1, standard ch. 4 §3.2), local time of the branch.
CONTACT_CENTRE_HOURS = {
    **{day: {"opens": "08:00", "closes": "20:00"} for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": {"opens": "09:00", "closes": "14:00"},
}

FUNCTIONS = [
    ("households", "Обслуживание физических лиц"),
    ("businesses", "Обслуживание юридических лиц"),
    ("consultation", "Консультации по начислениям"),
    ("applications", "Приём заявлений"),
    ("readings", "Приём показаний приборов учёта"),
    ("payments", "Приём платежей"),
    ("administration", "Административное управление"),
]
# What the functions column says → function codes. Checked in order; every phrase found adds its codes.
FUNCTION_PHRASES = [
    ("административное управление", ["administration"]),
    ("офис обслуживания населения", ["households"]),
    ("центр обслуживания юридических лиц", ["businesses"]),
    ("консультирование по начислениям в квитанциях, прием", ["consultation"]),
    ("прием заявлений", ["applications"]),
    ("приём показаний приборов учёта", ["readings"]),
    ("оплата квитанций", ["payments"]),
    ("обслуживание физ/юр.лиц", ["households", "businesses"]),
    ("обслуживание физ.лиц", ["households"]),
    ("обслуживание физ лиц", ["households"]),
    ("обслуживание абонентов физ. и юр. лиц", ["households", "businesses"]),
    ("обслуживание физ. и юр. лиц", ["households", "businesses"]),
    ("сбор дс", ["payments"]),
    ("прием платежей", ["payments"]),
]
# A functions cell that is a remark, not a function list (kept as the office's note).
NOTE_PHRASES = ("осуществляется на участке",)

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_WORDS = {
    "понедельник": 0, "пон": 0, "пн": 0,
    "вторник": 1, "вт": 1,
    "среда": 2, "ср": 2,
    "четверг": 3, "четв": 3, "чт": 3,
    "пятница": 4, "пят": 4, "пт": 4,
    "суббота": 5, "суб": 5, "сб": 5,
    "воскресенье": 6, "воскресение": 6, "вс": 6,
}  # fmt: skip
DAY_TOKEN = re.compile(
    r"(?<![а-яё])(" + "|".join(sorted(DAY_WORDS, key=len, reverse=True)) + r")(?![а-яё])", re.IGNORECASE
)
TIME = r"\d{1,2}(?:[:.]\d{2})?"
RANGE = re.compile(rf"(?:с\s*)?({TIME})\s*(?:-|до)\s*({TIME})")
BREAK = re.compile(rf"(?:обеденный\s+)?(?:перерыв|обед)\s*(?:с\s*)?({TIME})\s*(?:-|до)\s*({TIME})")
HOURS_LINE = re.compile(
    r"^(график|пн|пон|вт|ср|чт|пт|сб|вс|суб|перерыв|обед|без\s|суббота)", re.IGNORECASE
)  # a line of the hours cell
ADDRESS_START = re.compile(r"^(?:\d{6}|(?:г|п|пгт|с|сл|рп|р-п|пос)\.)")
SETTLEMENT = re.compile(r"(?:^|[\s,])(?:г|п|пгт|с|сл|рп|р-п|пос)\.\s*([А-ЯЁ][А-ЯЁа-яё\-]*(?:\s+[А-ЯЁ][а-яё\-]*)*)")
PHONE_LABEL_GROUP = re.compile(r"^(физ|юр)", re.IGNORECASE)


class SourceError(ValueError):
    """The text is not what the parser expects: fix the parser or the data by hand, never guess."""


def hhmm(token: str) -> str:
    hours, _sep, minutes = token.replace(".", ":").partition(":")
    return f"{int(hours):02d}:{int(minutes or 0):02d}"


def parse_hours(text: str) -> dict:
    """«пн. 09:00 – 18:00, вт.-пт. 09:00 – 17:00; перерыв 13:00 – 14:00; сб., вс. – выходной» →
    {"mon": {"opens": "09:00", "closes": "18:00", "break": ["13:00", "14:00"]}, …}; days not named are closed."""
    norm = re.sub(r"[–—]", "-", text.lower())
    norm = re.sub(r"\s+", " ", norm)
    breaks = [(hhmm(a), hhmm(b)) for a, b in BREAK.findall(norm)]
    if len(breaks) > 1:
        raise SourceError(f"Several breaks in «{text}»")
    norm = BREAK.sub(";", norm)
    hours: dict[str, dict] = {}
    position = 0
    for match in RANGE.finditer(norm):
        days = days_of(norm[position : match.start()], text)
        if not days:
            raise SourceError(f"Hours without days in «{text}»")
        opens, closes = hhmm(match.group(1)), hhmm(match.group(2))
        if opens >= closes:
            raise SourceError(f"Opens after closing in «{text}»")
        for day in days:
            entry = {"opens": opens, "closes": closes}
            if breaks and opens < breaks[0][0] and breaks[0][1] < closes:
                entry["break"] = list(breaks[0])
            hours[DAYS[day]] = entry
        position = match.end()
    if not hours:
        raise SourceError(f"No hours in «{text}»")
    return {day: hours[day] for day in DAYS if day in hours}


def days_of(spec: str, text: str) -> list[int]:
    """«вт.-пт. » → [1, 2, 3, 4]; «пн., ср. - » → [0, 2]: a dash between two day words is a range."""
    tokens = list(DAY_TOKEN.finditer(spec))
    days: list[int] = []
    index = 0
    while index < len(tokens):
        day = DAY_WORDS[tokens[index].group(1).lower()]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following and "-" in spec[tokens[index].end() : following.start()]:
            last = DAY_WORDS[following.group(1).lower()]
            if last < day:
                raise SourceError(f"Backward day range in «{text}»")
            days.extend(range(day, last + 1))
            index += 2
        else:
            days.append(day)
            index += 1
    return days


def clean(text: str) -> str:
    """Spacing only: «с.Лесное ,ул.Советская ,д.13» → «с. Лесное, ул. Советская, д. 13». Words stay as printed."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"(?<=,)\s*\.(?=\w)", " ", text)  # «Редкино, .ул.Ленинградская» → «Редкино, ул.Ленинградская»
    text = re.sub(r"\s+\.(?=[а-яё])", ", ", text)  # «ул.Кирова .д.50а» → «ул.Кирова, д.50а»
    text = re.sub(r"\s+,", ",", text)
    text = re.sub(r",(?=\S)", ", ", text)
    return text


def clean_address(text: str) -> str:
    text = clean(text).rstrip(".")
    # «г.Бежецк», «ул.Советская», «д.17» → a space after the abbreviation.
    text = re.sub(r"(?<![А-ЯЁа-яё])(г|п|пгт|с|сл|рп|р-п|пос|ул|пр|пер|пл|д)\.(?=[А-ЯЁ\d])", r"\1. ", text)
    # «г. Курск ул. Энгельса» → «г. Курск, ул. Энгельса».
    return re.sub(r"(?<=[А-ЯЁа-яё\d])\s+(?=(?:ул|пр-т|пр|пер|пл)\.)", ", ", text)


def parse_address(lines: list[str]) -> tuple[str, str, str]:
    """(postcode, town, address without the postcode)."""
    text = clean_address(" ".join(lines))
    postcode = ""
    if match := re.match(r"^(\d{6}),?\s*", text):
        postcode = match.group(1)
        text = text[match.end() :]
    if match := SETTLEMENT.search(text):
        town = match.group(1).strip()
    else:
        town = text.split(",")[0].strip()  # «Смоленск, ул. Тенишевой, д.15»
        text = f"г. {text}"
    if not town:
        raise SourceError(f"No town in «{text}»")
    return postcode, town, text


def normalise_number(number: str) -> str:
    """«(4822) 48-30-13», «( 48253)2-27-05» → «+7 (4822) 48-30-13», «+7 (48253) 2-27-05»: dialable from a phone."""
    number = re.sub(r"\s+", " ", number).strip().rstrip(".;")
    number = re.sub(r"\(\s*", "(", number)
    number = re.sub(r"\)\s*", ") ", number)
    if number.startswith("("):
        number = "+7 " + number
    return number


def split_numbers(text: str) -> list[str]:
    """«+7 (815 55) 68-717, 75-442, 75-988» → three numbers with the area code."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    first = normalise_number(parts[0])
    numbers = [first]
    prefix = first[: first.index(")") + 1] if ")" in first else ""
    for part in parts[1:]:
        numbers.append(normalise_number(part) if "(" in part or not prefix else f"{prefix} {part}")
    for number in numbers:
        if sum(ch.isdigit() for ch in number) < 10:
            raise SourceError(f"Not a full number «{number}» in «{text}»")
    return numbers


def parse_phones(lines: list[str]) -> list[dict]:
    """Phone cell lines → [{"number", "label"}]: «юр. лица:», «договорный отдел:» label the numbers below them;
    «факс:» marks a fax."""
    phones: list[dict] = []
    group = ""
    sub = ""
    for raw in lines:
        rest = raw.strip()
        kind = ""
        while True:
            match = re.match(r"^([^:+\d]+?):\s*", rest)
            if not match:
                break
            label = match.group(1).strip()
            rest = rest[match.end() :]
            low = label.lower()
            if low in ("тел.", "тел"):
                continue
            if low == "факс":
                kind = "факс"
                continue
            if PHONE_LABEL_GROUP.match(low):
                group, sub = label[0].lower() + label[1:], ""
            else:
                sub = label
        if not rest:
            continue
        label = kind and ", ".join(x for x in (group, kind) if x) or " — ".join(x for x in (group, sub) if x)
        for number in split_numbers(rest):
            phones.append({"number": number, "label": label})
    if not phones:
        raise SourceError(f"No phone in {lines}")
    return phones


def parse_functions(lines: list[str]) -> tuple[list[str], str]:
    text = clean(" ".join(lines))
    low = text.lower()
    if any(p in low for p in NOTE_PHRASES):
        return [], text
    codes: list[str] = []
    for phrase, found in FUNCTION_PHRASES:
        if phrase in low:
            codes.extend(c for c in found if c not in codes)
    if text and not codes:
        raise SourceError(f"Unknown functions «{text}»")
    order = [code for code, _name in FUNCTIONS]
    return sorted(codes, key=order.index), ""


def parse_office(branch_slug: str, number: int, lines: list[str]) -> dict:
    name: list[str] = []
    address: list[str] = []
    phones: list[str] = []
    hours: list[str] = []
    functions: list[str] = []
    phase = "name"
    for line in lines:
        if phase == "name" and ADDRESS_START.match(line):
            phase = "address"
        elif phase == "address" and not (address[-1].endswith(",") or address_continues(line)):
            phase = "phones"
        if phase == "phones" and HOURS_LINE.match(line):
            phase = "hours"
        elif phase == "hours" and not HOURS_LINE.match(line):
            phase = "functions"
        cells = {"name": name, "address": address, "phones": phones, "hours": hours, "functions": functions}
        cells[phase].append(line)
    if not (name and address and phones and hours):
        raise SourceError(f"Office {branch_slug} {number}: incomplete block {lines}")
    postcode, town, address_text = parse_address(address)
    hours_text = re.sub(r"^график работы:\s*", "", clean(" ".join(hours)), flags=re.IGNORECASE)
    function_codes, note = parse_functions(functions)
    return {
        "code": f"{branch_slug}-{number:02d}",
        "number": number,
        "name": clean(" ".join(name)),
        "town": town,
        "postcode": postcode,
        "address": address_text,
        "phones": parse_phones(phones),
        "email": "",
        "hours": parse_hours(hours_text),
        "hours_text": hours_text,
        "functions": function_codes,
        "functions_text": clean(" ".join(functions)),
        "serves_households": "households" in function_codes,
        "serves_businesses": "businesses" in function_codes,
        "note": note,
    }


def address_continues(line: str) -> bool:
    """A second address line: «ул. Коминтерна, д. 5», «ул. Кирова,17» (Kursk puts the street on its own line)."""
    return bool(re.match(r"^(ул\.|пр\.|пр-т|пер\.|пл\.)", line))


def parse_appendix_1(text: str) -> list[dict]:
    start = text.rindex(APPENDIX_START)
    lines = [line.strip() for line in text[start:].splitlines()]
    branches: list[dict] = []
    branch: dict | None = None
    block: list[str] | None = None
    number = 0

    def close_block():
        if branch is not None and block is not None:
            branch["offices"].append(parse_office(branch["_slug"], number, block))

    for line in lines:
        if not line:
            continue
        if header := BRANCH_HEADER.match(line):
            close_block()
            block = None
            if header.group(1) not in BRANCHES:
                raise SourceError(f"Unknown branch «{line}»")
            code, slug, zone, region = BRANCHES[header.group(1)]
            branch = {
                "code": code,
                "name": line,
                "time_zone": zone,
                "region": region,
                "_slug": slug,
                "offices": [],
            }
            branches.append(branch)
            continue
        if branch is None:
            continue
        if item := ITEM_NUMBER.match(line):
            close_block()
            number = int(item.group(1))
            if number != len(branch["offices"]) + 1:
                raise SourceError(f"{branch['name']}: office {number} out of order")
            block = []
            continue
        if block is not None:
            block.append(line)
    close_block()
    for branch in branches:
        del branch["_slug"]
        if len(branch["offices"]) != EXPECTED_OFFICES[branch["code"]]:
            raise SourceError(f"{branch['name']}: {len(branch['offices'])} offices")
        branch["contact_centre"] = {"phones": [], "hours": CONTACT_CENTRE_HOURS}
        branch["contacts"] = {}
    return branches


def parse_udmurt(text: str) -> dict:
    """The contact table of the Udmurt standard's appendix (tab-separated: number, what, value)."""
    start = text.rindex("Удмуртский филиал")
    rows = {}
    for line in text[start:].splitlines()[1:]:
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) >= 3 and parts[0].isdigit():
            rows[parts[1]] = parts[2]

    def links(key: str) -> list[str]:
        return rows[key].split()

    phones = [
        {"number": number.strip(), "label": label.strip()}
        for number, label in re.findall(r"(8-800-[\d-]+)\s+(для [^,]+)", rows["Телефон"])
    ]
    if len(phones) != 2:
        raise SourceError(f"Udmurt phones: {rows['Телефон']}")
    postcode, _town, address = parse_address([rows["Адрес для почтовых отправлений"]])
    return {
        "code": "18",
        "name": "Удмуртский филиал",
        "time_zone": "Europe/Samara",
        "region": "Удмуртская Республика",
        "offices": [],
        "contact_centre": {"phones": phones, "hours": CONTACT_CENTRE_HOURS},
        "contacts": {
            "postal_address": f"{postcode}, {address}",
            "fax": normalise_number(rows["Факс"]),
            "email": rows["E-mail"],
            "site": rows["Сайт"],
            "remote_services": links("Дистанционные сервисы"),
            "readings_info": links("Информация о способах передачи показаний приборов учёта"),
            "payment_info": links("Информация о способах оплаты"),
            "bill_delivery_info": links("Информация о способах передачи счета"),
            "faq": rows["Вопрос-ответ"],
            "chat_bot": links("Чат-бот"),
            "feedback": links("Обратная связь через Личный кабинет Обратная связь на сайте для бизнеса"),
        },
    }


def build(appendix_path: Path, udmurt_path: Path) -> dict:
    branches = parse_appendix_1(appendix_path.read_text(encoding="utf-8"))
    branches.append(parse_udmurt(udmurt_path.read_text(encoding="utf-8")))
    return {
        "source": [
            f"{appendix_path.name}: Стандарт качества обслуживания клиентов АО «АтомЭнергоСбыт» (2017), приложение 1",
            f"{udmurt_path.name}: Стандарт качества обслуживания потребителей ГП, приложение (Удмуртский филиал)",
        ],
        "functions": [{"code": code, "name": name} for code, name in FUNCTIONS],
        "defaults": {"contact_centre": {"phones": [], "hours": CONTACT_CENTRE_HOURS}},
        "branches": branches,
    }


def dump(value, indent: int = 0) -> str:
    """JSON with every object or list that fits in 110 characters on one line: readable and diff-friendly."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + indent <= 110 or not isinstance(value, dict | list):
        return flat
    pad = " " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {dump(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dump(v, indent + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write(__doc__ or "")
        return 2
    data = build(Path(argv[1]), Path(argv[2]))
    sys.stdout.write(dump(data) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
