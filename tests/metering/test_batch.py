"""The batch twin of submit_reading: the same answers and the same stored rows as sequential submissions."""

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbyt.core.models import AuditEntry
from sbyt.core.periods import add_months
from sbyt.metering.batch import submit_readings_batch
from sbyt.metering.models import Meter, Reading
from sbyt.metering.rules import Reason
from sbyt.metering.services import submit_reading, unknown_client_result
from tests.factories import BranchFactory, MeterFactory, ReadingFactory, UserFactory, WindowFactory, aware

pytestmark = pytest.mark.django_db

UNKNOWN = 987_654_321
OCT, NOV, DEC = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)

# kind: (meter fields, history [(period, values, status, received (y, m, d))], submissions [values, ...])
KINDS = {
    "one_zone": ({}, [(OCT, (1000,), "accepted", (2026, 10, 20))], [["1150"]]),
    "two_zones": ({"zones": 2, "digits": 6}, [(OCT, (500, 300), "accepted", (2026, 10, 19))], [["520", "310"]]),
    "three_zones": (
        {"zones": 3, "digits": 6},
        [(OCT, (100, 200, 300), "accepted", (2026, 10, 21))],
        [["110", "220", "330"]],
    ),
    "no_history": ({}, [], [["42"]]),
    "faulty": ({"status": Meter.Status.FAULTY}, [(OCT, (1000,), "accepted", (2026, 10, 20))], [["1150"]]),
    "removed": ({"status": Meter.Status.REMOVED}, [], [["abc"], ["1"]]),
    "overdue": ({"verification_due": dt.date(2026, 1, 1)}, [(OCT, (1000,), "accepted", (2026, 10, 20))], [["1150"]]),
    "smart": ({"is_smart": True}, [(OCT, (1000,), "accepted", (2026, 10, 20))], [["1150"]]),
    "rollover": ({}, [(OCT, (99950,), "accepted", (2026, 10, 20))], [["30"]]),
    "rollover_two_zones": ({"zones": 2}, [(OCT, (99990, 500), "accepted", (2026, 10, 20))], [["10", "520"]]),
    "lower": ({}, [(OCT, (1000,), "accepted", (2026, 10, 20))], [["990"]]),
    "held": (
        {},
        [(dt.date(2025, 11, 1), (0,), "accepted", (2025, 11, 20)), (OCT, (1000,), "accepted", (2026, 10, 20))],
        [["9000"]],
    ),
    "year_of_history": (
        {"digits": 6},
        [
            (add_months(dt.date(2025, 1, 1), i), ((i + 1) * 100,), "accepted", (2025 + i // 12, i % 12 + 1, 20))
            for i in range(22)
        ],
        [["2350"], ["9900"]],
    ),
    "heavy_user": (  # the year's average raises the review threshold above the branch's floor
        {"digits": 6},
        [(dt.date(2025, 11, 1), (0,), "accepted", (2025, 11, 20)), (OCT, (30000,), "accepted", (2026, 10, 20))],
        [["35000"]],
    ),
    "old_previous": ({}, [(dt.date(2024, 5, 1), (1000,), "accepted", (2024, 5, 20))], [["1200"]]),
    "already": (
        {},
        [(OCT, (1000,), "accepted", (2026, 10, 20)), (NOV, (1150,), "accepted", (2026, 11, 18))],
        [["1150"]],
    ),
    "replace": (
        {},
        [(OCT, (1000,), "accepted", (2026, 10, 20)), (NOV, (1150,), "accepted", (2026, 11, 18))],
        [["1160"]],
    ),
    "replace_held": (
        {},
        [(OCT, (1000,), "accepted", (2026, 10, 20)), (NOV, (9000,), "held", (2026, 11, 18))],
        [["1160"]],
    ),
    "next_period_exists": (
        {},
        [(OCT, (1000,), "accepted", (2026, 10, 20)), (DEC, (1300,), "accepted", (2026, 11, 27))],
        [["1150"], ["1300"]],
    ),
    "dead_rows_ignored": (
        {},
        [
            (OCT, (5000,), "superseded", (2026, 10, 19)),
            (OCT, (1000,), "accepted", (2026, 10, 20)),
            (NOV, (3,), "rejected", (2026, 11, 19)),
            (NOV, (1100,), "superseded", (2026, 11, 19)),
        ],
        [["1100"]],
    ),
    "twice_replaced": ({}, [(OCT, (1000,), "accepted", (2026, 10, 20))], [["1150"], ["1160"]]),
    "twice_same": ({}, [(OCT, (1000,), "accepted", (2026, 10, 20))], [["1150"], ["1150"]]),
    "three_times": ({}, [(OCT, (1000,), "accepted", (2026, 10, 20))], [["abc"], ["1150"], ["990"], ["1170"]]),
    "held_then_fixed": (
        {},
        [(dt.date(2025, 11, 1), (0,), "accepted", (2025, 11, 20)), (OCT, (1000,), "accepted", (2026, 10, 20))],
        [["9000"], ["9000"], ["1100"]],
    ),
    "water": ({}, [(OCT, (100,), "accepted", (2026, 10, 20))], [["180"], ["125"]]),
    "parse_errors": (
        {},
        [(OCT, (1000,), "accepted", (2026, 10, 20))],
        [
            ["12,5"],
            [""],
            ["1" * 16],
            ["123456"],
            ["1150", "2"],
            [],
            ["-5"],
            ["один"],
            [1150.0],
            [True],
            [" 1 150 "],
            [1150],
        ],
    ),
}


def build_scenario():
    """Three branches in different time zones and policies, every kind of meter in each. Returns meter ids by
    (branch code, kind) and the submissions in order (meter id, values, source), with unknown meters mixed in."""
    moscow = BranchFactory(code="11", time_zone="Europe/Moscow", late_reading_policy="next_period")
    irkutsk = BranchFactory(code="38", name="Иркутский", time_zone="Asia/Irkutsk", late_reading_policy="refuse")
    urals = BranchFactory(code="66", name="Уральский", time_zone="Asia/Yekaterinburg", late_reading_policy="refuse")
    WindowFactory(branch=moscow)
    WindowFactory(branch=irkutsk)
    WindowFactory(branch=urals, first_day=10, last_day=12, valid_to=dt.date(2026, 10, 31))  # expired
    WindowFactory(branch=urals)
    WindowFactory(branch=urals, channel="import", first_day=15, last_day=23)
    ids = {}
    for branch in (moscow, irkutsk, urals):
        for kind, (fields, history, _submissions) in KINDS.items():
            extra = {"contract__resource": "cold_water"} if kind == "water" else {}
            meter = MeterFactory(contract__premises__account__branch=branch, **fields, **extra)
            for period, values, status, (y, m, d) in history:
                t = (*values, None, None)
                ReadingFactory(
                    meter=meter,
                    period=period,
                    t1=t[0],
                    t2=t[1],
                    t3=t[2],
                    status=status,
                    reason="accepted" if status != "rejected" else "invalid_value",
                    # 01:00 local: the previous UTC day, so a time zone slip shows in the previous reading's date
                    received_at=aware(y, m, d, hour=1, tz=branch.time_zone),
                )
            ids[(branch.code, kind)] = meter.pk
    items = []
    longest = max(len(s) for _f, _h, s in KINDS.values())
    for round_ in range(longest):  # interleave: a meter's later submissions come after other meters'
        for (code, kind), meter_id in ids.items():
            submissions = KINDS[kind][2]
            if round_ < len(submissions):
                items.append((meter_id, submissions[round_], f"line {len(items) + 1} ({code} {kind})"))
        items.append((UNKNOWN + round_, ["1150"], "unknown meter"))
    return ids, items


class _Rollback(Exception):
    pass


def snapshot():
    return list(
        Reading.objects.order_by("meter_id", "id").values_list(
            "meter_id",
            "status",
            "period",
            "t1",
            "t2",
            "t3",
            "reason",
            "is_rollover",
            "raw",
            "source",
            "channel",
            "received_at",
            "submitted_by_id",
            "reviewed_by_id",
            "review_note",
        )
    )


def answers(results):
    return [(r.reason, r.message, r.period, r.meter_id, r.previous, r.accepted) for r in results]


def sequential(items, *, channel, actor, at):
    known = set(Meter.objects.values_list("pk", flat=True))
    return [
        submit_reading(meter=Meter(pk=pk), values=values, channel=channel, actor=actor, source=src, received_at=at)
        if pk in known
        else unknown_client_result()
        for pk, values, src in items
    ]


def run_both(items, *, channel, actor, at, chunk_size=None):
    """Both paths on the same data: the batch inside a transaction rolled back, then the sequential calls."""
    extra = {"chunk_size": chunk_size} if chunk_size else {}
    try:
        with transaction.atomic():
            batch = submit_readings_batch(items, channel=channel, actor=actor, received_at=at, **extra)
            batch_rows = snapshot()
            raise _Rollback
    except _Rollback:
        pass
    try:
        with transaction.atomic():
            one_by_one = sequential(items, channel=channel, actor=actor, at=at)
            sequential_rows = snapshot()
            raise _Rollback
    except _Rollback:
        pass
    return (answers(batch), batch_rows), (answers(one_by_one), sequential_rows)


INSTANTS = {
    "inside everywhere": aware(2026, 11, 20),
    "Irkutsk and Urals already on the 26th": dt.datetime(2026, 11, 25, 20, tzinfo=dt.UTC),
    "after the window everywhere": aware(2026, 11, 27),
    "Moscow still on the 17th": dt.datetime(2026, 11, 17, 20, tzinfo=dt.UTC),
    "a month later": aware(2026, 12, 21),
    "Urals import window over": aware(2026, 11, 24, 10),
}


@pytest.mark.parametrize("channel", ["import", "sms"])
@pytest.mark.parametrize("instant", INSTANTS.keys())
def test_batch_gives_the_same_answers_and_rows_as_sequential_submissions(instant, channel):
    _ids, items = build_scenario()
    actor = UserFactory() if channel == "import" else "sms:+79120000000"
    batch, one_by_one = run_both(items, channel=channel, actor=actor, at=INSTANTS[instant])
    assert batch[0] == one_by_one[0]
    assert batch[1] == one_by_one[1]
    # the scenario really covers every outcome at least once over the instants; here: a sanity floor
    assert len({a[0] for a in batch[0]}) >= 8


def test_the_scenario_covers_every_reason():
    _ids, items = build_scenario()
    seen = set()
    for at in INSTANTS.values():
        batch, _seq = run_both(items, channel="import", actor=None, at=at, chunk_size=1)
        seen |= {a[0] for a in batch[0]}
    assert seen == set(Reason)


@pytest.mark.parametrize("chunk_size", [1, 4, 13])
def test_small_chunks_split_a_meter_s_submissions_and_still_agree(chunk_size):
    _ids, items = build_scenario()
    batch, one_by_one = run_both(items, channel="import", actor=None, at=aware(2026, 11, 20), chunk_size=chunk_size)
    assert batch == one_by_one


def test_results_are_in_input_order_and_unknown_meters_store_nothing():
    meter = MeterFactory()
    before = Reading.objects.count()
    results = submit_readings_batch(
        [(UNKNOWN, ["1"], ""), (meter.pk, ["5"], "a"), ("not a number", ["1"], ""), (None, ["2"], "")],
        channel="import",
        actor="import",
        received_at=aware(2026, 11, 20),
    )
    assert [r.reason for r in results] == [Reason.UNKNOWN_CLIENT, Reason.ACCEPTED, *[Reason.UNKNOWN_CLIENT] * 2]
    assert results[0] == unknown_client_result()
    assert results[1].meter_id == meter.pk
    assert results[1].message == "Показания приняты. Спасибо."
    assert results[1].reading is None  # documented: no model instances on the batch path
    assert Reading.objects.count() == before + 1
    assert Reading.objects.get(meter=meter).source == "a"


def test_one_audit_entry_per_batch_with_counts():
    ids, items = build_scenario()
    user = UserFactory()
    AuditEntry.objects.all().delete()
    results = submit_readings_batch(items, channel="import", actor=user, received_at=aware(2026, 11, 20), chunk_size=7)
    entry = AuditEntry.objects.get()
    assert entry.action == "reading.submit_batch"
    assert entry.actor == user
    assert entry.details["items"] == len(items)
    assert entry.details["stored"] == Reading.objects.filter(channel="import").count()
    assert entry.details["superseded"] >= 1
    assert entry.details["failed"] is False
    assert sum(entry.details["reasons"].values()) == len(items)
    assert entry.details["reasons"]["accepted"] == sum(r.reason == Reason.ACCEPTED for r in results)


def test_empty_batch_does_nothing():
    assert submit_readings_batch([], channel="import") == []
    assert not AuditEntry.objects.exists()


def test_queries_do_not_grow_with_the_batch(django_assert_max_num_queries):
    ids, items = build_scenario()
    # meters, branches + 3 windows, one context query per target period (3 branches), update, insert, audit,
    # savepoint pair: a fixed number whatever the item count
    with django_assert_max_num_queries(14):
        submit_readings_batch(items, channel="import", actor=None, received_at=aware(2026, 11, 20))


def test_the_stored_rows_keep_one_live_reading_per_period():
    ids, items = build_scenario()
    submit_readings_batch(items, channel="import", actor=None, received_at=aware(2026, 11, 20))
    live = Reading.objects.filter(status__in=["accepted", "held"]).values_list("meter_id", "period")
    assert len(list(live)) == len(set(live))
    replaced = ids[("11", "replace")]
    assert list(Reading.objects.filter(meter_id=replaced, period=NOV).values_list("t1", "status")) == [
        (1150, "superseded"),
        (1160, "accepted"),
    ]


# -- property: any mix of submissions over a few meters ----------------------------------------------------

digits = st.integers(min_value=0, max_value=120_000).map(str)
typed = st.one_of(digits, st.sampled_from(["", "1,5", "abc", " 1 000 ", "0001020", "9" * 16]), st.integers(-3, 99_999))
values_strategy = st.lists(typed, min_size=0, max_size=4)


def test_property_batch_equals_sequential():
    ids, _items = build_scenario()
    meter_ids = [ids[(code, kind)] for code in ("11", "38") for kind in ("one_zone", "two_zones", "held", "already")]
    pool = [*meter_ids, UNKNOWN]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        items=st.lists(st.tuples(st.sampled_from(pool), values_strategy, st.just("p")), min_size=1, max_size=12),
        at=st.sampled_from(list(INSTANTS.values())),
        chunk_size=st.sampled_from([1, 3, 2000]),
    )
    def check(items, at, chunk_size):
        batch, one_by_one = run_both(items, channel="import", actor=None, at=at, chunk_size=chunk_size)
        assert batch == one_by_one

    check()


def test_odd_characters_in_values_and_source_are_stored_as_typed():
    ids, _items = build_scenario()
    meter_id = ids[("11", "no_history")]
    items = [
        (meter_id, ["1\t2\n3"], "line\t1 \\ «реестр»\r\n"),
        (meter_id, ["4\\5"], "x" * 300),
        (ids[("11", "one_zone")], ["\u00a01150"], "nbsp"),
    ]
    batch, one_by_one = run_both(items, channel="import", actor=None, at=aware(2026, 11, 20))
    assert batch == one_by_one
    assert [a[0] for a in batch[0]] == [Reason.ACCEPTED, Reason.INVALID_VALUE, Reason.ACCEPTED]
