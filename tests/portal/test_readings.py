"""The cabinet's readings form: one page for every zone of every meter; each meter answered by the service."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils.translation import gettext as _

from sbyt.metering.models import Meter, Reading
from tests.factories import MeterFactory, aware

pytestmark = pytest.mark.django_db

IN_WINDOW = aware(2026, 11, 20, 12)
BEFORE_WINDOW = aware(2026, 11, 10, 12)


@pytest.fixture
def in_window():
    with time_machine.travel(IN_WINDOW, tick=False):
        yield


def url(home):
    return reverse("portal:readings", args=[home.account.number])


def field(meter, zone=1):
    return f"m{meter.pk}_z{zone}"


def results(response) -> dict[str, str]:
    """{meter key: reason code} of the per-meter answers on the page."""
    html = response.content.decode()
    found = {}
    for chunk in html.split('<fieldset class="meter" id="meter-')[1:]:
        key = chunk.split('"', 1)[0]
        if 'data-reason="' in chunk.split("</fieldset>", 1)[0]:
            found[key] = chunk.split('data-reason="', 1)[1].split('"', 1)[0]
    return found


def live(meter):
    return Reading.objects.filter(meter=meter, status__in=["accepted", "held"]).order_by("-period", "-received_at")


def test_page_has_an_input_per_zone_with_previous_value_and_date(logged_in, home, in_window):
    response = logged_in.get(url(home))
    assert response.status_code == 200
    html = response.content.decode()
    for meter in (home.one, home.two, home.three):
        for zone in range(1, meter.zones + 1):
            assert f'name="{field(meter, zone)}"' in html
            assert f'aria-describedby="id_{field(meter, zone)}_prev"' in html
        assert f'name="{field(meter, meter.zones + 1)}"' not in html
    assert html.count('inputmode="numeric"') == 6
    assert html.count('<label for="id_m') == 6  # every input has its label
    for zone_name in ("День", "Ночь", "Пик", "Полупик"):
        assert zone_name in html
    for value in ("1000", "3000", "1500", "500", "700", "900"):
        assert value in html
    assert "20.10.2026" in html  # date of the previous reading (RD-11)
    assert "18.11.2026" in html and "25.11.2026" in html  # the window of the branch


def test_one_two_and_three_zone_meters_accepted_in_one_submission(logged_in, home, in_window):
    data = {
        field(home.one): "1100",
        field(home.two, 1): "3100",
        field(home.two, 2): "1550",
        field(home.three, 1): "550",
        field(home.three, 2): "750",
        field(home.three, 3): "950",
    }
    response = logged_in.post(url(home), data)
    assert response.status_code == 200
    assert results(response) == {str(m.pk): "accepted" for m in (home.one, home.two, home.three)}
    assert response.content.decode().count("Показания приняты. Спасибо.") == 3
    assert live(home.one).first().values == (1100,)
    assert live(home.two).first().values == (3100, 1550)
    reading = live(home.three).first()
    assert reading.values == (550, 750, 950)
    assert reading.channel == "cabinet"
    assert reading.submitted_by == home.user
    assert reading.period == dt.date(2026, 11, 1)
    html = response.content.decode()
    assert "20.11.2026" in html  # the accepted values are now the previous ones
    assert 'value="1100"' not in html  # accepted values are not put back into the inputs


def test_only_filled_meters_are_submitted(logged_in, home, in_window):
    before = Reading.objects.count()
    response = logged_in.post(url(home), {field(home.one): " 1100 ", field(home.two, 1): "", field(home.two, 2): ""})
    assert results(response) == {str(home.one.pk): "accepted"}
    assert Reading.objects.count() == before + 1


def test_everything_empty_asks_for_at_least_one_meter(logged_in, home, in_window):
    before = Reading.objects.count()
    response = logged_in.post(url(home), {field(home.one): "  "})
    assert response.status_code == 200
    assert results(response) == {}
    assert 'role="alert"' in response.content.decode()
    assert _("Enter the readings of at least one meter.") in response.content.decode()
    assert Reading.objects.count() == before


def test_refusals_are_shown_next_to_their_meter_and_others_still_accepted(logged_in, home, in_window):
    before = live(home.two).first().pk
    response = logged_in.post(
        url(home), {field(home.one): "900", field(home.two, 1): "3100", field(home.two, 2): "1550"}
    )
    assert results(response) == {str(home.one.pk): "lower_than_previous", str(home.two.pk): "accepted"}
    html = response.content.decode()
    assert "меньше предыдущего" in html  # the service's wording, with the previous value and date
    assert 'class="result refused"' in html and 'class="result ok"' in html
    assert 'value="900"' in html  # the refused value is kept for correction
    assert live(home.one).first().values == (1000,)
    assert live(home.two).first().pk != before


@pytest.mark.parametrize(
    ("values", "reason", "message"),
    [
        ({"one": "1100"}, "accepted", "Показания приняты. Спасибо."),
        ({"one": "900"}, "lower_than_previous", "Показание меньше предыдущего"),
        ({"one": "1200,5"}, "not_whole_number", "целым числом"),
        ({"one": "1200.0"}, "not_whole_number", "целым числом"),
        ({"one": "123456"}, "too_many_digits", "(5)"),
        ({"one": "12a"}, "invalid_value", "Показание состоит только из цифр."),
        ({"two": ("3100", "")}, "wrong_value_count", "Счётчик 2-тарифный: введите 2 показания (день, ночь)."),
        ({"two": ("", "1550")}, "wrong_value_count", "Счётчик 2-тарифный: введите 2 показания (день, ночь)."),
        (
            {"three": ("550", "", "950")},
            "wrong_value_count",
            "Счётчик 3-тарифный: введите 3 показания (пик, полупик, ночь).",
        ),
        ({"one": "8000"}, "held_for_review", "проверит"),
    ],
)
def test_each_answer_of_the_service_through_the_form(logged_in, home, in_window, values, reason, message):
    data = {}
    for name, typed in values.items():
        meter = getattr(home, name)
        typed = typed if isinstance(typed, tuple) else (typed,)
        for zone, value in enumerate(typed, start=1):
            data[field(meter, zone)] = value
    meter = getattr(home, next(iter(values)))
    before = list(Reading.objects.filter(meter=meter).values_list("pk", "status"))
    response = logged_in.post(url(home), data)
    assert response.status_code == 200
    assert results(response) == {str(meter.pk): reason}
    assert message in response.content.decode()
    after = Reading.objects.filter(meter=meter).exclude(pk__in=[pk for pk, _status in before])
    if reason in ("accepted", "held_for_review"):
        assert after.get().status == ("accepted" if reason == "accepted" else "held")
    else:
        assert not after.filter(status__in=["accepted", "held"]).exists()
        assert list(Reading.objects.filter(pk__in=[pk for pk, _s in before]).values_list("pk", "status")) == before


def test_already_accepted_values_are_answered_as_such(logged_in, home, in_window):
    logged_in.post(url(home), {field(home.one): "1100"})
    count = Reading.objects.count()
    response = logged_in.post(url(home), {field(home.one): "1100"})
    assert results(response) == {str(home.one.pk): "already_accepted"}
    assert "Эти показания уже приняты. Спасибо." in response.content.decode()
    assert Reading.objects.count() == count


def test_new_values_in_the_window_replace_the_periods_reading(logged_in, home, in_window):
    logged_in.post(url(home), {field(home.one): "1100"})
    response = logged_in.post(url(home), {field(home.one): "1120"})
    assert results(response) == {str(home.one.pk): "accepted"}
    assert live(home.one).first().values == (1120,)
    assert Reading.objects.filter(meter=home.one, status="superseded").count() == 1


def test_outside_the_window_refused_when_the_branch_says_so(logged_in, home):
    home.account.branch.late_reading_policy = "refuse"
    home.account.branch.save()
    with time_machine.travel(BEFORE_WINDOW, tick=False):
        page = logged_in.get(url(home)).content.decode()
        response = logged_in.post(url(home), {field(home.one): "1100"})
    assert 'id="window-closed"' in page
    assert results(response) == {str(home.one.pk): "outside_window"}
    assert "с 18 по 25" in response.content.decode()
    assert live(home.one).first().values == (1000,)


def test_outside_the_window_accepted_for_the_next_period_by_default(logged_in, home):
    with time_machine.travel(aware(2026, 11, 27, 12), tick=False):
        page = logged_in.get(url(home)).content.decode()
        response = logged_in.post(url(home), {field(home.one): "1100"})
    assert 'id="window-next-period"' in page
    assert results(response) == {str(home.one.pk): "accepted_next_period"}
    assert "декабрь 2026" in response.content.decode()
    assert live(home.one).first().period == dt.date(2026, 12, 1)


def test_smart_meter_shows_no_inputs_and_a_crafted_post_gets_the_services_answer(logged_in, home, in_window):
    Meter.objects.filter(pk=home.one.pk).update(is_smart=True)
    page = logged_in.get(url(home)).content.decode()
    assert "передаёт показания автоматически" in page
    assert f'name="{field(home.one)}"' not in page
    response = logged_in.post(url(home), {field(home.one): "1100"})
    assert results(response) == {str(home.one.pk): "smart_meter"}
    assert live(home.one).first().values == (1000,)


def test_meter_out_of_service_or_overdue_shows_why_and_refuses(logged_in, home, in_window):
    Meter.objects.filter(pk=home.one.pk).update(status=Meter.Status.FAULTY)
    Meter.objects.filter(pk=home.two.pk).update(verification_due=dt.date(2026, 1, 1))
    page = logged_in.get(url(home)).content.decode()
    assert f'name="{field(home.one)}"' not in page
    assert f'name="{field(home.two, 1)}"' not in page
    assert "не в работе" in page and "срок поверки" in page.lower()
    response = logged_in.post(
        url(home), {field(home.one): "1100", field(home.two, 1): "3100", field(home.two, 2): "1550"}
    )
    assert results(response) == {str(home.one.pk): "meter_not_in_service", str(home.two.pk): "meter_not_in_service"}
    assert live(home.one).first().values == (1000,)
    assert live(home.two).first().values == (3000, 1500)


def test_removed_meters_and_inactive_contracts_are_not_on_the_form(logged_in, home, in_window):
    removed = MeterFactory(contract=home.contract, status=Meter.Status.REMOVED)
    ended = MeterFactory(contract__premises__account=home.account, contract__status="terminated")
    page = logged_in.get(url(home)).content.decode()
    assert removed.serial not in page
    assert ended.serial not in page
    response = logged_in.post(url(home), {field(removed): "5", field(ended): "5"})
    assert results(response) == {}
    assert not Reading.objects.filter(meter__in=[removed, ended]).exists()


def test_account_without_meters(logged_in, home):
    Meter.objects.filter(contract=home.contract).update(status=Meter.Status.REMOVED)
    response = logged_in.get(url(home))
    assert response.status_code == 200
    assert '<form method="post" novalidate class="form readings">' not in response.content.decode()
