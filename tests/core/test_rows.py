"""``core.rows``: the hot paths' prebuilt statements write and read exactly what the ORM would."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models.signals import pre_save

from sbyt.core.models import AuditEntry
from sbyt.core.rows import Joined, insert
from sbyt.customers.models import Branch
from sbyt.messaging.models import InboundMessage
from sbyt.metering.models import Meter, Reading
from sbyt.metering.queries import live_readings, locked_meter, locked_meters_of_contract
from tests.factories import MeterFactory, ReadingFactory, UserFactory, aware

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_insert_writes_the_row_the_orm_reads_back():
    user = UserFactory()
    entry = insert(
        AuditEntry(
            kind=AuditEntry.Kind.WRITE,
            action="test.insert",
            actor=user,
            actor_label="x",
            account_number="100",
            details={"text": "Показания «приняты»", "n": [1, 2.5], "nested": {"a": None}},
            target_type="t",
            target_id="1",
        )
    )
    assert entry.pk is not None and not entry._state.adding
    assert entry.created_at is not None  # auto_now_add filled as save() would
    assert _fields(AuditEntry.objects.get(pk=entry.pk)) == _fields(entry)


def test_insert_of_a_reading_with_dates_and_nulls():
    meter = MeterFactory()
    reading = insert(
        Reading(
            meter=meter,
            period=dt.date(2026, 11, 1),
            t1=12345,
            t2=None,
            t3=None,
            raw="12345",
            received_at=aware(2026, 11, 20) + dt.timedelta(hours=23, minutes=59),
            channel="sms",
            source="+79120000000",
            status=Reading.Status.ACCEPTED,
            reason="accepted",
        )
    )
    assert _fields(Reading.objects.get(pk=reading.pk)) == _fields(reading)


def test_insert_refusal_is_the_orms_integrity_error_and_leaves_nothing():
    fields = {
        "channel": "sms",
        "external_id": "m-1",
        "sender": "+7912",
        "text": "ПС",
        "received_at": aware(2026, 11, 20),
    }
    insert(InboundMessage(**fields))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(InboundMessage(**fields))
    assert InboundMessage.objects.filter(external_id="m-1").count() == 1


def test_insert_goes_through_save_when_a_model_has_save_signals():
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.code)

    pre_save.connect(receiver, sender=Branch, dispatch_uid="test-rows")
    try:
        branch = insert(Branch(code="77", name="Тестовый", time_zone="Europe/Moscow"))
    finally:
        pre_save.disconnect(receiver, sender=Branch, dispatch_uid="test-rows")
    assert seen == ["77"]
    assert Branch.objects.get(pk=branch.pk).name == "Тестовый"


class _SavingEntry(AuditEntry):
    class Meta:
        proxy = True
        app_label = "core"

    def save(self, *args, **kwargs):  # pragma: no cover - never called: insert() must refuse first
        super().save(*args, **kwargs)


def test_insert_refuses_a_model_with_its_own_save():
    with pytest.raises(TypeError):
        insert(_SavingEntry(kind=AuditEntry.Kind.WRITE, action="x", actor_label="x"))
    assert not AuditEntry.objects.filter(action="x").exists()


def test_joined_rows_equal_the_orms_select_related():
    meter = MeterFactory(zones=2, verification_due=dt.date(2030, 1, 1))
    second = MeterFactory(contract=meter.contract)
    MeterFactory()  # another contract: not returned
    number = meter.contract.number
    with transaction.atomic():
        rows = locked_meters_of_contract(number)
    expected = list(
        Meter.objects.filter(contract__number=number).order_by("id").select_related("contract__account__branch")
    )
    assert [m.pk for m in rows] == [meter.pk, second.pk]
    for got, want in zip(rows, expected, strict=True):
        assert _fields(got) == _fields(want)
        assert _fields(got.contract) == _fields(want.contract)
        assert _fields(got.contract.account) == _fields(want.contract.account)
        assert _fields(got.contract.account.branch) == _fields(want.contract.account.branch)
        assert isinstance(got.contract.account.branch.implausible_factor, Decimal | float | int)
    with transaction.atomic():
        assert locked_meter(meter.pk).contract.account.branch == meter.contract.account.branch
        assert locked_meter(meter.pk, contract_number=number) == meter
        assert locked_meter(meter.pk, contract_number="000") is None
        assert locked_meter(0) is None


def test_live_readings_newest_first_live_only():
    meter = MeterFactory()
    old = ReadingFactory(meter=meter, t1=100, period=dt.date(2026, 8, 1), received_at=aware(2026, 8, 20))
    new = ReadingFactory(meter=meter, t1=200, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    ReadingFactory(meter=meter, t1=150, period=dt.date(2026, 9, 1), received_at=aware(2026, 9, 20), status="rejected")
    ReadingFactory(meter=meter, t1=50, period=dt.date(2025, 1, 1), received_at=aware(2025, 1, 20))
    rows = live_readings(meter.pk, dt.date(2026, 1, 1))
    assert [r.pk for r in rows] == [new.pk, old.pk]
    assert _fields(rows[0]) == _fields(Reading.objects.get(pk=new.pk))


def test_joined_without_a_path_and_without_rows():
    query = Joined(Reading, "", where="t0.meter_id = %s")
    assert query.fetch([0]) == []


def test_joined_tree_with_an_empty_nullable_link(django_assert_num_queries):
    user = UserFactory()
    meter = MeterFactory()
    by_user = ReadingFactory(meter=meter, t1=100, period=dt.date(2026, 9, 1), submitted_by=user)
    by_sms = ReadingFactory(meter=meter, t1=200, period=dt.date(2026, 10, 1), submitted_by=None)
    query = Joined(
        Reading,
        "submitted_by",
        "meter__contract",
        "meter__contract__account",
        where="t0.meter_id = %s",
        order="t0.period",
        lock=True,
        no_key=True,
    )
    with transaction.atomic(), django_assert_num_queries(1):
        first, second = query.fetch([meter.pk])
        assert (first.pk, second.pk) == (by_user.pk, by_sms.pk)
        assert first.submitted_by == user and second.submitted_by is None  # LEFT JOIN: no query for either
        assert first.meter.contract.account.number == meter.contract.account.number
        assert second.meter.contract.number == meter.contract.number
