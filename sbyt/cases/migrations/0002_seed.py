"""The classifier, the SLA norms, the answer templates and the document checklists, seeded from the standards.

Sources: A = AtomEnergoSbyt standard (seeds/003), E = EnergosbyT Plus standard (seeds/004), K0 = Komi remote
channels (seeds/000). Every row is data an administrator edits afterwards; re-running updates rows by code.
"""

from django.db import migrations

APPEALS = ["question", "claim", "suggestion", "review"]
WRITTEN = ["post", "post_office_scan", "office_written", "complaints_book"]
ONLINE = ["cabinet", "web_form", "email", "messenger"]
OFFICE = ["office_oral", "office_written", "post", "post_office_scan", "phone", "complaints_book"]

TOPICS = [
    # code, name, parent code, order
    ("supply", "Качество и перерывы электроснабжения", None, 1),
    ("supply-quality", "Некачественное электроснабжение", "supply", 1),
    ("supply-outage", "Прекращение электроснабжения: причины и сроки восстановления", "supply", 2),
    ("metering", "Коммерческий учёт электроэнергии", None, 2),
    ("metering-install", "Установка, замена прибора учёта", "metering", 1),
    ("metering-verification", "Поверка прибора учёта", "metering", 2),
    ("metering-readings", "Показания приборов учёта", "metering", 3),
    ("metering-accuracy", "Корректность учёта", "metering", 4),
    ("metering-smart", "Интеллектуальная система учёта", "metering", 5),
    ("contracts", "Договоры", None, 3),
    ("contracts-conclusion", "Заключение договора", "contracts", 1),
    ("contracts-change", "Изменение, расторжение договора", "contracts", 2),
    ("contracts-reregistration", "Переоформление лицевого счёта", "contracts", 3),
    ("billing", "Начисления и расчёты", None, 4),
    ("billing-charges", "Начисления, перерасчёт", "billing", 1),
    ("billing-tariffs", "Тарифы и льготы", "billing", 2),
    ("billing-bills", "Платёжные документы и их доставка", "billing", 3),
    ("payments", "Оплата и задолженность", None, 5),
    ("payments-ways", "Способы оплаты, зачисление платежей", "payments", 1),
    ("payments-debt", "Задолженность, пени, ограничение подачи", "payments", 2),
    ("payments-certificate", "Справка об отсутствии задолженности", "payments", 3),
    ("service", "Претензии к действиям компании и качеству обслуживания", None, 6),
    ("service-office", "Обслуживание в офисе", "service", 1),
    ("service-contact-centre", "Работа контакт-центра", "service", 2),
    ("service-staff", "Действия (бездействие) сотрудников", "service", 3),
    ("service-remote", "Личный кабинет, сайт, дистанционные каналы", "service", 4),
    ("extra", "Дополнительные услуги", None, 7),
    ("other", "Другое", None, 8),
]

NORMS = [
    # code, name, milestone, kinds, channels, segment, start_stage, stop_stage, amount, unit, agreed_max, source
    ("registration", "Регистрация, классификация и передача исполнителю", "registration", [], [], "", "", "",
     1, "working_days", None, "A гл.4 §3 (не более 1 дня); K0 — почта: 1 рабочий день"),
    ("written-interim", "Ответ или промежуточный ответ на письменное обращение", "response", APPEALS, WRITTEN, "",
     "", "", 10, "calendar_days", None, "A гл.4 §3: не более 10 календарных дней"),
    ("answer-merits", "Ответ по существу", "resolution",
     APPEALS + ["meter_installation", "meter_replacement", "meter_verification", "supply_report"], [], "", "", "",
     14, "calendar_days", None, "A гл.4 §3, §8 11.2: не более 14 календарных дней"),
    ("email-answer", "Ответ или промежуточный ответ на обращение по электронной почте", "response", [], ["email"], "",
     "", "", 3, "calendar_days", None, "A гл.5 12.1: не более 3 дней"),
    ("web-form-contact", "Связь специалиста с клиентом после обращения с сайта", "response", [], ["web_form"], "",
     "", "", 3, "working_days", None, "A гл.5 §2 8: рассмотрение в течение 3 рабочих дней, затем звонок специалиста"),
    ("phone-callback", "Обратный звонок по сложному вопросу", "response", [], ["phone"], "", "", "",
     0, "working_days", 5, "A гл.4 §2 4: в течение рабочего дня или по согласованию, не позднее 5 рабочих дней"),
    ("office-oral", "Принятие мер по устному обращению в офисе", "resolution", APPEALS, ["office_oral"], "", "", "",
     10, "calendar_days", None, "A гл.6 12: 10 дней"),
    ("contract-missing-docs", "Уведомление о недостающих документах (в офисе)", "response", ["contract_conclusion"],
     ["office_oral", "office_written"], "", "", "", 0, "working_days", None, "A §8 1.3: в день обращения"),
    ("contract-refusal", "Отказ в заключении договора с указанием причин или приём документов", "stage",
     ["contract_conclusion"], [], "", "", "draft", 5, "calendar_days", None, "A §8 1.4: в течение 5 дней"),
    ("contract-draft-household", "Выдача проекта договора (физ. лицо, жилое помещение)", "stage",
     ["contract_conclusion"], [], "household", "", "signing", 10, "working_days", None, "A §8 1.6: 10 рабочих дней"),
    ("contract-draft-business", "Выдача проекта договора (юр. лицо, нежилое помещение)", "stage",
     ["contract_conclusion"], [], "business", "", "signing", 30, "calendar_days", None, "A §8 1.6: 30 дней"),
    ("contract-disagreement", "Ответ на протокол разногласий", "stage", ["contract_conclusion"], [], "",
     "disagreement", "signing", 10, "working_days", None, "A §8 1.7: 10 рабочих дней"),
    ("contract-online-notice", "Уведомление заявителя о ходе заключения договора (через Интернет)", "response",
     ["contract_conclusion"], ONLINE, "", "", "", 3, "working_days", None, "A §8 1, «По сети Интернет»: 3 рабочих дня"),
    ("contract-phone-notice", "Уведомление заявителя о недостающих документах или отказе (по телефону)", "response",
     ["contract_conclusion"], ["phone", "post", "post_office_scan"], "", "", "", 5, "calendar_days", None,
     "A §8 1, «По телефону»: 5 дней"),
    ("reregistration-office", "Переоформление лицевого счёта (в офисе)", "resolution", ["reregistration"], OFFICE,
     "", "", "", 3, "working_days", None, "A §8 4.1: 3 рабочих дня"),
    ("reregistration-online", "Переоформление лицевого счёта (личный кабинет, интернет-приёмная, e-mail)",
     "resolution", ["reregistration"], ONLINE, "", "", "", 2, "working_days", None, "A §8 4.2: 2 рабочих дня"),
    ("extra-service-call", "Звонок исполнителя клиенту для согласования дополнительной услуги", "response",
     ["extra_service"], [], "", "", "", 3, "working_days", None, "A §8 12.2: не более 3 рабочих дней"),
    ("contracts-change-answer", "Ответ по заявке об изменении или расторжении договора", "resolution",
     ["contract_change", "contract_termination", "extra_service", "no_debt_certificate"], [], "", "", "",
     14, "calendar_days", None, "Срок не задан стандартами: общий срок письменного ответа 14 дней [?]"),
]  # fmt: skip

GREETING = "Здравствуйте, {{ client_name }}!\n\n"
SIGNATURE = "\n\nИсполнитель: {{ executor }}, тел. {{ executor_phone }}.\n{{ site_name }}"

TEMPLATES = [
    # code, name, purpose, rejection, subject, text
    (
        "web_form_ack",
        "Подтверждение обращения с сайта",
        "acknowledgement",
        "",
        "Ваше обращение № {{ number }} получено",
        GREETING + "Благодарим Вас за обращение! Ваше обращение № {{ number }} от {{ received }} получено и будет "
        "рассмотрено в течение 3 рабочих дней, после чего с Вами свяжется специалист компании "
        "(не позднее {{ deadline }}).\n\n{{ site_name }}\nКонтакт-центр: {{ contact_phones }}",
    ),
    (
        "info_request",
        "Запрос недостающих сведений",
        "info_request",
        "",
        "",
        GREETING + "Для рассмотрения Вашего обращения № {{ number }} от {{ received }} просим сообщить: \n\n"
        "Срок рассмотрения обращения приостановлен до получения ответа. Ответить можно в личном кабинете, "
        "письмом или по телефону контакт-центра {{ contact_phones }}." + SIGNATURE,
    ),
    (
        "interim",
        "Промежуточный ответ",
        "interim",
        "",
        "",
        GREETING + "Ваше обращение № {{ number }} от {{ received }} требует дополнительного изучения. Ответ по "
        "существу будет направлен Вам тем же способом не позднее {{ deadline }}." + SIGNATURE,
    ),
    (
        "final",
        "Ответ по существу",
        "final",
        "",
        "",
        GREETING + "На Ваше обращение № {{ number }} от {{ received }} сообщаем.\n\n{{ answers }}" + SIGNATURE
        + "\n\nСпасибо за обращение!",
    ),
    (
        "not_considered_offensive",
        "Не рассматривается: оскорбления, угрозы",
        "not_considered",
        "offensive",
        "",
        GREETING + "Ваше обращение № {{ number }} от {{ received }} не рассматривается по существу: оно содержит "
        "нецензурные либо оскорбительные выражения, угрозы жизни, здоровью и имуществу сотрудника компании и не "
        "содержит вопроса по существу. Вы вправе обратиться повторно, изложив суть вопроса.\n\n{{ site_name }}",
    ),
    (
        "not_considered_unreadable",
        "Не рассматривается: текст не читается",
        "not_considered",
        "unreadable",
        "",
        GREETING + "Ваше обращение № {{ number }} от {{ received }} не рассматривается по существу: текст "
        "обращения не поддаётся прочтению. Просим направить обращение повторно в читаемом виде.\n\n{{ site_name }}",
    ),
    (
        "not_considered_repeat",
        "Не рассматривается: повторное обращение",
        "not_considered",
        "repeat",
        "",
        GREETING + "Ваше обращение № {{ number }} от {{ received }} не рассматривается по существу: в нём "
        "содержится вопрос, на который Вам уже был дан ответ по существу (обращение № {{ earlier_number }}), и не "
        "приводятся новые доводы или обстоятельства.\n\n{{ site_name }}",
    ),
    (
        "not_considered_trade_secret",
        "Не рассматривается: коммерческая тайна",
        "not_considered",
        "trade_secret",
        "",
        GREETING + "Ответ по существу вопроса, поставленного в Вашем обращении № {{ number }} от {{ received }}, не "
        "может быть дан без разглашения сведений, составляющих коммерческую тайну.\n\n{{ site_name }}",
    ),
    (
        "refusal",
        "Отказ по заявке",
        "refusal",
        "",
        "",
        GREETING + "По Вашей заявке № {{ number }} от {{ received }} ({{ kind }}) принято решение об отказе.\n"
        "Причины: {{ reason }}" + SIGNATURE,
    ),
    (
        "missing_documents",
        "Недостающие документы",
        "missing_documents",
        "",
        "",
        GREETING + "Для рассмотрения Вашей заявки № {{ number }} от {{ received }} ({{ kind }}) необходимо "
        "представить документы:\n{{ missing_documents }}\n\nИх можно приложить в личном кабинете или принести в "
        "офис обслуживания. Срок рассмотрения заявки приостановлен до их получения." + SIGNATURE,
    ),
    (
        "stage",
        "Уведомление об этапе заявки",
        "stage",
        "",
        "",
        GREETING + "Ваша заявка № {{ number }} от {{ received }} ({{ kind }}): {{ stage }}." + SIGNATURE,
    ),
]

IDENTITY = "Документ, удостоверяющий личность (для юридического лица — документ о полномочиях представителя)"
CHECKLISTS = {
    "contract_conclusion": [
        ("Заявление о заключении договора", True),
        (IDENTITY, True),
        ("Документ, подтверждающий право собственности или иное законное право на объект", True),
        ("Документы о технологическом присоединении (акт об осуществлении технологического присоединения)", True),
        ("Документы о приборе учёта (акт допуска в эксплуатацию)", False),
    ],
    "contract_change": [
        ("Заявление об изменении договора", True),
        (IDENTITY, True),
        ("Документ — основание изменения", True),
    ],
    "contract_termination": [
        ("Заявление о расторжении договора", True),
        (IDENTITY, True),
        ("Показания прибора учёта на дату расторжения", True),
    ],
    "reregistration": [
        ("Заявление о переоформлении лицевого счёта", True),
        (IDENTITY, True),
        ("Документ о праве собственности нового собственника (выписка из ЕГРН)", True),
        ("Показания прибора учёта на дату перехода права", True),
    ],
    "meter_installation": [("Заявление", True), (IDENTITY, True), ("Документ о праве на объект", True)],
    "meter_replacement": [("Заявление", True), (IDENTITY, True)],
    "meter_verification": [("Заявление", True), (IDENTITY, True)],
    "no_debt_certificate": [(IDENTITY, True)],
}


def seed(apps, schema_editor):
    Topic = apps.get_model("cases", "Topic")
    Norm = apps.get_model("cases", "Norm")
    AnswerTemplate = apps.get_model("cases", "AnswerTemplate")
    ChecklistItem = apps.get_model("cases", "ChecklistItem")
    by_code = {}
    for code, name, parent, order in TOPICS:
        topic, _ = Topic.objects.update_or_create(
            code=code, defaults={"name": name, "parent": by_code.get(parent), "order": order}
        )
        by_code[code] = topic
    for code, name, milestone, kinds, channels, segment, start, stop, amount, unit, agreed, source in NORMS:
        Norm.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "milestone": milestone,
                "kinds": kinds,
                "channels": channels,
                "segment": segment,
                "start_stage": start,
                "stop_stage": stop,
                "amount": amount,
                "unit": unit,
                "agreed_max": agreed,
                "source": source,
            },
        )
    for code, name, purpose, rejection, subject, text in TEMPLATES:
        AnswerTemplate.objects.update_or_create(
            code=code,
            defaults={"name": name, "purpose": purpose, "rejection": rejection, "subject": subject, "text": text},
        )
    for kind, items in CHECKLISTS.items():
        if ChecklistItem.objects.filter(kind=kind).exists():
            continue
        ChecklistItem.objects.bulk_create(
            [ChecklistItem(kind=kind, name=name, required=required, order=i) for i, (name, required) in enumerate(items)]
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
