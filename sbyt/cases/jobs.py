"""Scheduled job of the case engine: SLA warnings before a breach, and the report of a breach."""

from sbyt.core.periodic import every


@every(900)
def sla_warnings() -> None:
    """Every 15 minutes: clocks due today or on the next working day, and those just missed (services)."""
    from sbyt.cases.services import check_clocks

    check_clocks()
