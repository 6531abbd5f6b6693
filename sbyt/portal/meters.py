"""The meters of a readings form (cabinet and public page): what to show next to each meter and how
the typed values reach the one readings service."""

import dataclasses
from dataclasses import dataclass, field

from sbyt.customers.models import Contract
from sbyt.customers.queries import contracts_with_meters
from sbyt.metering import queries
from sbyt.metering.models import Meter, Reading
from sbyt.metering.rules import Reason, explain
from sbyt.metering.services import ReadingResult, submit_reading

from .forms import ReadingsForm, zone_field_name


def mask_serial(serial: str) -> str:
    """Only the last four characters of a meter's serial number, for the page without login."""
    return "…" + serial[-4:] if len(serial) > 4 else serial


@dataclass
class ZoneInput:
    field: object  # BoundField
    name: str
    previous: int | None


@dataclass
class MeterRow:
    key: object
    meter: Meter
    contract: Contract
    serial: str
    previous: Reading | None
    accepts_input: bool
    notice: str = ""
    result: ReadingResult | None = None
    inputs: list[ZoneInput] = field(default_factory=list)

    @property
    def zones(self) -> int:
        return self.meter.zones

    @property
    def zone_names(self) -> tuple[str, ...]:
        return self.meter.zone_names

    @property
    def previous_values(self) -> list[tuple[str, int]]:
        if self.previous is None:
            return []
        return list(zip(self.zone_names, self.previous.values, strict=False))


def meters_of_account(account) -> list[tuple[Contract, Meter]]:
    """Every meter still installed on every active contract of an account, in a stable order."""
    return [
        (contract, meter)
        for contract in contracts_with_meters(account).filter(status=Contract.Status.ACTIVE)
        for meter in contract.meters.all()
        if meter.status != Meter.Status.REMOVED
    ]


def build_rows(pairs, branch, *, public: bool = False) -> list[MeterRow]:
    """One row per meter: the previous accepted reading (RD-11) and, when the meter takes no readings from
    a client (smart, out of service, verification overdue), the service's own wording of why."""
    pairs = list(pairs)
    last = queries.last_accepted_by_meter(meter.pk for _contract, meter in pairs)
    today = queries.today_in(branch)
    rows = []
    for position, (contract, meter) in enumerate(pairs, start=1):
        serial = mask_serial(meter.serial) if public else meter.serial
        facts = dataclasses.replace(queries.meter_facts(meter, today, resource=contract.resource), serial=serial)
        notice = ""
        if not facts.in_service or facts.verification_overdue:
            notice = explain(Reason.METER_NOT_IN_SERVICE, meter=facts, params={"overdue": facts.verification_overdue})
        elif facts.is_smart:
            notice = explain(Reason.SMART_METER, meter=facts)
        rows.append(
            MeterRow(
                key=position if public else meter.pk,
                meter=meter,
                contract=contract,
                serial=serial,
                previous=last.get(meter.pk),
                accepts_input=not notice,
                notice=notice,
            )
        )
    return rows


def attach_inputs(form: ReadingsForm, rows: list[MeterRow]) -> None:
    for row in rows:
        previous = row.previous.values if row.previous else ()
        row.inputs = [
            ZoneInput(
                field=form[zone_field_name(row.key, index)],
                name=name,
                previous=previous[index - 1] if index <= len(previous) else None,
            )
            for index, name in enumerate(row.zone_names, start=1)
        ]


def submit_rows(form: ReadingsForm, rows: list[MeterRow], *, channel: str, actor, source: str = "") -> dict:
    """Submit every meter that has something typed; the others are left alone. Returns {key: result}."""
    results = {}
    for row in rows:
        values = form.values_for(row)
        if not values:
            continue
        results[row.key] = submit_reading(meter=row.meter, values=values, channel=channel, actor=actor, source=source)
    return results


def refill(form: ReadingsForm, rows: list[MeterRow], results: dict) -> dict:
    """What to put back into the inputs after a submission: the values of meters that were not accepted."""
    initial = {}
    for row in rows:
        result = results.get(row.key)
        if result is None or result.accepted:
            continue
        for index in range(1, row.zones + 1):
            name = zone_field_name(row.key, index)
            initial[name] = form.cleaned_data.get(name, "")
    return initial
