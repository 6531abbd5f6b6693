"""Request and response bodies of API v1 (the mobile app)."""

import datetime as dt
from typing import Annotated

from ninja import Field, Schema
from pydantic import StrictInt, StrictStr, StringConstraints

# A typed register value: "012345" as the client sees it, or a JSON integer. No floats, booleans or nulls.
ReadingValue = Annotated[StrictStr, StringConstraints(max_length=40)] | StrictInt


class ErrorOut(Schema):
    code: str = Field(..., description="Machine-readable code, e.g. not_found, unauthorized, invalid_request")
    message: str = Field(..., description="Russian text to show to the client")


class FieldErrorOut(Schema):
    field: str
    code: str
    message: str


class ValidationErrorOut(ErrorOut):
    errors: list[FieldErrorOut] = []


class TokenIn(Schema):
    login: str = Field(..., max_length=150, description="Client number, linked e-mail or mobile phone")
    password: str = Field(..., max_length=256)


class TokenOut(Schema):
    token: str = Field(..., description="Send as `Authorization: Bearer <token>`; it is shown only once")
    must_change_password: bool = Field(..., description="The password was issued by an operator: ask to change it")


class BranchOut(Schema):
    code: str
    name: str
    phones: list[str]


class PremisesOut(Schema):
    address: str
    residents: int
    rooms: int


class ContractOut(Schema):
    number: str
    resource: str
    resource_label: str
    unit: str
    status: str
    status_label: str
    start_date: dt.date
    end_date: dt.date | None
    address: str


class AccountBriefOut(Schema):
    number: str
    customer: str
    branch: str
    address: str | None


class AccountOut(Schema):
    number: str
    customer: str
    branch: BranchOut
    premises: list[PremisesOut]
    contracts: list[ContractOut]


class LastReadingOut(Schema):
    values: list[int]
    period: dt.date = Field(..., description="Billing period: the first day of the month")
    received_on: dt.date = Field(..., description="Date received, in the branch's local time")


class MeterOut(Schema):
    id: int
    serial: str
    model: str
    contract_number: str
    resource: str
    unit: str
    zones: int
    zone_names: list[str]
    digits: int
    status: str
    status_label: str
    is_smart: bool
    verification_due: dt.date | None
    last_reading: LastReadingOut | None


class ReadingOut(Schema):
    id: int
    values: list[int]
    period: dt.date
    received_at: dt.datetime
    channel: str
    channel_label: str
    status: str
    status_label: str


class ReadingIn(Schema):
    values: list[ReadingValue] = Field(
        ..., max_length=12, description="One value per tariff zone, in the order of zone_names"
    )


class PreviousOut(Schema):
    values: list[int]
    date: dt.date


class ReadingResultOut(Schema):
    code: str = Field(..., description="Reason code of the readings service")
    message: str
    accepted: bool
    period: dt.date | None
    previous: PreviousOut | None
