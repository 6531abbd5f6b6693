"""Stages of applications per kind, and the transitions allowed between them (APP-1…4, CAB-14).

Appeals have no stages beyond their status. An application starts at its first stage when registered; the last
stage, ``done``, is reached by the final answer (``services.send_final_answer``), never by ``set_stage``. Labels are
Russian literals: they are the product's data vocabulary, like choice labels.
"""

from dataclasses import dataclass

from .models import Kind

DONE = "done"


@dataclass(frozen=True)
class Stage:
    code: str
    label: str
    next: tuple[str, ...]  # the stages it may move to (besides ``done`` through the final answer)
    checklist: bool = False  # the documents stage: the checklist is worked here


_CONTRACT_CONCLUSION = (
    Stage("documents", "проверка документов", ("draft",), checklist=True),
    Stage("draft", "подготовка проекта договора", ("signing",)),
    Stage("signing", "проект договора выдан, подписание", ("disagreement",)),
    Stage("disagreement", "рассмотрение протокола разногласий", ("signing",)),
)
_CONTRACT_CHANGE = (
    Stage("documents", "проверка документов", ("preparation",), checklist=True),
    Stage("preparation", "подготовка дополнительного соглашения", ("signing",)),
    Stage("signing", "подписание", ()),
)
_CONTRACT_TERMINATION = (
    Stage("documents", "проверка документов", ("preparation",), checklist=True),
    Stage("preparation", "подготовка соглашения о расторжении и окончательного расчёта", ("signing",)),
    Stage("signing", "подписание", ()),
)
_REREGISTRATION = (
    Stage("documents", "проверка документов", ("processing",), checklist=True),
    Stage("processing", "переоформление лицевого счёта", ()),
)
_METER = (
    Stage("documents", "проверка документов", ("scheduling",), checklist=True),
    Stage("scheduling", "согласование даты работ с клиентом", ("work",)),
    Stage("work", "выполнение работ", ()),
)
_EXTRA_SERVICE = (
    Stage("scheduling", "исполнитель согласует с клиентом время оказания услуги", ("work",)),
    Stage("work", "оказание услуги", ()),
)
_CERTIFICATE = (Stage("preparation", "подготовка справки", ()),)
_SUPPLY = (Stage("grid", "передано в сетевую организацию, выясняются причины и сроки восстановления", ()),)

STAGES: dict[str, tuple[Stage, ...]] = {
    Kind.CONTRACT_CONCLUSION: _CONTRACT_CONCLUSION,
    Kind.CONTRACT_CHANGE: _CONTRACT_CHANGE,
    Kind.CONTRACT_TERMINATION: _CONTRACT_TERMINATION,
    Kind.REREGISTRATION: _REREGISTRATION,
    Kind.METER_INSTALLATION: _METER,
    Kind.METER_REPLACEMENT: _METER,
    Kind.METER_VERIFICATION: _METER,
    Kind.EXTRA_SERVICE: _EXTRA_SERVICE,
    Kind.NO_DEBT_CERTIFICATE: _CERTIFICATE,
    Kind.SUPPLY_REPORT: _SUPPLY,
}

DONE_LABEL = "исполнено"


def stages_of(kind: str) -> tuple[Stage, ...]:
    return STAGES.get(kind, ())


def first_stage(kind: str) -> str:
    stages = stages_of(kind)
    return stages[0].code if stages else ""


def find(kind: str, code: str) -> Stage | None:
    return next((s for s in stages_of(kind) if s.code == code), None)


def label(kind: str, code: str) -> str:
    if code == DONE:
        return DONE_LABEL
    stage = find(kind, code)
    return stage.label if stage else ""


def can_move(kind: str, current: str, target: str) -> bool:
    stage = find(kind, current)
    return stage is not None and target in stage.next


def all_codes() -> set[str]:
    return {s.code for stages in STAGES.values() for s in stages} | {DONE}
