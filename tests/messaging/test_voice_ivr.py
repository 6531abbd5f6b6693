"""The readings answering machine over FastAGI (issue 3 item 5, RD-1): key 3 on the voice days only, RECORD FILE,
one stored message per call even when the caller hangs up while speaking."""

import pytest
import time_machine

from sbyt.core import speech
from sbyt.core.models import AuditEntry
from sbyt.messaging.channels.ivr import menu
from sbyt.messaging.models import VoiceMessage
from tests.factories import AccountFactory, BranchFactory, MeterFactory, WindowFactory, aware

from .ivr_fake import CALLER, HANGUP, TRANSFER, P, after, agi_server, call, data, key, record, voice_dir

__all__ = ["agi_server", "voice_dir"]  # fixtures, imported for pytest

VOICE_DAY = aware(2026, 11, 19, 11)
OTHER_DAY = aware(2026, 11, 22, 11)


@pytest.fixture
def account(transactional_db):
    account = AccountFactory()
    MeterFactory(contract__account=account, contract__premises__account=account)
    WindowFactory(branch=account.branch, first_day=18, last_day=25)  # the general window does not open it
    return account


def at(moment):
    return time_machine.travel(moment, tick=True)


def said_days(first: int, last: int) -> list[str]:
    return [
        P("voice-closed"),
        *[menu.word_prompt(w) for w in speech.day_ordinal_tokens(first, "gen")],
        P("to-the"),
        *[menu.word_prompt(w) for w in speech.day_ordinal_tokens(last, "nom")],
        P("of-each-month"),
    ]


def test_message_recorded_on_a_voice_day(agi_server, voice_dir, account):
    with at(VOICE_DAY):
        asterisk = call(
            agi_server,
            [key("3", during=P("main-menu-voice")), data(account.number), record(7, "dtmf")],
            uniqueid="1763540000.42",
        )
    c = asterisk.commands
    assert "STREAM FILE sbyt/main-menu 0123456789*#" in c
    assert "STREAM FILE sbyt/main-menu-voice 0123456789*#" in c
    assert f"GET DATA {P('voice-account')} 10000 20" in c
    assert f'RECORD FILE {voice_dir}/2026/11/1763540000_42 wav "#" 60000 BEEP s=5' in c
    assert after(asterisk.played, P("voice-record")) == [P("voice-thanks"), P("goodbye")]
    assert c[-1] == "HANGUP"

    message = VoiceMessage.objects.get()
    assert (message.call_id, message.caller, message.account_number) == ("1763540000.42", CALLER, account.number)
    assert (message.recording, message.duration, message.status) == ("2026/11/1763540000_42.wav", 7, "new")
    assert (voice_dir / message.recording).is_file()
    assert AuditEntry.objects.filter(action="voice.record", actor_label=f"ivr:{CALLER}").count() == 1


def test_account_number_is_optional(agi_server, voice_dir, account):
    with at(VOICE_DAY):
        call(agi_server, [key("3"), data(""), record(3, "timeout")])
    message = VoiceMessage.objects.get()
    assert (message.account_number, message.duration) == ("", 3)


def test_outside_the_voice_days_the_days_are_said(agi_server, voice_dir, account):
    with at(OTHER_DAY):  # inside the general window 18–25, outside the answering machine's 18–20
        asterisk = call(agi_server, [key("3"), key("0")])
    assert P("main-menu-voice") not in asterisk.played
    spoken = after(asterisk.played, P("main-menu"))
    assert spoken[: len(said_days(18, 20)) + 1] == [*said_days(18, 20), P("main-menu")]
    assert not any(c.startswith("RECORD FILE") for c in asterisk.commands)
    assert asterisk.commands[-1] == TRANSFER
    assert not VoiceMessage.objects.exists()


def test_the_branch_voice_window_counts(agi_server, voice_dir, transactional_db):
    BranchFactory(code="11")  # the default branch (the first one): the default 18–20
    other = BranchFactory(code="12", name="Ухтинский филиал")
    WindowFactory(branch=other, channel="voice", first_day=21, last_day=23)
    with at(OTHER_DAY):
        default = call(agi_server, [key("3"), HANGUP])
        branch = call(agi_server, [key("3"), data(""), record(2)], script="readings?branch=12")
    assert P("main-menu-voice") not in default.played
    assert P("voice-closed") in default.played
    assert P("main-menu-voice") in branch.played
    assert VoiceMessage.objects.count() == 1


def test_the_typed_client_number_decides_the_branch(agi_server, voice_dir, transactional_db):
    BranchFactory(code="11")  # default branch: open on the 19th
    other = BranchFactory(code="12", name="Ухтинский филиал")
    WindowFactory(branch=other, channel="voice", first_day=21, last_day=23)
    client = AccountFactory(branch=other)
    with at(VOICE_DAY):
        asterisk = call(agi_server, [key("3"), data(client.number), key("0")])
    assert after(asterisk.played, P("voice-account"))[: len(said_days(21, 23))] == said_days(21, 23)
    assert not VoiceMessage.objects.exists()


def test_hangup_while_speaking_keeps_what_was_said(agi_server, voice_dir, account):
    with at(VOICE_DAY):
        asterisk = call(agi_server, [key("3"), data(account.number), record(4, "hangup")])
    assert asterisk.hung_up
    assert P("voice-thanks") not in asterisk.played
    assert "HANGUP" not in asterisk.commands  # nothing more is sent to a dead channel
    message = VoiceMessage.objects.get()
    assert (message.duration, message.account_number) == (4, account.number)


def test_hangup_before_anything_was_recorded_stores_nothing(agi_server, voice_dir, account):
    with at(VOICE_DAY):
        call(agi_server, [key("3"), data(""), record(None, "hangup")])
        call(agi_server, [key("3"), data(""), HANGUP])  # hung up during the prompt
    assert not VoiceMessage.objects.exists()


def test_asterisk_cannot_write_the_file(agi_server, voice_dir, account):
    with at(VOICE_DAY):
        asterisk = call(agi_server, [key("3"), data(""), record(5, "writefile")])
    assert asterisk.played[-2:] == [P("voice-failed"), P("transfer")]
    assert asterisk.commands[-1] == TRANSFER
    assert not VoiceMessage.objects.exists()


def test_one_message_per_call(agi_server, voice_dir, account):
    with at(VOICE_DAY):
        call(agi_server, [key("3"), data(""), record(3)], uniqueid="1763540000.7")
        call(agi_server, [key("3"), data(""), record(9)], uniqueid="1763540000.7")  # the same call id again
    message = VoiceMessage.objects.get()
    assert message.duration == 3
    assert AuditEntry.objects.filter(action="voice.record").count() == 1


@pytest.mark.parametrize(("actions", "transfer"), [([key("*")], False), ([key("0")], True)])
def test_back_and_operator_from_the_recording_prompt(agi_server, voice_dir, account, actions, transfer):
    with at(VOICE_DAY):
        asterisk = call(agi_server, [key("3"), data(""), *[(k, v, P("voice-record")) for k, v, _d in actions]])
    assert not any(c.startswith("RECORD FILE") for c in asterisk.commands)
    if transfer:
        assert asterisk.commands[-1] == TRANSFER
    else:
        assert after(asterisk.played, P("voice-record"))[0] == P("main-menu")
    assert not VoiceMessage.objects.exists()


def test_star_in_the_number_prompt_goes_back(agi_server, voice_dir, account):
    with at(VOICE_DAY):
        asterisk = call(agi_server, [key("3"), data("*"), HANGUP])
    assert after(asterisk.played, P("voice-account"))[0] == P("main-menu")


def test_recording_length_from_the_file():
    assert menu.wav_seconds(menu.Path("/nonexistent.wav"), 8000) is None


def test_main_menu_voice_item_within_the_standard():
    from django.utils import translation

    with translation.override("en"):
        assert str(menu.PROMPTS["main-menu-voice"]).count("press") == 1
    assert str(menu.PROMPTS["main-menu-voice"]).count("нажмите") == 1
