"""Appointments (OFF-5, CAB-12): booking a visit to an office or a video consultation, cancelling, moving,
checking in at the kiosk, reminders the day before.

The database decides who gets a slot: the partial unique constraints on (window, starts_at) and (specialist,
starts_at) of live bookings. A booking tries the slot's free windows (specialists) one by one, each insert in
its own savepoint; a unique violation means someone else was faster, so the next one is tried, and when none
is left the client is told to choose another time. Two requests never both get one slot, whatever the timing.
"""

import datetime as dt
import secrets
import string
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit, audit_many
from sbyt.core.errors import DomainError
from sbyt.core.phones import normalize_phone
from sbyt.customers.queries import accounts_for, has_access
from sbyt.messaging.services import send_email, send_sms

from . import slots as slot_reads
from .models import Appointment, Office, Service, Ticket
from .queue import issue_ticket

CODE_DIGITS = 6
CODE_ATTEMPTS = 30
MAX_LIVE_PER_PHONE = 3  # future bookings one phone number may hold at a time
CHECK_IN_EARLY = dt.timedelta(minutes=30)  # the kiosk accepts the code from 30 min before the start…
CHECK_IN_LATE = dt.timedelta(minutes=15)  # …to 15 min after it; later, the visitor takes an ordinary ticket
REMINDER_HOURS = (dt.time(10), dt.time(21))  # the send window of messages to clients, local time
MAX_NAME = 200
MAX_TOPIC = 500

CHANNEL_SITE = "site"
CHANNEL_CABINET = "cabinet"
CHANNEL_OPERATOR = "operator"
CHANNEL_KIOSK = "kiosk"


# --- reads -------------------------------------------------------------------------------------------------


def local_start(appointment: Appointment) -> dt.datetime:
    return appointment.starts_at.astimezone(ZoneInfo(appointment.office.time_zone))


def video_link(appointment: Appointment) -> str:
    """The room on the self-hosted Jitsi Meet server (``SBYT_JITSI_URL``); empty for a visit."""
    if not appointment.video_room:
        return ""
    return f"{settings.SBYT_JITSI_URL.rstrip('/')}/{appointment.video_room}"


def zone_label(moment: dt.datetime) -> str:
    """The zone of a local time as Russians write it: «МСК», «МСК+2», «МСК−1»."""
    moscow = moment.astimezone(ZoneInfo("Europe/Moscow")).utcoffset()
    hours = int((moment.utcoffset() - moscow).total_seconds() // 3600)
    label = _("MSK")
    if hours > 0:
        return f"{label}+{hours}"
    if hours < 0:
        return f"{label}−{-hours}"
    return label


def appointments_of(user):
    """A client's bookings: made from their login or for an account they have access to; newest first."""
    return (
        Appointment.objects.filter(Q(user=user) | Q(account__in=accounts_for(user)))
        .select_related("office__branch", "service", "window", "specialist__video_profile")
        .distinct()
        .order_by("-starts_at")
    )


def find_by_code_and_phone(code: str, phone: str) -> Appointment | None:
    """The booking with this code made for this phone number (both are needed to cancel without a login)."""
    code = "".join(ch for ch in code or "" if ch.isdigit())
    phone = normalize_phone(phone or "")
    if not code or not phone:
        return None
    # A code is unique among live bookings and reused later: the newest booking with it is the one meant.
    found = Appointment.objects.select_related("office__branch", "service").filter(code=code, phone=phone)
    return found.order_by("-created_at", "-pk").first()


def office_day(office: Office, day: dt.date):
    """The office's bookings (visits and video) of one local date, by time."""
    zone = ZoneInfo(office.time_zone)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    return (
        Appointment.objects.filter(office=office, starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1))
        .select_related("service", "window", "specialist__video_profile", "account", "office__branch")
        .order_by("starts_at", "window__number", "pk")
    )


def specialist_day(user, day: dt.date, time_zone: str):
    """A video specialist's consultations of one local date, by time."""
    zone = ZoneInfo(time_zone)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    return (
        Appointment.objects.filter(
            specialist=user,
            kind=Appointment.Kind.VIDEO,
            starts_at__gte=start,
            starts_at__lt=start + dt.timedelta(days=1),
        )
        .select_related("service", "office__branch", "account")
        .order_by("starts_at", "pk")
    )


# --- messages ----------------------------------------------------------------------------------------------


def _when(appointment: Appointment) -> dict:
    local = local_start(appointment)
    return {
        "date": local.strftime("%d.%m.%Y"),
        "time": local.strftime("%H:%M"),
        "zone": zone_label(local),
        "office": appointment.office.name,
        "address": appointment.office.address,
        "code": appointment.code,
        "link": video_link(appointment),
        "service": appointment.service.name,
        "site": settings.SBYT_SITE_NAME,
    }


def _sms_text(appointment: Appointment, event: str) -> str:
    values = _when(appointment)
    video = appointment.kind == Appointment.Kind.VIDEO
    if event == "cancel":
        if video:
            return _("The video consultation on %(date)s at %(time)s (%(zone)s) is cancelled.") % values
        return _("Your booking for %(date)s at %(time)s (%(office)s) is cancelled.") % values
    if event == "reminder":
        if video:
            return _("Reminder: video consultation tomorrow, %(date)s at %(time)s (%(zone)s). Link: %(link)s") % values
        return (
            _("Reminder: you are booked for tomorrow, %(date)s at %(time)s: %(office)s, %(address)s. Code %(code)s.")
            % values
        )
    prefix = _("The booking is moved.") + " " if event == "reschedule" else ""
    if video:
        return prefix + (
            _("Video consultation %(date)s at %(time)s (%(zone)s). Link: %(link)s Booking code %(code)s.") % values
        )
    return prefix + (
        _("Booking: %(date)s at %(time)s, %(office)s, %(address)s. Code for the kiosk: %(code)s.") % values
    )


def _email(appointment: Appointment, event: str) -> tuple[str, str]:
    values = _when(appointment)
    video = appointment.kind == Appointment.Kind.VIDEO
    if event == "cancel":
        subject = _("%(site)s: booking for %(date)s at %(time)s is cancelled") % values
        body = _("Your booking for %(date)s at %(time)s is cancelled.") % values
        return subject, body
    if event == "reminder":
        subject = _("%(site)s: reminder of your booking tomorrow at %(time)s") % values
    else:
        subject = _("%(site)s: booking for %(date)s at %(time)s") % values
    lines = []
    if event == "reschedule":
        lines.append(_("The booking is moved to a new time."))
    if video:
        lines += [
            _("Video consultation: %(date)s at %(time)s (%(zone)s).") % values,
            _("Topic: %(service)s.") % values,
            _("Join at the appointed time by this link (in a browser, nothing to install): %(link)s") % values,
        ]
    else:
        lines += [
            _("Visit to the office: %(date)s at %(time)s (local time).") % values,
            _("Office: %(office)s, %(address)s.") % values,
            _("Service: %(service)s.") % values,
            _(
                "On arrival enter the booking code %(code)s at the kiosk in the hall (from 30 minutes before the "
                "time to 15 minutes after it) and wait for your ticket to be called."
            )
            % values,
        ]
    lines += [
        "",
        _("Booking code: %(code)s.") % values,
        _(
            "To cancel or move the booking, use the personal cabinet or the «Cancel a booking» page of the site "
            "(the code and this phone number), or call the contact centre."
        ),
    ]
    return subject, "\n".join(lines)


def _notify(appointment: Appointment, event: str, actor) -> None:
    """SMS to the phone and e-mail to the address given; both are stored now and sent once this commits."""
    purpose = f"appointment.{event}"
    if appointment.phone:
        send_sms(to=appointment.phone, text=_sms_text(appointment, event), purpose=purpose, actor=actor)
    if appointment.email:
        subject, body = _email(appointment, event)
        send_email(to=appointment.email, subject=subject, text=body, purpose=purpose, actor=actor)


# --- booking -------------------------------------------------------------------------------------------------


def _new_code() -> str:
    for _attempt in range(CODE_ATTEMPTS):
        code = "".join(secrets.choice(string.digits) for _ in range(CODE_DIGITS))
        if not Appointment.objects.filter(code=code, status__in=Appointment.ACTIVE).exists():
            return code
    raise DomainError(_("Could not book right now. Please try again."))


def _taken_message() -> str:
    return _("This time has already been taken, choose another one.")


def _contact(*, name: str, phone: str, email: str, topic: str) -> dict:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_("Enter your name."))
    if len(name) > MAX_NAME:
        raise DomainError(_("The name is too long."))
    normalized = normalize_phone(phone or "")
    if not normalized:
        raise DomainError(_("Enter a mobile phone number, e.g. +7 912 345-67-89."))
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise DomainError(_("Enter a valid e-mail address, e.g. name@example.ru.")) from exc
    topic = (topic or "").strip()
    if len(topic) > MAX_TOPIC:
        raise DomainError(_("The question is too long: at most %(count)s characters.") % {"count": MAX_TOPIC})
    return {"name": name, "phone": normalized, "email": email, "topic": topic}


def _check_phone_limits(phone: str, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> None:
    live = Appointment.objects.filter(phone=phone, status=Appointment.Status.BOOKED, starts_at__gte=now)
    if live.filter(starts_at__lt=ends_at, ends_at__gt=starts_at).exists():
        raise DomainError(_("There is already a booking for this phone number at this time."))
    if live.count() >= MAX_LIVE_PER_PHONE:
        raise DomainError(
            _("This phone number already has %(count)s bookings. Cancel one of them or call the contact centre.")
            % {"count": MAX_LIVE_PER_PHONE}
        )


def _check_office(office: Office, service: Service) -> None:
    if not office.is_active or not office.accepts_appointments:
        raise DomainError(_("This office does not take bookings. Choose another office."))
    if not service.is_active:
        raise DomainError(_("This service is not available for booking."))


def _check_client(account, user) -> None:
    if account is not None and user is not None and not user.is_staff and not has_access(user, account):
        raise DomainError(_("This client number is not linked to your login."))


def _insert(fields: dict, *, holder: str, candidates) -> Appointment | None:
    """Insert the booking on the first candidate (window or specialist id) the database lets us have; a new
    code when only the code collided. None when every candidate was taken meanwhile."""
    for candidate in candidates:
        while True:
            code = _new_code()
            try:
                with transaction.atomic():  # a savepoint: a unique violation rolls back only this attempt
                    return Appointment.objects.create(**fields, **{f"{holder}_id": candidate}, code=code)
            except IntegrityError:
                if Appointment.objects.filter(code=code, status__in=Appointment.ACTIVE).exists():
                    continue  # another booking took the same code at the same moment: draw again
                break  # the slot of this window (specialist) is taken: the next one
    return None


def _book(
    office: Office,
    *,
    kind: str,
    service: Service,
    starts_at: dt.datetime,
    name: str,
    phone: str,
    email: str,
    account,
    user,
    topic: str,
    channel: str,
    actor,
    now: dt.datetime | None,
) -> Appointment:
    video = kind == Appointment.Kind.VIDEO
    now = now or timezone.now()
    _check_office(office, service)
    contact = _contact(name=name, phone=phone, email=email, topic=topic)
    _check_client(account, user)
    slot = slot_reads.slot_at(office, service, starts_at, video=video, now=now)
    if slot is None:
        raise DomainError(_("This time cannot be booked. Choose a time from the list."))
    if not slot.free:
        raise DomainError(_taken_message())
    with transaction.atomic():
        _check_phone_limits(contact["phone"], slot.starts_at, slot.ends_at, now)
        fields = {
            "kind": kind,
            "office": office,
            "service": service,
            "starts_at": slot.starts_at,
            "ends_at": slot.ends_at,
            "account": account,
            "user": user if user is not None and user.is_authenticated and not user.is_staff else None,
            "channel": (channel or CHANNEL_SITE)[:16],
            "video_room": f"sbyt{secrets.token_hex(16)}" if video else "",
            **contact,
        }
        appointment = _insert(fields, holder="specialist" if video else "window", candidates=slot.free)
        if appointment is None:
            raise DomainError(_taken_message())
        audit(
            actor,
            "appointment.book",
            appointment,
            account_number=account.number if account is not None else "",
            office=office.code,
            kind=kind,
            service=service.code,
            starts_at=appointment.starts_at.isoformat(),
            channel=appointment.channel,
        )
        _notify(appointment, "confirm", actor)
    return appointment


def book_visit(
    office: Office,
    *,
    service: Service,
    starts_at: dt.datetime,
    name: str,
    phone: str,
    email: str = "",
    account=None,
    user=None,
    topic: str = "",
    channel: str,
    actor,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book a visit to the office at a free slot; the first free window serving the service gets it."""
    return _book(
        office,
        kind=Appointment.Kind.VISIT,
        service=service,
        starts_at=starts_at,
        name=name,
        phone=phone,
        email=email,
        account=account,
        user=user,
        topic=topic,
        channel=channel,
        actor=actor,
        now=now,
    )


def book_video(
    office: Office,
    *,
    service: Service,
    starts_at: dt.datetime,
    name: str,
    phone: str,
    email: str = "",
    account=None,
    user=None,
    topic: str = "",
    channel: str,
    actor,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book a video consultation with a free specialist of the office; the room link goes with the confirmation."""
    return _book(
        office,
        kind=Appointment.Kind.VIDEO,
        service=service,
        starts_at=starts_at,
        name=name,
        phone=phone,
        email=email,
        account=account,
        user=user,
        topic=topic,
        channel=channel,
        actor=actor,
        now=now,
    )


# --- changes -------------------------------------------------------------------------------------------------


def _locked(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("office__branch", "service")
        .get(pk=appointment.pk)
    )


def _check_changeable(appointment: Appointment, now: dt.datetime) -> None:
    if appointment.status == Appointment.Status.CANCELLED:
        raise DomainError(_("This booking is already cancelled."))
    if appointment.status != Appointment.Status.BOOKED:
        raise DomainError(_("This booking can no longer be changed: the visit has taken place or been missed."))
    if appointment.starts_at <= now:
        raise DomainError(_("The time of this booking has already come, it can no longer be changed."))


def cancel_appointment(
    appointment: Appointment, *, actor, reason: str = "", now: dt.datetime | None = None
) -> Appointment:
    """Cancel a booking before its time; the slot becomes free at once."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = _locked(appointment)
        _check_changeable(appointment, now)
        appointment.status = Appointment.Status.CANCELLED
        appointment.cancelled_at = now
        appointment.save(update_fields=["status", "cancelled_at"])
        audit(
            actor,
            "appointment.cancel",
            appointment,
            account_number=appointment.account.number if appointment.account_id else "",
            reason=reason[:200],
        )
        _notify(appointment, "cancel", actor)
    return appointment


def reschedule_appointment(
    appointment: Appointment, *, starts_at: dt.datetime, actor, now: dt.datetime | None = None
) -> Appointment:
    """Move a booking to another free slot of the same office, service and kind. One UPDATE takes the new slot
    and gives up the old one together: when the new slot is taken meanwhile, the client keeps the old one."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = _locked(appointment)
        _check_changeable(appointment, now)
        video = appointment.kind == Appointment.Kind.VIDEO
        if starts_at == appointment.starts_at:
            raise DomainError(_("The booking is already at this time."))
        slot = slot_reads.slot_at(appointment.office, appointment.service, starts_at, video=video, now=now)
        if slot is None:
            raise DomainError(_("This time cannot be booked. Choose a time from the list."))
        holder = "specialist_id" if video else "window_id"
        current = getattr(appointment, holder)
        # The booking's own holder is busy only because of this booking when the periods overlap: let it stay.
        overlaps_self = appointment.starts_at < slot.ends_at and appointment.ends_at > slot.starts_at
        candidates = list(slot.free)
        if overlaps_self and current not in candidates:
            candidates.append(current)
        candidates.sort(key=lambda c: c != current)  # the same window (specialist) first
        old = appointment.starts_at
        moved = False
        for candidate in candidates:
            try:
                with transaction.atomic():
                    Appointment.objects.filter(pk=appointment.pk).update(
                        starts_at=slot.starts_at, ends_at=slot.ends_at, reminder_sent_at=None, **{holder: candidate}
                    )
            except IntegrityError:
                continue
            moved = True
            break
        if not moved:
            raise DomainError(_taken_message())
        appointment.refresh_from_db()
        audit(
            actor,
            "appointment.reschedule",
            appointment,
            account_number=appointment.account.number if appointment.account_id else "",
            old=old.isoformat(),
            new=appointment.starts_at.isoformat(),
        )
        _notify(appointment, "reschedule", actor)
    return appointment


def record_outcome(appointment: Appointment, *, status: str, actor, now: dt.datetime | None = None) -> Appointment:
    """The specialist's mark after the time: the consultation took place, or the client did not come."""
    now = now or timezone.now()
    if status not in (Appointment.Status.DONE, Appointment.Status.NO_SHOW):
        raise DomainError(_("Unknown outcome."))
    with transaction.atomic():
        appointment = _locked(appointment)
        if appointment.status not in Appointment.ACTIVE:
            raise DomainError(_("The outcome of this booking is already recorded."))
        if appointment.starts_at > now:
            raise DomainError(_("The consultation has not started yet."))
        appointment.status = status
        appointment.save(update_fields=["status"])
        audit(actor, "appointment.outcome", appointment, status=status)
    return appointment


# --- the kiosk -----------------------------------------------------------------------------------------------


def check_in(office: Office, *, code: str, now: dt.datetime | None = None) -> Ticket:
    """A booked visitor types the code at the office's kiosk: from 30 min before the time to 15 min after it the
    booking is marked as arrived and the visitor gets a queue ticket for the booked service."""
    now = now or timezone.now()
    code = "".join(ch for ch in code or "" if ch.isdigit())
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update(of=("self",))
            .select_related("office__branch", "service", "account")
            .filter(code=code, office=office, kind=Appointment.Kind.VISIT)
            .order_by("-created_at", "-pk")
            .first()
            if code
            else None
        )
        if appointment is None:
            raise DomainError(_("No booking with this code at this office. Check the code or take a ticket."))
        if appointment.status == Appointment.Status.CHECKED_IN:
            ticket = Ticket.objects.filter(appointment=appointment).first()
            if ticket is not None:
                raise DomainError(
                    _("You have already checked in: your ticket is %(number)s.") % {"number": ticket.number}
                )
            raise DomainError(_("You have already checked in."))
        if appointment.status != Appointment.Status.BOOKED:
            raise DomainError(_("This booking is cancelled or has passed. Please take a ticket."))
        local = local_start(appointment)
        if local.date() != local_now_date(office, now):
            raise DomainError(
                _("This booking is for %(date)s at %(time)s, not for today.")
                % {"date": local.strftime("%d.%m.%Y"), "time": local.strftime("%H:%M")}
            )
        if now < appointment.starts_at - CHECK_IN_EARLY:
            opens = (appointment.starts_at - CHECK_IN_EARLY).astimezone(local.tzinfo)
            raise DomainError(
                _("It is too early: the booking is at %(time)s, check in from %(from)s.")
                % {"time": local.strftime("%H:%M"), "from": opens.strftime("%H:%M")}
            )
        if now > appointment.starts_at + CHECK_IN_LATE:
            raise DomainError(
                _("The booking was at %(time)s and has expired. Please take a ticket for the general queue.")
                % {"time": local.strftime("%H:%M")}
            )
        ticket = issue_ticket(
            office, service=appointment.service, actor=CHANNEL_KIOSK, appointment=appointment, now=now
        )
        appointment.status = Appointment.Status.CHECKED_IN
        appointment.save(update_fields=["status"])
        audit(
            CHANNEL_KIOSK,
            "appointment.check_in",
            appointment,
            account_number=appointment.account.number if appointment.account_id else "",
            ticket=ticket.number,
        )
    return ticket


def local_now_date(office: Office, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(office.time_zone)).date()


# --- scheduled -----------------------------------------------------------------------------------------------


def _reminder_due(appointment: Appointment, now: dt.datetime) -> bool:
    """The day before, within the send window, and only for bookings made before that day (a booking made the
    day before has just had its confirmation)."""
    zone = ZoneInfo(appointment.office.time_zone)
    local_now = now.astimezone(zone)
    if not REMINDER_HOURS[0] <= local_now.time() < REMINDER_HOURS[1]:
        return False
    if appointment.starts_at.astimezone(zone).date() != local_now.date() + dt.timedelta(days=1):
        return False
    return appointment.created_at.astimezone(zone).date() < local_now.date()


def send_reminders(now: dt.datetime | None = None) -> int:
    """Remind of tomorrow's bookings, once each (``reminder_sent_at`` is claimed before the message is queued,
    so two runs at once cannot both send). Returns how many were sent."""
    now = now or timezone.now()
    candidates = Appointment.objects.filter(
        status=Appointment.Status.BOOKED,
        reminder_sent_at__isnull=True,
        starts_at__gt=now,
        starts_at__lt=now + dt.timedelta(hours=48),
    ).select_related("office__branch", "service")
    sent = 0
    for appointment in candidates:
        if not _reminder_due(appointment, now):
            continue
        with transaction.atomic():
            claimed = Appointment.objects.filter(
                pk=appointment.pk, reminder_sent_at__isnull=True, status=Appointment.Status.BOOKED
            ).update(reminder_sent_at=now)
            if not claimed:
                continue
            _notify(appointment, "reminder", None)
            audit(None, "appointment.remind", appointment)
        sent += 1
    return sent


def mark_no_shows(now: dt.datetime | None = None) -> int:
    """Visits nobody checked in for by 15 min after their time become «не пришёл»."""
    now = now or timezone.now()
    with transaction.atomic():
        missed = list(
            Appointment.objects.select_for_update()
            .filter(kind=Appointment.Kind.VISIT, status=Appointment.Status.BOOKED, starts_at__lt=now - CHECK_IN_LATE)
            .values_list("pk", flat=True)
        )
        if not missed:
            return 0
        Appointment.objects.filter(pk__in=missed, status=Appointment.Status.BOOKED).update(
            status=Appointment.Status.NO_SHOW
        )
        audit_many(None, "appointment.no_show", [(("offices.appointment", pk), "", {}) for pk in missed])
    return len(missed)
