"""The readings dialogue: the tolerant parser, SMS length counting, and properties of the engine."""

import datetime as dt

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbyt.messaging.dialogue import STATE_TTL, Command, Kind, handle, parse_message, resolve_values
from sbyt.messaging.smslength import fits_one_sms, shorten_for_sms, sms_length, sms_parts
from tests.factories import ContractFactory, MeterFactory, aware

R, V, H, C = Kind.READINGS, Kind.VALUES, Kind.HELP, Kind.CANCEL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ПС 102057522 11638", Command(R, "102057522", ("11638",))),
        ("пс 102057522 11638", Command(R, "102057522", ("11638",))),
        ("PS 102057522 11638", Command(R, "102057522", ("11638",))),
        ("ps 102057522 11638", Command(R, "102057522", ("11638",))),
        ("PC 102057522 11638", Command(R, "102057522", ("11638",))),
        ("ПC 102057522 11638", Command(R, "102057522", ("11638",))),
        ("nc 102057522 11638", Command(R, "102057522", ("11638",))),  # «пс» as it looks in Latin
        ("gc 102057522 11638", Command(R, "102057522", ("11638",))),  # «пс» typed on a Latin layout
        ("П.С. 123859 1", Command(R, "123859", ("1",))),
        ("П С 123859 1", Command(R, "123859", ("1",))),
        ("ПС123859 45055", Command(R, "123859", ("45055",))),
        ("ПС:123859", Command(R, "123859", ())),
        ("ПС №123859 45055", Command(R, "123859", ("45055",))),
        ("ПС N123859 45055", Command(R, "123859", ("45055",))),
        ("ПС 123859", Command(R, "123859", ())),
        ("ПС 123859 45055 23186", Command(R, "123859", ("45055", "23186"))),
        ("ПС 123859 45055;23186;", Command(R, "123859", ("45055", "23186"))),
        ("ПС 123859 45055, 23186", Command(R, "123859", ("45055", "23186"))),
        ("ПС 123859 45055,23186", Command(R, "123859", ("45055,23186",))),  # resolved against the zones
        ("ПС 123859 045055.", Command(R, "123859", ("045055",))),
        ("ПС 123859 45055.5", Command(R, "123859", ("45055.5",))),
        ("ПС 123859\n45055\n23186", Command(R, "123859", ("45055", "23186"))),
        ("ПС 123859 день 45055 ночь 23186 кВт", Command(R, "123859", ("45055", "23186"))),
        ("ПС 123859 4505б", Command(R, "123859", ("4505б",))),  # kept: the service says «только из цифр»
        ("ＰＳ １２３８５９ ４５０５５", Command(R, "123859", ("45055",))),  # full-width, NFKC
        ("П\u200bС 123859 1", Command(R, "123859", ("1",))),
        ("45055", Command(V, values=("45055",))),
        ("45055 23186", Command(V, values=("45055", "23186"))),
        ("0", Command(V, values=("0",))),  # a value (a new night register reads 0), not «cancel»
        ("45,5", Command(V, values=("45,5",))),
        ("отмена", Command(C)),
        ("ОТМЕНА", Command(C)),
        ("Стоп", Command(C)),
        ("stop", Command(C)),
        ("CTOП", Command(C)),  # Latin C, T, O
        ("/cancel", Command(C)),
        ("помощь", Command(H)),
        ("?", Command(H)),
        ("HELP", Command(H)),
        ("/start", Command(H)),
        ("ПС", Command(H)),
        ("ПС договор", Command(H)),
        ("ПСИХ 123", Command(H, known=False)),
        ("привет", Command(H, known=False)),
        ("", Command(H, known=False)),
        ("   ", Command(H, known=False)),
        (None, Command(H, known=False)),
        (12345, Command(V, values=("12345",))),
    ],
)
def test_parse_message(text, expected):
    assert parse_message(text) == expected


@pytest.mark.parametrize(
    ("tokens", "expected", "result"),
    [
        (["45055,23186"], 2, ["45055", "23186"]),
        (["45055,23186"], 1, ["45055,23186"]),  # one zone: a decimal, explained by the service
        (["45055,5"], 2, ["45055,5"]),  # one decimal digit: a decimal comma, never a separator
        (["10100,5050,3030"], 3, ["10100", "5050", "3030"]),
        (["45055", "23186"], 2, ["45055", "23186"]),
        (["45055,231", "1"], 2, ["45055,231", "1"]),
    ],
)
def test_resolve_values(tokens, expected, result):
    assert resolve_values(tokens, expected) == result


@given(st.text(max_size=300))
def test_parser_never_raises(text):
    command = parse_message(text)
    assert command.kind in Kind
    assert all(any(c.isdigit() for c in v) for v in command.values)


# -- SMS length ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length", "parts"),
    [
        ("", 0, 1),
        ("a" * 160, 160, 1),
        ("a" * 161, 161, 2),
        ("a" * 306, 306, 2),
        ("a" * 307, 307, 3),
        ("€" * 80, 160, 1),  # extension table: two septets each
        ("€" * 81, 162, 2),
        ("a" * 152 + "€" + "a" * 152, 306, 3),  # the escape pair is not split across parts
        ("a" * 66 + "😀" + "a" * 66 + "я", 135, 3),  # nor is a surrogate pair
        ("я" * 70, 70, 1),
        ("я" * 71, 71, 2),
        ("я" * 134, 134, 2),
        ("я" * 135, 135, 3),
        ("a" * 69 + "я", 70, 1),  # one Cyrillic letter makes the whole text UCS-2
        ("😀" * 35, 70, 1),  # outside the BMP: two UTF-16 units
        ("😀" * 36, 72, 2),
        ("Показания приняты. Спасибо.", 27, 1),
    ],
)
def test_sms_length_and_parts(text, length, parts):
    assert sms_length(text) == length
    assert sms_parts(text) == parts
    assert fits_one_sms(text) == (parts == 1)


@given(st.text(max_size=400))
def test_shorten_for_sms_always_fits(text):
    short = shorten_for_sms(text)
    assert fits_one_sms(short)
    if fits_one_sms(text):
        assert short == text


# -- the engine: properties against the real database ---------------------------------------------------------

SENDER = "+79121234567"


@pytest.fixture
def contracts():
    MeterFactory(contract=ContractFactory(number="102057522"))
    MeterFactory(contract=ContractFactory(number="123859"), zones=2, digits=6)
    three = MeterFactory(contract=ContractFactory(number="555001"), zones=3, serial="11112222")
    MeterFactory(contract=three.contract, serial="33334444")


realistic = st.one_of(
    st.text(max_size=200),
    st.builds(
        "{} {}{}".format,
        st.sampled_from(["ПС", "пс", "PS", "ПC", "ps", "П.С.", ""]),
        st.sampled_from(["102057522", "123859", "555001", "999", ""]),
        st.lists(
            st.one_of(st.integers(0, 10**9).map(str), st.sampled_from(["45,5", "1.5", "x", ";", ",", "№"])),
            max_size=5,
        ).map(lambda v: " " + " ".join(v)),
    ),
    st.sampled_from(["отмена", "?", "0", "2222", "4444 5", "45055 23186", "1 2 3"]),
)
garbage = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
states = st.one_of(
    st.none(),
    garbage,
    st.fixed_dictionaries(
        {
            "v": st.sampled_from([1, 2, "1"]),
            "step": st.sampled_from(["zones", "meter", "other"]),
            "contract": st.sampled_from(["123859", "555001", "x", ""]) | st.text(max_size=5),
            "meter": st.integers(-5, 10**12) | garbage,
            "meters": st.lists(st.integers(-5, 10**6), max_size=3) | garbage,
            "values": st.lists(st.text(max_size=8), max_size=8) | garbage,
            "expires": st.integers(0, 2 * 10**9) | garbage,
        }
    ),
)


@pytest.mark.django_db
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=states, text=realistic)
def test_any_text_any_state_gets_one_sms_and_never_raises(contracts, state, text):
    outcome = handle(state=state, text=text, channel="sms", sender=SENDER, now=aware(2026, 11, 20))
    assert outcome.reply
    assert fits_one_sms(outcome.reply), outcome.reply
    assert outcome.state is None or isinstance(outcome.state, dict)


@pytest.mark.django_db
def test_state_expires_after_the_ttl(contracts):
    start = aware(2026, 11, 20)
    first = handle(state=None, text="ПС 123859", channel="sms", sender=SENDER, now=start)
    assert first.state["step"] == "zones"
    just_in_time = start + STATE_TTL - dt.timedelta(seconds=1)
    assert handle(state=first.state, text="45055", channel="sms", sender=SENDER, now=just_in_time).state
    too_late = handle(state=first.state, text="45055", channel="sms", sender=SENDER, now=start + STATE_TTL)
    assert too_late.state is None
    assert too_late.reply == "Время ответа истекло. Начните снова: ПС номер договора."


@pytest.mark.django_db
def test_prompt_refreshes_the_expiry(contracts):
    start = aware(2026, 11, 20)
    first = handle(state=None, text="ПС 555001", channel="sms", sender=SENDER, now=start)
    assert first.state["step"] == "meter"
    later = start + dt.timedelta(minutes=10)
    second = handle(state=first.state, text="2222", channel="sms", sender=SENDER, now=later)
    assert second.state["step"] == "zones"
    assert second.state["expires"] == int((later + STATE_TTL).timestamp())


@pytest.mark.django_db
@time_machine.travel(aware(2026, 11, 20), tick=False)
def test_unknown_sender_learns_nothing_about_the_client(contracts):
    """No name, address or meter number in any reply to an unidentified sender."""
    replies = [
        handle(state=None, text=text, channel="sms", sender=SENDER).reply
        for text in ("ПС 102057522", "ПС 555001", "ПС 102057522 abc", "ПС 102057522 1 2")
    ]
    for reply in replies:
        for secret in ("Иванова", "Мария", "Коммунистическая", "1111", "3333", "07000"):
            assert secret not in reply
