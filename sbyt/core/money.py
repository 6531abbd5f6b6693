"""Money and quantities are Decimal; one rounding rule (half up) everywhere."""

from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")


def round_half_up(value: Decimal | int | str, places: Decimal = KOPECK) -> Decimal:
    return Decimal(value).quantize(places, rounding=ROUND_HALF_UP)
