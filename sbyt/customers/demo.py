"""Demo data: a Komi-like branch and a smaller second one, thousands of clients, a year of readings, demo logins.

Deterministic for a given ``seed`` (and day: the history is the 12 months before the current one). Written
set-based with ``bulk_create`` so that a few thousand accounts take seconds. Used by ``manage.py seed_demo``;
it is a development tool, not a service: it writes rows directly, in one transaction.
"""

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from sbyt.content.models import NewsItem
from sbyt.core.periods import add_months, month_start
from sbyt.core.phones import mask_phone
from sbyt.metering.models import Channel, Meter, Reading, ReadingWindow
from sbyt.metering.rules import Reason
from sbyt.users.models import User

from .models import Account, AccountAccess, Branch, Consent, Contract, Customer, Premises

# Demo passwords are public on purpose: they are printed by seed_demo and belong to demo data only.
CLIENT_PASSWORD = "demo-pass-2026"  # noqa: S105
STAFF_PASSWORD = "staff-pass-2026"  # noqa: S105
ADMIN_PASSWORD = "admin-pass-2026"  # noqa: S105
OPERATOR_ROLE = "Оператор контакт-центра"
READINGS_ROLE = "Специалист по показаниям"
MIN_ACCOUNTS = 12

SURNAMES = (
    "Попов", "Канев", "Лыюров", "Чупров", "Ширяев", "Габов", "Туркин", "Игушев", "Мартюшев", "Пыстин",
    "Рочев", "Терентьев", "Артеев", "Кочанов", "Осипов", "Уляшев", "Иванов", "Смирнов", "Кузнецов", "Морозов",
    "Васильев", "Петров", "Соколов", "Михайлов", "Федоров", "Носков", "Напалков", "Латкин", "Сажин", "Бабиков",
    "Козлов", "Лебедев", "Новиков", "Конев", "Мальцев", "Рассыхаев", "Семяшкин", "Хозяинов", "Вокуев", "Изъюров",
    "Белых", "Черных", "Жижев", "Поляков", "Тимушев", "Юркин", "Пунегов", "Старцев", "Сорвачев", "Ветошкин",
)  # fmt: skip
MALE_NAMES = (
    "Александр", "Сергей", "Андрей", "Дмитрий", "Алексей", "Николай", "Владимир", "Иван", "Михаил", "Евгений",
    "Виктор", "Юрий", "Павел", "Артём", "Олег", "Василий", "Пётр", "Геннадий", "Анатолий", "Роман",
)  # fmt: skip
FEMALE_NAMES = (
    "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Мария", "Анна", "Галина", "Людмила",
    "Надежда", "Екатерина", "Валентина", "Любовь", "Юлия", "Нина", "Анастасия", "Вера", "Тамара", "Зинаида",
)  # fmt: skip
PATRONYMICS = (
    ("Александрович", "Александровна"), ("Сергеевич", "Сергеевна"), ("Иванович", "Ивановна"),
    ("Николаевич", "Николаевна"), ("Владимирович", "Владимировна"), ("Петрович", "Петровна"),
    ("Михайлович", "Михайловна"), ("Васильевич", "Васильевна"), ("Викторович", "Викторовна"),
    ("Юрьевич", "Юрьевна"), ("Анатольевич", "Анатольевна"), ("Геннадьевич", "Геннадьевна"),
    ("Дмитриевич", "Дмитриевна"), ("Алексеевич", "Алексеевна"), ("Фёдорович", "Фёдоровна"),
)  # fmt: skip
ORGANISATIONS = (
    "ООО «Парма-Сервис»", "ООО «Югыд»", "ООО «Вычегда-Торг»", "ООО «Северный кедр»", "ООО «Зарань»",
    "ООО «Печорская пекарня»", "МУП «Жилкомсервис»", "ООО «Лесная поляна»", "ООО «Сысола»", "ООО «Кама-Опт»",
    "ООО «Удмуртские узоры»", "ООО «Иж-Механика»",
)  # fmt: skip

KOMI_STREETS = (
    "ул. Коммунистическая", "ул. Первомайская", "ул. Ленина", "ул. Интернациональная", "Октябрьский пр-т",
    "ул. Карла Маркса", "ул. Советская", "ул. Орджоникидзе", "ул. Морозова", "ул. Пушкина", "ул. Гоголя",
    "ул. Куратова", "ул. Бабушкина", "ул. Тентюковская", "Сысольское ш.", "ул. Петрозаводская", "ул. Катаева",
    "ул. Печорская", "ул. Оплеснина", "ул. Мира",
)  # fmt: skip
UDMURT_STREETS = (
    "ул. Пушкинская", "ул. Удмуртская", "ул. Кирова", "ул. Горького", "ул. Ленина", "ул. Советская",
    "ул. Карла Маркса", "ул. Коммунаров", "ул. Молодёжная", "ул. Красногеройская", "ул. 40 лет Победы",
)  # fmt: skip
RURAL_STREETS = (
    "ул. Центральная", "ул. Советская", "ул. Школьная", "ул. Северная", "ул. Лесная", "ул. Молодёжная",
    "ул. Набережная", "ул. Садовая", "ул. Полевая", "ул. Заречная",
)  # fmt: skip


@dataclass(frozen=True)
class BranchSpec:
    code: str
    name: str
    time_zone: str
    phones: str
    account_prefix: str
    towns: tuple[tuple[str, int], ...]  # (town, weight)
    streets: tuple[str, ...]
    villages: tuple[str, ...]


BRANCHES = (
    BranchSpec(
        code="11",
        name="Коми энергосбытовая компания — Сыктывкарский филиал",
        time_zone="Europe/Moscow",
        phones="8-800-200-83-81",
        account_prefix="11",
        towns=(("г. Сыктывкар", 60), ("г. Ухта", 12), ("г. Воркута", 8), ("г. Печора", 6), ("г. Инта", 4),
               ("г. Усинск", 5), ("г. Сосногорск", 5)),
        streets=KOMI_STREETS,
        villages=("Сыктывдинский р-н, с. Выльгорт", "Корткеросский р-н, с. Корткерос",
                  "Усть-Куломский р-н, с. Усть-Кулом", "Прилузский р-н, с. Объячево",
                  "Койгородский р-н, с. Койгородок", "Ижемский р-н, с. Ижма", "Сысольский р-н, с. Визинга",
                  "Усть-Вымский р-н, пгт Жешарт", "Удорский р-н, с. Кослан"),
    ),
    BranchSpec(
        code="18",
        name="Удмуртский филиал",
        time_zone="Europe/Samara",
        phones="8-800-700-10-32, 8-800-600-03-90",
        account_prefix="18",
        towns=(("г. Ижевск", 70), ("г. Сарапул", 10), ("г. Глазов", 10), ("г. Воткинск", 6), ("г. Можга", 4)),
        streets=UDMURT_STREETS,
        villages=("Завьяловский р-н, с. Завьялово", "Малопургинский р-н, с. Малая Пурга", "Увинский р-н, пос. Ува",
                  "Игринский р-н, пос. Игра"),
    ),
)  # fmt: skip

ONE_ZONE_MODELS = ("Меркурий 201.5", "СЕ 101", "Нева 101", "Энергомера СЕ 102")
MULTI_ZONE_MODELS = ("Меркурий 200.02", "Меркурий 206", "СЕ 102М", "Нева МТ 114", "Миртек-12-РУ")
WATER_MODELS = ("ВСХ-15", "ВСГ-15", "СГВ-15", "Пульсар 15")
SEASON = {1: 1.35, 2: 1.3, 3: 1.15, 4: 1.0, 5: 0.85, 6: 0.75, 7: 0.72, 8: 0.8, 9: 0.9, 10: 1.05, 11: 1.2, 12: 1.35}
ZONE_SPLIT = {1: (1.0,), 2: (0.7, 0.3), 3: (0.25, 0.45, 0.3)}
CHANNELS = (
    (Channel.CABINET, 30), (Channel.APP, 10), (Channel.SMS, 12), (Channel.TELEGRAM, 5), (Channel.VK, 3),
    (Channel.VOICE, 8), (Channel.IVR, 5), (Channel.EMAIL, 3), (Channel.OFFICE, 8), (Channel.BANK, 8),
    (Channel.POST, 3), (Channel.TERMINAL, 2), (Channel.PUBLIC, 3),
)  # fmt: skip
HISTORY_MONTHS = 12


@dataclass
class DemoLogin:
    account: str
    what: str
    name: str
    extra_accounts: list[str] = field(default_factory=list)


@dataclass
class DemoResult:
    branches: list[Branch] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)
    registration: list[tuple[str, str, str]] = field(default_factory=list)  # (account, what, masked phone)
    no_phone: list[tuple[str, str]] = field(default_factory=list)
    staff: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, role)
    held: int = 0


def _female(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ий"):
        return surname[:-2] + "ая"
    return surname


@dataclass
class _Meter:
    zones: int
    digits: int
    resource: str
    status: str = Meter.Status.IN_SERVICE
    smart: bool = False
    overdue: bool = False
    rollover: bool = False
    held: bool = False


@dataclass
class _AccountSpec:
    index: int
    branch: BranchSpec
    showcase: str = ""  # what the account demonstrates, for the printed list
    kind: str = Customer.Kind.PERSON
    phone: bool = True
    zones: int = 1
    water: bool = False
    rural: bool | None = None
    healthy: bool = False  # no faults, no smart meter, no held reading: a clean demo account
    held: bool = False  # the last reading is implausibly high and waits for a specialist


class DemoBuilder:
    def __init__(self, *, accounts: int, seed: int, today: dt.date | None = None):
        if accounts < MIN_ACCOUNTS:
            raise ValueError(f"at least {MIN_ACCOUNTS} accounts")
        self.total = accounts
        self.rng = random.Random(seed)
        self.today = today or timezone.localdate()
        self.current_period = month_start(self.today)
        self.periods = [add_months(self.current_period, -k) for k in range(HISTORY_MONTHS, 0, -1)]
        self.result = DemoResult()
        self.serial = 0
        self.contract_seq = 0

    # -- specs --------------------------------------------------------------------------------------------------

    def _specs(self) -> list[_AccountSpec]:
        second = max(2, round(self.total * 0.15))
        first = self.total - second
        komi, udm = BRANCHES
        showcase = [
            _AccountSpec(0, komi, "однотарифный счётчик", zones=1, rural=False, healthy=True),
            _AccountSpec(1, komi, "двухтарифный счётчик (день / ночь)", zones=2, rural=False, healthy=True),
            _AccountSpec(2, komi, "трёхтарифный счётчик (пик / полупик / ночь)", zones=3, rural=False, healthy=True),
            _AccountSpec(3, komi, "электроэнергия, горячая и холодная вода", zones=1, water=True, rural=False,
                         healthy=True),
            _AccountSpec(4, komi, "нет телефона", phone=False, zones=1, rural=True, healthy=True),
            _AccountSpec(5, komi, "однотарифный счётчик", zones=1, rural=True, healthy=True),
            _AccountSpec(6, komi, "двухтарифный счётчик", zones=2, rural=False, healthy=True),
            _AccountSpec(7, komi, "электроэнергия и вода", zones=1, water=True, rural=False, healthy=True),
            _AccountSpec(8, komi, "дача", zones=1, rural=True, healthy=True),
        ]  # fmt: skip
        specs = list(showcase)
        for index in range(len(showcase), first):
            specs.append(self._random_spec(index, komi))
        for spec in specs[len(showcase) : len(showcase) + 2]:  # a few readings always wait for review
            spec.held = True
        for index in range(first, self.total):
            spec = self._random_spec(index, udm)
            if index == first:
                spec.showcase, spec.zones, spec.healthy, spec.kind = "филиал в другом часовом поясе", 2, True, "person"
            specs.append(spec)
        return specs

    def _random_spec(self, index: int, branch: BranchSpec) -> _AccountSpec:
        rng = self.rng
        roll = rng.random()
        kind = (
            Customer.Kind.ORGANISATION
            if roll < 0.03
            else Customer.Kind.SOLE_TRADER
            if roll < 0.05
            else Customer.Kind.PERSON
        )
        zones = rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
        water = kind == Customer.Kind.PERSON and rng.random() < 0.15
        return _AccountSpec(index, branch, kind=kind, phone=rng.random() < 0.85, zones=zones, water=water)

    # -- building -----------------------------------------------------------------------------------------------

    @transaction.atomic
    def build(self) -> DemoResult:
        branches = self._branches()
        specs = self._specs()
        customers, accounts, premises, contracts, meters, meter_facts = [], [], [], [], [], []
        for spec in specs:
            branch = branches[spec.branch.code]
            customer = self._customer(spec)
            account = Account(
                number=f"{spec.branch.account_prefix}{spec.index + 1:08d}",
                customer=customer,
                branch=branch,
                opened_on=dt.date(self.rng.randint(2006, 2022), self.rng.randint(1, 12), 1),
            )
            place = self._premises(spec, account)
            customers.append(customer)
            accounts.append(account)
            premises.append(place)
            resources = [Contract.Resource.ELECTRICITY]
            if spec.water:
                resources += [Contract.Resource.HOT_WATER, Contract.Resource.COLD_WATER]
            for resource in resources:
                contract = self._contract(spec, account, place, resource, account.opened_on)
                contracts.append(contract)
                facts = self._meter_facts(spec, resource)
                meters.append(self._meter(contract, facts))
                meter_facts.append((facts, spec, place, branch))
        # Parents first: bulk_create fills each child's foreign key from its parent's new primary key.
        Customer.objects.bulk_create(customers, batch_size=1000)
        Account.objects.bulk_create(accounts, batch_size=1000)
        Premises.objects.bulk_create(premises, batch_size=1000)
        Contract.objects.bulk_create(contracts, batch_size=1000)
        Meter.objects.bulk_create(meters, batch_size=1000)
        readings = []
        for meter, (facts, spec, place, branch) in zip(meters, meter_facts, strict=True):
            readings += self._history(meter, facts, spec, place, branch)
        Reading.objects.bulk_create(readings, batch_size=2000)

        self.result.counts = {
            "customers": len(customers),
            "accounts": len(accounts),
            "contracts": len(contracts),
            "meters": len(meters),
            "readings": len(readings),
        }
        self.result.held = sum(1 for r in readings if r.status == Reading.Status.HELD)
        self._logins(specs, accounts)
        self._staff()
        self._news(branches)
        return self.result

    def _branches(self) -> dict[str, Branch]:
        branches = {}
        for spec in BRANCHES:
            branch, _created = Branch.objects.get_or_create(
                code=spec.code,
                defaults={"name": spec.name, "time_zone": spec.time_zone, "contact_phones": spec.phones},
            )
            if not ReadingWindow.objects.filter(branch=branch).exists():
                ReadingWindow.objects.bulk_create(
                    [
                        ReadingWindow(branch=branch, channel="", first_day=18, last_day=25),
                        ReadingWindow(branch=branch, channel=Channel.VOICE, first_day=18, last_day=20),
                    ]
                )
            branches[spec.code] = branch
            self.result.branches.append(branch)
        return branches

    def _customer(self, spec: _AccountSpec) -> Customer:
        rng = self.rng
        male = rng.random() < 0.45
        surname = rng.choice(SURNAMES)
        father = rng.choice(PATRONYMICS)
        customer = Customer(
            kind=spec.kind,
            last_name=surname if male else _female(surname),
            first_name=rng.choice(MALE_NAMES if male else FEMALE_NAMES),
            middle_name=father[0] if male else father[1],
            birth_date=dt.date(rng.randint(1940, 2003), rng.randint(1, 12), rng.randint(1, 28)),
        )
        if spec.kind == Customer.Kind.ORGANISATION:
            customer.org_name = rng.choice(ORGANISATIONS)
            customer.inn = f"{spec.branch.code}{rng.randint(10**7, 10**8 - 1)}"
            customer.birth_date = None
        elif spec.kind == Customer.Kind.SOLE_TRADER:
            customer.inn = f"{spec.branch.code}{rng.randint(10**9, 10**10 - 1)}"
        if spec.phone:
            operator = rng.choice(("912", "904", "908", "950", "963", "982", "996"))
            customer.phone = f"+7{operator}{spec.branch.code[-1]}{spec.index:06d}"
        if rng.random() < 0.25:
            customer.email = f"client{spec.branch.code}{spec.index:06d}@example.com"
        return customer

    def _premises(self, spec: _AccountSpec, account: Account) -> Premises:
        rng = self.rng
        rural = spec.rural if spec.rural is not None else rng.random() < 0.22
        if spec.kind == Customer.Kind.ORGANISATION:
            town = rng.choices([t for t, _w in spec.branch.towns], weights=[w for _t, w in spec.branch.towns])[0]
            return Premises(
                account=account,
                address=f"{town}, {rng.choice(spec.branch.streets)}, д. {rng.randint(1, 120)}",
                residents=0,
                rooms=0,
                stove_type=Premises.StoveType.NONE,
                settlement=Premises.Settlement.URBAN,
                is_residential=False,
            )
        if rural:
            address = f"{rng.choice(spec.branch.villages)}, {rng.choice(RURAL_STREETS)}, д. {rng.randint(1, 60)}"
            stove = rng.choices(("gas", "electric", "none"), weights=(30, 50, 20))[0]
        else:
            town = rng.choices([t for t, _w in spec.branch.towns], weights=[w for _t, w in spec.branch.towns])[0]
            address = f"{town}, {rng.choice(spec.branch.streets)}, д. {rng.randint(1, 150)}"
            if rng.random() < 0.9:
                address += f", кв. {rng.randint(1, 180)}"
            stove = rng.choices(("gas", "electric", "none"), weights=(55, 40, 5))[0]
        return Premises(
            account=account,
            address=address,
            residents=rng.choices((1, 2, 3, 4, 5), weights=(25, 35, 20, 14, 6))[0],
            rooms=rng.randint(1, 4),
            stove_type=stove,
            settlement=Premises.Settlement.RURAL if rural else Premises.Settlement.URBAN,
        )

    def _contract(self, spec, account, place, resource, opened_on) -> Contract:
        self.contract_seq += 1
        return Contract(
            number=f"{spec.branch.code}{self.contract_seq + 100000:06d}",
            account=account,
            premises=place,
            resource=resource,
            start_date=opened_on,
        )

    def _meter_facts(self, spec: _AccountSpec, resource: str) -> _Meter:
        rng = self.rng
        if resource != Contract.Resource.ELECTRICITY:
            return _Meter(zones=1, digits=5, resource=resource)
        facts = _Meter(zones=spec.zones, digits=6 if spec.zones > 1 or rng.random() < 0.3 else 5, resource=resource)
        if spec.healthy:
            return facts
        if spec.held:
            facts.held = True
            return facts
        roll = rng.random()
        if roll < 0.01:
            facts.status = Meter.Status.FAULTY
        elif roll < 0.03:
            facts.overdue = True
        elif roll < 0.06:
            facts.smart = True
        elif roll < 0.07 and facts.zones == 1 and facts.digits == 5:
            facts.rollover = True
        elif 0.07 <= roll < 0.072:
            facts.held = True
        return facts

    def _meter(self, contract: Contract, facts: _Meter) -> Meter:
        rng = self.rng
        self.serial += 1
        water = facts.resource != Contract.Resource.ELECTRICITY
        installed = dt.date(rng.randint(2019, 2024) if water else rng.randint(2012, 2024), rng.randint(1, 12), 1)
        installed = min(installed, add_months(self.current_period, -HISTORY_MONTHS - 1))
        years = (6 if facts.resource == Contract.Resource.COLD_WATER else 4) if water else 16
        due = installed.replace(year=installed.year + years)
        if water and due <= self.today:
            due = self.today.replace(year=self.today.year + 2, day=1)
        if facts.overdue:
            due = self.today - dt.timedelta(days=rng.randint(10, 300))
        if water:
            model = rng.choice(WATER_MODELS)
        else:
            model = rng.choice(ONE_ZONE_MODELS if facts.zones == 1 else MULTI_ZONE_MODELS)
        return Meter(
            contract=contract,
            serial=f"{rng.randint(10, 99)}{self.serial:06d}",
            model_name=model,
            zones=facts.zones,
            digits=facts.digits,
            installed_on=installed,
            verified_on=installed,
            verification_due=due,
            is_smart=facts.smart,
            status=facts.status,
        )

    def _monthly(self, facts: _Meter, spec: _AccountSpec, place: Premises) -> float:
        rng = self.rng
        if facts.resource == Contract.Resource.COLD_WATER:
            return 3.2 * max(place.residents, 1) * rng.uniform(0.8, 1.2)
        if facts.resource == Contract.Resource.HOT_WATER:
            return 2.3 * max(place.residents, 1) * rng.uniform(0.8, 1.2)
        if spec.kind == Customer.Kind.ORGANISATION:
            return rng.uniform(400, 2500)
        base = 70 + 45 * place.residents
        if place.stove_type == Premises.StoveType.ELECTRIC:
            base += 110
        if place.settlement == Premises.Settlement.RURAL:
            base += 40
        return base * rng.uniform(0.8, 1.25)

    def _history(self, meter: Meter, facts: _Meter, spec: _AccountSpec, place: Premises, branch: Branch):
        rng = self.rng
        tz = ZoneInfo(branch.time_zone)
        monthly = self._monthly(facts, spec, place)
        water = facts.resource != Contract.Resource.ELECTRICITY
        limit = 10**facts.digits
        split = ZONE_SPLIT[facts.zones]
        if facts.rollover:
            registers = [limit - int(monthly * rng.uniform(3, 8))]
        else:
            registers = [rng.randint(300, limit // 4) * share for share in split]
        rows = []
        for number, period in enumerate(self.periods):
            last = number == len(self.periods) - 1
            factor = 1.0 if water else SEASON[period.month]
            used = monthly * factor * rng.uniform(0.85, 1.15)
            if facts.held and last:
                used *= 8
            previous = [int(v) % limit for v in registers]
            registers = [r + used * share for r, share in zip(registers, split, strict=True)]
            values = [int(v) % limit for v in registers]
            if facts.smart:
                channel, day = Channel.SMART, 25
            else:
                channel = rng.choices([c for c, _w in CHANNELS], weights=[w for _c, w in CHANNELS])[0]
                day = rng.randint(18, 20) if channel == Channel.VOICE else rng.randint(18, 25)
            received = dt.datetime(period.year, period.month, day, rng.randint(8, 21), rng.randint(0, 59), tzinfo=tz)
            held = facts.held and last
            padded = [*values, None, None, None]
            rows.append(
                Reading(
                    meter=meter,
                    period=period,
                    t1=padded[0],
                    t2=padded[1],
                    t3=padded[2],
                    raw=" ".join(str(v) for v in values),
                    received_at=received,
                    channel=channel,
                    status=Reading.Status.HELD if held else Reading.Status.ACCEPTED,
                    reason=Reason.HELD_FOR_REVIEW if held else Reason.ACCEPTED,
                    is_rollover=any(v < p for v, p in zip(values, previous, strict=True)),
                )
            )
        return rows

    # -- logins, staff, news ------------------------------------------------------------------------------------

    def _logins(self, specs: list[_AccountSpec], accounts: list[Account]) -> None:
        by_index = {spec.index: (spec, account) for spec, account in zip(specs, accounts, strict=True)}
        client_hash = make_password(CLIENT_PASSWORD)
        login_indexes = (0, 1, 2, 3)
        users = []
        for index in login_indexes:
            spec, account = by_index[index]
            users.append(User(username=account.number, password=client_hash, phone=account.customer.phone or None))
        first_udm = next(spec.index for spec in specs if spec.branch.code == BRANCHES[1].code)
        spec, account = by_index[first_udm]
        users.append(User(username=account.number, password=client_hash, phone=account.customer.phone or None))
        User.objects.bulk_create(users)
        users = {u.username: u for u in users}
        access, consents = [], []
        now = timezone.now()
        for index in (*login_indexes, first_udm):
            spec, account = by_index[index]
            user = users[account.number]
            access.append(AccountAccess(user=user, account=account, proof=AccountAccess.Proof.SMS_CODE))
            consents.append(
                Consent(customer=account.customer, kind=Consent.Kind.PERSONAL_DATA, channel="cabinet", given_at=now)
            )
            login = DemoLogin(account.number, spec.showcase, account.customer.display_name)
            if index == 0:  # several accounts under one login: the client's dacha
                dacha_spec, dacha = by_index[8]
                access.append(AccountAccess(user=user, account=dacha, proof=AccountAccess.Proof.OPERATOR))
                login.extra_accounts.append(f"{dacha.number} ({dacha_spec.showcase})")
            self.result.logins.append(login)
        AccountAccess.objects.bulk_create(access)
        Consent.objects.bulk_create(consents)
        for index in (5, 6, 7):
            spec, account = by_index[index]
            self.result.registration.append((account.number, spec.showcase, mask_phone(account.customer.phone)))
        spec, account = by_index[4]
        self.result.no_phone.append((account.number, account.customer.display_name))

    def _staff(self) -> None:
        staff_hash = make_password(STAFF_PASSWORD)
        wanted = [
            ("admin", ADMIN_PASSWORD, "администратор (все права)", None),
            ("operator", STAFF_PASSWORD, OPERATOR_ROLE, OPERATOR_ROLE),
            ("readings", STAFF_PASSWORD, READINGS_ROLE, READINGS_ROLE),
        ]
        for username, password, label, role in wanted:
            if User.objects.filter(username=username).exists():
                self.result.staff.append((username, "(уже был, пароль не менялся)", label))
                continue
            user = User(
                username=username,
                password=make_password(password) if role is None else staff_hash,
                is_staff=True,
                is_superuser=role is None,
            )
            user.save()
            if role:
                group, _created = Group.objects.get_or_create(name=role)
                user.groups.add(group)
            self.result.staff.append((username, password, label))

    def _news(self, branches: dict[str, Branch]) -> None:
        now = timezone.now()
        NewsItem.objects.bulk_create(
            [
                NewsItem(
                    title="Показания принимаются с 18 по 25 число",
                    body="Передайте показания счётчиков в личном кабинете, в мобильном приложении, по SMS или по "
                    "телефону. Показания, переданные с 18 по 25 число, учитываются в счёте за текущий месяц.",
                    published_at=now - dt.timedelta(days=2),
                ),
                NewsItem(
                    title="Оплата без комиссии в личном кабинете",
                    body="Оплачивайте счета банковской картой в личном кабинете — без комиссии и без очередей.",
                    published_at=now - dt.timedelta(days=9),
                ),
                NewsItem(
                    title="Новый офис обслуживания в Эжве",
                    body="Офис обслуживания клиентов открыт по адресу: г. Сыктывкар, ул. Мира, д. 10. "
                    "Часы работы: пн–пт с 8:00 до 18:00.",
                    published_at=now - dt.timedelta(days=20),
                    branch=branches["11"],
                ),
            ]
        )


def build_demo(*, accounts: int = 3000, seed: int = 42, today: dt.date | None = None) -> DemoResult:
    return DemoBuilder(accounts=accounts, seed=seed, today=today).build()
