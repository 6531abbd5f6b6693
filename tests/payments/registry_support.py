"""Registry files as the banks write them: the Sberbank layout in cp1251 with a totals trailer."""

import contextlib
from decimal import Decimal

NAME = "ИВАНОВА МАРИЯ ПЕТРОВНА"
ADDRESS = "г. Сыктывкар, ул. Коммунистическая, д. 1, кв. 5"


def sber_line(account, amount, *, date="20-11-2026", time="10-15-00", period="1126", extras=(), name=NAME):
    return ";".join(
        [date, time, "8617", "0001", "12345", account, name, ADDRESS, period, amount, amount, "0,00", *extras]
    )


def sber_file(lines, *, count=None, total=None, encoding="cp1251") -> bytes:
    amounts = []
    for line in lines:
        with contextlib.suppress(IndexError, ArithmeticError):
            amounts.append(Decimal(line.split(";")[9].replace(",", ".")))
    count = len(lines) if count is None else count
    total = sum(amounts, Decimal("0.00")) if total is None else Decimal(total)
    money = f"{total:.2f}".replace(".", ",")
    trailer = f"={count};{money};{money};0,00"
    return ("\r\n".join([*lines, trailer]) + "\r\n").encode(encoding)
