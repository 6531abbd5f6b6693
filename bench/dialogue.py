#!/usr/bin/env python
"""The readings dialogue engine alone: messages/s of ``parse_message`` + ``handle`` on a realistic mix.

No database: contracts and meters live in memory and a submission is decided by the pure rules
(``metering.rules.parse_value`` / ``decide`` / ``explain``) — the same decisions as the readings service,
without its transaction. So the figure is the engine's own cost (parsing, state machine, SMS wording).

Usage: ``python bench/dialogue.py [--n 50000]``. Target: >= 5 000 messages/s.
"""

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

TARGET = 5_000  # messages/s
SEED = 20261120


def setup():
    import django

    django.setup()
    from django.utils import translation

    translation.activate("ru")


def memory_directory():
    from sbyt.messaging.dialogue import MeterInfo
    from sbyt.metering.rules import (
        Decision,
        MeterFacts,
        PastReading,
        Thresholds,
        ValueRejected,
        WindowRule,
        decide,
        explain,
        parse_value,
    )
    from sbyt.metering.services import ReadingResult

    window = WindowRule(18, 25, refuse_outside=False)
    thresholds = Thresholds(Decimal("3"), 1500)

    class MemoryDirectory:
        def __init__(self):
            self.contracts: dict[str, list[MeterInfo]] = {}
            self.previous: dict[int, PastReading] = {}
            serial = 7_000_000
            for i in range(2_000):
                zones = (1, 1, 1, 2, 2, 3)[i % 6]
                meters = [
                    MeterInfo(i * 10 + k, f"0{serial + i * 10 + k}", zones, True) for k in range(1 + (i % 7 == 0))
                ]
                self.contracts[str(100_000 + i)] = meters
                for m in meters:
                    self.previous[m.id] = PastReading(
                        (1000, 500, 300)[:zones], dt.date(2026, 10, 1), dt.date(2026, 10, 20)
                    )

        def meters(self, contract):
            return self.contracts.get(contract)

        def meter(self, contract, meter_id):
            return next((m for m in self.contracts.get(contract, ()) if m.id == meter_id), None)

        def submit(self, meter, values, *, channel, sender, at):
            facts = MeterFacts(meter.zones, 6, True, False, False, meter.serial)
            previous = self.previous[meter.id]
            try:
                parsed = tuple(parse_value(v) for v in values)
            except ValueRejected as exc:
                decision = Decision(exc.reason)
            else:
                decision = decide(
                    meter=facts,
                    values=parsed,
                    local_day=at.date(),
                    window=window,
                    previous=previous,
                    current=None,
                    baseline=None,
                    thresholds=thresholds,
                )
            message = explain(decision.reason, meter=facts, window=window, previous=previous, period=decision.period)
            return ReadingResult(decision.reason, message, meter.id, None, previous, decision.period)

        def window(self, meter, channel, at):
            return window.first_day, window.last_day

    return MemoryDirectory()


def conversations(rng: random.Random, directory, n: int):
    """Lists of messages, one conversation each, in the proportions people send them."""
    contracts = list(directory.contracts)
    out, total = [], 0
    while total < n:
        number = rng.choice(contracts)
        meters = directory.contracts[number]
        zones = meters[0].zones
        values = [str(rng.randint(1000, 1500)), str(rng.randint(500, 800)), str(rng.randint(300, 400))][:zones]
        prefix = rng.choice(["ПС", "ПС", "ПС", "пс", "PS", "ПC", "Пс"])
        roll = rng.random()
        if len(meters) > 1:
            conv = [f"{prefix} {number} {' '.join(values)}", meters[0].serial[-4:]]
        elif roll < 0.45:
            conv = [f"{prefix} {number} {' '.join(values)}"]
        elif roll < 0.65:
            conv = [f"{prefix} {number}", *values]
        elif roll < 0.72:
            conv = [f"{prefix}{number} {','.join(values)}"]
        elif roll < 0.78:
            conv = [f"{prefix} {number} {values[0]},5"]
        elif roll < 0.83:
            conv = [f"{prefix} {rng.randint(1, 10**9)} {values[0]}"]  # wrong contract
        elif roll < 0.87:
            conv = [f"{prefix} {number} 10"]  # lower than the previous
        elif roll < 0.91:
            conv = [f"{prefix} {number}", "отмена"]
        elif roll < 0.95:
            conv = [rng.choice(["Помощь", "?", "Здравствуйте, как передать показания?", "спасибо"])]
        else:
            conv = [f"{prefix} {number}", "ок", *values]
        out.append(conv)
        total += len(conv)
    return out, total


def run(n: int) -> float:
    from sbyt.messaging.dialogue import handle, parse_message
    from sbyt.messaging.smslength import fits_one_sms

    directory = memory_directory()
    rng = random.Random(SEED)
    convs, total = conversations(rng, directory, n)
    now = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    reasons: Counter = Counter()
    started = time.perf_counter()
    for conv in convs:
        state = None
        for text in conv:
            parse_message(text)  # what an adapter may call first (e.g. to route), counted in the figure
            outcome = handle(state=state, text=text, channel="sms", sender="+79120000000", now=now, directory=directory)
            state = outcome.state
            reasons[outcome.reason or "prompt/help"] += 1
            assert fits_one_sms(outcome.reply)
    elapsed = time.perf_counter() - started
    rate = total / elapsed
    print(f"messages: {total}  conversations: {len(convs)}  time: {elapsed:.2f} s")
    print(f"engine (parse_message + handle): {rate:,.0f} messages/s  (target >= {TARGET:,})")
    print("outcomes:", ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000, help="messages (default 50 000)")
    args = parser.parse_args()
    setup()
    rate = run(args.n)
    sys.exit(0 if rate >= TARGET else 1)


if __name__ == "__main__":
    main()
