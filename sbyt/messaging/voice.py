"""The readings answering machine (issue 3 item 5, RD-1): messages recorded by the IVR on the voice days and the
back-office queue where an operator turns them into readings through the one readings service.

Life of a message::

    new ──take──▶ in_work (operator, taken_at) ──readings entered (channel «voice»)──▶ … ──finish──▶ done
     ▲                │                                                                 └──reject──▶ rejected
     └────release─────┘

Only the operator who took a message may enter readings, release, finish or reject it; done and rejected
messages never change again. Every change is audited.

The days: the branch's own ReadingWindow for channel «voice» (seeded 18–20), else
``settings.SBYT_VOICE_WINDOW_DAYS``. The general window (18–25) does *not* open the answering machine.
The branch of a call: the caller's account when a known client number was typed, else the branch named in the
AGI request (``agi://host/readings?branch=11``), else ``settings.SBYT_VOICE_DEFAULT_BRANCH``, else the first
branch. Readings entered later by the operator are dated with the call's time, so a message left on the 20th
and processed on the 22nd is judged as received on the 20th.
"""

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.timezones import local_now

from .models import VoiceMessage

PERMISSION = "messaging.process_voice"
OPEN = (VoiceMessage.Status.NEW, VoiceMessage.Status.IN_WORK)
CLOSED = (VoiceMessage.Status.DONE, VoiceMessage.Status.REJECTED)
_SAFE = re.compile(r"[^0-9A-Za-z_-]")


# --- the days ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceDays:
    first_day: int
    last_day: int
    today: dt.date

    @property
    def is_open(self) -> bool:
        return self.first_day <= self.today.day <= self.last_day


def call_branch(*, account_number: str = "", branch_code: str = ""):
    """The branch whose answering-machine days apply to a call (see the module docstring); None if none exists."""
    from sbyt.customers.models import Branch
    from sbyt.customers.queries import find_account

    account = find_account(account_number) if account_number else None
    if account is not None:
        return account.branch
    for code in (branch_code, settings.SBYT_VOICE_DEFAULT_BRANCH):
        if code:
            branch = Branch.objects.filter(code=code).first()
            if branch is not None:
                return branch
    return Branch.objects.order_by("pk").first()


def voice_days(branch, now: dt.datetime | None = None) -> VoiceDays:
    from sbyt.metering.models import Channel, ReadingWindow

    tz = branch.time_zone if branch is not None else settings.TIME_ZONE
    today = local_now(tz, now).date()
    window = None
    if branch is not None:
        window = (
            ReadingWindow.objects.filter(branch_id=branch.pk, channel=Channel.VOICE, valid_from__lte=today)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
            .order_by("-valid_from")
            .first()
        )
    first, last = (window.first_day, window.last_day) if window else settings.SBYT_VOICE_WINDOW_DAYS
    return VoiceDays(first, last, today)


# --- recordings on disk -----------------------------------------------------------------------------------------


def recordings_root() -> Path:
    return Path(settings.SBYT_VOICE_RECORDINGS_DIR).resolve()


def recording_name(call_id: str, when: dt.datetime) -> str:
    """The recording's path relative to the recordings directory, without the extension: 2026/11/1763456789_12."""
    stem = _SAFE.sub("_", call_id)[:64] or "call"
    return f"{when:%Y}/{when:%m}/{stem}"


def recording_path(message: VoiceMessage) -> Path | None:
    """The recording of a message on this host, or None when it is missing or points outside the directory."""
    root = recordings_root()
    if not message.recording:
        return None
    try:
        path = (root / message.recording).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


# --- services ---------------------------------------------------------------------------------------------------


def record_voice_message(
    *,
    call_id: str,
    caller: str,
    recording: str,
    duration: int,
    account_number: str = "",
    received_at: dt.datetime | None = None,
) -> tuple[VoiceMessage, bool]:
    """Store the message of one call (the IVR's only write): (message, created). The same call id again returns
    the stored message unchanged."""
    call_id = call_id.strip()[:64]
    if not call_id:
        raise DomainError("A voice message needs the call id.")
    existing = VoiceMessage.objects.filter(call_id=call_id).first()
    if existing is not None:
        return existing, False
    account_number = account_number if account_number.isdigit() else ""
    try:
        with transaction.atomic():
            message = VoiceMessage.objects.create(
                call_id=call_id,
                caller=caller[:40],
                account_number=account_number[:20],
                recording=recording[:255],
                duration=max(0, int(duration)),
                received_at=received_at or timezone.now(),
            )
            audit(
                f"ivr:{caller}"[:120],
                "voice.record",
                message,
                account_number=message.account_number,
                duration=message.duration,
            )
    except IntegrityError:  # the same call stored by a concurrent attempt
        return VoiceMessage.objects.get(call_id=call_id), False
    return message, True


def _guard_processor(actor) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_staff or not actor.has_perm(PERMISSION):
        raise PermissionDenied(_("You are not allowed to process answering-machine messages."))


def _locked(message: VoiceMessage) -> VoiceMessage:
    return VoiceMessage.objects.select_for_update().get(pk=message.pk)


def _guard_taker(actor, message: VoiceMessage) -> None:
    if message.status in CLOSED:
        raise DomainError(_("This message has already been processed."))
    if message.status != VoiceMessage.Status.IN_WORK:
        raise DomainError(_("Take the message first."))
    if message.operator_id != actor.pk:
        raise DomainError(_("Another operator is working on this message."))


def take_voice_message(*, message: VoiceMessage, actor) -> VoiceMessage:
    """The message is the actor's now (in work); taking one's own message again changes nothing."""
    _guard_processor(actor)
    with transaction.atomic():
        message = _locked(message)
        if message.status == VoiceMessage.Status.IN_WORK and message.operator_id == actor.pk:
            return message
        if message.status in CLOSED:
            raise DomainError(_("This message has already been processed."))
        if message.status == VoiceMessage.Status.IN_WORK:
            raise DomainError(_("Another operator is working on this message."))
        message.status = VoiceMessage.Status.IN_WORK
        message.operator, message.taken_at = actor, timezone.now()
        message.save(update_fields=["status", "operator", "taken_at"])
        audit(actor, "voice.take", message, account_number=message.account_number)
    return message


def release_voice_message(*, message: VoiceMessage, actor) -> VoiceMessage:
    """Back to the queue for another operator (the readings already entered stay)."""
    _guard_processor(actor)
    with transaction.atomic():
        message = _locked(message)
        _guard_taker(actor, message)
        message.status = VoiceMessage.Status.NEW
        message.operator, message.taken_at = None, None
        message.save(update_fields=["status", "operator", "taken_at"])
        audit(actor, "voice.release", message, account_number=message.account_number)
    return message


def enter_voice_readings(*, message: VoiceMessage, account, values: Mapping[int, Sequence], actor) -> list:
    """The readings heard in a message, per meter of ``account`` (``{meter_id: [zone values]}``), through the
    readings service with channel «voice», dated with the call's time. Returns the ReadingResult of each meter."""
    from sbyt.metering.models import Meter
    from sbyt.metering.services import submit_reading

    _guard_processor(actor)
    if not values:
        raise DomainError(_("Enter the readings of at least one meter."))
    with transaction.atomic():
        message = _locked(message)
        _guard_taker(actor, message)
        meters = {m.pk: m for m in Meter.objects.filter(contract__account=account, pk__in=list(values))}
        if set(meters) != {int(pk) for pk in values}:
            raise DomainError(_("This meter does not belong to the client."))
        results = []
        for meter_id, zone_values in values.items():
            result = submit_reading(
                meter=meters[int(meter_id)],
                values=list(zone_values),
                channel="voice",
                actor=actor,
                source=f"voice:{message.pk}",
                received_at=message.received_at,
            )
            if result.reading is not None:
                message.readings.add(result.reading)
            results.append(result)
        if message.account_number != account.number:
            message.account_number = account.number
            message.save(update_fields=["account_number"])
        audit(
            actor,
            "voice.readings",
            message,
            account_number=account.number,
            meters=[r.meter_id for r in results],
            reasons=[r.reason.value for r in results],
        )
    return results


def finish_voice_message(*, message: VoiceMessage, actor, note: str = "") -> VoiceMessage:
    return _close(message, actor, VoiceMessage.Status.DONE, note, "voice.done")


def reject_voice_message(*, message: VoiceMessage, actor, note: str) -> VoiceMessage:
    """Closed without readings (unintelligible, no client number, not about readings…): the reason is required."""
    if not note.strip():
        raise DomainError(_("Give the reason for rejecting the message."))
    return _close(message, actor, VoiceMessage.Status.REJECTED, note, "voice.reject")


def _close(message, actor, status, note, action) -> VoiceMessage:
    _guard_processor(actor)
    with transaction.atomic():
        message = _locked(message)
        _guard_taker(actor, message)
        message.status, message.finished_at, message.result_note = status, timezone.now(), note.strip()[:300]
        message.save(update_fields=["status", "finished_at", "result_note"])
        audit(actor, action, message, account_number=message.account_number, note=message.result_note)
    return message
