"""Scheduled jobs of the offices: appointment reminders and the hall's waiting-time alerts."""

from sbyt.core.periodic import every


@every(300)
def appointment_reminders() -> None:
    """The day before a booked visit or video consultation, remind the client (OFF-5)."""
    from sbyt.offices.appointments import send_reminders

    send_reminders()


@every(60)
def hall_alerts() -> None:
    """Warn the office head when a hall's waiting time exceeds the standard's norm (OFF-2)."""
    from sbyt.offices.stats import check_hall_alerts

    check_hall_alerts()


@every(300)
def appointment_no_shows() -> None:
    """A booked visit nobody checked in for by 15 minutes after its time becomes «не пришёл» (frees the record
    from the day's lists; the slot is in the past anyway)."""
    from sbyt.offices.appointments import mark_no_shows

    mark_no_shows()
