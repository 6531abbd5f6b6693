"""The complaints and suggestions book of an office (OFF-7): entries, the daily review, the copy to the head office.

An operator or specialist of the office records each entry (copied from the paper book, or taken at the office
electronically); entries are numbered per office without gaps or duplicates (under a lock of the office's row);
every entry is e-mailed to the head office (``SBYT_HEAD_OFFICE_EMAIL``) when recorded; the office head reviews
the entries daily with a note. When the case engine (issue 6) exists each entry also becomes a case.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.customers.queries import find_account
from sbyt.messaging.services import send_email

from .models import ComplaintBookEntry, Office
from .stats import works_at

RECORD_PERMISSION = "offices.add_complaintbookentry"
REVIEW_PERMISSION = "offices.review_complaints"
PAPER = "paper"
ELECTRONIC = "electronic"
SOURCES = (PAPER, ELECTRONIC)
MAX_NAME = 200
MAX_TEXT = 10_000
CLOCK_SKEW = dt.timedelta(minutes=5)  # an entry dated a little ahead of the server's clock is still accepted


def _may(actor, permission: str, office: Office) -> bool:
    return (
        getattr(actor, "is_authenticated", False)
        and actor.is_active
        and actor.is_staff
        and actor.has_perm(permission)
        and works_at(actor, office)
    )


def head_office_email() -> str:
    return (getattr(settings, "SBYT_HEAD_OFFICE_EMAIL", "") or "").strip()


def _local(moment: dt.datetime, office: Office) -> str:
    return f"{moment.astimezone(ZoneInfo(office.branch.time_zone)):%d.%m.%Y %H:%M}"


def _source_label(source: str) -> str:
    return _("paper book") if source == PAPER else _("electronic entry at the office")


def _head_office_message(entry: ComplaintBookEntry, *, source: str | None) -> tuple[str, str]:
    office = entry.office
    subject = _("Complaints book of %(office)s: entry No. %(number)s") % {"office": office.name, "number": entry.number}
    lines = [
        _("Office: %(office)s, %(address)s") % {"office": office.name, "address": office.address},
        _("Entry No. %(number)s of %(date)s") % {"number": entry.number, "date": _local(entry.written_at, office)},
    ]
    if source:
        lines.append(_("Source: %(source)s") % {"source": _source_label(source)})
    lines.append(_("Author: %(name)s") % {"name": entry.author_name})
    if entry.contact:
        lines.append(_("Contact for the answer: %(contact)s") % {"contact": entry.contact})
    if entry.account_id:
        lines.append(_("Client number: %(number)s") % {"number": entry.account.number})
    if entry.recorded_by_id:
        recorder = entry.recorded_by
        lines.append(_("Recorded by: %(name)s") % {"name": recorder.get_full_name() or recorder.get_username()})
    lines += ["", entry.text]
    return subject, "\n".join(lines)


def _send_to_head_office(entry: ComplaintBookEntry, *, source: str | None, actor, now: dt.datetime) -> bool:
    """Queue the e-mail (it goes out after the commit) and mark the entry; False when no address is set."""
    address = head_office_email()
    if not address:
        return False
    subject, text = _head_office_message(entry, source=source)
    send_email(to=address, subject=subject, text=text, purpose="complaint_book", actor=actor)
    entry.sent_to_head_office_at = now
    entry.save(update_fields=["sent_to_head_office_at"])
    return True


def record_complaint_entry(
    *,
    office: Office,
    author_name: str,
    text: str,
    actor,
    written_at: dt.datetime | None = None,
    contact: str = "",
    account_number: str = "",
    source: str = PAPER,
    now: dt.datetime | None = None,
) -> ComplaintBookEntry:
    """Record an entry of the office's book under the next number and send it to the head office."""
    now = now or timezone.now()
    if not _may(actor, RECORD_PERMISSION, office):
        raise PermissionDenied(_("Only the staff of this office may record entries of its complaints book."))
    author_name = " ".join((author_name or "").split())
    text = (text or "").strip()
    contact = " ".join((contact or "").split())
    account_number = "".join((account_number or "").split())
    written_at = written_at or now
    if source not in SOURCES:
        raise DomainError(_("Choose where the entry comes from: the paper book or an electronic entry."))
    if not author_name:
        raise DomainError(_("Give the author's name as written in the entry."))
    if len(author_name) > MAX_NAME or len(contact) > MAX_NAME:
        raise DomainError(_("The name and the contact may be at most 200 characters long."))
    if not text:
        raise DomainError(_("Copy the text of the entry."))
    if len(text) > MAX_TEXT:
        raise DomainError(_("The text of the entry may be at most 10,000 characters long."))
    if timezone.is_naive(written_at):
        written_at = timezone.make_aware(written_at, ZoneInfo(office.branch.time_zone))
    if written_at > now + CLOCK_SKEW:
        raise DomainError(_("The date of the entry cannot be in the future."))
    account = None
    if account_number:
        account = find_account(account_number)
        if account is None:
            raise DomainError(_("No client with this number."))
    with transaction.atomic():
        Office.objects.select_for_update().filter(pk=office.pk).first()  # numbers are taken one at a time
        last = ComplaintBookEntry.objects.filter(office=office).aggregate(last=Max("number"))["last"] or 0
        entry = ComplaintBookEntry.objects.create(
            office=office,
            number=last + 1,
            written_at=written_at,
            author_name=author_name,
            contact=contact,
            account=account,
            text=text,
            recorded_by=actor,
        )
        sent = _send_to_head_office(entry, source=source, actor=actor, now=now)
        from sbyt.cases.services import case_from_complaint_entry  # the entry becomes a case (issue 6)

        case_from_complaint_entry(entry=entry, actor=actor, now=now)
        audit(
            actor,
            "complaint_book.record",
            entry,
            account_number=account.number if account else "",
            office=office.code,
            number=entry.number,
            source=source,
            sent_to_head_office=sent,
        )
    return entry


def review_complaint_entry(
    *, entry: ComplaintBookEntry, note: str, actor, now: dt.datetime | None = None
) -> ComplaintBookEntry:
    """The office head's mark that the entry has been reviewed, with what was decided."""
    now = now or timezone.now()
    if not _may(actor, REVIEW_PERMISSION, entry.office):
        raise PermissionDenied(_("Only the head of this office may review its complaints book."))
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Write what was decided: the review note."))
    if len(note) > MAX_TEXT:
        raise DomainError(_("The review note may be at most 10,000 characters long."))
    with transaction.atomic():
        entry = (
            ComplaintBookEntry.objects.select_for_update(of=("self",))
            .select_related("office", "account")
            .get(pk=entry.pk)
        )
        if entry.reviewed_at is not None:
            raise DomainError(_("This entry has already been reviewed."))
        entry.reviewed_at = now
        entry.reviewed_by = actor
        entry.review_note = note
        entry.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
        audit(
            actor,
            "complaint_book.review",
            entry,
            account_number=entry.account.number if entry.account_id else "",
            office=entry.office.code,
            number=entry.number,
        )
    return entry


def send_complaint_entry(*, entry: ComplaintBookEntry, actor, now: dt.datetime | None = None) -> ComplaintBookEntry:
    """Send an entry recorded while no head-office address was configured (a second send is refused)."""
    now = now or timezone.now()
    if not (_may(actor, RECORD_PERMISSION, entry.office) or _may(actor, REVIEW_PERMISSION, entry.office)):
        raise PermissionDenied(_("Only the staff of this office may send its complaints book entries."))
    if not head_office_email():
        raise DomainError(_("The head office's e-mail address is not configured (SBYT_HEAD_OFFICE_EMAIL)."))
    with transaction.atomic():
        entry = (
            ComplaintBookEntry.objects.select_for_update(of=("self",))
            .select_related("office__branch", "account", "recorded_by")
            .get(pk=entry.pk)
        )
        if entry.sent_to_head_office_at is not None:
            raise DomainError(_("This entry has already been sent to the head office."))
        _send_to_head_office(entry, source=None, actor=actor, now=now)  # the source is not stored on the entry
        audit(
            actor,
            "complaint_book.send",
            entry,
            account_number=entry.account.number if entry.account_id else "",
            office=entry.office.code,
            number=entry.number,
        )
    return entry


# --- Reads ----------------------------------------------------------------------------------------------------


def review_list(office: Office, now: dt.datetime | None = None) -> QuerySet:
    """The office head's daily list: every entry not reviewed yet (oldest first), then today's reviewed ones."""
    now = now or timezone.now()
    zone = ZoneInfo(office.branch.time_zone)
    local = now.astimezone(zone)
    start_of_day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        ComplaintBookEntry.objects.filter(office=office)
        .filter(Q(reviewed_at__isnull=True) | Q(written_at__gte=start_of_day) | Q(reviewed_at__gte=start_of_day))
        .select_related("account", "recorded_by", "reviewed_by")
        .order_by(F("reviewed_at").asc(nulls_first=True), "written_at", "number")
    )
