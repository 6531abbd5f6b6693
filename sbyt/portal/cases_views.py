"""Appeals and applications on the public site and in the personal cabinet (PUB-4, PUB-5, CAB-13, CAB-14).

The public form needs no login: the case goes to the routing operator and the acknowledgement e-mail goes at once.
In the cabinet a client files an appeal or an application for one of their own accounts, follows its stages and
deadlines, reads the answers and replies with files. A client reaches only the cases of their own accounts
(``cases.queries.cases_for_client``); someone else's case is the same 404 as a missing one. Every rule is the
services'; their refusals are shown in their words, and nothing is saved."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from sbyt.cases import letters, queries, services
from sbyt.cases.attachments import ALLOWED_ENDINGS, max_bytes, max_files
from sbyt.cases.models import (
    APPEAL_KINDS,
    APPLICATION_KINDS,
    AnswerChannel,
    CaseEvent,
    ChecklistItem,
    Kind,
    Milestone,
    Topic,
)
from sbyt.cases.stages import label as stage_label
from sbyt.cases.stages import stages_of
from sbyt.core.errors import DomainError, NotFound
from sbyt.core.forms import MultipleFileField
from sbyt.customers.queries import accounts_for

from .forms import TelInput
from .views import GET_POST, _render, client_required

SENT = "portal.cases.sent"
TEMPLATES = "portal/cases/"
EXTRA_QUESTIONS = 2
PUBLIC_KINDS = [(k.value, k.label) for k in APPEAL_KINDS]


# --- forms ---------------------------------------------------------------------------------------------------


def _files_help() -> str:
    return _("Up to %(count)s files, each up to %(mb)s MB: PDF, JPEG, PNG, TIFF or DOCX.") % {
        "count": max_files(),
        "mb": max_bytes() // (1024 * 1024),
    }


def topic_choices() -> list:
    """The public topics as groups: a section with its subtopics (a section without any is one option)."""
    topics = list(Topic.objects.filter(is_active=True, public=True).order_by("order", "name"))
    children: dict[int, list] = {}
    for topic in topics:
        if topic.parent_id:
            children.setdefault(topic.parent_id, []).append((topic.pk, topic.name))
    choices: list = [("", _("— choose if you know —"))]
    for topic in topics:
        if topic.parent_id:
            continue
        if topic.pk in children:
            choices.append((topic.name, [(topic.pk, _("%(name)s: in general") % {"name": topic.name})]))
            choices[-1][1].extend(children[topic.pk])
        else:
            choices.append((topic.pk, topic.name))
    return choices


def _topic(form) -> Topic | None:
    value = form.cleaned_data.get("topic")
    if not value:
        return None
    return Topic.objects.filter(pk=value, is_active=True, public=True).first()


class AppealTextMixin(forms.Form):
    topic = forms.TypedChoiceField(label=gettext_lazy("Topic"), coerce=int, required=False, empty_value=None)
    text = forms.CharField(
        label=gettext_lazy("Your question or complaint"),
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": gettext_lazy("Write the text of the appeal.")},
    )
    files = MultipleFileField(label=gettext_lazy("Documents, photos (optional)"), accept=ALLOWED_ENDINGS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"].choices = topic_choices()
        self.fields["files"].help_text = _files_help()


class PublicAppealForm(AppealTextMixin):
    kind = forms.ChoiceField(
        label=gettext_lazy("What are you writing?"),
        choices=PUBLIC_KINDS,
        initial=Kind.CLAIM,
        widget=forms.RadioSelect,
    )
    name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=services.MAX_NAME,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": gettext_lazy("Enter your name.")},
    )
    email = forms.CharField(
        label=gettext_lazy("E-mail"),
        help_text=gettext_lazy("The confirmation comes here at once, and the answer if you choose e-mail."),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": gettext_lazy("Enter your e-mail: the confirmation and the answer come there.")},
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone (optional)"),
        help_text=gettext_lazy("The specialist may call you to clarify the details."),
        max_length=20,
        required=False,
        widget=TelInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    account_number = forms.CharField(
        label=gettext_lazy("Client number (optional)"),
        help_text=gettext_lazy("It is printed on your bill; it helps us find your data."),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    answer_channel = forms.ChoiceField(
        label=gettext_lazy("How do you want to get the answer?"),
        choices=[
            (AnswerChannel.EMAIL.value, gettext_lazy("by e-mail")),
            (AnswerChannel.SMS.value, gettext_lazy("by SMS to the mobile phone")),
            (AnswerChannel.POST.value, gettext_lazy("by post, a letter to my address")),
        ],
        initial=AnswerChannel.EMAIL,
        widget=forms.RadioSelect,
    )
    postal_address = forms.CharField(
        label=gettext_lazy("Postal address (for an answer by post)"),
        max_length=services.MAX_ADDRESS,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    consent = forms.BooleanField(
        label=gettext_lazy("I agree to the processing of my personal data to consider this appeal."),
        error_messages={
            "required": gettext_lazy(
                "Without the consent to the processing of personal data we cannot accept the appeal."
            )
        },
    )

    field_order = ["kind", "topic", "text", "files", "name", "email", "phone", "account_number"]


class CabinetCaseForm(AppealTextMixin):
    def __init__(self, *args, accounts=(), kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"] = forms.ChoiceField(
            label=gettext_lazy("What do you need?"),
            choices=[(k.value, k.label) for k in kinds],
            widget=forms.RadioSelect,
            error_messages={"required": gettext_lazy("Choose what you are sending.")},
        )
        if len(accounts) > 1:
            self.fields["account"] = forms.ChoiceField(
                label=gettext_lazy("Client number"), choices=[(a.number, a.number) for a in accounts]
            )
        for index in range(1, EXTRA_QUESTIONS + 1):
            self.fields[f"question{index}"] = forms.CharField(
                label=_("Another question (optional)"),
                max_length=services.MAX_TEXT,
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
        self.fields["answer_channel"] = forms.ChoiceField(
            label=gettext_lazy("How do you want to get the answer?"),
            choices=[
                (AnswerChannel.CABINET.value, gettext_lazy("here, in the personal cabinet")),
                (AnswerChannel.EMAIL.value, gettext_lazy("by e-mail on file")),
                (AnswerChannel.SMS.value, gettext_lazy("by SMS to the phone on file")),
                (AnswerChannel.POST.value, gettext_lazy("by post, to the address of the premises")),
            ],
            initial=AnswerChannel.CABINET,
            widget=forms.RadioSelect,
        )
        self.order_fields(["account", "kind", "topic", "text", "question1", "question2", "files", "answer_channel"])
        self.fields["text"].label = _("Text of the appeal or the application")


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Your message"),
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": gettext_lazy("Write the message.")},
    )
    files = MultipleFileField(label=gettext_lazy("Documents, photos (optional)"), accept=ALLOWED_ENDINGS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["files"].help_text = _files_help()


# --- the public form --------------------------------------------------------------------------------------------


def _too_many(request) -> bool:
    rate = getattr(settings, "RATELIMIT_APPEALS", "10/h")
    return is_ratelimited(request, group="portal.appeal.ip", key="ip", rate=rate, method="POST", increment=True)


@require_http_methods(GET_POST)
def public_appeal(request):
    """PUB-4: a question or a complaint without registration."""
    form = PublicAppealForm(request.POST or None, request.FILES or None)
    context = {"form": form, "files_help": _files_help()}
    if request.method == "POST":
        if _too_many(request):
            form.is_valid()
            form.add_error(None, _("Too many appeals from your address. Please try again later or call us."))
            return _render(request, TEMPLATES + "public_form.html", context, status=429)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.submit_web_form(
                    name=data["name"],
                    email=data["email"],
                    phone=data["phone"],
                    account_number=data["account_number"],
                    kind=data["kind"],
                    topic=_topic(form),
                    text=data["text"],
                    answer_channel=data["answer_channel"],
                    postal_address=data["postal_address"],
                    files=data["files"],
                    consent=data["consent"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                request.session[SENT] = {"number": case.number, "email": case.email}
                return redirect("portal:appeal_sent")
        return _render(request, TEMPLATES + "public_form.html", context, status=400)
    return _render(request, TEMPLATES + "public_form.html", context)


@require_GET
def appeal_sent(request):
    sent = request.session.get(SENT)
    if not sent:
        return redirect("portal:appeal")
    return _render(request, TEMPLATES + "public_sent.html", {"sent": sent})


# --- the cabinet ------------------------------------------------------------------------------------------------


def _client_case(request, number: str):
    try:
        return queries.case_for_client(request.user, number)
    except NotFound:
        raise Http404("case")


def client_clocks(case) -> list[dict]:
    """The deadlines a client is told: the answer, the first contact, the application's stages."""
    rows = []
    for clock in case.clocks.all():
        if clock.milestone == Milestone.REGISTRATION:
            continue
        rows.append(
            {
                "name": clock.name,
                "due_on": clock.due_on,
                "done": clock.stopped_at is not None,
                "paused": clock.paused,
                "late": clock.met is False,
            }
        )
    return rows


def _stage_rows(case) -> list[dict]:
    if not case.is_application:
        return []
    codes = [s.code for s in stages_of(case.kind)]
    current = codes.index(case.stage) if case.stage in codes else (len(codes) if case.stage == "done" else -1)
    rows = [
        {"label": s.label, "state": "done" if i < current else "current" if i == current else "next"}
        for i, s in enumerate(stages_of(case.kind))
    ]
    rows.append({"label": stage_label(case.kind, "done"), "state": "done" if case.stage == "done" else "next"})
    return rows


@client_required
@require_GET
def my_cases(request):
    cases = list(queries.cases_for_client(request.user)[:200])
    accounts = list(accounts_for(request.user))
    time_zone = accounts[0].branch.time_zone if accounts else None
    return _render(request, TEMPLATES + "list.html", {"cases": cases, "accounts": accounts}, time_zone=time_zone)


@client_required
@require_http_methods(GET_POST)
def case_new(request):
    accounts = list(accounts_for(request.user))
    if not accounts:
        messages.info(request, _("Link a client number to your login first."))
        return redirect("portal:home")
    application = request.GET.get("type") == "application" or request.POST.get("type") == "application"
    kinds = APPLICATION_KINDS if application else APPEAL_KINDS
    form = CabinetCaseForm(request.POST or None, request.FILES or None, accounts=accounts, kinds=kinds)
    items = list(ChecklistItem.objects.filter(is_active=True, kind__in=[k.value for k in kinds]))
    checklists = {k.label: [i for i in items if i.kind == k] for k in kinds if any(i.kind == k for i in items)}
    context = {
        "form": form,
        "application": application,
        "checklists": checklists,
        "files_help": _files_help(),
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        number = data.get("account") or accounts[0].number
        account = next((a for a in accounts if a.number == number), None)
        if account is None:
            raise Http404("account")
        try:
            case = services.file_case(
                user=request.user,
                account=account,
                kind=data["kind"],
                text=data["text"],
                questions=[data.get(f"question{i}", "") for i in range(1, EXTRA_QUESTIONS + 1)],
                topic=_topic(form),
                answer_channel=data["answer_channel"],
                files=data["files"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Your appeal is registered under No. %(number)s. Its stages and deadlines are below.")
                % {"number": case.number},
            )
            return redirect("portal:my_case", number=case.number)
    status = 400 if request.method == "POST" else 200
    return _render(request, TEMPLATES + "new.html", context, status=status, time_zone=accounts[0].branch.time_zone)


@client_required
@require_http_methods(GET_POST)
@never_cache
def case_detail(request, number: str):
    case = _client_case(request, number)
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reply_as_client(
                case=case, user=request.user, text=form.cleaned_data["text"], files=form.cleaned_data["files"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your message has been added to the appeal."))
            return redirect("portal:my_case", number=case.number)
    events = [e for e in case.events.all() if e.public]
    context = {
        "case": case,
        "events": events,
        "clocks": client_clocks(case),
        "stage_rows": _stage_rows(case),
        "questions": list(case.questions.all()),
        "thread": list(case.messages.order_by("at", "pk")),
        "attachments": list(case.attachments.all()),
        "form": form,
        "waiting": case.status == "waiting",
        "answer_due": services.answer_deadline(case),
        "event_types": CaseEvent.Type,
    }
    status = 400 if request.method == "POST" else 200
    return _render(request, TEMPLATES + "detail.html", context, status=status, time_zone=case.branch.time_zone)


@client_required
@require_GET
def case_file(request, number: str, pk: int):
    """A file of the client's own case, always as a download (never rendered inline by the browser)."""
    case = _client_case(request, number)
    attachment = case.attachments.filter(pk=pk).first()
    if attachment is None:
        raise Http404("file")
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("file")
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@client_required
@require_GET
def case_letter(request, number: str, pk: int):
    """The answer letter sent by post (APL-3), as the PDF the client received on paper."""
    case = _client_case(request, number)
    message = case.messages.filter(pk=pk, direction="out", channel=AnswerChannel.POST).select_related("author").first()
    if message is None:
        raise Http404("letter")
    response = HttpResponse(letters.message_letter(message), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{letters.letter_filename(message)}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
