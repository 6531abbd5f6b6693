"""Data the channel tests share: two contracts as the seeds write them (ПС 102057522 …, ПС 123859 …)."""

import datetime as dt

from tests.factories import ContractFactory, MeterFactory, ReadingFactory, WindowFactory, aware

INSIDE = aware(2026, 11, 20)  # inside the 18–25 readings window
ACCEPTED = "Показания приняты. Спасибо."


def two_meters(premises=None):
    """A one-zone meter on contract 102057522 and a two-zone one on 123859 (both on ``premises`` when given),
    each with an accepted October reading; readings window 18–25."""
    on = {"premises": premises} if premises is not None else {}
    one = MeterFactory(contract=ContractFactory(number="102057522", **on))
    two = MeterFactory(contract=ContractFactory(number="123859", **on), zones=2, digits=6)
    for branch in {one.contract.account.branch, two.contract.account.branch}:
        WindowFactory(branch=branch, first_day=18, last_day=25)
    ReadingFactory(meter=one, t1=11000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    ReadingFactory(meter=two, t1=45000, t2=23000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    return one, two
