"""API v1: the client's appeals and applications (CAB-13, CAB-14) — list, detail with stages, deadlines and
answers, filing, replying, attaching files, downloading them. Only the caller's own cases; someone else's is the
same 404 as a missing one. Every change goes through ``cases.services``."""

import datetime as dt

from django.http import FileResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile

from sbyt.cases import queries, services
from sbyt.cases.models import APPLICATION_KINDS, AnswerChannel, Case, Kind, Milestone, Topic
from sbyt.cases.stages import label as stage_label
from sbyt.cases.stages import stages_of
from sbyt.core.errors import NotFound
from sbyt.customers.queries import account_for

from .schemas import ErrorOut, ValidationErrorOut

router = Router(tags=["cases"])
MAX_ID = 2**63 - 1


class TopicOut(Schema):
    id: int
    name: str
    parent_id: int | None


class KindOut(Schema):
    code: str
    label: str
    application: bool


class CaseBriefOut(Schema):
    number: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    subject: str
    received_at: dt.datetime
    account: str | None
    answer_due: dt.date | None = Field(None, description="When the answer is due (open cases)")


class StageOut(Schema):
    code: str
    label: str
    state: str = Field(..., description="done, current or next")


class DeadlineOut(Schema):
    name: str
    due_on: dt.date
    done: bool
    paused: bool = Field(..., description="Stopped while the company waits for the client")


class QuestionOut(Schema):
    order: int
    text: str


class MessageOut(Schema):
    id: int
    direction: str = Field(..., description="out: to the client; in: from the client")
    purpose: str
    purpose_label: str
    channel: str
    at: dt.datetime
    text: str


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str


class CaseOut(CaseBriefOut):
    channel: str
    channel_label: str
    topic: str | None
    answer_channel: str
    stage: str
    stage_label: str
    stages: list[StageOut]
    deadlines: list[DeadlineOut]
    questions: list[QuestionOut]
    messages: list[MessageOut]
    attachments: list[AttachmentOut]
    waiting_for_client: bool


class CaseIn(Schema):
    account: str = Field(..., max_length=20, description="The client number the case is about")
    kind: str = Field(..., max_length=32, description="See GET /cases/kinds")
    text: str = Field(..., max_length=services.MAX_TEXT)
    questions: list[str] = Field(default_factory=list, max_length=services.MAX_QUESTIONS - 1)
    topic_id: int | None = None
    answer_channel: str = Field(AnswerChannel.CABINET.value, max_length=16, description="cabinet, email, sms, post")


class MessageIn(Schema):
    text: str = Field(..., max_length=services.MAX_TEXT)


def _brief(case: Case) -> dict:
    return {
        "number": case.number,
        "kind": case.kind,
        "kind_label": case.get_kind_display(),
        "status": case.status,
        "status_label": case.get_status_display(),
        "subject": case.subject,
        "received_at": case.received_at,
        "account": case.account.number if case.account_id else None,
        "answer_due": services.answer_deadline(case) if case.is_open else None,
    }


def _stages(case: Case) -> list[dict]:
    codes = [s.code for s in stages_of(case.kind)]
    if not codes:
        return []
    current = codes.index(case.stage) if case.stage in codes else (len(codes) if case.stage == "done" else -1)
    rows = [
        {"code": s.code, "label": s.label, "state": "done" if i < current else "current" if i == current else "next"}
        for i, s in enumerate(stages_of(case.kind))
    ]
    rows.append(
        {"code": "done", "label": stage_label(case.kind, "done"), "state": "done" if case.stage == "done" else "next"}
    )
    return rows


def _detail(case: Case) -> dict:
    return _brief(case) | {
        "channel": case.channel,
        "channel_label": case.get_channel_display(),
        "topic": str(case.topic) if case.topic_id else None,
        "answer_channel": case.answer_channel,
        "stage": case.stage,
        "stage_label": stage_label(case.kind, case.stage),
        "stages": _stages(case),
        "deadlines": [
            {"name": c.name, "due_on": c.due_on, "done": c.stopped_at is not None, "paused": c.paused}
            for c in case.clocks.all()
            if c.milestone != Milestone.REGISTRATION
        ],
        "questions": [{"order": q.order, "text": q.text} for q in case.questions.all()],
        "messages": [
            {
                "id": m.pk,
                "direction": m.direction,
                "purpose": m.purpose,
                "purpose_label": m.get_purpose_display(),
                "channel": m.channel,
                "at": m.at,
                "text": m.text,
            }
            for m in case.messages.order_by("at", "pk")
        ],
        "attachments": [
            {"id": a.pk, "name": a.original_name, "size": a.size, "content_type": a.content_type}
            for a in case.attachments.all()
        ],
        "waiting_for_client": case.status == Case.Status.WAITING,
    }


@router.get("/topics", response=list[TopicOut], summary="The topics of appeals (the classifier)")
def list_topics(request):
    return [
        {"id": t.pk, "name": t.name, "parent_id": t.parent_id}
        for t in Topic.objects.filter(is_active=True, public=True).order_by("parent_id", "order", "name")
    ]


@router.get("/kinds", response=list[KindOut], summary="What can be sent: appeals and applications")
def list_kinds(request):
    return [{"code": k.value, "label": k.label, "application": k in APPLICATION_KINDS} for k in Kind]


@router.get("", response=list[CaseBriefOut], summary="The caller's appeals and applications")
def list_cases(request):
    return [_brief(case) for case in queries.cases_for_client(request.user)[:200]]


@router.post("", response={201: CaseOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut})
def create_case(request, payload: CaseIn):
    """File an appeal or an application for one of the caller's accounts; files are added with
    ``POST /cases/{number}/attachments``."""
    account = account_for(request.user, payload.account)
    topic = None
    if payload.topic_id is not None:
        topic = (
            Topic.objects.filter(pk=payload.topic_id, is_active=True, public=True).first()
            if 0 < payload.topic_id <= MAX_ID
            else None
        )
        if topic is None:
            raise NotFound(_("Topic not found."))
    case = services.file_case(
        user=request.user,
        account=account,
        kind=payload.kind,
        text=payload.text,
        questions=payload.questions,
        topic=topic,
        answer_channel=payload.answer_channel,
        channel=Case.Channel.CABINET,
    )
    return Status(201, _detail(queries.case_for_client(request.user, case.number)))


@router.get("/{number}", response={200: CaseOut, 404: ErrorOut}, summary="One case with stages, deadlines, answers")
def get_case(request, number: str):
    return _detail(queries.case_for_client(request.user, number))


@router.post("/{number}/messages", response={201: CaseOut, 400: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut})
def post_message(request, number: str, payload: MessageIn):
    """The client's reply: a case waiting for the client resumes (its deadlines run again)."""
    case = queries.case_for_client(request.user, number)
    services.reply_as_client(case=case, user=request.user, text=payload.text)
    return Status(201, _detail(queries.case_for_client(request.user, number)))


@router.post(
    "/{number}/attachments",
    response={201: CaseOut, 400: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Attach files (multipart/form-data, field «files»)",
)
def post_attachments(request, number: str, files: list[UploadedFile] = File(...), text: str = ""):  # noqa: B008
    case = queries.case_for_client(request.user, number)
    services.reply_as_client(case=case, user=request.user, text=text or _("Documents attached."), files=files)
    return Status(201, _detail(queries.case_for_client(request.user, number)))


@router.get("/{number}/attachments/{attachment_id}", response={404: ErrorOut}, summary="Download a file")
def get_attachment(request, number: str, attachment_id: int):
    case = queries.case_for_client(request.user, number)
    attachment = case.attachments.filter(pk=attachment_id).first() if 0 < attachment_id <= MAX_ID else None
    if attachment is None:
        raise NotFound(_("File not found."))
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise NotFound(_("File not found."))
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
