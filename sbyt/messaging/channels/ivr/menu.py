"""The phone menu (RD-10, CC-4): one call, driven through AGI commands.

Levels (≤ 7 keys each, «0» the operator and «*» back everywhere; the operator is the fifth level)::

    1 main menu         1 information · 2 readings · 3 answering machine (voice days only) · 0 operator · * repeat
    2 client number     digits then # · * main menu · 0 operator · 3 unknown numbers → operator
    3 meter choice      1..7 (only when the number has several in-service meters) · * back · 0 operator
    4 readings          one value per zone, each ended by # · read back · 1 confirm / 2 re-enter
                        → the service's outcome → 1 another meter · * main menu · 0 operator

Prompts are played by name (``PROMPTS``; the sound files live in ``sbyt/`` of the Asterisk sounds directory
for the channel's language); numbers and dates are spoken as sequences of one-word prompts
(``word_prompt``) built by ``sbyt.core.speech``. Only what the caller typed is read back, and the previous
reading when a value is refused as lower than it; nothing else about the client is spoken.

The readings go through the one readings service: nothing is written before the caller presses 1 to
confirm, and the write is one transaction, so a hang-up at any point leaves nothing half-written.

The answering machine (key 3, RD-1: only on the branch's voice days, 18th–20th by default): an optional
client number, then ``RECORD FILE`` after a beep; the recording is stored once per call (``agi_uniqueid``)
as a ``VoiceMessage`` for the back-office queue (``sbyt.messaging.voice``), even when the caller hangs up
while speaking.
"""

import contextlib
import logging
import uuid
import wave
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sbyt.core import speech
from sbyt.metering.rules import Reason

from .agi import AGI, ALL_KEYS, Hangup

log = logging.getLogger("sbyt.ivr")

PREFIX = "sbyt/"
KEY_TIMEOUT_MS = 5000
ENTRY_TIMEOUT_MS = 10000
MAX_ATTEMPTS = 3
MAX_ACCOUNT_DIGITS = 20
MAX_VALUE_DIGITS = 12  # the longest register; keeps read-backs within speech.MAX_NUMBER
TRANSFER_VARIABLE = "SBYT_TRANSFER"
MAX_CHOICES = 7

PROMPTS = {
    "welcome": _("Welcome to the contact centre of the electricity supplier."),
    "main-menu": _(
        "For information on how to submit readings, press 1. To submit meter readings, press 2. "
        "To speak to an operator, press 0. To hear this menu again, press star."
    ),
    "main-menu-voice": _("To leave your readings on the answering machine, press 3."),
    "voice-closed": _("The answering machine takes readings from the"),
    "voice-account": _(
        "If you know your client number, enter it and press hash. If not, just press hash. "
        "To go back, press star. To speak to an operator, press 0."
    ),
    "voice-record": _(
        "After the signal, say your client number or your address, and the readings of each meter. "
        "When you have finished, press hash."
    ),
    "voice-thanks": _("Thank you. Your message is recorded. An operator will enter your readings."),
    "voice-failed": _("Sorry, your message could not be recorded."),
    "info": _(
        "You can submit meter readings by phone, by SMS, in the personal cabinet and in the mobile app. "
        "Your client number is printed on your bill."
    ),
    "enter-account": _(
        "Enter your client number from the bill, then press hash. To go back, press star. "
        "To speak to an operator, press 0."
    ),
    "unknown-account": _("This client number was not found. Check the number on your bill."),
    "no-meters": _("There is no meter on this client number that takes readings by phone."),
    "choose-meter": _("Choose the meter."),
    "res-electricity": _("Electricity"),
    "res-hot-water": _("Hot water"),
    "res-cold-water": _("Cold water"),
    "meter": _("meter"),
    "press": _("press"),
    "back-or-operator": _("To go back, press star. To speak to an operator, press 0."),
    "enter-value": _("Enter the reading without the digits after the decimal point, then press hash."),
    "enter-day": _("Enter the day reading, then press hash."),
    "enter-night": _("Enter the night reading, then press hash."),
    "enter-peak": _("Enter the peak reading, then press hash."),
    "enter-semipeak": _("Enter the semi-peak reading, then press hash."),
    "you-entered": _("You entered:"),
    "zone-day": _("day"),
    "zone-night": _("night"),
    "zone-peak": _("peak"),
    "zone-semipeak": _("semi-peak"),
    "confirm": _("If this is correct, press 1. To enter the readings again, press 2."),
    "invalid-choice": _("There is no such choice."),
    "no-input": _("We did not hear your choice."),
    "after-result": _(
        "To submit readings for another meter, press 1. To return to the main menu, press star. "
        "To speak to an operator, press 0."
    ),
    "out-accepted": _("Readings accepted. Thank you."),
    "out-accepted-next-period": _(
        "Readings accepted. Thank you. They are outside this month's intake days and will be billed next month."
    ),
    "out-already-accepted": _("These readings have already been accepted. Thank you."),
    "out-held-for-review": _(
        "Readings accepted. The consumption is much higher than usual, so a specialist will check them."
    ),
    "out-meter-not-in-service": _(
        "This meter is not in service or its verification period has expired, so its readings cannot be accepted."
    ),
    "out-smart-meter": _("This meter sends its readings automatically; you do not need to submit them."),
    "out-outside-window": _("Readings are accepted from the"),
    "to-the": _("to the"),
    "of-each-month": _("day of each month. Please call on those days."),
    "out-wrong-value-count": _("The number of values does not match the meter's tariff zones."),
    "out-invalid-value": _("A reading consists of digits only."),
    "out-too-many-digits": _("The reading has more digits than the meter's register."),
    "out-lower-than-previous": _("The reading is lower than the previous accepted one:"),
    "of-date": _("of"),
    "check-digits": _("Check the digits."),
    "transfer": _("Connecting you to an operator. Please wait."),
    "goodbye": _("Thank you for calling. Goodbye."),
}

REASON_PROMPTS = {
    Reason.ACCEPTED: "out-accepted",
    Reason.ACCEPTED_NEXT_PERIOD: "out-accepted-next-period",
    Reason.ALREADY_ACCEPTED: "out-already-accepted",
    Reason.HELD_FOR_REVIEW: "out-held-for-review",
    Reason.UNKNOWN_CLIENT: "unknown-account",
    Reason.METER_NOT_IN_SERVICE: "out-meter-not-in-service",
    Reason.SMART_METER: "out-smart-meter",
    Reason.OUTSIDE_WINDOW: "out-outside-window",
    Reason.WRONG_VALUE_COUNT: "out-wrong-value-count",
    Reason.EMPTY_VALUE: "out-invalid-value",
    Reason.NOT_WHOLE_NUMBER: "out-invalid-value",
    Reason.INVALID_VALUE: "out-invalid-value",
    Reason.TOO_MANY_DIGITS: "out-too-many-digits",
    Reason.LOWER_THAN_PREVIOUS: "out-lower-than-previous",
}
"""The outcome prompt of every reason code of the readings service (asserted complete by the tests)."""

ZONE_PROMPTS = {
    1: ("enter-value",),
    2: ("enter-day", "enter-night"),
    3: ("enter-peak", "enter-semipeak", "enter-night"),
}
ZONE_NAME_PROMPTS = {1: (None,), 2: ("zone-day", "zone-night"), 3: ("zone-peak", "zone-semipeak", "zone-night")}
RESOURCE_PROMPTS = {"electricity": "res-electricity", "hot_water": "res-hot-water", "cold_water": "res-cold-water"}

_LATIN = ("a", "b", "v", "g", "d", "e", "yo", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p")
_LATIN += ("r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya")
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", _LATIN, strict=True))


def word_prompt(word: str) -> str:
    """The sound file of one spoken word: «тысячи» → sbyt/w/tysyachi."""
    return PREFIX + "w/" + "".join(_TRANSLIT.get(c, c) for c in word.lower())


def prompt(name: str) -> str:
    return PREFIX + name


def all_prompts() -> list[tuple[str, str]]:
    """(sound file, Russian text) of every prompt the menu can play: the recording list for the studio."""
    rows = [(prompt(name), str(text)) for name, text in PROMPTS.items()]
    rows += [(word_prompt(word), word) for word in speech.NUMBER_VOCABULARY]
    return rows


class Transfer(Exception):
    """The caller goes to the operator: the dialplan reads SBYT_TRANSFER after the AGI ends."""


@dataclass(frozen=True)
class MeterChoice:
    meter_id: int
    resource: str
    zones: int
    is_smart: bool


class Readings:
    """What the menu needs from the database (the directory of accounts and meters, and the one readings
    service). Plain synchronous ORM: each call runs in its own server thread."""

    def meters_of(self, account_number: str) -> list[MeterChoice] | None:
        """The in-service meters of an account, or None for an unknown number."""
        from sbyt.customers.queries import contracts_with_meters, find_account
        from sbyt.metering.models import Meter

        if not account_number.isdigit() or len(account_number) > MAX_ACCOUNT_DIGITS:
            return None
        account = find_account(account_number)
        if account is None:
            return None
        return [
            MeterChoice(meter.pk, contract.resource, meter.zones, meter.is_smart)
            for contract in contracts_with_meters(account)
            for meter in contract.meters.all()
            if meter.status == Meter.Status.IN_SERVICE
        ]

    def submit(self, meter_id: int, values: list[str], caller: str):
        from sbyt.metering.models import Meter
        from sbyt.metering.services import submit_reading

        meter = Meter.objects.get(pk=meter_id)
        return submit_reading(meter=meter, values=values, channel="ivr", actor=f"ivr:{caller}", source=caller)

    def window_days(self, meter_id: int) -> tuple[int, int]:
        from sbyt.metering import queries
        from sbyt.metering.models import Meter

        branch = Meter.objects.select_related("contract__account__branch").get(pk=meter_id).contract.account.branch
        window = queries.window_for(branch, "ivr", queries.today_in(branch))
        return window.first_day, window.last_day

    def voice_days(self, account_number: str, branch_code: str):
        from sbyt.messaging import voice

        return voice.voice_days(voice.call_branch(account_number=account_number, branch_code=branch_code))

    def store_voice(self, *, call_id: str, caller: str, account_number: str, recording: str, duration: int) -> bool:
        from sbyt.messaging.voice import record_voice_message

        _message, created = record_voice_message(
            call_id=call_id, caller=caller, account_number=account_number, recording=recording, duration=duration
        )
        return created


class Call:
    """One caller's way through the menu. Each step method returns the next step, or None to end."""

    def __init__(self, agi: AGI, readings: Readings | None = None):
        self.agi = agi
        self.readings = readings or Readings()
        self.caller = ""
        self.account = ""
        self.meters: list[MeterChoice] = []
        self.meter: MeterChoice | None = None
        self.values: list[str] = []
        self.call_id = ""
        self.branch_code = ""
        self.voice_account = ""

    # -- the call -----------------------------------------------------------------------------------------
    def run(self) -> None:
        env = self.agi.env
        self.caller = (env.get("agi_callerid") or "unknown")[:40]
        if self.caller.lower() in ("", "unknown"):
            self.caller = "unknown"
        self.call_id = (env.get("agi_uniqueid") or "").strip()[:64] or uuid.uuid4().hex
        query = parse_qs(urlsplit(env.get("agi_request", "")).query)
        self.branch_code = (query.get("branch") or [""])[0][:16]
        self.agi.answer()
        self.agi.stream_file(prompt("welcome"), "")
        step = self.main_menu
        try:
            while step is not None:
                step = step()
        except Transfer:
            self.agi.stream_file(prompt("transfer"), "")
            self.agi.set_variable(TRANSFER_VARIABLE, "operator")
            return  # the AGI ends; the dialplan continues to the operator queue
        self.agi.stream_file(prompt("goodbye"), "")
        self.agi.hangup()

    # -- helpers ------------------------------------------------------------------------------------------
    def play(self, prompts: list[str], keys: str) -> str:
        """Play prompts (interruptible by ``keys``), then wait for a key: the key or ""."""
        for name in prompts:
            key = self.agi.stream_file(name, keys)
            if key:
                return key
        return self.agi.wait_for_digit(KEY_TIMEOUT_MS)

    def choose(self, prompts: list[str], keys: str) -> str:
        """A menu level: up to MAX_ATTEMPTS tries; «0» → operator; the key chosen (may be «*»)."""
        allowed = keys + "0*"
        for _attempt in range(MAX_ATTEMPTS):
            key = self.play(prompts, ALL_KEYS)
            if key == "0":
                raise Transfer
            if key and key in allowed:
                return key
            self.agi.stream_file(prompt("invalid-choice" if key else "no-input"), "")
        raise Transfer

    def enter(self, name: str, max_digits: int) -> str:
        """Digits ended by «#»: the digits, or «*» for back; «0» alone → operator; 3 empty tries → operator."""
        for _attempt in range(MAX_ATTEMPTS):
            digits = self.agi.get_data(prompt(name), ENTRY_TIMEOUT_MS, max_digits)
            if "*" in digits:
                return "*"
            if digits == "0":
                raise Transfer
            digits = digits.replace("#", "")
            if digits:
                return digits
            self.agi.stream_file(prompt("no-input"), "")
        raise Transfer

    def say_number(self, n: int) -> list[str]:
        return [word_prompt(w) for w in speech.number_tokens(n)]

    def say_value(self, value: str) -> list[str]:
        digits = value.lstrip("0") or "0"
        if len(digits) > len(str(speech.MAX_NUMBER)) - 1:
            return [word_prompt(w) for d in digits for w in speech.number_tokens(int(d))]
        return self.say_number(int(digits))

    def say_values(self, values, zones: int) -> list[str]:
        out = []
        for name, value in zip(ZONE_NAME_PROMPTS[zones], values, strict=False):
            if name:
                out.append(prompt(name))
            out += self.say_value(str(value))
        return out

    # -- levels -------------------------------------------------------------------------------------------
    def main_menu(self):
        prompts = [prompt("main-menu")]
        if self.readings.voice_days(self.account, self.branch_code).is_open:
            prompts.append(prompt("main-menu-voice"))
        key = self.choose(prompts, "123")  # «3» outside the voice days: the caller hears the days
        if key == "1":
            self.agi.stream_file(prompt("info"), "")
            return self.main_menu
        if key == "2":
            return self.account_entry
        if key == "3":
            return self.voice_start
        return self.main_menu  # «*» on the top level repeats it

    # -- the answering machine ----------------------------------------------------------------------------
    def say_voice_days(self, days) -> None:
        prompts = [prompt("voice-closed")]
        prompts += [word_prompt(w) for w in speech.day_ordinal_tokens(days.first_day, "gen")]
        prompts.append(prompt("to-the"))
        prompts += [word_prompt(w) for w in speech.day_ordinal_tokens(days.last_day, "nom")]
        prompts.append(prompt("of-each-month"))
        for name in prompts:
            self.agi.stream_file(name, "")

    def voice_start(self):
        days = self.readings.voice_days(self.account, self.branch_code)
        if not days.is_open:
            self.say_voice_days(days)
            return self.main_menu
        digits = self.agi.get_data(prompt("voice-account"), ENTRY_TIMEOUT_MS, MAX_ACCOUNT_DIGITS)
        if "*" in digits:
            return self.main_menu
        if digits == "0":
            raise Transfer
        self.voice_account = digits.replace("#", "")[:MAX_ACCOUNT_DIGITS]
        if self.voice_account:
            days = self.readings.voice_days(self.voice_account, self.branch_code)  # the account's own branch
            if not days.is_open:
                self.say_voice_days(days)
                return self.main_menu
        return self.voice_record

    def voice_record(self):
        from sbyt.messaging.voice import recording_name, recordings_root

        key = self.agi.stream_file(prompt("voice-record"), "*0")
        if key == "*":
            return self.main_menu
        if key == "0":
            raise Transfer
        name = recording_name(self.call_id, timezone.now())
        local = recordings_root() / f"{name}.wav"
        local.parent.mkdir(parents=True, exist_ok=True)
        asterisk_path = f"{str(settings.SBYT_VOICE_ASTERISK_DIR).rstrip('/')}/{name}"
        recording = self.agi.record_file(
            asterisk_path, escape="#", timeout_ms=settings.SBYT_VOICE_MAX_SECONDS * 1000, silence_s=5
        )
        duration = wav_seconds(local, recording.endpos)
        stored = False
        if duration is not None:  # a hang-up while speaking still leaves what was said
            stored = self.readings.store_voice(
                call_id=self.call_id,
                caller=self.caller,
                account_number=self.voice_account or self.account,
                recording=f"{name}.wav",
                duration=duration,
            )
            log.info("IVR voice message from %s: %s s, %s", self.caller, duration, "stored" if stored else "known")
        if recording.ended == "hangup":
            raise Hangup("hangup during the recording")
        if duration is None:
            log.error("IVR voice message from %s: no recording (%s) at %s", self.caller, recording.ended, local)
            self.agi.stream_file(prompt("voice-failed"), "")
            raise Transfer
        self.agi.stream_file(prompt("voice-thanks"), "")
        return None  # goodbye and hang up

    def account_entry(self):
        for _attempt in range(MAX_ATTEMPTS):
            digits = self.enter("enter-account", MAX_ACCOUNT_DIGITS)
            if digits == "*":
                return self.main_menu
            meters = self.readings.meters_of(digits)
            if meters is not None:
                self.account, self.meters = digits, meters[:MAX_CHOICES]
                if not meters:
                    self.agi.stream_file(prompt("no-meters"), "")
                    return self.after_result
                return self.meter_choice
            self.agi.stream_file(prompt("unknown-account"), "")
        raise Transfer

    def meter_choice(self):
        if len(self.meters) == 1:
            self.meter = self.meters[0]
            return self.start_values
        prompts = [prompt("choose-meter")]
        resources = [m.resource for m in self.meters]
        for index, meter in enumerate(self.meters, start=1):
            prompts.append(prompt(RESOURCE_PROMPTS.get(meter.resource, "res-electricity")))
            if resources.count(meter.resource) > 1:
                prompts.append(prompt("meter"))
                prompts += self.say_number(resources[:index].count(meter.resource))
            prompts.append(prompt("press"))
            prompts += self.say_number(index)
        prompts.append(prompt("back-or-operator"))
        keys = "".join(str(i) for i in range(1, len(self.meters) + 1))
        key = self.choose(prompts, keys)
        if key == "*":
            return self.account_entry
        self.meter = self.meters[int(key) - 1]
        return self.start_values

    def back_from_values(self):
        return self.account_entry if len(self.meters) == 1 else self.meter_choice

    def start_values(self):
        if self.meter.is_smart:
            self.agi.stream_file(prompt("out-smart-meter"), "")
            return self.after_result
        self.values = []
        return self.value_entry

    def value_entry(self):
        zones = self.meter.zones
        while len(self.values) < zones:
            digits = self.enter(ZONE_PROMPTS[zones][len(self.values)], MAX_VALUE_DIGITS)
            if digits == "*":
                if not self.values:
                    return self.back_from_values()
                self.values.pop()  # back to the previous zone
                continue
            self.values.append(digits)
        return self.confirm

    def confirm(self):
        prompts = [prompt("you-entered"), *self.say_values(self.values, self.meter.zones), prompt("confirm")]
        key = self.choose(prompts, "12")
        if key == "1":
            return self.submit
        if key == "2":
            self.values = []
            return self.value_entry
        self.values = self.values[:-1]  # «*»: back to the last value
        return self.value_entry

    def submit(self):
        result = self.readings.submit(self.meter.meter_id, list(self.values), self.caller)
        log.info("IVR reading from %s: meter %s, %s", self.caller, self.meter.meter_id, result.reason)
        self.play_outcome(result)
        return self.after_result

    def play_outcome(self, result) -> None:
        name = REASON_PROMPTS.get(result.reason, "out-invalid-value")
        prompts = [prompt(name)]
        if result.reason == Reason.LOWER_THAN_PREVIOUS and result.previous is not None:
            prompts += self.say_values(result.previous.values, len(result.previous.values))
            prompts.append(prompt("of-date"))
            prompts += [word_prompt(w) for w in speech.date_tokens(result.previous.received_on, "gen")]
            prompts.append(prompt("check-digits"))
        elif result.reason == Reason.OUTSIDE_WINDOW:
            first, last = self.readings.window_days(self.meter.meter_id)
            prompts += [word_prompt(w) for w in speech.day_ordinal_tokens(first, "gen")]
            prompts.append(prompt("to-the"))
            prompts += [word_prompt(w) for w in speech.day_ordinal_tokens(last, "nom")]
            prompts.append(prompt("of-each-month"))
        for name in prompts:
            self.agi.stream_file(name, "")

    def after_result(self):
        if not self.meters:
            self.choose([prompt("back-or-operator")], "")  # «*» or «0»
            return self.main_menu
        key = self.choose([prompt("after-result")], "1")
        if key == "1":
            return self.meter_choice
        return self.main_menu


def wav_seconds(path: Path, endpos: int) -> int | None:
    """The length of a recording in whole seconds (rounded up), or None when there is no audio in it."""
    if not path.is_file():
        return None
    frames = rate = 0
    with contextlib.suppress(wave.Error, EOFError, OSError), wave.open(str(path), "rb") as wav:
        frames, rate = wav.getnframes(), wav.getframerate()
    if not rate:  # not a PCM WAV Python can read: trust Asterisk's sample count (8 kHz)
        frames, rate = endpos, 8000
    if frames <= 0:
        return None
    return -(-frames // rate)
