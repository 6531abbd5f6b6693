"""Answer templates with variables: ``{{ name }}`` replaced by a fixed set of values, nothing else evaluated.

Templates are edited by administrators, so they are not Django templates (which could reach into the objects
passed to them): only the names below exist, and a template using another name is refused when it is saved.
"""

import re

VARIABLES = {
    "client_name": "имя клиента (как он представился)",
    "number": "номер обращения",
    "received": "дата поступления",
    "deadline": "срок (ответа, связи, этапа)",
    "kind": "вид обращения",
    "topic": "тема",
    "stage": "этап заявки",
    "answers": "ответы на вопросы обращения",
    "missing_documents": "перечень недостающих документов",
    "reason": "основание (отказа в рассмотрении, отказа по заявке)",
    "earlier_number": "номер ранее рассмотренного обращения",
    "executor": "исполнитель",
    "executor_phone": "телефон исполнителя",
    "site_name": "название компании",
    "contact_phones": "телефоны контакт-центра",
}

_VARIABLE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def unknown_variables(text: str) -> list[str]:
    return sorted({name for name in _VARIABLE.findall(text or "") if name not in VARIABLES})


def render_text(text: str, values: dict[str, str]) -> str:
    """Replace every known variable; a value missing from ``values`` becomes an empty string."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in VARIABLES:
            return match.group(0)
        return str(values.get(name, "") or "")

    rendered = _VARIABLE.sub(replace, text or "")
    return re.sub(r"\n{3,}", "\n\n", rendered).strip()
