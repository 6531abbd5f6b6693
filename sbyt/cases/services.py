"""The case engine's services: every change of an appeal or application goes through here.

Entry points by channel: ``submit_web_form`` (public form, PUB-4), ``file_case`` (cabinet and API, CAB-13/14),
``register_case`` (staff: office, phone, post, e-mail, messenger), ``case_from_complaint_entry`` (the office's
complaints book), ``register_call`` (contact centre, with a promised callback). Then: ``register_received`` /
routing (APL-1, APL-8), ``request_information`` and the client's ``reply_as_client`` (the clocks pause and resume),
``answer_question`` per question (APL-2), ``send_interim_answer``, ``send_final_answer``, ``decline_case`` (APL-7),
``close_without_answer``, ``refuse_application``, ``set_stage`` and ``mark_document`` (applications),
``agree_deadline`` (a callback date agreed with the client), ``assign_case``.

Every service takes keyword arguments and an ``actor``, runs in a transaction, checks its guards first (a
``DomainError`` with a message for the user), writes an audit entry, and sends messages on commit (through
``messaging.services``). Clock arithmetic is ``sla``; messages to the client come from ``AnswerTemplate`` rows.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.phones import normalize_phone
from sbyt.customers.models import Account, AccountAccess, Branch, Customer
from sbyt.customers.queries import find_account
from sbyt.messaging.models import InboundMessage
from sbyt.messaging.services import send_email, send_messenger, send_sms

from . import sla, stages
from .attachments import CheckedFile, check_files
from .models import (
    APPEAL_KINDS,
    APPLICATION_KINDS,
    AnswerChannel,
    AnswerTemplate,
    Attachment,
    Call,
    CallerIdentification,
    Case,
    CaseClock,
    CaseCounter,
    CaseEvent,
    CaseMessage,
    Channel,
    ChecklistItem,
    DocumentCheck,
    Kind,
    Messenger,
    Milestone,
    Norm,
    Question,
    Rejection,
    Segment,
    Status,
    Topic,
)
from .templating import render_text

REGISTER = "cases.register_case"
ROUTE = "cases.route_case"
WORK = "cases.work_case"
SUPERVISE = "cases.supervise_cases"
CALLS = "cases.register_call"

MAX_TEXT = 10_000
MAX_NAME = 200
MAX_SUBJECT = 200
MAX_ADDRESS = 400
MAX_QUESTIONS = 10
WEB_FORM_KINDS = APPEAL_KINDS
STAFF_CHANNELS = (
    Channel.OFFICE_ORAL,
    Channel.OFFICE_WRITTEN,
    Channel.PHONE,
    Channel.POST,
    Channel.POST_OFFICE_SCAN,
    Channel.EMAIL,
    Channel.MESSENGER,
)
IDENTIFICATION_MINUTES = 30
ACK_TEMPLATE = "web_form_ack"
MESSENGER_MAX = 1000  # an answer up to this many characters goes to the messenger as is; a longer one: a notice
MESSENGER_PART = 3500  # a long answer to a client with no cabinet goes in parts (every messenger takes ≥ 4096)


# --- small helpers ------------------------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def local_date(branch: Branch, moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo(branch.time_zone)).date()


def _is_staff(actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.is_active and actor.is_staff)


def may(actor, *perms: str) -> bool:
    return _is_staff(actor) and any(actor.has_perm(p) for p in perms)


def _require(actor, *perms: str) -> None:
    if not may(actor, *perms):
        raise PermissionDenied(_("Your role does not allow this action with appeals."))


def _account_number(case: Case) -> str:
    return case.account.number if case.account_id else ""


def _one_line(text: str, limit: int) -> str:
    return " ".join((text or "").split())[:limit]


def _clean_text(text: str, *, what: str) -> str:
    text = (text or "").replace("\x00", "").strip()
    if not text:
        raise DomainError(_("Write the %(what)s.") % {"what": what})
    if len(text) > MAX_TEXT:
        raise DomainError(_("The text may be at most 10,000 characters long."))
    return text


def _clean_email(email: str, *, required: bool = False) -> str:
    email = (email or "").strip().lower()
    if not email:
        if required:
            raise DomainError(_("Enter your e-mail: the confirmation and the answer come there."))
        return ""
    try:
        validate_email(email)
    except Exception:
        raise DomainError(_("Enter a valid e-mail address, e.g. name@example.ru."))
    if len(email) > 254:
        raise DomainError(_("Enter a valid e-mail address, e.g. name@example.ru."))
    return email


def _clean_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if not phone:
        return ""
    normalized = normalize_phone(phone)
    if not normalized:
        raise DomainError(_("Enter a mobile phone number, e.g. +7 912 345-67-89."))
    return normalized


def segment_of(account: Account | None) -> str:
    """Household (a person's residential premises) or business (an organisation, a sole trader, non-residential)."""
    if account is None:
        return Segment.HOUSEHOLD
    if account.customer.kind != Customer.Kind.PERSON:
        return Segment.BUSINESS
    if account.premises.filter(is_residential=False).exists():
        return Segment.BUSINESS
    return Segment.HOUSEHOLD


def default_branch() -> Branch:
    code = getattr(settings, "SBYT_CASES_DEFAULT_BRANCH", "")
    branch = (Branch.objects.filter(code=code).first() if code else None) or Branch.objects.order_by("code").first()
    if branch is None:
        raise DomainError(_("Appeals cannot be accepted yet: no branch is configured."))
    return branch


def _next_number(year: int) -> str:
    counter, _created = CaseCounter.objects.select_for_update().get_or_create(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{year}-{counter.last:06d}"


def _event(case: Case, type_: str, *, now: dt.datetime, actor=None, text: str = "", public: bool = True) -> None:
    CaseEvent.objects.create(
        case=case,
        type=type_,
        at=now,
        text=text,
        public=public,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def _audit(actor, action: str, case: Case, **details) -> None:
    audit(actor, action, case, account_number=_account_number(case), number=case.number, **details)


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("branch", "account").get(pk=case.pk)


def _check_open(case: Case) -> None:
    if not case.is_open:
        raise DomainError(_("The appeal is already closed: %(status)s.") % {"status": case.get_status_display()})


def _check_registered(case: Case) -> None:
    if case.registered_at is None:
        raise DomainError(_("Register the appeal first: choose its topic and the executor."))


def _clean_topic(topic: Topic | None, *, required: bool) -> Topic | None:
    if topic is None:
        if required:
            raise DomainError(_("Choose the topic of the appeal from the classifier."))
        return None
    if not topic.is_active:
        raise DomainError(_("This topic is no longer used: choose another one."))
    return topic


# --- clocks ---------------------------------------------------------------------------------------------------


def _applicable(case: Case, *, start_stage: str) -> list[Norm]:
    return [
        norm
        for norm in Norm.objects.filter(is_active=True, start_stage=start_stage).order_by("pk")
        if norm.applies_to(kind=case.kind, channel=case.channel, segment=case.segment)
    ]


def _start_clocks(case: Case, *, start_stage: str, on: dt.date) -> list[CaseClock]:
    """A clock for every applicable norm; of several for the same milestone (and stage) the strictest wins."""
    best: dict[tuple[str, str], tuple[Norm, dt.date]] = {}
    for norm in _applicable(case, start_stage=start_stage):
        if norm.milestone == Milestone.STAGE and not norm.stop_stage:
            continue
        due = sla.due_date(on, norm.amount, norm.unit)
        key = (norm.milestone, norm.stop_stage if norm.milestone == Milestone.STAGE else "")
        if key not in best or due < best[key][1]:
            best[key] = (norm, due)
    clocks = [
        CaseClock(
            case=case,
            norm=norm,
            name=norm.name,
            milestone=norm.milestone,
            stage=norm.stop_stage if norm.milestone == Milestone.STAGE else "",
            amount=norm.amount,
            unit=norm.unit,
            agreed_max=norm.agreed_max,
            started_on=on,
            due_on=due,
        )
        for norm, due in best.values()
    ]
    return CaseClock.objects.bulk_create(clocks)


def _settle(clock: CaseClock, today: dt.date) -> None:
    """End a pause: the deadline moves by the days it lasted."""
    if clock.paused_on is not None:
        clock.extension += sla.pause_length(clock.paused_on, today, clock.unit)
        clock.paused_on = None
        clock.due_on = sla.compute_due(
            started_on=clock.started_on,
            amount=clock.amount,
            unit=clock.unit,
            extension=clock.extension,
            agreed_on=clock.agreed_on,
        )


def _stop_clocks(case: Case, *, now: dt.datetime, milestones: Iterable[str] | None = None, stage: str | None = None):
    """Stop the open clocks of the given milestones (all when None), or the stage clocks stopped by ``stage``."""
    clocks = case.clocks.filter(stopped_at__isnull=True)
    if stage is not None:
        clocks = clocks.filter(milestone=Milestone.STAGE, stage=stage)
    elif milestones is not None:
        clocks = clocks.filter(milestone__in=list(milestones))
    today = local_date(case.branch, now)
    for clock in clocks:
        _settle(clock, today)
        clock.stopped_at = now
        clock.stopped_on = today
        clock.met = today <= clock.due_on
        clock.save()


def _pause_clocks(case: Case, *, now: dt.datetime) -> None:
    case.clocks.filter(stopped_at__isnull=True, paused_on__isnull=True).update(paused_on=local_date(case.branch, now))


def _resume_clocks(case: Case, *, now: dt.datetime) -> None:
    today = local_date(case.branch, now)
    for clock in case.clocks.filter(stopped_at__isnull=True, paused_on__isnull=False):
        _settle(clock, today)
        clock.save()


def answer_deadline(case: Case) -> dt.date | None:
    """The date by which the client gets the answer (the resolution clock), else the first open deadline."""
    clocks = [c for c in case.clocks.all() if c.stopped_at is None]
    resolution = [c for c in clocks if c.milestone == Milestone.RESOLUTION]
    chosen = resolution or clocks
    return min((c.due_on for c in chosen), default=None)


def response_deadline(case: Case) -> dt.date | None:
    clocks = [c for c in case.clocks.all() if c.stopped_at is None and c.milestone == Milestone.RESPONSE]
    return min((c.due_on for c in clocks), default=None)


# --- messages to the client -------------------------------------------------------------------------------


def _template(code: str = "", *, purpose: str = "", rejection: str = "") -> AnswerTemplate | None:
    rows = AnswerTemplate.objects.filter(is_active=True)
    if code:
        return rows.filter(code=code).first()
    rows = rows.filter(purpose=purpose)
    if rejection:
        rows = rows.filter(rejection=rejection)
    return rows.order_by("pk").first()


def _fmt(day: dt.date | None) -> str:
    return f"{day:%d.%m.%Y}" if day else ""


def template_values(case: Case, **extra) -> dict[str, str]:
    executor = case.assignee
    values = {
        "client_name": case.applicant_name or (case.account.customer.display_name if case.account_id else ""),
        "number": case.number,
        "received": _fmt(local_date(case.branch, case.received_at)),
        "deadline": _fmt(answer_deadline(case)),
        "kind": case.get_kind_display(),
        "topic": case.topic.name if case.topic_id else "",
        "stage": stages.label(case.kind, case.stage),
        "answers": "\n\n".join(
            f"{q.order}. {q.text}\n{q.answer}" if case.questions.count() > 1 else q.answer
            for q in case.questions.order_by("order", "pk")
            if q.answer
        ),
        "executor": (executor.get_full_name() or executor.get_username()) if executor else "",
        "executor_phone": getattr(settings, "SBYT_CASES_EXECUTOR_PHONE", "") or ", ".join(case.branch.phones),
        "site_name": getattr(settings, "SBYT_SITE_NAME", ""),
        "contact_phones": ", ".join(case.branch.phones),
    }
    values.update({k: str(v) for k, v in extra.items()})
    return values


def render_template(template: AnswerTemplate | None, case: Case, **extra) -> tuple[str, str]:
    """(subject, text) of a template for the case; an empty text when no template is configured."""
    if template is None:
        return "", ""
    values = template_values(case, **extra)
    subject = render_text(template.subject, values) or _("Your appeal No. %(number)s") % {"number": case.number}
    return subject, render_text(template.text, values)


def contact_problem(case: Case, channel: str | None = None) -> str:
    """Why the case cannot be answered through the channel (empty when it can)."""
    channel = channel or case.answer_channel
    if channel == AnswerChannel.EMAIL and not case.email:
        return _("No e-mail is given for the answer.")
    if channel in (AnswerChannel.SMS, AnswerChannel.PHONE) and not case.phone:
        return _("No phone number is given for the answer.")
    if channel == AnswerChannel.POST and not case.postal_address:
        return _("No postal address is given for the answer.")
    if channel == AnswerChannel.MESSENGER and not (case.messenger and case.messenger_chat):
        return _("The client did not write from a messenger: choose another way to answer.")
    if channel == AnswerChannel.CABINET and not _has_cabinet(case):
        return _("The client has no personal cabinet: choose another way to answer.")
    return ""


def _has_cabinet(case: Case) -> bool:
    return bool(case.account_id and AccountAccess.objects.filter(account_id=case.account_id).exists())


def cabinet_link(case: Case) -> str:
    """The case's page in the cabinet: absolute with ``SBYT_SITE_URL`` (e.g. https://lk.example.ru), else the path."""
    try:
        path = reverse("portal:my_case", args=[case.number])
    except NoReverseMatch:  # a deployment without the portal
        return ""
    return getattr(settings, "SBYT_SITE_URL", "").rstrip("/") + path


def messenger_texts(case: Case, text: str) -> list[str]:
    """What goes to the client's messenger chat: a short text as is, under the case number; a long one (over
    ``MESSENGER_MAX``) as a notice with the case number and the link to the cabinet, where the whole text is — or,
    for a client with no cabinet, in numbered parts of at most ``MESSENGER_PART`` characters."""
    head = _("Appeal No. %(number)s") % {"number": case.number}
    if len(text) <= MESSENGER_MAX:
        return [f"{head}\n\n{text}"]
    if _has_cabinet(case):
        return [
            _(
                "%(head)s: the answer is ready. It is long, so please read it in the personal cabinet, section "
                "«Appeals»: %(link)s"
            )
            % {"head": head, "link": cabinet_link(case)}
        ]
    parts, current = [], ""
    for line in text.splitlines(keepends=True):
        while len(line) > MESSENGER_PART:  # one very long line: cut it
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:MESSENGER_PART])
            line = line[MESSENGER_PART:]
        if len(current) + len(line) > MESSENGER_PART:
            parts.append(current)
            current = ""
        current += line
    if current.strip():
        parts.append(current)
    return [f"{head} ({index}/{len(parts)})\n\n{part.strip()}" for index, part in enumerate(parts, start=1)]


def _deliver(case: Case, *, purpose: str, text: str, subject: str, actor, now: dt.datetime) -> CaseMessage:
    """Send a message through the case's answer channel and keep it with the case (the cabinet shows it)."""
    problem = contact_problem(case)
    if problem:
        raise DomainError(problem)
    subject = _one_line(subject or _("Your appeal No. %(number)s") % {"number": case.number}, 255)
    outbound = None
    tag = f"case_{purpose}"[:32]
    if case.answer_channel == AnswerChannel.EMAIL:
        outbound = send_email(to=case.email, subject=subject, text=text, purpose=tag, actor=actor)
    elif case.answer_channel == AnswerChannel.SMS:
        outbound = send_sms(to=case.phone, text=text, purpose=tag, actor=actor)
    elif case.answer_channel == AnswerChannel.MESSENGER:
        sent = [
            send_messenger(channel=case.messenger, to=case.messenger_chat, text=part, purpose=tag, actor=actor)
            for part in messenger_texts(case, text)
        ]
        outbound = sent[0]
    return CaseMessage.objects.create(
        case=case,
        direction=CaseMessage.Direction.OUT,
        purpose=purpose,
        channel=case.answer_channel,
        subject=subject,
        text=text,
        at=now,
        author=actor if getattr(actor, "is_authenticated", False) else None,
        outbound=outbound,
    )


# --- creating cases --------------------------------------------------------------------------------------


def _save_attachments(case: Case, files: Sequence[CheckedFile], *, from_client: bool, actor) -> list[Attachment]:
    saved = []
    for item in files:
        attachment = Attachment(
            case=case,
            original_name=item.name,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256,
            from_client=from_client,
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        attachment.file.save(item.stored_name, ContentFile(item.content), save=False)
        attachment.save()
        saved.append(attachment)
    return saved


def _clean_questions(text: str, questions: Sequence[str] | None) -> list[str]:
    main = _clean_text(text, what=_("text of the appeal"))
    extra = [q.replace("\x00", "").strip() for q in (questions or ()) if q and q.strip()]
    if len(extra) + 1 > MAX_QUESTIONS:
        raise DomainError(_("An appeal may hold at most %(count)s questions.") % {"count": MAX_QUESTIONS})
    for question in extra:
        if len(question) > MAX_TEXT:
            raise DomainError(_("The text may be at most 10,000 characters long."))
    return [main, *extra]


def _create(
    *,
    kind: str,
    channel: str,
    branch: Branch,
    texts: list[str],
    now: dt.datetime,
    received_at: dt.datetime,
    actor,
    account: Account | None = None,
    applicant_name: str = "",
    email: str = "",
    phone: str = "",
    postal_address: str = "",
    answer_channel: str = AnswerChannel.EMAIL,
    subject: str = "",
    topic: Topic | None = None,
    office=None,
    needs_routing: bool = False,
    register: bool = False,
    assignee=None,
    files: Sequence[CheckedFile] = (),
    source_ref: str = "",
    segment: str | None = None,
    messenger: str = "",
    messenger_chat: str = "",
) -> Case:
    year = local_date(branch, received_at).year
    case = Case.objects.create(
        number=_next_number(year),
        kind=kind,
        channel=channel,
        branch=branch,
        account=account,
        applicant_name=applicant_name,
        email=email,
        phone=phone,
        postal_address=postal_address,
        answer_channel=answer_channel,
        messenger=messenger,
        messenger_chat=messenger_chat,
        subject=_one_line(subject or texts[0], MAX_SUBJECT),
        topic=topic,
        office=office,
        received_at=received_at,
        needs_routing=needs_routing,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        source_ref=source_ref,
        segment=segment or segment_of(account),
    )
    Question.objects.bulk_create(
        [Question(case=case, order=index, text=text, topic=topic) for index, text in enumerate(texts, start=1)]
    )
    if kind in APPLICATION_KINDS:
        DocumentCheck.objects.bulk_create(
            [
                DocumentCheck(case=case, name=item.name, required=item.required, order=item.order)
                for item in ChecklistItem.objects.filter(kind=kind, is_active=True)
            ]
        )
    _start_clocks(case, start_stage="", on=local_date(branch, received_at))
    _event(case, CaseEvent.Type.RECEIVED, now=received_at, actor=actor, text=case.get_channel_display())
    _save_attachments(case, files, from_client=True, actor=actor)
    if register:
        _register(case, topic=topic, assignee=assignee, office=office, actor=actor, now=now)
    return case


def _register(case: Case, *, topic, assignee, office, actor, now: dt.datetime) -> None:
    """Classification and handover (APL-1): the registration clock stops; an application enters its first stage."""
    case.topic = topic
    case.assignee = assignee
    if office is not None:
        case.office = office
    case.registered_at = now
    case.registered_by = actor if getattr(actor, "is_authenticated", False) else None
    case.needs_routing = False
    if case.status == Status.RECEIVED:
        case.status = Status.IN_WORK
    first = stages.first_stage(case.kind)
    if first and not case.stage:
        case.stage = first
        _start_clocks(case, start_stage=first, on=local_date(case.branch, now))
    case.save()
    case.questions.filter(topic__isnull=True).update(topic=topic)
    _stop_clocks(case, now=now, milestones=[Milestone.REGISTRATION])
    _event(case, CaseEvent.Type.REGISTERED, now=now, actor=actor, text=topic.name if topic else "")
    if assignee is not None:
        _event(case, CaseEvent.Type.ASSIGNED, now=now, actor=actor, public=False, text=_person(assignee))


def _check_answer_channel(
    answer_channel: str, *, email: str, phone: str, postal_address: str, account, messenger_chat: str = ""
) -> None:
    if answer_channel not in AnswerChannel.values:
        raise DomainError(_("Choose how you want to get the answer."))
    if answer_channel == AnswerChannel.EMAIL and not email:
        raise DomainError(_("Enter your e-mail: the answer will come there."))
    if answer_channel in (AnswerChannel.SMS, AnswerChannel.PHONE) and not phone:
        raise DomainError(_("Enter your phone number: the answer will come there."))
    if answer_channel == AnswerChannel.POST and not postal_address:
        raise DomainError(_("Enter your postal address: the answer will be sent there by post."))
    if answer_channel == AnswerChannel.CABINET and account is None:
        raise DomainError(_("An answer in the personal cabinet needs a client number."))
    if answer_channel == AnswerChannel.MESSENGER and not messenger_chat:
        raise DomainError(_("An answer in a messenger is possible only when the client wrote from one."))


def submit_web_form(
    *,
    name: str,
    email: str,
    text: str,
    consent: bool,
    kind: str = Kind.CLAIM,
    phone: str = "",
    account_number: str = "",
    topic: Topic | None = None,
    answer_channel: str = AnswerChannel.EMAIL,
    postal_address: str = "",
    files: Sequence = (),
    actor=None,
    now: dt.datetime | None = None,
) -> Case:
    """PUB-4 / APL-8: an appeal from the public form, no login. The client gets the acknowledgement e-mail at once;
    the case waits for the routing operator, who checks it is complete and routes it (or asks for what is missing).
    The client number typed in the form is kept as stated: only the operator links the case to an account."""
    now = _now(now)
    name = _one_line(name, MAX_NAME + 1)
    if not name:
        raise DomainError(_("Enter your name."))
    if len(name) > MAX_NAME:
        raise DomainError(_("The name may be at most 200 characters long."))
    email = _clean_email(email, required=True)
    phone = _clean_phone(phone)
    postal_address = _one_line(postal_address, MAX_ADDRESS + 1)
    if len(postal_address) > MAX_ADDRESS:
        raise DomainError(_("The address may be at most 400 characters long."))
    if kind not in WEB_FORM_KINDS:
        raise DomainError(_("Choose what you are writing: a question, a complaint, a suggestion or a review."))
    topic = _clean_topic(topic, required=False)
    if topic is not None and not topic.public:
        raise DomainError(_("This topic is no longer used: choose another one."))
    texts = _clean_questions(text, None)
    account_number = "".join((account_number or "").split())
    if account_number and (not account_number.isdigit() or len(account_number) > 20):
        raise DomainError(_("The client number consists of digits only."))
    _check_answer_channel(answer_channel, email=email, phone=phone, postal_address=postal_address, account=None)
    if answer_channel == AnswerChannel.CABINET:
        raise DomainError(_("Choose how you want to get the answer."))
    if not consent:
        raise DomainError(_("Without the consent to the processing of personal data we cannot accept the appeal."))
    checked = check_files(files)
    stated = find_account(account_number) if account_number else None
    branch = stated.branch if stated else default_branch()
    with transaction.atomic():
        case = _create(
            kind=kind,
            channel=Channel.WEB_FORM,
            branch=branch,
            texts=texts,
            now=now,
            received_at=now,
            actor=actor or "web_form",
            applicant_name=name,
            email=email,
            phone=phone,
            postal_address=postal_address,
            answer_channel=answer_channel,
            topic=topic,
            needs_routing=True,
            files=checked,
            segment=segment_of(stated),
        )
        if account_number:
            _event(
                case,
                CaseEvent.Type.NOTE,
                now=now,
                public=False,
                text=_("Client number stated in the form: %(number)s") % {"number": account_number},
            )
        _acknowledge(case, actor=actor or "web_form", now=now)
        _audit(actor or "web_form", "case.web_form", case, kind=kind, files=len(checked), stated=account_number)
    return case


def _acknowledge(case: Case, *, actor, now: dt.datetime) -> CaseMessage:
    """The e-mail sent at once after the web form (A ch.5 §2 8): thanks, and contact within 3 working days."""
    template = _template(ACK_TEMPLATE)
    deadline = response_deadline(case)
    subject, text = render_template(template, case, deadline=_fmt(deadline))
    if not text:
        text = _(
            "Thank you for your appeal No. %(number)s. It will be considered within 3 working days, after which "
            "a specialist of the company will contact you."
        ) % {"number": case.number}
    subject = subject or _("Your appeal No. %(number)s") % {"number": case.number}
    outbound = send_email(to=case.email, subject=subject, text=text, purpose="case_ack", actor=actor)
    return CaseMessage.objects.create(
        case=case,
        purpose=AnswerTemplate.Purpose.ACKNOWLEDGEMENT,
        channel=AnswerChannel.EMAIL,
        subject=_one_line(subject, 255),
        text=text,
        at=now,
        outbound=outbound,
    )


def file_case(
    *,
    user,
    account: Account,
    kind: str,
    text: str,
    questions: Sequence[str] | None = None,
    topic: Topic | None = None,
    answer_channel: str = AnswerChannel.CABINET,
    files: Sequence = (),
    channel: str = Channel.CABINET,
    now: dt.datetime | None = None,
) -> Case:
    """CAB-13/14: an appeal or an application from the personal cabinet (or the app) of a client with access to
    the account. The contacts on file are used (CC-6); the back office registers it."""
    now = _now(now)
    if (
        not getattr(user, "is_authenticated", False)
        or not AccountAccess.objects.filter(user=user, account=account).exists()
    ):
        raise PermissionDenied(_("This client number is not linked to your login."))
    if kind not in Kind.values:
        raise DomainError(_("Choose what you are sending: an appeal or an application."))
    topic = _clean_topic(topic, required=False)
    texts = _clean_questions(text, questions)
    customer = account.customer
    email = customer.email or (user.email or "")
    phone = customer.phone or (user.phone or "")
    premises = account.premises.order_by("pk").first()
    postal = premises.address if premises else ""
    _check_answer_channel(answer_channel, email=email, phone=phone, postal_address=postal, account=account)
    checked = check_files(files)
    with transaction.atomic():
        case = _create(
            kind=kind,
            channel=channel,
            branch=account.branch,
            texts=texts,
            now=now,
            received_at=now,
            actor=user,
            account=account,
            applicant_name=customer.display_name,
            email=email,
            phone=phone,
            postal_address=postal,
            answer_channel=answer_channel,
            topic=topic,
            files=checked,
        )
        _audit(user, "case.file", case, kind=kind, channel=channel, files=len(checked))
    return case


def register_case(
    *,
    actor,
    channel: str,
    kind: str,
    text: str,
    topic: Topic | None,
    questions: Sequence[str] | None = None,
    account: Account | None = None,
    applicant_name: str = "",
    email: str = "",
    phone: str = "",
    postal_address: str = "",
    answer_channel: str | None = None,
    office=None,
    assignee=None,
    received_at: dt.datetime | None = None,
    files: Sequence = (),
    inbound: InboundMessage | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """APL-1: staff register an appeal or application received in the office, by phone, post or e-mail, with the
    topic from the classifier and the date it came (a letter may have come earlier). It is registered at once.
    An appeal written in a messenger is registered from the stored message (``inbound``): the case keeps the
    messenger and the chat it came from, so the answer can go back there (APL-6); once per message."""
    now = _now(now)
    _require(actor, REGISTER)
    if channel not in STAFF_CHANNELS:
        raise DomainError(_("Choose how the appeal came."))
    if kind not in Kind.values:
        raise DomainError(_("Choose the kind of the appeal."))
    messenger = messenger_chat = source_ref = ""
    if inbound is not None:
        if channel != Channel.MESSENGER or inbound.channel not in Messenger.values or not inbound.sender:
            raise DomainError(_("Only a message the client wrote in a messenger is registered as a messenger appeal."))
        source_ref = f"inbound:{inbound.pk}"
        earlier = Case.objects.filter(source_ref=source_ref).first()
        if earlier is not None:
            raise DomainError(
                _("An appeal has already been registered from this message: No. %(number)s.")
                % {"number": earlier.number}
            )
        messenger, messenger_chat = inbound.channel, inbound.sender
        text = text or inbound.text
        received_at = received_at or inbound.received_at
    topic = _clean_topic(topic, required=True)
    texts = _clean_questions(text, questions)
    received_at = received_at or now
    if received_at > now + dt.timedelta(minutes=5):
        raise DomainError(_("The date the appeal came cannot be in the future."))
    if account is not None:
        customer = account.customer
        applicant_name = _one_line(applicant_name, MAX_NAME) or customer.display_name
        email = email or customer.email
        phone = phone or customer.phone
        if not postal_address:
            premises = account.premises.order_by("pk").first()
            postal_address = premises.address if premises else ""
    applicant_name = _one_line(applicant_name, MAX_NAME + 1)
    if len(applicant_name) > MAX_NAME:
        raise DomainError(_("The name may be at most 200 characters long."))
    email = _clean_email(email)
    phone = _clean_phone(phone)
    postal_address = _one_line(postal_address, MAX_ADDRESS)
    if answer_channel is None:
        answer_channel = _default_answer_channel(
            channel, email=email, phone=phone, postal=postal_address, messenger_chat=messenger_chat
        )
    if answer_channel and (email or phone or postal_address or messenger_chat or account is not None):
        _check_answer_channel(
            answer_channel,
            email=email,
            phone=phone,
            postal_address=postal_address,
            account=account,
            messenger_chat=messenger_chat,
        )
    if assignee is not None and not may(assignee, WORK):
        raise DomainError(_("The executor must be a staff member who considers appeals."))
    checked = check_files(files)
    branch = account.branch if account is not None else (office.branch if office is not None else default_branch())
    with transaction.atomic():
        case = _create(
            kind=kind,
            channel=channel,
            branch=branch,
            texts=texts,
            now=now,
            received_at=received_at,
            actor=actor,
            account=account,
            applicant_name=applicant_name,
            email=email,
            phone=phone,
            postal_address=postal_address,
            answer_channel=answer_channel or AnswerChannel.POST,
            topic=topic,
            office=office,
            register=True,
            assignee=assignee,
            files=checked,
            source_ref=source_ref,
            messenger=messenger,
            messenger_chat=messenger_chat,
        )
        _audit(actor, "case.register", case, kind=kind, channel=channel, files=len(checked), messenger=messenger)
    return case


def _default_answer_channel(channel: str, *, email: str, phone: str, postal: str, messenger_chat: str = "") -> str:
    """APL-6: the answer goes the way the appeal came, when that way can carry it."""
    if channel == Channel.MESSENGER and messenger_chat:
        return AnswerChannel.MESSENGER
    if channel == Channel.EMAIL and email:
        return AnswerChannel.EMAIL
    if channel == Channel.PHONE and phone:
        return AnswerChannel.PHONE
    if channel in (Channel.POST, Channel.POST_OFFICE_SCAN, Channel.OFFICE_WRITTEN, Channel.COMPLAINTS_BOOK) and postal:
        return AnswerChannel.POST
    if email:
        return AnswerChannel.EMAIL
    if phone:
        return AnswerChannel.PHONE
    return AnswerChannel.POST


def case_from_complaint_entry(*, entry, actor, now: dt.datetime | None = None) -> Case:
    """An entry of an office's complaints book (OFF-7) becomes a case of channel «complaints book», registered by
    the office's staff who recorded it. Once per entry: a second call returns the same case."""
    now = _now(now)
    ref = f"complaint_book:{entry.pk}"
    existing = Case.objects.filter(source_ref=ref).first()
    if existing is not None:
        return existing
    office = entry.office
    contact = (entry.contact or "").strip()
    email = phone = postal = ""
    if "@" in contact:
        try:
            email = _clean_email(contact)
        except DomainError:
            email = ""
    elif normalize_phone(contact):
        phone = normalize_phone(contact)
    elif contact:
        postal = _one_line(contact, MAX_ADDRESS)
    account = entry.account
    if account is not None:
        email = email or account.customer.email
        phone = phone or account.customer.phone
    topic = Topic.objects.filter(code="service-office", is_active=True).first()
    with transaction.atomic():
        case = _create(
            kind=Kind.CLAIM,
            channel=Channel.COMPLAINTS_BOOK,
            branch=office.branch,
            texts=[entry.text],
            now=now,
            received_at=entry.written_at,
            actor=actor,
            account=account,
            applicant_name=_one_line(entry.author_name, MAX_NAME),
            email=email,
            phone=phone,
            postal_address=postal,
            answer_channel=_default_answer_channel(Channel.COMPLAINTS_BOOK, email=email, phone=phone, postal=postal),
            topic=topic,
            office=office,
            register=True,
            source_ref=ref,
        )
        _audit(actor, "case.complaint_book", case, entry=entry.pk, office=office.code)
    return case


# --- registration and routing -----------------------------------------------------------------------------


def register_received(
    *,
    case: Case,
    actor,
    topic: Topic | None,
    assignee=None,
    office=None,
    account: Account | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Register a case that came through the cabinet or the web form: classify it and hand it over (APL-1). A
    web-form case is the routing operator's (APL-8), who may also link the account the client named."""
    now = _now(now)
    with transaction.atomic():
        case = _locked(case)
        _require(actor, *((ROUTE,) if case.needs_routing else (REGISTER, WORK, ROUTE)))
        _check_open(case)
        if case.registered_at is not None:
            raise DomainError(_("The appeal is already registered."))
        topic = _clean_topic(topic, required=True)
        if assignee is not None and not may(assignee, WORK):
            raise DomainError(_("The executor must be a staff member who considers appeals."))
        if account is not None and case.account_id is None:
            case.account = account
            case.segment = segment_of(account)
            case.branch = account.branch
        routed = case.needs_routing
        _register(case, topic=topic, assignee=assignee, office=office, actor=actor, now=now)
        if routed:
            _event(case, CaseEvent.Type.ROUTED, now=now, actor=actor)
        _audit(actor, "case.route" if routed else "case.register_received", case, topic=topic.code)
    return case


def assign_case(*, case: Case, assignee, actor, now: dt.datetime | None = None) -> Case:
    """A specialist takes a case; a supervisor gives it to anyone who considers appeals."""
    now = _now(now)
    with transaction.atomic():
        case = _locked(case)
        _check_open(case)
        if assignee is None or not may(assignee, WORK):
            raise DomainError(_("The executor must be a staff member who considers appeals."))
        if not (may(actor, SUPERVISE) or (may(actor, WORK) and assignee.pk == actor.pk)):
            raise PermissionDenied(_("Only a supervisor gives an appeal to another executor."))
        case.assignee = assignee
        case.save(update_fields=["assignee"])
        _event(case, CaseEvent.Type.ASSIGNED, now=now, actor=actor, public=False, text=_person(assignee))
        _audit(actor, "case.assign", case, assignee=assignee.get_username())
    return case


def set_answer_channel(
    *, case: Case, answer_channel: str, actor, email: str = "", phone: str = "", postal_address: str = ""
) -> Case:
    """The client asked for the answer another way (the routing operator completes the contacts, APL-8)."""
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK, ROUTE)
        _check_open(case)
        email = _clean_email(email) or case.email
        phone = _clean_phone(phone) or case.phone
        postal_address = _one_line(postal_address, MAX_ADDRESS) or case.postal_address
        _check_answer_channel(
            answer_channel,
            email=email,
            phone=phone,
            postal_address=postal_address,
            account=case.account,
            messenger_chat=case.messenger_chat,
        )
        case.answer_channel, case.email, case.phone, case.postal_address = answer_channel, email, phone, postal_address
        if answer_channel == AnswerChannel.CABINET:
            problem = contact_problem(case)
            if problem:
                raise DomainError(problem)
        case.save(update_fields=["answer_channel", "email", "phone", "postal_address"])
        _audit(actor, "case.answer_channel", case, channel=answer_channel)
    return case


# --- waiting for the client ----------------------------------------------------------------------------------


def request_information(*, case: Case, text: str, actor, now: dt.datetime | None = None) -> CaseMessage:
    """Ask the client for what is missing (APL-8, APP-1): the message counts as the first contact; every clock
    pauses until the client answers."""
    now = _now(now)
    text = _clean_text(text, what=_("request to the client"))
    with transaction.atomic():
        case = _locked(case)
        _require(actor, *((ROUTE,) if case.needs_routing else (WORK,)))
        _check_open(case)
        if case.status == Status.WAITING:
            raise DomainError(_("The client has already been asked and has not answered yet."))
        message = _deliver(
            case, purpose=AnswerTemplate.Purpose.INFO_REQUEST, text=text, subject="", actor=actor, now=now
        )
        _stop_clocks(case, now=now, milestones=[Milestone.RESPONSE])
        _pause_clocks(case, now=now)
        case.status = Status.WAITING
        case.save(update_fields=["status"])
        _event(case, CaseEvent.Type.INFO_REQUESTED, now=now, actor=actor, text=text)
        _audit(actor, "case.request_information", case)
    return message


def request_missing_documents(*, case: Case, actor, now: dt.datetime | None = None) -> CaseMessage:
    """APP-1: the list of the checklist's required documents not received yet, from the template."""
    missing = [d.name for d in case.documents.filter(required=True, received=False)]
    if not missing:
        raise DomainError(_("Every required document has been received."))
    listing = "\n".join(f"— {name}" for name in missing)
    _subject, text = render_template(
        _template(purpose=AnswerTemplate.Purpose.MISSING_DOCUMENTS), case, missing_documents=listing
    )
    text = text or _("To consider your application No. %(number)s we need these documents:\n%(list)s") % {
        "number": case.number,
        "list": listing,
    }
    return request_information(case=case, text=text, actor=actor, now=now)


def _resume(case: Case, *, now: dt.datetime, actor, event: str, text: str = "") -> None:
    _resume_clocks(case, now=now)
    case.status = Status.IN_WORK if case.registered_at else Status.RECEIVED
    case.save(update_fields=["status"])
    _event(case, event, now=now, actor=actor, text=text)


def resume_case(*, case: Case, actor, note: str = "", now: dt.datetime | None = None) -> Case:
    """The client gave what was asked another way (phone, office): the clocks run again."""
    now = _now(now)
    note = _one_line(note, 500)
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK, ROUTE)
        if case.status != Status.WAITING:
            raise DomainError(_("The appeal is not waiting for the client."))
        _resume(case, now=now, actor=actor, event=CaseEvent.Type.RESUMED, text=note)
        _audit(actor, "case.resume", case)
    return case


def reply_as_client(
    *, case: Case, user, text: str, files: Sequence = (), now: dt.datetime | None = None
) -> CaseMessage:
    """The client answers in the cabinet (or the app): the message and files join the case; a waiting case
    resumes."""
    now = _now(now)
    text = _clean_text(text, what=_("message"))
    checked = check_files(files)
    with transaction.atomic():
        case = _locked(case)
        if case.account_id is None or not AccountAccess.objects.filter(user=user, account_id=case.account_id).exists():
            raise PermissionDenied(_("This appeal is not yours."))
        _check_open(case)
        message = CaseMessage.objects.create(
            case=case, direction=CaseMessage.Direction.IN, channel=AnswerChannel.CABINET, text=text, at=now, author=user
        )
        _save_attachments(case, checked, from_client=True, actor=user)
        if case.status == Status.WAITING:
            _resume(case, now=now, actor=user, event=CaseEvent.Type.CLIENT_REPLIED)
        else:
            _event(case, CaseEvent.Type.CLIENT_REPLIED, now=now, actor=user)
        _audit(user, "case.client_reply", case, files=len(checked))
    return message


# --- answers ------------------------------------------------------------------------------------------------


def answer_question(*, question: Question, text: str, actor, now: dt.datetime | None = None) -> Question:
    """APL-2: the answer on the merits to one question of the case (sent with the final answer)."""
    now = _now(now)
    text = _clean_text(text, what=_("answer"))
    with transaction.atomic():
        case = _locked(question.case)
        _require(actor, WORK)
        _check_open(case)
        _check_registered(case)
        question = Question.objects.select_for_update().get(pk=question.pk)
        question.answer, question.answered_at, question.answered_by = text, now, actor
        question.save(update_fields=["answer", "answered_at", "answered_by"])
        _event(case, CaseEvent.Type.QUESTION_ANSWERED, now=now, actor=actor, public=False, text=str(question.order))
        _audit(actor, "case.answer_question", case, question=question.order)
    return question


def add_question(*, case: Case, text: str, actor, topic: Topic | None = None) -> Question:
    """Another question of the same client in the same case (one window)."""
    text = _clean_text(text, what=_("question"))
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK, REGISTER, ROUTE)
        _check_open(case)
        count = case.questions.count()
        if count >= MAX_QUESTIONS:
            raise DomainError(_("An appeal may hold at most %(count)s questions.") % {"count": MAX_QUESTIONS})
        question = Question.objects.create(case=case, order=count + 1, text=text, topic=topic or case.topic)
        _audit(actor, "case.add_question", case, question=question.order)
    return question


def send_interim_answer(*, case: Case, text: str, actor, now: dt.datetime | None = None) -> CaseMessage:
    """APL-2/3: an interim answer — the study takes longer; the client learns the term and form of the answer."""
    now = _now(now)
    text = _clean_text(text, what=_("interim answer"))
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK)
        _check_open(case)
        _check_registered(case)
        message = _deliver(case, purpose=AnswerTemplate.Purpose.INTERIM, text=text, subject="", actor=actor, now=now)
        _stop_clocks(case, now=now, milestones=[Milestone.RESPONSE])
        _event(case, CaseEvent.Type.INTERIM, now=now, actor=actor)
        _audit(actor, "case.interim", case, channel=case.answer_channel)
    return message


def _close(case: Case, *, status: str, now: dt.datetime) -> None:
    _stop_clocks(case, now=now)
    case.status = status
    case.closed_at = now
    case.save(update_fields=["status", "closed_at", "stage", "rejection", "repeat_of"])


def send_final_answer(*, case: Case, text: str, actor, now: dt.datetime | None = None) -> CaseMessage:
    """The answer on the merits through the client's channel (APL-6); every question must have its answer
    (APL-2). An application reaches its last stage, «done»."""
    now = _now(now)
    text = _clean_text(text, what=_("answer"))
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK)
        _check_open(case)
        _check_registered(case)
        unanswered = [q.order for q in case.questions.all() if not q.answer.strip()]
        if unanswered and case.questions.count() > 1:
            raise DomainError(
                _("Answer every question of the appeal first: not answered — %(list)s.")
                % {"list": ", ".join(f"№ {n}" for n in unanswered)}
            )
        if unanswered:  # a single question: the answer is the final text itself
            case.questions.update(answer=text, answered_at=now, answered_by=actor)
        message = _deliver(case, purpose=AnswerTemplate.Purpose.FINAL, text=text, subject="", actor=actor, now=now)
        if case.is_application:
            case.stage = stages.DONE
        _close(case, status=Status.ANSWERED, now=now)
        _event(case, CaseEvent.Type.ANSWERED, now=now, actor=actor)
        _audit(actor, "case.answer", case, channel=case.answer_channel)
    return message


def decline_case(
    *,
    case: Case,
    rejection: str,
    actor,
    text: str = "",
    repeat_of: Case | None = None,
    now: dt.datetime | None = None,
) -> CaseMessage | None:
    """APL-7: not considered on the merits, with the notice to the client (from the template of the ground unless
    a text is given). A repeat names the earlier case of the same client answered on the merits. Without any
    contact no notice can go: the case is closed all the same and the message is None."""
    now = _now(now)
    if rejection not in Rejection.values:
        raise DomainError(_("Choose why the appeal is not considered on the merits."))
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK, ROUTE)
        _check_open(case)
        if case.kind not in APPEAL_KINDS:
            raise DomainError(_("An application is refused with the reasons, not left without consideration."))
        if rejection == Rejection.REPEAT:
            _check_repeat(case, repeat_of)
            case.repeat_of = repeat_of
        case.rejection = rejection
        message = None
        if _has_any_contact(case):
            if not text.strip():
                template = _template(purpose=AnswerTemplate.Purpose.NOT_CONSIDERED, rejection=rejection)
                _subject, text = render_template(
                    template,
                    case,
                    reason=Rejection(rejection).label,
                    earlier_number=repeat_of.number if repeat_of else "",
                )
            text = _clean_text(text, what=_("notice to the client"))
            message = _deliver(
                case, purpose=AnswerTemplate.Purpose.NOT_CONSIDERED, text=text, subject="", actor=actor, now=now
            )
        _close(case, status=Status.NOT_CONSIDERED, now=now)
        _event(case, CaseEvent.Type.NOT_CONSIDERED, now=now, actor=actor, text=Rejection(rejection).label)
        _audit(actor, "case.decline", case, rejection=rejection, notified=message is not None)
    return message


def _has_any_contact(case: Case) -> bool:
    return not contact_problem(case)


def _check_repeat(case: Case, earlier: Case | None) -> None:
    earlier = Case.objects.filter(pk=earlier.pk).first() if earlier is not None else None
    if earlier is None:
        raise DomainError(_("Name the earlier appeal with the same question that was answered on the merits."))
    same_client = (
        (case.account_id and earlier.account_id == case.account_id)
        or (case.email and earlier.email == case.email)
        or (case.phone and earlier.phone == case.phone)
    )
    if earlier.pk == case.pk or not same_client:
        raise DomainError(_("The earlier appeal must be of the same client."))
    if earlier.status != Status.ANSWERED or earlier.received_at > case.received_at:
        raise DomainError(_("The earlier appeal must have been answered on the merits before this one."))


def close_without_answer(*, case: Case, actor, now: dt.datetime | None = None) -> Case:
    """APL-7 (A ch.4 §3 6, E 2.7.3): no contact data at all — not considered, and no answer is given."""
    now = _now(now)
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK, ROUTE)
        _check_open(case)
        if case.has_contact:
            raise DomainError(_("The client left contact data: the appeal must be answered."))
        _close(case, status=Status.NO_CONTACT, now=now)
        _event(case, CaseEvent.Type.NO_CONTACT, now=now, actor=actor)
        _audit(actor, "case.no_contact", case)
    return case


def refuse_application(*, case: Case, reasons: str, actor, now: dt.datetime | None = None) -> CaseMessage:
    """APP-1: an application refused with the reasons (the refusal norm: within 5 days)."""
    now = _now(now)
    reasons = _clean_text(reasons, what=_("reasons for the refusal"))
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK)
        _check_open(case)
        _check_registered(case)
        if not case.is_application:
            raise DomainError(_("Only an application can be refused; an appeal gets an answer."))
        _subject, text = render_template(_template(purpose=AnswerTemplate.Purpose.REFUSAL), case, reason=reasons)
        message = _deliver(
            case, purpose=AnswerTemplate.Purpose.REFUSAL, text=text or reasons, subject="", actor=actor, now=now
        )
        _close(case, status=Status.REFUSED, now=now)
        _event(case, CaseEvent.Type.REFUSED, now=now, actor=actor, text=reasons)
        _audit(actor, "case.refuse", case)
    return message


# --- applications: stages and documents -------------------------------------------------------------------


def set_stage(
    *, case: Case, stage: str, actor, notify: bool = True, note: str = "", now: dt.datetime | None = None
) -> Case:
    """Move an application to its next stage: the stage's clocks stop or start; the client is told the stage
    (online applicants must hear within 3 working days — the notice counts as the first contact)."""
    now = _now(now)
    note = _one_line(note, 500)
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK)
        _check_open(case)
        _check_registered(case)
        if not case.is_application:
            raise DomainError(_("An appeal has no stages."))
        if case.status == Status.WAITING:
            raise DomainError(_("The application waits for the client: resume it first."))
        if stage == stages.DONE or not stages.can_move(case.kind, case.stage, stage):
            raise DomainError(
                _("From the stage «%(current)s» the application cannot move to «%(target)s».")
                % {"current": stages.label(case.kind, case.stage), "target": stages.label(case.kind, stage) or stage}
            )
        current = stages.find(case.kind, case.stage)
        if current is not None and current.checklist and case.documents.filter(required=True, received=False).exists():
            raise DomainError(_("Not every required document has been received: request the missing ones."))
        case.stage = stage
        case.save(update_fields=["stage"])
        _stop_clocks(case, now=now, stage=stage)
        _start_clocks(case, start_stage=stage, on=local_date(case.branch, now))
        _event(case, CaseEvent.Type.STAGE, now=now, actor=actor, text=stages.label(case.kind, stage))
        if notify and _has_any_contact(case):
            _subject, text = render_template(_template(purpose=AnswerTemplate.Purpose.STAGE), case)
            if note:
                text = f"{text}\n\n{note}" if text else note
            if text:
                _deliver(case, purpose=AnswerTemplate.Purpose.STAGE, text=text, subject="", actor=actor, now=now)
                _stop_clocks(case, now=now, milestones=[Milestone.RESPONSE])
        _audit(actor, "case.stage", case, stage=stage, notified=notify)
    return case


def mark_document(*, document: DocumentCheck, received: bool, actor, now: dt.datetime | None = None) -> DocumentCheck:
    now = _now(now)
    with transaction.atomic():
        case = _locked(document.case)
        _require(actor, WORK, REGISTER)
        _check_open(case)
        document = DocumentCheck.objects.select_for_update().get(pk=document.pk)
        document.received = bool(received)
        document.save(update_fields=["received"])
        text = (_("received: %(name)s") if received else _("missing: %(name)s")) % {"name": document.name}
        _event(case, CaseEvent.Type.DOCUMENT, now=now, actor=actor, public=False, text=text)
        _audit(actor, "case.document", case, document=document.name, received=bool(received))
    return document


def agree_deadline(*, case: Case, day: dt.date, actor, now: dt.datetime | None = None) -> CaseClock:
    """APL-5: a complex question on the phone — the callback by a date agreed with the client, at most the norm's
    limit (5 working days) from the call."""
    now = _now(now)
    with transaction.atomic():
        case = _locked(case)
        _require(actor, WORK, REGISTER, CALLS)
        _check_open(case)
        clock = (
            case.clocks.select_for_update()
            .filter(stopped_at__isnull=True, agreed_max__isnull=False)
            .order_by("due_on")
            .first()
        )
        if clock is None:
            raise DomainError(_("This appeal has no deadline that can be agreed with the client."))
        today = local_date(case.branch, now)
        latest = sla.due_date(clock.started_on, clock.agreed_max, clock.unit)
        if day < today or day > latest:
            raise DomainError(
                _("The agreed date must be between today and %(latest)s.") % {"latest": f"{latest:%d.%m.%Y}"}
            )
        clock.agreed_on = day
        clock.due_on = sla.compute_due(
            started_on=clock.started_on, amount=clock.amount, unit=clock.unit, extension=clock.extension, agreed_on=day
        )
        clock.save(update_fields=["agreed_on", "due_on"])
        _event(case, CaseEvent.Type.DEADLINE_AGREED, now=now, actor=actor, text=f"{day:%d.%m.%Y}")
        _audit(actor, "case.agree_deadline", case, day=day.isoformat())
    return clock


# --- the contact centre -------------------------------------------------------------------------------------


def _norm_words(text: str) -> list[str]:
    cleaned = "".join(ch if ch.isalnum() else " " for ch in (text or "").lower().replace("ё", "е"))
    return cleaned.split()


_ADDRESS_NOISE = {"г", "город", "ул", "улица", "д", "дом", "кв", "квартира", "пр", "проспект", "пер", "с", "п"}


def _address_matches(typed: str, address: str) -> bool:
    wanted = [w for w in _norm_words(typed) if w not in _ADDRESS_NOISE]
    have = set(_norm_words(address))
    return len(wanted) >= 2 and all(w in have for w in wanted)


def identify_caller(
    *,
    account: Account,
    actor,
    caller_name: str,
    method: str,
    relation: str,
    number: str = "",
    address: str = "",
    now: dt.datetime | None = None,
) -> CallerIdentification:
    """CC-5 / SEC-2: the caller gives their name and the client number or the address; recorded before the
    confidential part of the card opens. The number or the address must match the account's; an owner of a
    person's account must carry the account holder's surname."""
    now = _now(now)
    _require(actor, CALLS)
    caller_name = _one_line(caller_name, MAX_NAME + 1)
    if not caller_name or len(caller_name) > MAX_NAME:
        raise DomainError(_("Write how the caller introduced themselves: surname, name, patronymic."))
    if method not in CallerIdentification.Method.values:
        raise DomainError(_("Choose how the caller confirmed the identity."))
    if relation not in CallerIdentification.Relation.values:
        raise DomainError(_("Choose who the caller is to the client."))
    if method == CallerIdentification.Method.NAME_AND_NUMBER:
        if "".join((number or "").split()) != account.number:
            raise DomainError(_("The client number the caller gave does not match: the identity is not confirmed."))
    elif not any(_address_matches(address, p.address) for p in account.premises.all()):
        raise DomainError(_("The address the caller gave does not match: the identity is not confirmed."))
    customer = account.customer
    if (
        relation == CallerIdentification.Relation.OWNER
        and customer.kind == Customer.Kind.PERSON
        and customer.last_name
        and _norm_words(customer.last_name)[:1] != _norm_words(caller_name)[:1]
    ):
        raise DomainError(_("The caller's surname differs from the account holder's: the identity is not confirmed."))
    with transaction.atomic():
        row = CallerIdentification.objects.create(
            account=account, staff=actor, caller_name=caller_name, method=method, relation=relation, at=now
        )
        audit(actor, "client.identify", account, account_number=account.number, method=method, relation=relation)
    return row


def identification_of(account: Account, staff, now: dt.datetime | None = None) -> CallerIdentification | None:
    """The staff member's confirmation of the caller for this account, if it is recent enough."""
    now = _now(now)
    minutes = int(getattr(settings, "SBYT_IDENTIFICATION_MINUTES", IDENTIFICATION_MINUTES))
    return (
        CallerIdentification.objects.filter(account=account, staff=staff, at__gte=now - dt.timedelta(minutes=minutes))
        .order_by("-at")
        .first()
    )


def register_call(
    *,
    actor,
    topic: Topic | None,
    outcome: str,
    talk_seconds: int,
    after_call_seconds: int = 0,
    account: Account | None = None,
    caller_phone: str = "",
    note: str = "",
    kind: str = Kind.QUESTION,
    callback_on: dt.date | None = None,
    started_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Call:
    """CC-2: every call registered with its topic, operator and durations. «Case opened»: the question is written
    down as a case of channel «phone» with the callback due within the working day, or by the date agreed with
    the client (≤ 5 working days, APL-5)."""
    now = _now(now)
    _require(actor, CALLS)
    topic = _clean_topic(topic, required=True)
    if outcome not in Call.Outcome.values:
        raise DomainError(_("Choose the result of the call."))
    if not (0 <= int(talk_seconds) <= 24 * 3600 and 0 <= int(after_call_seconds) <= 24 * 3600):
        raise DomainError(_("The duration of the call is wrong."))
    note = (note or "").replace("\x00", "").strip()
    if len(note) > MAX_TEXT:
        raise DomainError(_("The text may be at most 10,000 characters long."))
    caller_phone = _clean_phone(caller_phone)
    identified = account is not None and identification_of(account, actor, now) is not None
    started_at = started_at or now - dt.timedelta(seconds=int(talk_seconds))
    with transaction.atomic():
        case = None
        if outcome == Call.Outcome.CASE_OPENED:
            if not note:
                raise DomainError(_("Write down the caller's question: it becomes the appeal."))
            if not (caller_phone or (account is not None and account.customer.phone)):
                raise DomainError(_("Write down the caller's phone number for the callback."))
            case = register_case(
                actor=actor,
                channel=Channel.PHONE,
                kind=kind,
                text=note,
                topic=topic,
                account=account,
                phone=caller_phone,
                answer_channel=AnswerChannel.PHONE,
                now=now,
            )
            if callback_on is not None:
                agree_deadline(case=case, day=callback_on, actor=actor, now=now)
        call = Call.objects.create(
            operator=actor,
            account=account,
            caller_phone=caller_phone,
            topic=topic,
            started_at=started_at,
            talk_seconds=int(talk_seconds),
            after_call_seconds=int(after_call_seconds),
            outcome=outcome,
            note=note,
            case=case,
            identified=identified,
        )
        audit(
            actor,
            "call.register",
            call,
            account_number=account.number if account else "",
            topic=topic.code,
            outcome=outcome,
            case=case.number if case else "",
        )
    return call


# --- SLA warnings (the periodic loop) ---------------------------------------------------------------------


def _office_ids(user) -> set[int]:
    return {o.pk for o in user.offices.all()} | {o.pk for o in user.managed_offices.all()}


def _supervisors(office_ids: set[int]) -> dict[int | None, list]:
    """Active staff with the supervisor's permission; per office those who work at it, else everyone."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    perm = Permission.objects.filter(content_type__app_label="cases", codename="supervise_cases").first()
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    if perm is None:
        return {}
    users = users.filter(Q(groups__permissions=perm) | Q(user_permissions=perm)).distinct()
    people = list(users.prefetch_related("offices", "managed_offices"))
    result: dict[int | None, list] = {None: people}
    for office_id in office_ids:
        result[office_id] = [u for u in people if office_id in _office_ids(u)] or people
    return result


def check_clocks(now: dt.datetime | None = None) -> dict[str, int]:
    """Warn the assignee and the supervisors of the clocks due today or on the next working day, and report the
    clocks that have just been breached — one e-mail per person, each clock once."""
    now = _now(now)
    open_clocks = list(
        CaseClock.objects.filter(stopped_at__isnull=True, paused_on__isnull=True)
        .filter(Q(warned_at__isnull=True) | Q(breach_notified_at__isnull=True))
        .select_related("case__branch", "case__assignee", "case__office")
    )
    to_warn, to_breach = [], []
    for clock in open_clocks:
        today = local_date(clock.case.branch, now)
        if clock.due_on < today and clock.breach_notified_at is None:
            to_breach.append(clock)
        elif today <= clock.due_on <= sla.next_working_day(today) and clock.warned_at is None:
            to_warn.append(clock)
    if not to_warn and not to_breach:
        return {"warned": 0, "breached": 0}
    supervisors = _supervisors({c.case.office_id for c in to_warn + to_breach if c.case.office_id})
    letters: dict[str, list[str]] = {}
    for clock, late in [(c, False) for c in to_warn] + [(c, True) for c in to_breach]:
        case = clock.case
        line = (
            _("LATE: No. %(number)s — %(clock)s, due %(due)s") if late else _("No. %(number)s — %(clock)s, due %(due)s")
        ) % {"number": case.number, "clock": clock.name, "due": f"{clock.due_on:%d.%m.%Y}"}
        people = list(supervisors.get(case.office_id, supervisors.get(None, [])))
        if case.assignee is not None:
            people.append(case.assignee)
        for person in people:
            if person.email:
                letters.setdefault(person.email, [])
                if line not in letters[person.email]:
                    letters[person.email].append(line)
    with transaction.atomic():
        for address, lines in letters.items():
            send_email(
                to=address,
                subject=_("Appeals: deadlines due soon or missed"),
                text="\n".join(sorted(lines)),
                purpose="case_sla",
                actor="sla",
            )
        CaseClock.objects.filter(pk__in=[c.pk for c in to_warn]).update(warned_at=now)
        CaseClock.objects.filter(pk__in=[c.pk for c in to_breach]).update(breach_notified_at=now, warned_at=now)
    return {"warned": len(to_warn), "breached": len(to_breach)}
