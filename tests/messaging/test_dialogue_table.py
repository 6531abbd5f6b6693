"""The readings dialogue against the real database: a table of realistic conversations, each message with the
exact reply expected (Russian), every reply one SMS and free of personal data."""

import datetime as dt
import json

import pytest
import time_machine

from sbyt.customers.models import Branch
from sbyt.messaging.dialogue import handle
from sbyt.messaging.smslength import fits_one_sms, sms_length
from sbyt.metering.models import Meter, Reading
from tests.factories import (
    BranchFactory,
    ContractFactory,
    MeterFactory,
    ReadingFactory,
    WindowFactory,
    aware,
)

pytestmark = pytest.mark.django_db

PREVIOUS_AT = aware(2026, 10, 20)
INSIDE = aware(2026, 11, 20)
BEFORE_WINDOW = aware(2026, 11, 10)


def meter(contract_number, *, zones=1, digits=5, previous=None, resource="electricity", **kwargs):
    contract = ContractFactory(number=contract_number, resource=resource, **kwargs.pop("contract", {}))
    m = MeterFactory(contract=contract, zones=zones, digits=digits, **kwargs)
    if previous:
        t = dict(zip(("t1", "t2", "t3"), previous, strict=False))
        ReadingFactory(meter=m, period=dt.date(2026, 10, 1), received_at=PREVIOUS_AT, **t)
    return m


@pytest.fixture
def world():
    branch = BranchFactory()
    WindowFactory(branch=branch, first_day=18, last_day=25)
    strict = BranchFactory(code="12", name="Ухтинский филиал", late_reading_policy=Branch.LateReadingPolicy.REFUSE)
    WindowFactory(branch=strict, first_day=20, last_day=26)
    meter("102057522", previous=(11000,))
    meter("123859", zones=2, digits=6, previous=(45000, 23000))
    meter("555001", zones=3, digits=6, previous=(10000, 5000, 3000))
    meter("176354", resource="hot_water", previous=(15,))
    two = meter("777001", resource="cold_water", serial="01234567", previous=(30,))
    MeterFactory(contract=two.contract, serial="07654321")
    meter("888001", status=Meter.Status.REMOVED)
    meter("888002", verification_due=dt.date(2026, 1, 1))
    meter("888003", is_smart=True)
    meter("999001", contract={"premises__account__branch": strict}, previous=(500,))


ACCEPTED = "Показания приняты. Спасибо."
ALREADY = "Эти показания уже приняты. Спасибо."
HELP = "Пришлите: ПС номер договора показания. Пример: ПС 102057522 11638"
UNKNOWN = "Номер клиента или договора не найден. Проверьте номер по квитанции."
DECIMAL = "Показания вводятся целым числом, без цифр после запятой."
CANCELLED = "Передача показаний отменена."
DAY_FIRST = "Пришлите показание «день». Можно сразу все зоны через пробел."
NIGHT = "Пришлите показание «ночь»."
PEAK_FIRST = "Пришлите показание «пик». Можно сразу все зоны через пробел."
SEMI_PEAK = "Пришлите показание «полупик»."
ONE_VALUE = "Пришлите показание счётчика."
CHOOSE = "По договору несколько счётчиков. Пришлите 4 последние цифры номера."
NO_SUCH_METER = "Такого счётчика нет. Пришлите 4 последние цифры номера счётчика."
LATER = 16  # minutes: more than the state's time to live

# (case id, when, [(message, expected reply) or (message, expected reply, minutes later)])
TABLE = [
    ("one-zone", INSIDE, [("ПС 102057522 11638", ACCEPTED)]),
    ("lower-case", INSIDE, [("пс 102057522 11638", ACCEPTED)]),
    ("latin-ps", INSIDE, [("PS 102057522 11638", ACCEPTED)]),
    ("latin-c", INSIDE, [("ПC 102057522 11638", ACCEPTED)]),
    ("latin-lower", INSIDE, [("ps 102057522 11638", ACCEPTED)]),
    ("mixed-case", INSIDE, [("Пс 102057522 11638", ACCEPTED)]),
    ("no-space", INSIDE, [("ПС102057522 11638", ACCEPTED)]),
    ("extra-spaces", INSIDE, [("  ПС   102057522    11638  ", ACCEPTED)]),
    ("full-stop", INSIDE, [("ПС 102057522 11638.", ACCEPTED)]),
    ("number-sign", INSIDE, [("ПС №102057522: 11638", ACCEPTED)]),
    ("leading-zeros", INSIDE, [("ПС 102057522 011638", ACCEPTED)]),
    ("repeat", INSIDE, [("ПС 102057522 11638", ACCEPTED), ("ПС 102057522 11638", ALREADY)]),
    ("decimal-comma", INSIDE, [("ПС 102057522 11638,5", DECIMAL)]),
    ("decimal-point", INSIDE, [("ПС 102057522 11638.57", DECIMAL)]),
    ("letter-in-value", INSIDE, [("ПС 102057522 116З8", "Показание состоит только из цифр.")]),
    ("too-many-digits", INSIDE, [("ПС 102057522 1163800", "В показании больше цифр, чем на табло счётчика (5).")]),
    (
        "lower-than-last",
        INSIDE,
        [("ПС 102057522 10999", "Меньше предыдущего (11000 от 20.10.2026). Проверьте цифры.")],
    ),
    ("held", INSIDE, [("ПС 102057522 19000", "Показания приняты. Расход выше обычного, их проверит специалист.")]),
    ("two-values-one-zone", INSIDE, [("ПС 102057522 11638 200", "Счётчик однотарифный: введите одно показание.")]),
    ("wrong-contract", INSIDE, [("ПС 999999999 11638", UNKNOWN)]),
    ("typo-contract", INSIDE, [("ПС 10205752 11638", UNKNOWN)]),
    (
        "next-period",
        BEFORE_WINDOW,
        [("ПС 102057522 11638", "Показания приняты. Спасибо. Будут учтены за ноябрь 2026.")],
    ),
    (
        "outside-window-refused",
        BEFORE_WINDOW,
        [("ПС 999001 600", "Показания принимаются с 20 по 26 число каждого месяца.")],
    ),
    ("two-zone-one-message", INSIDE, [("ПС 123859 45055 23186", ACCEPTED)]),
    ("two-zone-semicolon", INSIDE, [("пс 123859 45055;23186", ACCEPTED)]),
    ("two-zone-comma", INSIDE, [("ПС 123859 45055,23186", ACCEPTED)]),
    ("two-zone-comma-space", INSIDE, [("ПС 123859 45055, 23186", ACCEPTED)]),
    ("two-zone-words", INSIDE, [("ПС 123859 день 45055 ночь 23186", ACCEPTED)]),
    ("two-zone-prompted", INSIDE, [("ПС 123859", DAY_FIRST), ("45055", NIGHT), ("23186", ACCEPTED)]),
    ("two-zone-then-both", INSIDE, [("ПС 123859", DAY_FIRST), ("45055 23186", ACCEPTED)]),
    ("two-zone-day-given", INSIDE, [("ПС 123859 45055", NIGHT), ("023186", ACCEPTED)]),
    (
        "two-zone-noise-and-help",
        INSIDE,
        [("ПС 123859", DAY_FIRST), ("ок", DAY_FIRST), ("45055", NIGHT), ("?", HELP), ("23186", ACCEPTED)],
    ),
    ("two-zone-decimal", INSIDE, [("ПС 123859", DAY_FIRST), ("45055,5", NIGHT), ("23186", DECIMAL)]),
    (
        "two-zone-lower",
        INSIDE,
        [
            ("ПС 123859", DAY_FIRST),
            ("45055", NIGHT),
            ("22000", "Меньше предыдущего (45000/23000 от 20.10.2026). Проверьте цифры."),
        ],
    ),
    ("two-zone-three-values", INSIDE, [("ПС 123859 1 2 3", "Счётчик 2-тарифный: введите 2 показания (день, ночь).")]),
    (
        "cancel-mid-dialogue",
        INSIDE,
        [("ПС 123859", DAY_FIRST), ("45055", NIGHT), ("отмена", CANCELLED), ("23186", HELP)],
    ),
    ("stop-latin", INSIDE, [("ПС 123859", DAY_FIRST), ("STOP", CANCELLED)]),
    (
        "expired",
        INSIDE,
        [("ПС 123859", DAY_FIRST), ("45055 23186", "Время ответа истекло. Начните снова: ПС номер договора.", LATER)],
    ),
    ("restart-mid-dialogue", INSIDE, [("ПС 123859", DAY_FIRST), ("ПС 102057522 11638", ACCEPTED), ("45055", HELP)]),
    (
        "three-zone-prompted",
        INSIDE,
        [("ПС 555001", PEAK_FIRST), ("10100", SEMI_PEAK), ("5050", "Пришлите показание «ночь»."), ("3030", ACCEPTED)],
    ),
    ("three-zone-together", INSIDE, [("ПС 555001", PEAK_FIRST), ("10100, 5050, 3030", ACCEPTED)]),
    ("three-zone-two-then-one", INSIDE, [("ПС 555001 10100 5050", "Пришлите показание «ночь»."), ("3030", ACCEPTED)]),
    ("hot-water", INSIDE, [("ПС 176354 20", ACCEPTED)]),
    ("hot-water-prompted", INSIDE, [("ПС 176354", ONE_VALUE), ("20", ACCEPTED)]),
    ("cold-water-two-meters", INSIDE, [("ПС 777001 40", CHOOSE), ("4567", ACCEPTED)]),
    (
        "cold-water-wrong-meter",
        INSIDE,
        [("ПС 777001", CHOOSE), ("9999", NO_SUCH_METER), ("4321 25", ACCEPTED)],
    ),
    ("meter-removed", INSIDE, [("ПС 888001 100", "Счётчик не в работе. Обратитесь в контакт-центр или офис.")]),
    (
        "verification-expired",
        INSIDE,
        [("ПС 888002 100", "У счётчика истёк срок поверки. Обратитесь в контакт-центр или офис.")],
    ),
    ("smart-meter", INSIDE, [("ПС 888003 100", "Счётчик передаёт показания автоматически, передавать их не нужно.")]),
    ("help-word", INSIDE, [("Помощь", HELP)]),
    ("greeting", INSIDE, [("Здравствуйте! Как передать показания?", HELP)]),
    ("empty", INSIDE, [("", HELP)]),
    ("ps-alone", INSIDE, [("ПС", HELP)]),
    ("values-without-dialogue", INSIDE, [("11638", HELP)]),
]


@pytest.mark.parametrize(("when", "steps"), [pytest.param(w, s, id=i) for i, w, s in TABLE])
def test_conversation(world, when, steps):
    state = None
    with time_machine.travel(when, tick=False) as traveller:
        for step in steps:
            text, expected = step[:2]
            if len(step) > 2:
                traveller.shift(dt.timedelta(minutes=step[2]))
            outcome = handle(state=state, text=text, channel="sms", sender="+79121234567")
            assert outcome.reply == expected, text
            assert fits_one_sms(outcome.reply) and sms_length(outcome.reply) <= 70, outcome.reply
            assert "Иванова" not in outcome.reply and "Коммунистическая" not in outcome.reply
            json.dumps(outcome.state)  # storable as it is
            state = outcome.state


def test_table_is_big_enough():
    assert sum(len(steps) for _id, _when, steps in TABLE) >= 40
    assert len(TABLE) >= 40


@time_machine.travel(INSIDE, tick=False)
def test_accepted_reading_is_stored_with_channel_and_sender(world):
    outcome = handle(state=None, text="ПС 123859", channel="telegram", sender="5551234")
    outcome = handle(state=outcome.state, text="45055", channel="telegram", sender="5551234")
    assert Reading.objects.filter(channel="telegram").count() == 0  # nothing stored before the last zone
    outcome = handle(state=outcome.state, text="23186", channel="telegram", sender="5551234")
    assert (outcome.reply, outcome.state, outcome.reason) == (ACCEPTED, None, "accepted")
    reading = Reading.objects.get(channel="telegram")
    assert (reading.t1, reading.t2, reading.source, reading.status) == (45055, 23186, "5551234", "accepted")
    assert reading.meter.contract.number == "123859"


@time_machine.travel(INSIDE, tick=False)
def test_decimal_reaches_the_service_as_typed(world):
    outcome = handle(state=None, text="ПС 102057522 11638,5", channel="sms", sender="+79120000000")
    assert outcome.reason == "not_whole_number"
    rejected = Reading.objects.get(status=Reading.Status.REJECTED)
    assert (rejected.raw, rejected.reason, rejected.source) == ("11638,5", "not_whole_number", "+79120000000")


@time_machine.travel(INSIDE, tick=False)
def test_state_of_a_deleted_meter_starts_over(world):
    outcome = handle(state=None, text="ПС 123859", channel="sms", sender="1")
    state = {**outcome.state, "meter": 10**9}
    assert handle(state=state, text="45055", channel="sms", sender="1") == type(outcome)(HELP, None)
