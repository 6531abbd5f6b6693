"""The readings dialogue of every text channel (SMS, Telegram, VK, Viber, WhatsApp): «ПС <договор> <показания>».

Channel-independent: an adapter passes the sender's stored dialogue state and the text, and gets the reply and
the new state (a JSON-serialisable dict, or None when the dialogue is over) to store per channel and sender for
``STATE_TTL``. Every submission ends in ``metering.services.submit_reading``: the same checks, reason codes and
wording as the cabinet; where that wording is longer than one SMS, a short wording per reason code is used
(``SHORT_REPLIES``). Every reply fits one SMS. See docs/dialogue.md.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.periods import period_label
from sbyt.metering.rules import ZONE_NAMES, PastReading, Reason

from .smslength import fits_one_sms, shorten_for_sms

STATE_TTL = dt.timedelta(minutes=15)
STATE_VERSION = 1
MAX_TEXT = 500  # characters looked at; SMS and bot messages are shorter, the rest is noise
MIN_SERIAL_SUFFIX = 3  # digits of a meter number that choose among a contract's meters
MAX_VALUES = 6  # more than any meter has zones; the rest is dropped (the service answers wrong_value_count)


# -- parsing -------------------------------------------------------------------------------------------------


class Kind(StrEnum):
    READINGS = "readings"  # «ПС <договор> [показания…]»
    VALUES = "values"  # digits only: continues a waiting dialogue
    HELP = "help"  # «ПОМОЩЬ», «?», «HELP», «ПС» without a number, anything unknown
    CANCEL = "cancel"  # «ОТМЕНА», «СТОП», «STOP»


@dataclass(frozen=True)
class Command:
    kind: Kind
    contract: str = ""
    values: tuple[str, ...] = ()  # raw tokens; a token like «45055,23186» may be one decimal or two values
    known: bool = True  # False: text nobody would call a command (answered with help)


# Latin letters that look like Cyrillic ones (and read as such on a phone screen), mapped to Cyrillic.
_LOOKALIKE = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")


def _fold(word: str) -> str:
    return word.upper().translate(_LOOKALIKE)


_CANCEL_WORDS = frozenset(
    _fold(w) for w in ("ОТМЕНА", "ОТМЕНИТЬ", "ОТМЕНИ", "ОТМ", "СТОП", "STOP", "CANCEL", "OTMENA", "/CANCEL", "/STOP")
)
_HELP_WORDS = frozenset(
    _fold(w)
    for w in ("ПОМОЩЬ", "ПОМОЩ", "СПРАВКА", "HELP", "POMOSH", "INFO", "ИНФО", "/HELP", "/START", "START", "?", "??")
)

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# «ПС»: П or Latin P (transliteration), N (lower-case «nc» looks like «пс»), G (the «п» key on a Latin
# layout); then С / Latin C / S, optionally with a dot or space between; then a separator or the digits.
_COMMAND = re.compile(r"^(?:П|Р|N|G)[ .]?(?:С|S)\.?(?=[\s\d:;,№#N\-]|$)[\s:;,№#N\-]*")
_CONTRACT = re.compile(r"\d+")
_SPLIT = re.compile(r"[\s;]+")
_VALUES_ONLY = re.compile(r"^[\d\s.,;]*\d[\d\s.,;]*$")


def _normalise(text) -> str:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[:MAX_TEXT].replace("№", " ")  # NFKC would turn it into «No»
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return text.strip()


def _value_tokens(rest: str) -> tuple[str, ...]:
    tokens = []
    for token in _SPLIT.split(rest):
        token = token.strip(",").rstrip(".")  # «45055, 23186» and a full stop at the end of a sentence
        if any(c.isdigit() for c in token):  # words around the numbers («день», «кВт») are dropped
            tokens.append(token)
    return tuple(tokens[:MAX_VALUES])


def parse_message(text) -> Command:
    """What a person typed, read tolerantly. Pure; never raises."""
    text = _normalise(text)
    if not text:
        return Command(Kind.HELP, known=False)
    upper = _fold(text)
    first = upper.split(None, 1)[0]
    if first in _CANCEL_WORDS:
        return Command(Kind.CANCEL)
    if first in _HELP_WORDS:
        return Command(Kind.HELP)
    match = _COMMAND.match(upper)
    if match:
        rest = (text if len(text) == len(upper) else upper)[match.end() :]  # values as typed, for the record
        contract = _CONTRACT.match(rest)
        if not contract:
            return Command(Kind.HELP)
        return Command(Kind.READINGS, contract.group(), _value_tokens(rest[contract.end() :]))
    if _VALUES_ONLY.match(text):
        return Command(Kind.VALUES, values=_value_tokens(text))
    return Command(Kind.HELP, known=False)


_SEPARATED = re.compile(r"^\d+(?:,\d{3,})+$")


def resolve_values(tokens: Sequence[str], expected: int) -> list[str]:
    """A comma inside digits is a decimal comma («11638,5») or a separator («45055,23186»). It is read as a
    separator only when every part after it has 3 or more digits (a meter shows 1 to 3 decimals, a value
    rarely has fewer than 3 digits) and splitting, unlike not splitting, gives the number of values expected."""
    as_is = list(tokens)
    if len(as_is) == expected or not any(_SEPARATED.match(t) for t in as_is):
        return as_is
    split = [part for t in as_is for part in (t.split(",") if _SEPARATED.match(t) else [t])]
    return split if len(split) == expected else as_is


# -- replies -------------------------------------------------------------------------------------------------


def help_text() -> str:
    return _("To submit readings send: ПС <contract> <readings>. Example: ПС 102057522 11638")


def cancelled_text() -> str:
    return _("Readings submission cancelled.")


def expired_text() -> str:
    return _("Time to answer has run out. Send again: ПС <contract>.")


def no_meter_text() -> str:
    return _("No meter on this contract takes readings. Please call the contact centre.")


def choose_meter_text() -> str:
    return _("The contract has several meters. Send the last 4 digits of the meter number.")


def meter_not_found_text() -> str:
    return _("No such meter on the contract. Send the last 4 digits of its number.")


def zone_prompt(zones: int, index: int) -> str:
    if zones == 1:
        return _("Send the meter reading.")
    if index == 0:
        return _("Send the «%(zone)s» reading. You may send all zones at once, separated by spaces.") % {
            "zone": ZONE_NAMES[zones][0]
        }
    return _("Send the «%(zone)s» reading.") % {"zone": ZONE_NAMES[zones][index]}


@dataclass(frozen=True)
class ReplyContext:
    """What a short wording may need beyond the readings result."""

    meter_in_service: bool
    window: Callable[[], tuple[int, int]]  # (first day, last day), looked up only when needed


def _lower_than_previous(previous: PastReading | None) -> list[str]:
    candidates = []
    if previous is not None:  # named as the cabinet names it (RD-11: the previous reading is shown)
        values = "/".join(str(v) for v in previous.values)
        date = previous.received_on.strftime("%d.%m.%Y")
        candidates.append(
            _("Lower than the previous reading (%(previous)s of %(date)s). Check the digits.")
            % {"previous": values, "date": date}
        )
        candidates.append(_("Lower than the previous reading: %(previous)s. Check the digits.") % {"previous": values})
    candidates.append(_("The reading is lower than the previous one. Check the digits."))
    return candidates


# Reason codes whose cabinet wording is longer than one SMS (in Russian): the SMS wording, most informative
# first; the first candidate that fits is sent. Other reasons send the service's own message.
SHORT_REPLIES: dict[Reason, Callable] = {
    Reason.ACCEPTED_NEXT_PERIOD: lambda result, ctx: [
        _("Readings accepted. Thank you. They will be billed for %(period)s.")
        % {"period": period_label(result.period)},
        _("Readings accepted. Thank you."),
    ],
    Reason.HELD_FOR_REVIEW: lambda result, ctx: [
        _("Readings accepted. Consumption is above usual: a specialist will check it.")
    ],
    Reason.METER_NOT_IN_SERVICE: lambda result, ctx: [
        _("The meter is not in service. Please call the contact centre or visit an office.")
        if not ctx.meter_in_service
        else _("The meter's verification has expired. Please call the contact centre or visit an office.")
    ],
    Reason.SMART_METER: lambda result, ctx: [_("This meter sends its readings automatically; no need to submit them.")],
    Reason.OUTSIDE_WINDOW: lambda result, ctx: [
        _("Readings are accepted from the %(first)s to the %(last)s of each month.")
        % dict(zip(("first", "last"), ctx.window(), strict=True))
    ],
    Reason.LOWER_THAN_PREVIOUS: lambda result, ctx: _lower_than_previous(result.previous),
}


def sms_reply(result, ctx: ReplyContext) -> str:
    """The reply to a readings result in one SMS: the service's wording where it fits, else the short one."""
    short = SHORT_REPLIES.get(result.reason)
    candidates = [result.message] if short is None else short(result, ctx)
    for text in candidates:
        if fits_one_sms(text):
            return text
    return shorten_for_sms(candidates[-1])


# -- where the engine reads meters and submits: the database, or memory (benchmark) ---------------------------


@dataclass(frozen=True)
class MeterInfo:
    id: int
    serial: str
    zones: int
    in_service: bool


class Directory(Protocol):
    def meters(self, contract: str) -> list[MeterInfo] | None:
        """The meters of a contract (in-service first), or None for an unknown contract."""

    def meter(self, contract: str, meter_id: int) -> MeterInfo | None: ...

    def submit(self, meter: MeterInfo, values: list[str], *, channel: str, sender: str, at: dt.datetime): ...

    def window(self, meter: MeterInfo, channel: str, at: dt.datetime) -> tuple[int, int]: ...


class DatabaseDirectory:
    """Contracts and meters from the database; submissions through the one readings service.

    Inside a transaction (the inbound processing) the meters are read locked, with their contract, account and
    branch, so that a submission uses them as read instead of reading them again."""

    def __init__(self):
        self._loaded: dict[int, object] = {}  # meter id → Meter, read with its row lock in this transaction

    @staticmethod
    def _info(meter) -> MeterInfo:
        from sbyt.metering.models import Meter

        return MeterInfo(meter.pk, meter.serial, meter.zones, meter.status == Meter.Status.IN_SERVICE)

    def _read(self, meters, locked) -> list[MeterInfo]:
        """``meters`` (a queryset) read plainly outside a transaction; inside it, ``locked()`` (the same rows
        locked, with their contract, account and branch)."""
        from django.db import transaction

        if not transaction.get_connection().in_atomic_block:
            return [self._info(m) for m in meters.only("id", "serial", "zones", "status")]
        rows = locked()
        self._loaded.update((m.pk, m) for m in rows)
        return [self._info(m) for m in rows]

    def meters(self, contract: str) -> list[MeterInfo] | None:
        from sbyt.customers.models import Contract
        from sbyt.metering.models import Meter
        from sbyt.metering.queries import locked_meters_of_contract

        if not contract.isdigit() or not 3 <= len(contract) <= 20:
            return None
        meters = self._read(
            Meter.objects.filter(contract__number=contract).order_by("id"), lambda: locked_meters_of_contract(contract)
        )
        if not meters and not Contract.objects.filter(number=contract).exists():
            return None
        return [m for m in meters if m.in_service] or meters

    def meter(self, contract: str, meter_id: int) -> MeterInfo | None:
        from sbyt.metering.models import Meter
        from sbyt.metering.queries import locked_meter

        def locked():
            found = locked_meter(meter_id, contract_number=contract)
            return [found] if found else []

        found = self._read(Meter.objects.filter(pk=meter_id, contract__number=contract), locked)
        return found[0] if found else None

    def submit(self, meter: MeterInfo, values: list[str], *, channel: str, sender: str, at: dt.datetime):
        from sbyt.metering.models import Meter
        from sbyt.metering.services import submit_reading

        loaded = self._loaded.get(meter.id)
        return submit_reading(
            meter=loaded or Meter(pk=meter.id),
            values=values,
            channel=channel,
            actor=f"{channel}:{sender}",
            source=sender,
            received_at=at,
            locked=loaded is not None,
        )

    def window(self, meter: MeterInfo, channel: str, at: dt.datetime) -> tuple[int, int]:
        from sbyt.core.timezones import local_now
        from sbyt.metering import queries
        from sbyt.metering.models import Meter

        loaded = self._loaded.get(meter.id) or Meter.objects.select_related("contract__account__branch").get(
            pk=meter.id
        )
        branch = loaded.contract.account.branch
        rule = queries.window_for(branch, channel, local_now(branch.time_zone, at).date())
        return rule.first_day, rule.last_day


def _unknown_client_message() -> str:
    from sbyt.metering.services import unknown_client_result

    return unknown_client_result().message


# -- the state machine -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    reply: str
    state: dict | None  # None: nothing to remember
    reason: str = ""  # the readings reason code when a reading was submitted


def _expiry(now: dt.datetime) -> int:
    return int((now + STATE_TTL).timestamp())


def _valid_state(state, now: dt.datetime) -> tuple[dict | None, bool]:
    """(the state if usable, whether a state was there but had expired). Anything malformed is ignored."""
    if not isinstance(state, dict) or state.get("v") != STATE_VERSION:
        return None, False
    try:
        step = state["step"]
        contract = state["contract"]
        values = state["values"]
        expires = state["expires"]
        if not isinstance(contract, str) or not contract.isdigit() or not isinstance(expires, int):
            return None, False
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values) or len(values) > MAX_VALUES:
            return None, False
        if step == "meter":
            meters = state["meters"]
            if not isinstance(meters, list) or not meters or not all(type(m) is int for m in meters):
                return None, False
        elif step == "zones":
            if type(state["meter"]) is not int:
                return None, False
        else:
            return None, False
    except (KeyError, TypeError):
        return None, False
    if expires <= now.timestamp():
        return None, True
    return state, False


class Engine:
    def __init__(self, *, directory: Directory, channel: str, sender: str, now: dt.datetime):
        self.directory, self.channel, self.sender, self.now = directory, channel, str(sender)[:120], now

    def run(self, state, text) -> Outcome:
        command = parse_message(text)
        state, expired = _valid_state(state, self.now)
        if command.kind == Kind.CANCEL:
            return Outcome(cancelled_text(), None)
        if command.kind == Kind.READINGS:
            return self.start(command.contract, list(command.values))
        if state is None:
            if expired and command.kind == Kind.VALUES:
                return Outcome(expired_text(), None)
            return Outcome(help_text(), None)
        if command.kind == Kind.HELP and command.known:
            return Outcome(help_text(), state)
        if command.kind == Kind.HELP:  # something else while a value is awaited: ask again
            return self.reprompt(state)
        if state["step"] == "meter":
            return self.choose_meter(state, list(command.values))
        return self.add_values(state, list(command.values))

    def start(self, contract: str, values: list[str]) -> Outcome:
        meters = self.directory.meters(contract)
        if meters is None:
            return Outcome(_unknown_client_message(), None, Reason.UNKNOWN_CLIENT.value)
        if not meters:
            return Outcome(no_meter_text(), None)
        if len(meters) == 1:
            return self.collect(contract, meters[0], [], values)
        state = {
            "v": STATE_VERSION,
            "step": "meter",
            "contract": contract,
            "meters": [m.id for m in meters],
            "values": values,
            "expires": _expiry(self.now),
        }
        return Outcome(choose_meter_text(), state)

    def choose_meter(self, state: dict, tokens: list[str]) -> Outcome:
        suffix = tokens[0] if tokens else ""
        rest = tokens[1:] or state["values"]
        chosen = []
        if suffix.isdigit() and len(suffix) >= MIN_SERIAL_SUFFIX:
            for meter_id in state["meters"]:
                meter = self.directory.meter(state["contract"], meter_id)
                if meter is not None and re.sub(r"\W", "", meter.serial).endswith(suffix):
                    chosen.append(meter)
        if len(chosen) != 1:
            return Outcome(meter_not_found_text(), {**state, "expires": _expiry(self.now)})
        return self.collect(state["contract"], chosen[0], [], rest)

    def add_values(self, state: dict, tokens: list[str]) -> Outcome:
        meter = self.directory.meter(state["contract"], state["meter"])
        if meter is None:
            return Outcome(help_text(), None)
        return self.collect(state["contract"], meter, state["values"], tokens)

    def collect(self, contract: str, meter: MeterInfo, have: list[str], tokens: list[str]) -> Outcome:
        values = have + resolve_values(tokens, meter.zones - len(have))
        if len(values) >= meter.zones or not meter.in_service:
            return self.submit(meter, values)
        state = {
            "v": STATE_VERSION,
            "step": "zones",
            "contract": contract,
            "meter": meter.id,
            "values": values,
            "expires": _expiry(self.now),
        }
        return Outcome(zone_prompt(meter.zones, len(values)), state)

    def reprompt(self, state: dict) -> Outcome:
        state = {**state, "expires": _expiry(self.now)}
        if state["step"] == "meter":
            return Outcome(choose_meter_text(), state)
        meter = self.directory.meter(state["contract"], state["meter"])
        if meter is None:
            return Outcome(help_text(), None)
        return Outcome(zone_prompt(meter.zones, min(len(state["values"]), meter.zones - 1)), state)

    def submit(self, meter: MeterInfo, values: list[str]) -> Outcome:
        result = self.directory.submit(meter, values, channel=self.channel, sender=self.sender, at=self.now)
        ctx = ReplyContext(meter.in_service, lambda: self.directory.window(meter, self.channel, self.now))
        return Outcome(sms_reply(result, ctx), None, result.reason.value)


def handle(
    *,
    state: dict | None,
    text: str,
    channel: str,
    sender: str,
    now: dt.datetime | None = None,
    directory: Directory | None = None,
) -> Outcome:
    """One inbound text → the reply (one SMS) and the state to keep for this channel and sender.

    ``state``: what the previous call returned (or None, or anything: a malformed or expired state starts over).
    ``directory``: where contracts live and readings go — the database and the readings service by default."""
    now = now or timezone.now()
    engine = Engine(directory=directory or DatabaseDirectory(), channel=channel, sender=sender, now=now)
    outcome = engine.run(state, text)
    if not fits_one_sms(outcome.reply):
        outcome = Outcome(shorten_for_sms(outcome.reply), outcome.state, outcome.reason)
    return outcome
