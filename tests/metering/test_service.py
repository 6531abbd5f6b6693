"""The one readings service: every reason code, stored rows, history, audit, review."""

import datetime as dt

import pytest
import time_machine

from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.metering.models import Meter, Reading
from sbyt.metering.rules import Reason
from sbyt.metering.services import approve_reading, reject_reading, submit_reading
from tests.factories import (
    BranchFactory,
    MeterFactory,
    ReadingFactory,
    UserFactory,
    WindowFactory,
    aware,
    staff_login,
)

pytestmark = pytest.mark.django_db

NOV_20 = aware(2026, 11, 20)


@pytest.fixture
def meter():
    meter = MeterFactory()
    WindowFactory(branch=meter.contract.account.branch)
    ReadingFactory(meter=meter, t1=1000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    return meter


def submit(meter, *values, at=NOV_20, channel="cabinet", actor=None):
    return submit_reading(meter=meter, values=list(values), channel=channel, actor=actor, received_at=at)


def live(meter):
    return list(Reading.objects.filter(meter=meter, status__in=["accepted", "held"]).order_by("period"))


def test_accepted_stores_the_reading_with_who_and_when(meter):
    user = UserFactory()
    result = submit(meter, "1150", actor=user)
    assert result.reason == Reason.ACCEPTED
    assert result.message == "Показания приняты. Спасибо."
    assert result.accepted
    assert result.previous.values == (1000,)
    assert result.previous.received_on == dt.date(2026, 10, 20)
    reading = result.reading
    assert (reading.t1, reading.period, reading.status) == (1150, dt.date(2026, 11, 1), "accepted")
    assert reading.submitted_by == user
    assert reading.channel == "cabinet"
    assert reading.received_at == NOV_20
    entry = AuditEntry.objects.get(action="reading.submit")
    assert entry.actor == user
    assert entry.account_number == meter.contract.account.number
    assert entry.details["reason"] == "accepted"


def test_channel_actor_is_recorded_by_name(meter):
    submit(meter, "1150", channel="sms", actor="sms:+79120000000")
    assert AuditEntry.objects.get(action="reading.submit").actor_label == "sms:+79120000000"


def test_repeat_is_already_accepted_and_stores_nothing(meter):
    submit(meter, "1150")
    count = Reading.objects.count()
    result = submit(meter, "1150", at=aware(2026, 11, 21))
    assert result.reason == Reason.ALREADY_ACCEPTED
    assert result.message == "Эти показания уже приняты. Спасибо."
    assert Reading.objects.count() == count


def test_new_values_in_the_window_replace_the_period_reading_history_kept(meter):
    first = submit(meter, "1150").reading
    second = submit(meter, "1160", at=aware(2026, 11, 22)).reading
    first.refresh_from_db()
    assert first.status == "superseded"
    assert [r.pk for r in live(meter)][-1] == second.pk
    # the replacement is compared with the previous period, not with the replaced value
    third = submit(meter, "1100", at=aware(2026, 11, 23))
    assert third.reason == Reason.ACCEPTED
    assert third.previous.values == (1000,)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (["abc"], Reason.INVALID_VALUE),
        (["1150,5"], Reason.NOT_WHOLE_NUMBER),
        ([""], Reason.EMPTY_VALUE),
        (["1150", "20"], Reason.WRONG_VALUE_COUNT),
        (["123456"], Reason.TOO_MANY_DIGITS),
        (["990"], Reason.LOWER_THAN_PREVIOUS),
    ],
)
def test_refusals_store_the_raw_input_as_rejected_and_change_nothing_live(meter, values, reason):
    before = [(r.pk, r.status) for r in live(meter)]
    result = submit(meter, *values)
    assert result.reason == reason
    assert not result.accepted
    assert result.message
    assert [(r.pk, r.status) for r in live(meter)] == before
    rejected = Reading.objects.get(meter=meter, status="rejected")
    assert rejected.reason == reason.value
    assert rejected.raw == " ".join(values)


def test_lower_than_previous_names_the_previous_value_and_date(meter):
    result = submit(meter, "990")
    assert result.message == "Показание меньше предыдущего принятого (1000 от 20.10.2026). Проверьте цифры."


def test_rollover_is_accepted(meter):
    Reading.objects.update(t1=99950)
    result = submit(meter, "30")
    assert result.reason == Reason.ACCEPTED
    assert result.reading.is_rollover


def test_meter_not_in_service(meter):
    Meter.objects.filter(pk=meter.pk).update(status=Meter.Status.FAULTY)
    result = submit(meter, "1150")
    assert result.reason == Reason.METER_NOT_IN_SERVICE
    assert meter.serial in result.message


def test_overdue_verification(meter):
    Meter.objects.filter(pk=meter.pk).update(verification_due=dt.date(2026, 1, 1))
    result = submit(meter, "1150")
    assert result.reason == Reason.METER_NOT_IN_SERVICE
    assert "поверки" in result.message


def test_smart_meter(meter):
    Meter.objects.filter(pk=meter.pk).update(is_smart=True)
    assert submit(meter, "1150").reason == Reason.SMART_METER


def test_outside_window_next_period_policy(meter):
    result = submit(meter, "1150", at=aware(2026, 11, 27))
    assert result.reason == Reason.ACCEPTED_NEXT_PERIOD
    assert result.reading.period == dt.date(2026, 12, 1)
    assert "декабрь 2026" in result.message


def test_outside_window_refuse_policy(meter):
    branch = meter.contract.account.branch
    branch.late_reading_policy = "refuse"
    branch.save()
    result = submit(meter, "1150", at=aware(2026, 11, 27))
    assert result.reason == Reason.OUTSIDE_WINDOW
    assert result.message == "Показания принимаются с 18 по 25 число каждого месяца. Передайте их в эти дни."
    assert live(meter)[-1].period != dt.date(2026, 12, 1)


def test_window_is_in_the_branch_local_time():
    branch = BranchFactory(code="38", name="Иркутский", time_zone="Asia/Irkutsk", late_reading_policy="refuse")
    meter = MeterFactory(contract__premises__account__branch=branch)
    WindowFactory(branch=branch)
    # 17 Nov 20:00 UTC is already 18 Nov 04:00 in Irkutsk: inside the window there.
    at = dt.datetime(2026, 11, 17, 20, tzinfo=dt.UTC)
    assert submit(meter, "10", at=at).reason == Reason.ACCEPTED


def test_channel_specific_window(meter):
    branch = meter.contract.account.branch
    branch.late_reading_policy = "refuse"
    branch.save()
    WindowFactory(branch=branch, channel="voice", first_day=18, last_day=20)
    assert submit(meter, "1150", channel="voice", at=aware(2026, 11, 22)).reason == Reason.OUTSIDE_WINDOW
    assert submit(meter, "1150", channel="sms", at=aware(2026, 11, 22)).reason == Reason.ACCEPTED


def test_dated_window_validity(meter):
    branch = meter.contract.account.branch
    branch.late_reading_policy = "refuse"
    branch.save()
    WindowFactory(branch=branch, first_day=15, last_day=26, valid_from=dt.date(2026, 11, 1))
    assert submit(meter, "1150", at=aware(2026, 11, 16)).reason == Reason.ACCEPTED
    assert submit(meter, "1150", at=aware(2026, 10, 16)).reason == Reason.OUTSIDE_WINDOW


def test_implausible_consumption_is_held_and_the_client_is_told(meter):
    ReadingFactory(meter=meter, t1=0, period=dt.date(2025, 11, 1), received_at=aware(2025, 11, 20))
    result = submit(meter, "9000")
    assert result.reason == Reason.HELD_FOR_REVIEW
    assert result.accepted
    assert "проверит специалист" in result.message
    assert result.reading.status == "held"


def test_multi_zone_meter():
    meter = MeterFactory(zones=3, digits=6)
    WindowFactory(branch=meter.contract.account.branch)
    ReadingFactory(meter=meter, t1=100, t2=200, t3=300, received_at=aware(2026, 10, 20))
    result = submit(meter, "110", "220", "330")
    assert result.reason == Reason.ACCEPTED
    assert result.reading.values == (110, 220, 330)
    assert submit(meter, "110", "220").reason == Reason.WRONG_VALUE_COUNT


def test_without_configured_window_the_default_18_to_25_applies():
    meter = MeterFactory()
    branch = meter.contract.account.branch
    branch.late_reading_policy = "refuse"
    branch.save()
    assert submit(meter, "5", at=aware(2026, 11, 17)).reason == Reason.OUTSIDE_WINDOW
    assert submit(meter, "5", at=aware(2026, 11, 18)).reason == Reason.ACCEPTED


@time_machine.travel(NOV_20, tick=False)
def test_received_at_defaults_to_now(meter):
    assert submit_reading(meter=meter, values=["1150"], channel="cabinet").reading.received_at == NOV_20


def test_review_approve_and_reject_with_guards(meter):
    ReadingFactory(meter=meter, t1=0, period=dt.date(2025, 11, 1), received_at=aware(2025, 11, 20))
    held = submit(meter, "9000").reading
    operator = staff_login("Оператор контакт-центра")
    with pytest.raises(PermissionDenied):
        approve_reading(reading=held, actor=operator)
    specialist = staff_login("Специалист по показаниям")
    with pytest.raises(DomainError):
        reject_reading(reading=held, actor=specialist, note="  ")
    approved = approve_reading(reading=held, actor=specialist, note="Проверено по фото")
    assert approved.status == "accepted"
    assert approved.reviewed_by == specialist
    with pytest.raises(DomainError):
        approve_reading(reading=approved, actor=specialist)
    assert AuditEntry.objects.filter(action="reading.approve", actor=specialist).exists()


def test_reject_held_reading(meter):
    ReadingFactory(meter=meter, t1=0, period=dt.date(2025, 11, 1), received_at=aware(2025, 11, 20))
    held = submit(meter, "9000").reading
    specialist = staff_login("Специалист по показаниям")
    rejected = reject_reading(reading=held, actor=specialist, note="Ошибка в цифрах")
    assert rejected.status == "rejected"
    assert live(meter)[-1].t1 == 1000
