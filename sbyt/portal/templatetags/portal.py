from django import template

from sbyt.core.periods import period_label

register = template.Library()


@register.filter
def period(value):
    """A billing period as «ноябрь 2026»."""
    return period_label(value) if value else ""


@register.filter
def tel(value):
    """A phone as printed («8-800-200-83-81») → a ``tel:`` link target."""
    text = str(value)
    digits = "".join(ch for ch in text if ch.isdigit())
    return ("+" if text.strip().startswith("+") else "") + digits


@register.filter
def values_of(reading, meter):
    """A reading's values with the meter's zone names: «1234» or «день: 1234; ночь: 567»."""
    if reading is None:
        return ""
    pairs = zip(meter.zone_names, reading.values, strict=False)
    return "; ".join(f"{name}: {value}" if name else str(value) for name, value in pairs)
