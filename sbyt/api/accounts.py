"""A client's own accounts, contracts, meters and readings; submitting readings through the one service."""

from django.utils.translation import gettext as _
from ninja import Router, Status

from sbyt.core.errors import NotFound
from sbyt.core.timezones import local_now
from sbyt.customers.models import Account
from sbyt.customers.queries import account_for, accounts_for, contracts_with_meters
from sbyt.metering.models import Channel, Meter
from sbyt.metering.queries import last_accepted_by_meter, reading_history
from sbyt.metering.rules import Reason
from sbyt.metering.services import submit_reading, unknown_client_result

from .schemas import (
    AccountBriefOut,
    AccountOut,
    ErrorOut,
    MeterOut,
    ReadingIn,
    ReadingOut,
    ReadingResultOut,
    ValidationErrorOut,
)

router = Router(tags=["accounts"])

MAX_ID = 2**63 - 1
CREATED = {Reason.ACCEPTED, Reason.ACCEPTED_NEXT_PERIOD, Reason.HELD_FOR_REVIEW}


def _meter_of(account: Account, meter_id: int) -> Meter | None:
    if not 0 < meter_id <= MAX_ID:
        return None
    return Meter.objects.filter(pk=meter_id, contract__account=account).select_related("contract").first()


def _meter_or_404(account: Account, meter_id: int) -> Meter:
    meter = _meter_of(account, meter_id)
    if meter is None:
        raise NotFound(_("Meter not found."))
    return meter


def _local_date(moment, branch):
    return local_now(branch.time_zone, moment).date()


@router.get("", response=list[AccountBriefOut], summary="The accounts of the login")
def list_accounts(request):
    accounts = accounts_for(request.user).prefetch_related("premises")
    return [
        {
            "number": account.number,
            "customer": account.customer.display_name,
            "branch": account.branch.name,
            "address": next((p.address for p in account.premises.all()), None),
        }
        for account in accounts
    ]


@router.get("/{number}", response={200: AccountOut, 404: ErrorOut}, summary="Main data of an account")
def get_account(request, number: str):
    account = account_for(request.user, number)
    branch = account.branch
    contracts = contracts_with_meters(account)
    return {
        "number": account.number,
        "customer": account.customer.display_name,
        "branch": {"code": branch.code, "name": branch.name, "phones": branch.phones},
        "premises": [
            {"address": p.address, "residents": p.residents, "rooms": p.rooms} for p in account.premises.order_by("id")
        ],
        "contracts": [
            {
                "number": c.number,
                "resource": c.resource,
                "resource_label": c.get_resource_display(),
                "unit": c.unit,
                "status": c.status,
                "status_label": c.get_status_display(),
                "start_date": c.start_date,
                "end_date": c.end_date,
                "address": c.premises.address,
            }
            for c in contracts
        ],
    }


@router.get("/{number}/meters", response={200: list[MeterOut], 404: ErrorOut}, summary="Meters with last readings")
def list_meters(request, number: str):
    account = account_for(request.user, number)
    branch = account.branch
    meters = [(contract, meter) for contract in contracts_with_meters(account) for meter in contract.meters.all()]
    last = last_accepted_by_meter(meter.pk for _contract, meter in meters)
    result = []
    for contract, meter in meters:
        reading = last.get(meter.pk)
        result.append(
            {
                "id": meter.pk,
                "serial": meter.serial,
                "model": meter.model_name,
                "contract_number": contract.number,
                "resource": contract.resource,
                "unit": contract.unit,
                "zones": meter.zones,
                "zone_names": list(meter.zone_names),
                "digits": meter.digits,
                "status": meter.status,
                "status_label": meter.get_status_display(),
                "is_smart": meter.is_smart,
                "verification_due": meter.verification_due,
                "last_reading": None
                if reading is None
                else {
                    "values": list(reading.values),
                    "period": reading.period,
                    "received_on": _local_date(reading.received_at, branch),
                },
            }
        )
    return result


@router.get(
    "/{number}/meters/{meter_id}/readings",
    response={200: list[ReadingOut], 404: ErrorOut},
    summary="History of a meter's readings",
)
def list_readings(request, number: str, meter_id: int):
    account = account_for(request.user, number)
    meter = _meter_or_404(account, meter_id)
    return [
        {
            "id": r.pk,
            "values": list(r.values),
            "period": r.period,
            "received_at": r.received_at,
            "channel": r.channel,
            "channel_label": r.get_channel_display(),
            "status": r.status,
            "status_label": r.get_status_display(),
        }
        for r in reading_history(meter.pk)
    ]


def _result_body(result) -> dict:
    previous = result.previous
    return {
        "code": result.reason.value,
        "message": result.message,
        "accepted": result.accepted,
        "period": result.period,
        "previous": None if previous is None else {"values": list(previous.values), "date": previous.received_on},
    }


@router.post(
    "/{number}/meters/{meter_id}/readings",
    response={
        200: ReadingResultOut,
        201: ReadingResultOut,
        404: ReadingResultOut,
        422: ReadingResultOut | ValidationErrorOut,
    },
    summary="Submit readings",
)
def post_reading(request, number: str, meter_id: int, payload: ReadingIn):
    """One value per tariff zone. 201: accepted (also for the next period, or held for a check);
    200: these values were already accepted; 422: refused, ``code`` says why; 404: not the caller's meter."""
    try:
        account = account_for(request.user, number)
    except NotFound:
        account = None
    meter = _meter_of(account, meter_id) if account is not None else None
    if meter is None:
        return Status(404, _result_body(unknown_client_result()))
    result = submit_reading(meter=meter, values=payload.values, channel=Channel.APP, actor=request.user, source="api")
    if result.reason in CREATED:
        status = 201
    elif result.reason == Reason.ALREADY_ACCEPTED:
        status = 200
    else:
        status = 422
    return Status(status, _result_body(result))
