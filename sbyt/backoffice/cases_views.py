"""Appeals and applications in the staff workspace (APL-1…11, APP-1…4, CC-2, CC-5, CC-7, REP-1).

- the queue of open cases for the back office (the earliest deadline first), the routing operator's queue of
  web-form complaints (APL-8), registering a case received in the office, by phone or by post;
- the case page: clocks, questions with their answers, the checklist and stages of an application, the messages,
  files, history, and the actions the role allows — every action is a service, whose refusal is shown as is;
- the supervisor's board: what is due today and what is late, by office and topic, the period report with charts
  and its XLSX export (REP-1, APL-10);
- the contact centre's part of the client card: identification of the caller (CC-5), the call registered with
  its topic (CC-2), a case with a callback, the client's cases, the operators' FAQ (CC-7).

Every staff look at a case (and so at its client) is audited (``audit_view``)."""

import datetime as dt
import io

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sbyt.cases import letters, queries, services, stages
from sbyt.cases.attachments import ALLOWED_ENDINGS, max_bytes, max_files
from sbyt.cases.models import (
    AnswerChannel,
    AnswerTemplate,
    Call,
    CallerIdentification,
    Case,
    Channel,
    FaqEntry,
    Kind,
    Rejection,
    Status,
    Topic,
)
from sbyt.core.audit import audit_view
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.forms import MultipleFileField
from sbyt.customers.queries import find_account
from sbyt.messaging.models import InboundMessage
from sbyt.offices.models import Office

from .views import staff_permission, staff_required

VIEW = "cases.view_case"
PER_PAGE = 50
TEMPLATES = "backoffice/cases/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_DAYS = 30
MAX_DAYS = 366


def _may(user, *perms) -> bool:
    return services.may(user, *perms)


def _case_or_404(number: str) -> Case:
    case = queries.case_by_number(number)
    if case is None:
        raise Http404("case")
    return case


def _look(request, case: Case, action: str = "case.view") -> None:
    audit_view(request.user, action, case, account_number=case.account.number if case.account_id else "")


def _topic_field(required=True, label=None):
    return forms.ModelChoiceField(
        label=label or gettext_lazy("Topic"),
        queryset=Topic.objects.filter(is_active=True).select_related("parent").order_by("parent__order", "order"),
        required=required,
        empty_label=_("— choose —"),
    )


def _worker_field(required=False):
    return forms.ModelChoiceField(
        label=gettext_lazy("Executor"), queryset=queries.workers(), required=required, empty_label=_("— nobody yet —")
    )


def _office_field():
    return forms.ModelChoiceField(
        label=gettext_lazy("Office"),
        queryset=Office.objects.filter(is_active=True).order_by("name"),
        required=False,
        empty_label=_("— remote channels —"),
    )


# --- forms of the case page -----------------------------------------------------------------------------------


class RegisterForm(forms.Form):
    account_number = forms.CharField(
        label=gettext_lazy("Client number (to link the case)"), max_length=20, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"] = _topic_field()
        self.fields["assignee"] = _worker_field()
        self.fields["office"] = _office_field()
        self.order_fields(["topic", "assignee", "office", "account_number"])

    def clean_account_number(self):
        number = "".join(self.cleaned_data["account_number"].split())
        if not number:
            return None
        account = find_account(number)
        if account is None:
            raise forms.ValidationError(_("No client with this number."))
        return account


class AssignForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = _worker_field(required=True)


class TextForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": gettext_lazy("Write the text.")},
    )


class QuestionAnswerForm(forms.Form):
    question = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    text = forms.CharField(
        label=gettext_lazy("Answer on the merits"),
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": gettext_lazy("Write the answer.")},
    )


class DeclineForm(forms.Form):
    rejection = forms.ChoiceField(label=gettext_lazy("Ground"), choices=Rejection.choices)
    repeat_of = forms.CharField(label=gettext_lazy("The earlier appeal (for a repeat)"), max_length=20, required=False)
    text = forms.CharField(
        label=gettext_lazy("Notice to the client (empty — from the template)"),
        max_length=services.MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class StageForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note for the client (optional)"), max_length=500, required=False)
    notify = forms.BooleanField(label=gettext_lazy("Tell the client"), required=False, initial=True)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        current = stages.find(case.kind, case.stage)
        choices = [(code, stages.label(case.kind, code)) for code in (current.next if current else ())]
        self.fields["stage"] = forms.ChoiceField(label=gettext_lazy("Next stage"), choices=choices)
        self.order_fields(["stage", "note", "notify"])


class DocumentForm(forms.Form):
    document = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    received = forms.BooleanField(required=False)


class AgreeForm(forms.Form):
    day = forms.DateField(label=gettext_lazy("Agreed date"), widget=forms.DateInput(attrs={"type": "date"}))


class ChannelForm(forms.Form):
    answer_channel = forms.ChoiceField(label=gettext_lazy("Answer"), choices=AnswerChannel.choices)
    email = forms.CharField(label=gettext_lazy("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=20, required=False)
    postal_address = forms.CharField(label=gettext_lazy("Postal address"), max_length=400, required=False)


class NoteForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("How the client answered"), max_length=500, required=False)


# --- the queues -----------------------------------------------------------------------------------------------


def _queue_access(user) -> None:
    if not (user.has_perm(VIEW) and _may(user, services.WORK, services.SUPERVISE, services.ROUTE, services.REGISTER)):
        raise DjangoPermissionDenied


class QueueFilter(forms.Form):
    q = forms.CharField(label=gettext_lazy("Number, applicant, client number"), max_length=100, required=False)
    show = forms.ChoiceField(
        label=gettext_lazy("Show"),
        required=False,
        choices=[
            ("", gettext_lazy("all open")),
            ("mine", gettext_lazy("mine")),
            ("unassigned", gettext_lazy("without an executor")),
            ("late", gettext_lazy("late")),
            ("waiting", gettext_lazy("waiting for the client")),
            ("received", gettext_lazy("not registered")),
        ],
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("Channel"), required=False, choices=[("", gettext_lazy("any"))] + Channel.choices
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"] = _topic_field(required=False)
        self.fields["topic"].empty_label = _("any")
        self.fields["office"] = _office_field()
        self.fields["office"].empty_label = _("any")


@staff_required
@require_GET
@never_cache
def case_queue(request):
    _queue_access(request.user)
    form = QueueFilter(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    show = data.get("show", "")
    cases = queries.staff_queue(
        status={"waiting": Status.WAITING, "received": Status.RECEIVED}.get(show, ""),
        assignee=request.user if show == "mine" else None,
        unassigned=show == "unassigned",
        overdue=show == "late",
        topic=data.get("topic"),
        office_id=data["office"].pk if data.get("office") else None,
        channel=data.get("channel", ""),
        query=data.get("q", ""),
    )
    page = Paginator(cases, PER_PAGE).get_page(request.GET.get("page"))
    audit_view(request.user, "case_queue.view", None, count=page.paginator.count, show=show)
    context = {
        "form": form,
        "page": page,
        "rows": _rows(page.object_list),
        "routing_count": queries.routing_queue().count() if _may(request.user, services.ROUTE) else None,
        "query": request.GET.urlencode(),
    }
    return render(request, TEMPLATES + "queue.html", context)


def _rows(cases) -> list[dict]:
    todays = queries.today_by_branch()
    rows = []
    for case in cases:
        open_clocks = [c for c in case.clocks.all() if c.stopped_at is None]
        next_clock = min(open_clocks, key=lambda c: c.due_on, default=None)
        today = todays.get(case.branch_id)
        rows.append(
            {
                "case": case,
                "clock": next_clock,
                "late": next_clock is not None and today is not None and next_clock.due_on < today,
                "today": next_clock is not None and next_clock.due_on == today,
            }
        )
    return rows


@staff_permission(VIEW, services.ROUTE)
@require_GET
@never_cache
def routing_queue(request):
    """APL-8: the web-form complaints the routing operator checks for completeness and routes."""
    cases = queries.routing_queue()
    page = Paginator(cases, PER_PAGE).get_page(request.GET.get("page"))
    audit_view(request.user, "routing_queue.view", None, count=page.paginator.count)
    return render(request, TEMPLATES + "routing.html", {"page": page, "rows": _rows(page.object_list)})


# --- registering a case (office, phone, post, e-mail) ----------------------------------------------------------


class NewCaseForm(forms.Form):
    channel = forms.ChoiceField(
        label=gettext_lazy("How it came"),
        choices=[(c.value, c.label) for c in services.STAFF_CHANNELS],
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Kind.choices)
    text = forms.CharField(
        label=gettext_lazy("Text of the appeal"),
        max_length=services.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": gettext_lazy("Write the text of the appeal.")},
    )
    question1 = forms.CharField(
        label=gettext_lazy("Another question (optional)"),
        max_length=services.MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    question2 = forms.CharField(
        label=gettext_lazy("Another question (optional)"),
        max_length=services.MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    account_number = forms.CharField(label=gettext_lazy("Client number"), max_length=20, required=False)
    applicant_name = forms.CharField(label=gettext_lazy("Applicant"), max_length=200, required=False)
    email = forms.CharField(label=gettext_lazy("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=20, required=False)
    postal_address = forms.CharField(label=gettext_lazy("Postal address"), max_length=400, required=False)
    answer_channel = forms.ChoiceField(
        label=gettext_lazy("Answer"),
        required=False,
        choices=[("", gettext_lazy("the way it came"))] + AnswerChannel.choices,
    )
    received_at = forms.DateTimeField(
        label=gettext_lazy("Received (for a letter: the date it came)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y"],
    )
    files = MultipleFileField(label=gettext_lazy("Scans and documents"), accept=ALLOWED_ENDINGS)
    inbound = forms.IntegerField(
        label=gettext_lazy("Messenger message No."),
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text=gettext_lazy(
            "For an appeal written in a messenger: the number of the stored message; the answer can then go back "
            "to that chat."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"] = _topic_field()
        self.fields["assignee"] = _worker_field()
        self.fields["office"] = _office_field()
        self.fields["files"].help_text = _(
            "Up to %(count)s files, each up to %(mb)s MB: PDF, JPEG, PNG, TIFF or DOCX."
        ) % {
            "count": max_files(),
            "mb": max_bytes() // (1024 * 1024),
        }
        self.order_fields(["channel", "kind", "topic", "text", "question1", "question2", "account_number"])

    def clean_account_number(self):
        number = "".join(self.cleaned_data["account_number"].split())
        if not number:
            return None
        account = find_account(number)
        if account is None:
            raise forms.ValidationError(_("No client with this number."))
        return account

    def clean_inbound(self):
        pk = self.cleaned_data["inbound"]
        if pk is None:
            return None
        message = InboundMessage.objects.filter(pk=pk).first()
        if message is None:
            raise forms.ValidationError(_("No stored message with this number."))
        return message


@staff_permission(VIEW, services.REGISTER)
@require_http_methods(["GET", "POST"])
def case_register(request):
    initial = {}
    number = "".join(request.GET.get("account", "").split())[:20]
    if number:
        initial["account_number"] = number
    if request.GET.get("channel") in {c.value for c in services.STAFF_CHANNELS}:
        initial["channel"] = request.GET["channel"]
    inbound = request.GET.get("inbound", "")
    valid = inbound.isascii() and inbound.isdigit() and len(inbound) < 19
    message = InboundMessage.objects.filter(pk=int(inbound)).first() if valid else None
    if message is not None:  # «register as an appeal» from a stored messenger message
        initial.update(inbound=message.pk, channel=Channel.MESSENGER, text=message.text)
    form = NewCaseForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.register_case(
                actor=request.user,
                channel=data["channel"],
                kind=data["kind"],
                text=data["text"],
                questions=[data["question1"], data["question2"]],
                topic=data["topic"],
                account=data["account_number"],
                applicant_name=data["applicant_name"],
                email=data["email"],
                phone=data["phone"],
                postal_address=data["postal_address"],
                answer_channel=data["answer_channel"] or None,
                office=data["office"],
                assignee=data["assignee"],
                received_at=data["received_at"],
                files=data["files"],
                inbound=data["inbound"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The appeal is registered: No. %(number)s.") % {"number": case.number})
            return redirect("backoffice:case", number=case.number)
    return render(request, TEMPLATES + "new.html", {"form": form}, status=400 if form.is_bound else 200)


# --- the case page ------------------------------------------------------------------------------------------------


def _template_text(case: Case, purpose: str, code: str = "", **extra) -> str:
    rows = AnswerTemplate.objects.filter(is_active=True, purpose=purpose)
    template = (rows.filter(code=code).first() if code else None) or rows.order_by("pk").first()
    return services.render_template(template, case, **extra)[1]


def _detail_context(request, case: Case, bound: dict | None = None) -> dict:
    user = request.user
    bound = bound or {}
    can_work = _may(user, services.WORK)
    can_route = _may(user, services.ROUTE) and case.needs_routing
    can_register = case.registered_at is None and (can_route or (not case.needs_routing and _may(
        user, services.WORK, services.REGISTER
    )))  # fmt: skip
    todays = queries.today_by_branch()
    today = todays.get(case.branch_id)
    final_code = request.GET.get("final_template", "")
    questions = list(case.questions.select_related("answered_by"))
    context = {
        "case": case,
        "questions": questions,
        "clocks": [
            {
                "clock": c,
                "late": c.stopped_at is None and today is not None and c.due_on < today,
                "today": c.due_on == today,
            }
            for c in case.clocks.all()
        ],
        "documents": list(case.documents.all()),
        "thread": list(case.messages.select_related("author", "outbound").order_by("at", "pk")),
        "attachments": list(case.attachments.all()),
        "events": list(case.events.select_related("actor").order_by("at", "pk")),
        "calls": list(case.calls.select_related("operator", "topic")),
        "stage_label": stages.label(case.kind, case.stage),
        "stage_list": [(s.code, s.label) for s in stages.stages_of(case.kind)],
        "can_work": can_work and case.is_open and case.registered_at is not None,
        "can_register": can_register and case.is_open,
        "can_route": can_route and case.is_open,
        "can_supervise": _may(user, services.SUPERVISE) and case.is_open,
        "can_agree": case.is_open
        and _may(user, services.WORK, services.REGISTER, services.CALLS)
        and any(c.agreed_max is not None and c.stopped_at is None for c in case.clocks.all()),
        "contact_problem": services.contact_problem(case),
        "final_templates": AnswerTemplate.objects.filter(is_active=True, purpose=AnswerTemplate.Purpose.FINAL),
        "final_code": final_code,
        "register_form": bound.get("register") or RegisterForm(initial={"topic": case.topic_id}),
        "assign_form": bound.get("assign") or AssignForm(initial={"assignee": case.assignee_id}),
        "info_form": bound.get("request_info")
        or TextForm(initial={"text": _template_text(case, AnswerTemplate.Purpose.INFO_REQUEST)}),
        "interim_form": bound.get("interim")
        or TextForm(initial={"text": _template_text(case, AnswerTemplate.Purpose.INTERIM)}),
        "final_form": bound.get("final")
        or TextForm(initial={"text": _template_text(case, AnswerTemplate.Purpose.FINAL, final_code)}),
        "question_form": bound.get("add_question") or TextForm(),
        "answer_forms": {
            q.pk: (bound.get(f"answer_{q.pk}") or QuestionAnswerForm(initial={"question": q.pk, "text": q.answer}))
            for q in questions
        },
        "decline_form": bound.get("decline") or DeclineForm(),
        "refuse_form": bound.get("refuse") or TextForm(),
        "stage_form": bound.get("stage") or (StageForm(case=case) if case.is_application else None),
        "agree_form": bound.get("agree") or AgreeForm(),
        "channel_form": bound.get("channel")
        or ChannelForm(
            initial={
                "answer_channel": case.answer_channel,
                "email": case.email,
                "phone": case.phone,
                "postal_address": case.postal_address,
            }
        ),
        "resume_form": NoteForm(),
        "rejections": Rejection.choices,
    }
    return context


def _render_case(request, case: Case, *, bound: dict | None = None, status: int = 200):
    with timezone.override(case.branch.time_zone):
        return render(request, TEMPLATES + "detail.html", _detail_context(request, case, bound), status=status)


@staff_permission(VIEW)
@require_GET
@never_cache
def case_detail(request, number: str):
    case = _case_or_404(number)
    _look(request, case)
    return _render_case(request, case)


def _question(case: Case, pk) -> object:
    question = case.questions.filter(pk=pk).first()
    if question is None:
        raise DomainError(_("No such question in this appeal."))
    return question


def _run(action: str, request, case: Case):
    """(form key, bound form, callable running the service, success message) of an action."""
    post = request.POST
    user = request.user
    if action == "register":
        form = RegisterForm(post)
        return (
            "register",
            form,
            lambda d: services.register_received(
                case=case,
                actor=user,
                topic=d["topic"],
                assignee=d["assignee"],
                office=d["office"],
                account=d["account_number"],
            ),
            _("The appeal is registered and handed over."),
        )
    if action == "assign":
        form = AssignForm(post)
        return (
            "assign",
            form,
            lambda d: services.assign_case(case=case, assignee=d["assignee"], actor=user),
            _("The executor is set."),
        )
    if action == "take":
        form = forms.Form(post)
        return (
            "take",
            form,
            lambda d: services.assign_case(case=case, assignee=user, actor=user),
            _("The appeal is yours now."),
        )
    if action in ("request_info", "interim", "final", "add_question", "refuse"):
        form = TextForm(post)
        run = {
            "request_info": lambda d: services.request_information(case=case, text=d["text"], actor=user),
            "interim": lambda d: services.send_interim_answer(case=case, text=d["text"], actor=user),
            "final": lambda d: services.send_final_answer(case=case, text=d["text"], actor=user),
            "add_question": lambda d: services.add_question(case=case, text=d["text"], actor=user),
            "refuse": lambda d: services.refuse_application(case=case, reasons=d["text"], actor=user),
        }[action]
        done = {
            "request_info": _("The request has been sent to the client; the deadlines are stopped until the answer."),
            "interim": _("The interim answer has been sent."),
            "final": _("The answer has been sent to the client."),
            "add_question": _("The question is added."),
            "refuse": _("The refusal has been sent to the client."),
        }[action]
        return action, form, run, done
    if action == "missing_documents":
        return (
            "missing_documents",
            forms.Form(post),
            lambda d: services.request_missing_documents(case=case, actor=user),
            _("The list of missing documents has been sent to the client."),
        )
    if action == "answer_question":
        form = QuestionAnswerForm(post)
        key = f"answer_{post.get('question', '')}"
        return (
            key,
            form,
            lambda d: services.answer_question(question=_question(case, d["question"]), text=d["text"], actor=user),
            _("The answer to the question is saved."),
        )
    if action == "decline":
        form = DeclineForm(post)

        def decline(d):
            earlier = None
            if d["repeat_of"]:
                earlier = queries.case_by_number(d["repeat_of"])
                if earlier is None:
                    raise DomainError(_("No appeal with this number."))
            services.decline_case(case=case, rejection=d["rejection"], actor=user, text=d["text"], repeat_of=earlier)

        return "decline", form, decline, _("The appeal is closed without consideration on the merits.")
    if action == "no_contact":
        return (
            "no_contact",
            forms.Form(post),
            lambda d: services.close_without_answer(case=case, actor=user),
            _("The appeal is closed without an answer: no contact data."),
        )
    if action == "resume":
        form = NoteForm(post)
        return (
            "resume",
            form,
            lambda d: services.resume_case(case=case, actor=user, note=d["note"]),
            _("The deadlines run again."),
        )
    if action == "stage":
        form = StageForm(post, case=case)
        return (
            "stage",
            form,
            lambda d: services.set_stage(case=case, stage=d["stage"], actor=user, notify=d["notify"], note=d["note"]),
            _("The stage is changed."),
        )
    if action == "document":
        form = DocumentForm(post)

        def document(d):
            row = case.documents.filter(pk=d["document"]).first()
            if row is None:
                raise DomainError(_("No such document in this application."))
            services.mark_document(document=row, received=d["received"], actor=user)

        return "document", form, document, _("The checklist is updated.")
    if action == "agree":
        form = AgreeForm(post)
        return (
            "agree",
            form,
            lambda d: services.agree_deadline(case=case, day=d["day"], actor=user),
            _("The date is agreed with the client."),
        )
    if action == "channel":
        form = ChannelForm(post)
        return (
            "channel",
            form,
            lambda d: services.set_answer_channel(
                case=case,
                answer_channel=d["answer_channel"],
                actor=user,
                email=d["email"],
                phone=d["phone"],
                postal_address=d["postal_address"],
            ),
            _("The way to answer is changed."),
        )
    raise Http404("action")


@staff_permission(VIEW)
@require_POST
def case_action(request, number: str, action: str):
    case = _case_or_404(number)
    key, form, run, done = _run(action, request, case)
    if not form.is_valid():
        _look(request, case)
        return _render_case(request, case, bound={key: form}, status=400)
    try:
        run(form.cleaned_data)
    except PermissionDenied as exc:
        messages.error(request, exc.message)
        _look(request, case)
        return _render_case(request, _case_or_404(number), status=403)
    except DomainError as exc:
        form.add_error(None, exc.message)
        messages.error(request, exc.message)
        _look(request, case)
        return _render_case(request, _case_or_404(number), bound={key: form}, status=400)
    messages.success(request, done)
    return redirect("backoffice:case", number=case.number)


@staff_permission(VIEW)
@require_GET
def case_file(request, number: str, pk: int):
    case = _case_or_404(number)
    attachment = case.attachments.filter(pk=pk).first()
    if attachment is None:
        raise Http404("file")
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("file")
    _look(request, case, "case.file")
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_permission(VIEW)
@require_GET
def case_letter(request, number: str, pk: int):
    """A message to the client as a letter on the letterhead (PDF, APL-3): the outgoing number, the signatory and
    the executor's contacts. A staff look at the client's data: audited."""
    case = _case_or_404(number)
    message = case.messages.filter(pk=pk, direction="out").select_related("author").first()
    if message is None:
        raise Http404("message")
    _look(request, case, "case.letter")
    return pdf_response(letters.message_letter(message), letters.letter_filename(message))


def pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- the supervisor's board and report ------------------------------------------------------------------------


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The start of the period must not be after its end."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(_("The period may be at most a year (366 days)."))
        return data


def _period(request) -> PeriodForm:
    if "start" in request.GET or "end" in request.GET:
        return PeriodForm(request.GET)
    today = timezone.localdate()
    return PeriodForm({"start": today - dt.timedelta(days=REPORT_DAYS - 1), "end": today})


def bar_chart(rows, value, *, label_width=230, width=360, bar=18) -> dict | None:
    """Horizontal bars for an inline SVG: one per row, the value's length scaled to the largest."""
    items = [(r.label, value(r)) for r in rows if value(r)]
    if not items:
        return None
    top = max(v for _l, v in items)
    bars = []
    for index, (text, amount) in enumerate(items):
        y = 8 + index * (bar + 8)
        length = max(1, round(amount / top * width))  # whole pixels: the template prints plain integers
        bars.append({"label": text[:40], "y": y, "text_y": y + bar - 5, "w": length, "end": label_width + length + 6,
                     "value": amount})  # fmt: skip
    return {"width": label_width + width + 60, "height": 16 + len(items) * (bar + 8), "label_w": label_width,
            "bar": bar, "bars": bars}  # fmt: skip


@staff_permission(VIEW, services.SUPERVISE)
@require_GET
@never_cache
def board(request):
    """The supervisor: every clock due today and every late one, counts by office and topic, the period report."""
    data = queries.clock_board()
    form = _period(request)
    report = queries.period_report(form.cleaned_data["start"], form.cleaned_data["end"]) if form.is_valid() else None
    audit_view(request.user, "case_board.view", None, due_today=len(data["due_today"]), late=len(data["late"]))
    context = {
        "board": data,
        "form": form,
        "report": report,
        "topic_chart": bar_chart(report["by_topic"], lambda r: r.received) if report else None,
        "channel_chart": bar_chart(report["by_channel"], lambda r: r.received) if report else None,
        "export_query": f"start={form.cleaned_data['start']:%Y-%m-%d}&end={form.cleaned_data['end']:%Y-%m-%d}"
        if report
        else "",
    }
    return render(request, TEMPLATES + "board.html", context, status=200 if form.is_valid() else 400)


def build_xlsx(report: dict, board_data: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    bold = Font(bold=True)
    late_fill = PatternFill("solid", fgColor="F8D7DA")
    book = Workbook()
    summary = book.active
    summary.title = _("Summary")
    summary.append([_("Appeals and applications"), report["start"], report["end"]])
    for cell in summary[1][1:]:
        cell.number_format = "DD.MM.YYYY"
    summary.append([_("Received"), report["total"]])
    summary.append([_("Still open"), report["open"]])
    summary.append([_("Answered"), report["answered"]])
    summary.append([_("Deadlines ended in the period"), report["clocks_done"]])
    summary.append([_("Of them kept"), report["clocks_met"]])
    share = summary.cell(row=summary.max_row + 1, column=1, value=_("Share kept"))
    value = summary.cell(row=share.row, column=2, value=report["kept_share"])
    value.number_format = "0.0%"
    for row in summary.iter_rows(min_col=1, max_col=1):
        row[0].font = bold
    summary.column_dimensions["A"].width = 36

    def table(title: str, first: str, rows, columns):
        sheet = book.create_sheet(title[:31])
        sheet.append([first, *[header for header, _get in columns]])
        for cell in sheet[1]:
            cell.font = bold
        for row in rows:
            sheet.append([row.label, *[get(row) for _header, get in columns]])
        sheet.column_dimensions["A"].width = 48
        sheet.freeze_panes = "B2"
        return sheet

    counts = [
        (_("Received"), lambda r: r.received),
        (_("Closed"), lambda r: r.closed),
        (_("Deadlines ended"), lambda r: r.clocks_done),
        (_("Kept"), lambda r: r.clocks_met),
        (_("Share kept"), lambda r: r.kept_share),
    ]
    for sheet in (
        table(_("By topic"), _("Topic"), report["by_topic"], counts),
        table(_("By office"), _("Office"), report["by_office"], [c for c in counts if c[0] != _("Closed")]),
    ):
        for row in sheet.iter_rows(min_row=2):
            row[-1].number_format = "0.0%"
    table(_("By channel"), _("Channel"), report["by_channel"], [(_("Received"), lambda r: r.received)])
    table(_("By kind"), _("Kind"), report["by_kind"], [(_("Received"), lambda r: r.received)])
    deadlines = table(
        _("Deadlines"),
        _("Deadline"),
        report["by_clock"],
        [
            (_("Ended"), lambda r: r.clocks_done),
            (_("Kept"), lambda r: r.clocks_met),
            (_("Share kept"), lambda r: r.kept_share),
        ],
    )
    for row in deadlines.iter_rows(min_row=2):
        row[-1].number_format = "0.0%"
    for title, clocks in ((_("Due today"), board_data["due_today"]), (_("Late"), board_data["late"])):
        sheet = book.create_sheet(title[:31])
        sheet.append([_("Appeal"), _("Deadline"), _("Due"), _("Topic"), _("Office"), _("Executor"), _("Received")])
        for cell in sheet[1]:
            cell.font = bold
        for clock in clocks:
            case = clock.case
            sheet.append(
                [
                    case.number,
                    clock.name,
                    clock.due_on,
                    str(case.topic) if case.topic_id else "",
                    case.office.name if case.office_id else "",
                    (case.assignee.get_full_name() or case.assignee.get_username()) if case.assignee_id else "",
                    timezone.localtime(case.received_at).replace(tzinfo=None),
                ]
            )
            sheet.cell(row=sheet.max_row, column=3).number_format = "DD.MM.YYYY"
            sheet.cell(row=sheet.max_row, column=7).number_format = "DD.MM.YYYY HH:MM"
            if title == _("Late"):
                sheet.cell(row=sheet.max_row, column=3).fill = late_fill
        for column, width in zip("ABCDEFG", (14, 48, 12, 40, 30, 24, 18), strict=True):
            sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@staff_permission(VIEW, services.SUPERVISE)
@require_GET
def board_xlsx(request):
    form = _period(request)
    if not form.is_valid():
        errors = "; ".join(str(e) for e in form.errors.get("__all__", [])) or _("Enter both dates of the period.")
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    report = queries.period_report(start, end)
    audit_view(request.user, "case_board.export", None, start=str(start), end=str(end))
    response = HttpResponse(build_xlsx(report, queries.clock_board()), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="appeals-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"'
    return response


# --- the contact centre: identification, calls, FAQ -----------------------------------------------------------------


class IdentifyForm(forms.Form):
    caller_name = forms.CharField(label=gettext_lazy("The caller introduced themselves as"), max_length=200)
    relation = forms.ChoiceField(label=gettext_lazy("Who the caller is"), choices=CallerIdentification.Relation.choices)
    method = forms.ChoiceField(
        label=gettext_lazy("Confirmed by"), choices=CallerIdentification.Method.choices, widget=forms.RadioSelect
    )
    number = forms.CharField(label=gettext_lazy("Client number as said"), max_length=20, required=False)
    address = forms.CharField(label=gettext_lazy("Address as said"), max_length=400, required=False)


class CallForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Result"), choices=Call.Outcome.choices)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind (for a case)"), choices=Kind.choices, initial=Kind.QUESTION, required=False
    )
    note = forms.CharField(
        label=gettext_lazy("The question and the answer given"),
        max_length=services.MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    caller_phone = forms.CharField(label=gettext_lazy("Caller's phone"), max_length=20, required=False)
    talk_minutes = forms.DecimalField(
        label=gettext_lazy("Talk, minutes"), min_value=0, max_value=600, decimal_places=1, initial=3
    )
    after_call_minutes = forms.DecimalField(
        label=gettext_lazy("After-call work, minutes"), min_value=0, max_value=600, decimal_places=1, initial=1
    )
    callback_on = forms.DateField(
        label=gettext_lazy("Callback agreed for (empty — within the working day)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"] = _topic_field()
        self.order_fields(["topic", "outcome", "note", "kind", "caller_phone", "callback_on"])


def card_extras(request, account) -> dict:
    """What the client card shows of this app: the caller's identification, the client's cases, the call form.
    Called from ``backoffice.views._card``."""
    user = request.user
    identification = services.identification_of(account, user)
    return {
        "case_rows": _rows(queries.account_cases(account)) if user.has_perm(VIEW) else None,
        "can_register_case": _may(user, services.REGISTER),
        "can_call": _may(user, services.CALLS),
        "identification": identification,
        # CC-5 / SEC-2: the phone operator sees the confidential part only after identifying the caller
        "confidential_open": not _may(user, services.CALLS) or identification is not None,
        "identify_form": IdentifyForm(initial={"method": CallerIdentification.Method.NAME_AND_NUMBER}),
        "call_form": CallForm(initial={"caller_phone": account.customer.phone}),
    }


def _card_again(request, account, *, status: int, **forms_):
    from .views import _card

    return _card(request, account, status=status, extra=forms_)


@staff_permission(services.CALLS)
@require_POST
def identify(request, number: str):
    account = find_account(number) if number.isdigit() else None
    if account is None:
        raise Http404("account")
    form = IdentifyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.identify_caller(
                account=account,
                actor=request.user,
                caller_name=data["caller_name"],
                method=data["method"],
                relation=data["relation"],
                number=data["number"],
                address=data["address"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The caller is identified: the confidential data are open for 30 minutes."))
            return redirect("backoffice:client_card", number=account.number)
    return _card_again(request, account, status=400, identify_form=form)


@staff_permission(services.CALLS)
@require_POST
def register_call(request, number: str = ""):
    account = None
    if number:
        account = find_account(number) if number.isdigit() else None
        if account is None:
            raise Http404("account")
    form = CallForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            call = services.register_call(
                actor=request.user,
                topic=data["topic"],
                outcome=data["outcome"],
                talk_seconds=int(data["talk_minutes"] * 60),
                after_call_seconds=int(data["after_call_minutes"] * 60),
                account=account,
                caller_phone=data["caller_phone"],
                note=data["note"],
                kind=data["kind"] or Kind.QUESTION,
                callback_on=data["callback_on"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            if call.case_id:
                messages.success(
                    request,
                    _("The call is registered; appeal No. %(number)s is opened, the callback is due %(due)s.")
                    % {"number": call.case.number, "due": _due_text(call.case)},
                )
            else:
                messages.success(request, _("The call is registered."))
            if account is not None:
                return redirect("backoffice:client_card", number=account.number)
            return redirect("backoffice:calls")
    if account is not None:
        return _card_again(request, account, status=400, call_form=form)
    return _calls_page(request, form=form, status=400)


def _due_text(case: Case) -> str:
    due = services.response_deadline(case)
    return f"{due:%d.%m.%Y}" if due else "—"


def _calls_page(request, *, form=None, status=200):
    calls = (
        Call.objects.filter(operator=request.user).select_related("topic", "account", "case").order_by("-started_at")
    )
    audit_view(request.user, "calls.view", None)
    faq_query = " ".join(request.GET.get("faq", "").split())[:100]
    return render(
        request,
        TEMPLATES + "calls.html",
        {"form": form or CallForm(), "calls": calls[:30], "faq": _faq(faq_query), "faq_query": faq_query},
        status=status,
    )


@staff_permission(services.CALLS)
@require_GET
def calls(request):
    """A call without an identified client (a general question): registered with its topic; the FAQ at hand."""
    return _calls_page(request)


def _faq(query: str):
    entries = FaqEntry.objects.filter(is_active=True).select_related("topic")
    if query:
        entries = entries.filter(Q(question__icontains=query) | Q(answer__icontains=query))
    return list(entries[:20])


@staff_required
@require_GET
def faq(request):
    if not request.user.has_perm("cases.view_faqentry"):
        raise DjangoPermissionDenied
    query = " ".join(request.GET.get("q", "").split())[:100]
    return render(request, TEMPLATES + "faq.html", {"entries": _faq(query), "query": query})
