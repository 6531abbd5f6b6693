"""The phone IVR spoken to over TCP the way Asterisk speaks FastAGI: a real server on an ephemeral port,
a fake Asterisk that sends the agi_ environment and answers every command like a channel would."""

import datetime as dt

import pytest
from django.utils import timezone

from sbyt.core import speech
from sbyt.core.models import AuditEntry
from sbyt.customers.models import Contract
from sbyt.messaging.channels.ivr import menu
from sbyt.messaging.channels.ivr.agi import AGIError, parse_reply, quote
from sbyt.messaging.channels.ivr.server import script_name
from sbyt.metering.models import Meter, Reading
from sbyt.metering.rules import Reason
from tests.factories import AccountFactory, ContractFactory, MeterFactory, ReadingFactory, WindowFactory

from .ivr_fake import CALLER, HANGUP, TIMEOUT, TRANSFER, Asterisk, P, after, agi_server, call, data, key, words

__all__ = ["agi_server"]  # the fixture, imported for pytest


@pytest.fixture
def meter(transactional_db):
    m = MeterFactory(zones=1, digits=5)
    WindowFactory(branch=m.contract.account.branch, first_day=1, last_day=31)
    return m


def previous_reading(meter, **values):
    today = timezone.localdate()
    period = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    received = timezone.make_aware(dt.datetime.combine(period.replace(day=10), dt.time(12)))
    return ReadingFactory(meter=meter, period=period, received_at=received, **values)


# -- the readings path ---------------------------------------------------------------------------------------


def test_readings_path_single_zone(agi_server, meter):
    account = meter.contract.account.number
    actions = [key("2", during=P("main-menu")), data(account), data("12345"), key("1"), TIMEOUT, TIMEOUT, TIMEOUT]
    asterisk = call(agi_server, actions)

    c = asterisk.commands
    assert c[0] == "ANSWER"
    assert c[1] == 'STREAM FILE sbyt/welcome ""'
    assert c[2] == "STREAM FILE sbyt/main-menu 0123456789*#"  # «2» pressed during the menu prompt
    assert c[3] == "GET DATA sbyt/enter-account 10000 20"  # no WAIT FOR DIGIT: the key interrupted the prompt
    assert c[4] == "GET DATA sbyt/enter-value 10000 12"
    readback = [P("you-entered"), *words(12345), P("confirm")]
    assert asterisk.played[4 : 4 + len(readback)] == readback
    assert words(12345) == [menu.word_prompt(w) for w in ("двенадцать", "тысяч", "триста", "сорок", "пять")]
    assert after(asterisk.played, P("confirm"))[:2] == [P("out-accepted"), P("after-result")]
    assert TRANSFER in c  # silence three times after the result → the operator
    assert c[-1] == TRANSFER

    reading = Reading.objects.get()
    assert (reading.meter_id, reading.t1, reading.channel) == (meter.pk, 12345, "ivr")
    assert (reading.status, reading.reason, reading.source) == ("accepted", "accepted", CALLER)
    assert AuditEntry.objects.filter(action="reading.submit", actor_label=f"ivr:{CALLER}").count() == 1


def test_two_contracts_choice_and_two_zones(agi_server, transactional_db):
    account = AccountFactory()
    WindowFactory(branch=account.branch, first_day=1, last_day=31)
    water = MeterFactory(contract=ContractFactory(account=account, premises__account=account, resource="hot_water"))
    power = MeterFactory(zones=2, digits=6, contract=ContractFactory(account=account, premises__account=account))
    MeterFactory(contract=power.contract, status=Meter.Status.REMOVED)  # not offered

    asterisk = call(
        agi_server,
        [key("2"), data(account.number), key("1"), data("1500"), data("700"), key("1"), key("*"), HANGUP],
    )
    choice = after(asterisk.played, P("enter-account"))
    assert choice[:5] == [P("choose-meter"), P("res-electricity"), P("press"), *words(1), P("res-hot-water")]
    assert P("back-or-operator") in choice
    assert choice.index(P("enter-day")) < choice.index(P("enter-night"))
    readback = after(choice, P("you-entered"))
    assert readback[: readback.index(P("confirm"))] == [P("zone-day"), *words(1500), P("zone-night"), *words(700)]
    assert after(asterisk.played, P("confirm"))[:3] == [P("out-accepted"), P("after-result"), P("main-menu")]
    reading = Reading.objects.get()
    assert (reading.meter_id, reading.t1, reading.t2, reading.channel) == (power.pk, 1500, 700, "ivr")
    assert not Reading.objects.filter(meter=water).exists()


def test_reenter_after_readback_and_star_goes_back_a_zone(agi_server, transactional_db):
    m = MeterFactory(zones=2, digits=6)
    WindowFactory(branch=m.contract.account.branch, first_day=1, last_day=31)
    actions = [
        key("2"),
        data(m.contract.account.number),
        data("111"),
        data("*"),  # back from the night value to the day value
        data("1500"),
        data("700"),
        key("2"),  # re-enter
        data("1600"),
        data("800"),
        key("1"),
        HANGUP,
    ]
    asterisk = call(agi_server, actions)
    entries = [p for p in asterisk.played if p.startswith("sbyt/enter-")]
    assert entries == ["sbyt/enter-account"] + ["sbyt/enter-day", "sbyt/enter-night"] * 3
    reading = Reading.objects.get()
    assert (reading.t1, reading.t2) == (1600, 800)


def test_lower_than_previous_is_refused_with_the_previous_spoken(agi_server, meter):
    previous = previous_reading(meter, t1=5000)
    asterisk = call(agi_server, [key("2"), data(meter.contract.account.number), data("4000"), key("1"), HANGUP])

    outcome = after(asterisk.played, P("confirm"))
    said_date = [menu.word_prompt(w) for w in speech.date_tokens(timezone.localdate(previous.received_at), "gen")]
    assert outcome[: outcome.index(P("check-digits")) + 1] == [
        P("out-lower-than-previous"),
        *words(5000),
        P("of-date"),
        *said_date,
        P("check-digits"),
    ]
    assert not Reading.objects.filter(status__in=["accepted", "held"]).exclude(pk=previous.pk).exists()
    refused = Reading.objects.exclude(pk=previous.pk).get()
    assert (refused.status, refused.reason, refused.channel) == ("rejected", Reason.LOWER_THAN_PREVIOUS, "ivr")


def test_outside_window_says_the_days(agi_server, transactional_db):
    m = MeterFactory()
    branch = m.contract.account.branch
    branch.late_reading_policy = "refuse"
    branch.save()
    today = timezone.localdate().day
    first = last = 1 if today != 1 else 2
    WindowFactory(branch=branch, first_day=first, last_day=last)
    asterisk = call(agi_server, [key("2"), data(m.contract.account.number), data("100"), key("1"), HANGUP])
    said = [menu.word_prompt(w) for w in speech.day_ordinal_tokens(first, "gen")]
    assert after(asterisk.played, P("confirm"))[: 2 + len(said)] == [P("out-outside-window"), *said, P("to-the")]
    assert Reading.objects.get().reason == Reason.OUTSIDE_WINDOW


def test_smart_meter_is_told_without_asking_values(agi_server, transactional_db):
    m = MeterFactory(is_smart=True)
    asterisk = call(agi_server, [key("2"), data(m.contract.account.number), HANGUP])
    assert after(asterisk.played, P("enter-account"))[:2] == [P("out-smart-meter"), P("after-result")]
    assert not Reading.objects.exists()


# -- operator, back, retries, hang-ups --------------------------------------------------------------------------


def test_unknown_number_three_times_goes_to_the_operator(agi_server, meter):
    asterisk = call(agi_server, [key("2"), data("999"), data("12"), data("000000001")])
    assert asterisk.played.count(P("unknown-account")) == 3
    assert asterisk.played[-1] == P("transfer")
    assert asterisk.commands[-1] == TRANSFER  # then the AGI ends and the dialplan transfers
    assert "HANGUP" not in asterisk.commands
    assert not Reading.objects.exists()


def test_unknown_then_right_number(agi_server, meter):
    asterisk = call(agi_server, [key("2"), data("999"), data(meter.contract.account.number), data("10"), key("1")])
    assert asterisk.played.count(P("unknown-account")) == 1
    assert Reading.objects.get().t1 == 10


@pytest.mark.parametrize(
    "actions",
    [
        [key("0")],  # main menu
        [key("2"), data("0")],  # client number
        [key("2"), data("{account}"), key("0")],  # meter choice
        [key("2"), data("{account}"), key("1"), data("0")],  # a value
        [key("2"), data("{account}"), key("1"), data("5"), key("0")],  # the read-back
        [key("2"), data("{account}"), key("1"), data("5"), key("1"), key("0")],  # after the result
    ],
    ids=["main", "number", "choice", "value", "confirm", "result"],
)
def test_zero_is_the_operator_at_every_level(agi_server, transactional_db, actions):
    account = AccountFactory()
    WindowFactory(branch=account.branch, first_day=1, last_day=31)
    MeterFactory(contract=ContractFactory(account=account, premises__account=account))
    MeterFactory(contract=ContractFactory(account=account, premises__account=account, resource="cold_water"))
    actions = [(kind, value.format(account=account.number), during) for kind, value, during in actions]
    asterisk = call(agi_server, actions)
    assert asterisk.commands[-2:] == [f'STREAM FILE {P("transfer")} ""', TRANSFER]
    assert Reading.objects.count() == (1 if len(actions) == 6 else 0)


def test_star_goes_back_at_every_level(agi_server, transactional_db):
    account = AccountFactory()
    WindowFactory(branch=account.branch, first_day=1, last_day=31)
    MeterFactory(contract=ContractFactory(account=account, premises__account=account))
    MeterFactory(contract=ContractFactory(account=account, premises__account=account, resource="cold_water"))
    n = account.number
    actions = [
        key("*"),  # main menu: repeat
        key("2"),
        data("*"),  # client number → main menu
        key("2"),
        data(n),
        key("*"),  # meter choice → client number
        data(n),
        key("2"),
        data("*"),  # value → meter choice
        key("2"),
        data("42"),
        key("*"),  # read-back → the value again
        data("43"),
        key("1"),
        key("*"),  # after the result → main menu
        HANGUP,
    ]
    asterisk = call(agi_server, actions)
    levels = [
        p
        for p in asterisk.played
        if p in (P("main-menu"), P("enter-account"), P("choose-meter"), P("enter-value"), P("confirm"))
    ]
    assert levels == [
        P("main-menu"),
        P("main-menu"),
        P("enter-account"),
        P("main-menu"),
        P("enter-account"),
        P("choose-meter"),
        P("enter-account"),
        P("choose-meter"),
        P("enter-value"),
        P("choose-meter"),
        P("enter-value"),
        P("confirm"),
        P("enter-value"),
        P("confirm"),
        P("main-menu"),
    ]
    reading = Reading.objects.get()
    assert (reading.t1, reading.meter.contract.resource) == (43, Contract.Resource.COLD_WATER)


@pytest.mark.parametrize("cut", [0, 1, 2, 3])
def test_hangup_mid_call_leaves_nothing(agi_server, meter, cut):
    actions = [key("2"), data(meter.contract.account.number), data("12345")][:cut] + [HANGUP]
    asterisk = call(agi_server, actions)
    assert asterisk.hung_up
    assert "HANGUP" not in asterisk.commands[-1:]
    assert not Reading.objects.exists()
    assert not AuditEntry.objects.filter(action="reading.submit").exists()


def test_connection_dropped_mid_call(agi_server, meter):
    asterisk = Asterisk(agi_server, [])
    assert asterisk.rfile.readline() == b"ANSWER\n"
    asterisk.sock.close()  # Asterisk went away without a word
    Asterisk(agi_server, [key("2"), data(meter.contract.account.number), data("7"), key("1")]).talk()
    assert Reading.objects.get().t1 == 7  # the server survived the broken call


def test_missing_sound_file_does_not_end_the_call(agi_server, meter):
    class Missing(Asterisk):
        def answer(self, line):
            if line.startswith("STREAM FILE sbyt/welcome"):
                return "200 result=-1 endpos=0"  # no such file, the channel is still up
            return super().answer(line)

    asterisk = Missing(agi_server, [key("2"), data(meter.contract.account.number), data("7"), key("1")])
    asterisk.talk()
    assert "CHANNEL STATUS" in asterisk.commands
    assert Reading.objects.get().t1 == 7


def test_no_input_three_times_goes_to_the_operator(agi_server, meter):
    asterisk = call(agi_server, [TIMEOUT, TIMEOUT, TIMEOUT])
    assert asterisk.played.count(P("no-input")) == 3
    assert asterisk.commands[-1] == TRANSFER


def test_unknown_script_is_hung_up(agi_server, transactional_db):
    asterisk = call(agi_server, [], script="nope")
    assert asterisk.commands == ["HANGUP"]


# -- pieces ------------------------------------------------------------------------------------------------------


def test_every_reason_has_an_outcome_prompt():
    assert set(menu.REASON_PROMPTS) == set(Reason)
    assert set(menu.REASON_PROMPTS.values()) <= set(menu.PROMPTS)


def test_prompt_names_are_unique_and_ascii():
    names = [name for name, _text in menu.all_prompts()]
    assert len(names) == len(set(names))
    assert all(name.isascii() and " " not in name for name in names)


def test_menu_levels_within_the_standard():
    for name in ("main-menu", "after-result", "confirm"):
        assert str(menu.PROMPTS[name]).count("press") <= 7
    assert menu.MAX_CHOICES == 7


def test_reply_parsing():
    assert parse_reply("200 result=50 endpos=11840").number == 50
    timeout = parse_reply("200 result= (timeout)")
    assert (timeout.code, timeout.result, timeout.data) == (200, "", "timeout")
    assert parse_reply("200 result=1234 (timeout)").result == "1234"
    assert parse_reply("511 Command Not Permitted on a dead channel").code == 511
    with pytest.raises(AGIError):
        parse_reply("garbage")
    assert quote("") == '""'
    assert quote("0123456789*#") == "0123456789*#"
    assert quote('a "b"') == '"a \\"b\\""'


def test_script_name():
    assert script_name({"agi_network_script": "readings"}) == "readings"
    assert script_name({"agi_request": "agi://10.0.0.5:4573/readings"}) == "readings"
    assert script_name({}) == ""


def test_no_meter_taking_readings(agi_server, transactional_db):
    m = MeterFactory(status=Meter.Status.REMOVED)
    asterisk = call(agi_server, [key("2"), data(m.contract.account.number), key("*"), HANGUP])
    assert after(asterisk.played, P("enter-account"))[:3] == [P("no-meters"), P("back-or-operator"), P("main-menu")]
    assert not Reading.objects.exists()
