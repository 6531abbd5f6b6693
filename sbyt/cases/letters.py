"""The answer letter as a PDF (APL-3): a message to the client printed on the letterhead, with the outgoing date and
number, the reference to the appeal, the addressee, the signatory and the executor's contacts.

Laid out directly with the billing documents' toolkit (``sbyt.billing.documents``: ``Sheet``, the embedded DejaVu
font, word wrap). Like the bills, the letter is in Russian whatever language the process has active. The
signatory is configuration: ``SBYT_CASES_SIGNATORY`` (position) and ``SBYT_CASES_SIGNATORY_NAME`` (initials and
surname; empty — a blank line to write it by hand).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from reportlab.lib.units import mm

from sbyt.billing.documents import BOLD, FONT, LEFT, NBSP, RIGHT, TOP, Sheet, day, fit, wrap

from .models import Case, CaseMessage

X = LEFT + 8 * mm  # a letter keeps 20 mm on the left for the binding (ГОСТ Р 7.0.97)
BODY_WIDTH = RIGHT - X
HEAD_WIDTH = 82 * mm  # the letterhead block, top left
ADDRESSEE_X = X + 95 * mm  # the addressee block, top right
ADDRESSEE_WIDTH = RIGHT - ADDRESSEE_X
BODY_SIZE = 11
BODY_LEADING = 15
DEFAULT_SIGNATORY = "Начальник отдела по работе с клиентами"


@dataclass(frozen=True, slots=True)
class LetterDocument:
    """What the letter prints: plain data, so it renders with no database."""

    company: str
    branch: str
    contact_phones: str
    outgoing_number: str
    date: dt.date
    case_number: str
    case_date: dt.date
    addressee: str
    address: str
    subject: str
    text: str
    signatory: str
    signatory_name: str
    executor: str
    executor_phone: str


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def letter_document(message: CaseMessage) -> LetterDocument:
    """The letter of an outgoing message of the case: dated in the branch's time zone, the executor being the
    employee who sent the message (else the case's assignee)."""
    from .services import local_date, template_values

    case: Case = message.case
    values = template_values(case)
    executor = _person(message.author) or values["executor"]
    return LetterDocument(
        company=values["site_name"],
        branch=case.branch.name,
        contact_phones=values["contact_phones"],
        outgoing_number=f"{case.number}/{message.pk}",
        date=local_date(case.branch, message.at),
        case_number=case.number,
        case_date=local_date(case.branch, case.received_at),
        addressee=case.applicant_name or values["client_name"],
        address=case.postal_address,
        subject=message.subject,
        text=message.text,
        signatory=getattr(settings, "SBYT_CASES_SIGNATORY", "") or DEFAULT_SIGNATORY,
        signatory_name=getattr(settings, "SBYT_CASES_SIGNATORY_NAME", ""),
        executor=executor,
        executor_phone=values["executor_phone"],
    )


def letter_filename(message: CaseMessage) -> str:
    return f"letter-{message.case.number}-{message.pk}.pdf"


def render_letter(doc: LetterDocument) -> bytes:
    """The letter as an A4 PDF; a long text flows onto further pages with a running head."""
    sheet = Sheet(title=f"Ответ на обращение № {doc.case_number}", author=doc.company, subject=doc.subject)

    def running_head(s: Sheet) -> None:
        s.text(X, TOP - 8, f"Исх. № {doc.outgoing_number} от {day(doc.date)}", 8)
        s.text(RIGHT, TOP - 8, f"лист {s.page}", 8, align="r")
        s.y = TOP - 12
        s.rule(s.y, X)
        s.y -= 4 * mm

    sheet.continuation = running_head
    # the letterhead, top left
    y = sheet.lines_of(X, TOP - 12, wrap(doc.company, HEAD_WIDTH, BOLD, 13, 2), 13, bold=True, leading=15)
    head = [*wrap(doc.branch, HEAD_WIDTH, FONT, 8.5, 2)]
    if doc.contact_phones:
        head += wrap(f"Контакт-центр: {doc.contact_phones.replace(' ', NBSP)}", HEAD_WIDTH, FONT, 8.5, 2)
    y = sheet.lines_of(X, y + 2, head, 8.5, leading=10.5)
    y -= 4 * mm
    sheet.text(X, y, f"{day(doc.date)} № {doc.outgoing_number}", 9.5)
    sheet.rule(y - 2, X, X + HEAD_WIDTH, 0.4)
    y -= 14
    sheet.text(X, y, f"На № {doc.case_number} от {day(doc.case_date)}", 9.5)
    sheet.rule(y - 2, X, X + HEAD_WIDTH, 0.4)
    left_bottom = y
    # the addressee, top right
    right = sheet.lines_of(ADDRESSEE_X, TOP - 30, wrap(doc.addressee, ADDRESSEE_WIDTH, BOLD, 11, 3), 11, bold=True,
                           leading=14)  # fmt: skip
    right = sheet.lines_of(ADDRESSEE_X, right, wrap(doc.address, ADDRESSEE_WIDTH, FONT, 10.5, 5), 10.5, leading=13.5)
    sheet.y = min(left_bottom, right) - 10 * mm
    if doc.subject:
        for line in wrap(doc.subject, 100 * mm, FONT, 10, 3):
            sheet.text(X, sheet.y, line, 10)
            sheet.y -= 12.5
        sheet.y -= 5 * mm
    # the text, flowing over pages
    sheet.y += BODY_LEADING - BODY_SIZE  # ``paragraph`` steps down a full leading before the first baseline
    sheet.paragraph(doc.text, BODY_SIZE, x=X, width=BODY_WIDTH, leading=BODY_LEADING)
    # the signature block stays whole: position on the left, the line and the name on the right
    position = wrap(doc.signatory, 80 * mm, FONT, BODY_SIZE, 3)
    sheet.need(14 * mm + len(position) * BODY_LEADING + 14 * mm)
    sheet.y -= 14 * mm
    baseline = sheet.y
    sheet.lines_of(X, baseline, position, BODY_SIZE, leading=BODY_LEADING)
    sheet.rule(baseline - 2, X + 95 * mm, X + 130 * mm, 0.5)
    sheet.text(X + 112.5 * mm, baseline - 10, "подпись", 6.5, align="c")
    if doc.signatory_name:
        sheet.text(RIGHT, baseline, fit(doc.signatory_name, RIGHT - X - 133 * mm, FONT, BODY_SIZE), BODY_SIZE,
                   align="r")  # fmt: skip
    else:
        sheet.rule(baseline - 2, X + 135 * mm, RIGHT, 0.5)
    sheet.y = baseline - len(position) * BODY_LEADING
    # the executor's contacts at the foot of the last page (ГОСТ Р 7.0.97: «исполнитель» under the text)
    executor = [f"Исп.: {doc.executor or '—'}"]
    if doc.executor_phone:
        executor.append(f"тел. {doc.executor_phone}")
    sheet.need(12 * mm + 20)
    sheet.lines_of(X, sheet.bottom + 6 * mm + 10, [fit(line, BODY_WIDTH, FONT, 8) for line in executor], 8, leading=10)
    return sheet.finish()


def message_letter(message: CaseMessage) -> bytes:
    return render_letter(letter_document(message))
