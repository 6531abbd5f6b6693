"""Payments on the billing ledger, set-based: the twin of ``billing.services.post_payment`` for many payments.

``post_payment`` posts one payment (it locks the account, reads its ledger and writes its entries: a handful of
queries each). A registry brings thousands, so ``post_payment_entries`` does the same for a whole chunk in a fixed
number of queries: lock the chunk's accounts (PostgreSQL: ``FOR UPDATE``, in id order, as the billing run and
``post_payment`` lock them), read their contracts and ledger entries once, share each payment out with billing's own
``split_payment`` (ГК РФ ст. 319.1: the period the payer named first, else the oldest debt, then penalties, the rest
an advance), and write every entry with one ``COPY`` / multi-row ``INSERT``. A payment made later in the chunk sees
the entries of the earlier ones, as sequential ``post_payment`` calls would.

Entries are ``kind="payment"`` with a negative amount, ``document_type="payment"`` and ``document_id`` the
``Payment``'s id (the ledger's unique constraint keeps a document posted once per contract)."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.db import connection

from sbyt.billing.models import LedgerEntry
from sbyt.billing.services import split_payment
from sbyt.core.money import round_half_up
from sbyt.customers.models import Account, Contract

from .bulk import Inserter, in_clause, select, slices

DOCUMENT_TYPE = "payment"
ENTRY_COLUMNS = (
    "account_id",
    "contract_id",
    "kind",
    "amount",
    "period",
    "value_date",
    "document_type",
    "document_id",
    "note",
)


class Entry(NamedTuple):
    """A ledger entry as ``split_payment`` reads it."""

    contract_id: int | None
    kind: str
    amount: Decimal
    period: dt.date | None
    due_date: dt.date | None
    value_date: dt.date


class ContractRow(NamedTuple):
    pk: int
    account_id: int
    resource: str
    number: str


@dataclass(frozen=True)
class ToPost:
    payment_id: int
    account_id: int
    amount: Decimal  # > 0: reduces the debt
    paid_on: dt.date
    period: dt.date | None = None
    contract_id: int | None = None
    note: str = ""


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else round_half_up(Decimal(str(value)))


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def lock_accounts(account_ids: Iterable[int]) -> None:
    """Row locks on the accounts (PostgreSQL), in id order so that concurrent writers never deadlock."""
    if connection.vendor != "postgresql":
        return  # SQLite's write transaction already excludes every other writer
    ids = sorted(set(account_ids))
    table = Account._meta.db_table
    with connection.cursor() as cursor:
        for part in slices(ids):
            clause, params = in_clause(part)
            cursor.execute(f"SELECT id FROM {table} WHERE id {clause} ORDER BY id FOR UPDATE", params)  # noqa: S608


def contracts_of(account_ids: list[int]) -> dict[int, list[ContractRow]]:
    """Each account's contracts in the order payments go to them: electricity first, then by number."""
    table = Contract._meta.db_table
    rows = select(f"SELECT id, account_id, resource, number FROM {table} WHERE account_id {{in}}", account_ids)  # noqa: S608
    result: dict[int, list[ContractRow]] = defaultdict(list)
    for row in rows:
        result[row[1]].append(ContractRow(*row))
    for contracts in result.values():
        contracts.sort(key=lambda c: (c.resource != Contract.Resource.ELECTRICITY, c.number))
    return result


def ledgers_of(account_ids: list[int]) -> dict[int, dict[int | None, list[Entry]]]:
    """account → contract → entries in ledger order (value date, id)."""
    table = LedgerEntry._meta.db_table
    rows = select(
        f"SELECT account_id, contract_id, kind, amount, period, due_date, value_date FROM {table} "  # noqa: S608
        "WHERE account_id {in} ORDER BY value_date, id",
        account_ids,
    )
    result: dict[int, dict[int | None, list[Entry]]] = defaultdict(lambda: defaultdict(list))
    if not account_ids:
        return result
    for account_id, contract_id, kind, amount, period, due_date, value_date in rows:
        result[account_id][contract_id].append(
            Entry(contract_id, kind, _decimal(amount), _date(period), _date(due_date), _date(value_date))
        )
    return result


def allocate(
    items: list[ToPost], contracts: dict[int, list[ContractRow]], ledgers: dict[int, dict[int | None, list[Entry]]]
) -> list[tuple]:
    """The ledger rows (``ENTRY_COLUMNS``) of ``items``; an account without contracts gets none (the caller
    checks that first). ``ledgers`` is extended with what is allocated."""
    rows = []
    payment_kind = LedgerEntry.Kind.PAYMENT.value
    for item in items:
        account_contracts = contracts.get(item.account_id) or []
        ledger = ledgers[item.account_id] if len(account_contracts) > 1 else None
        if item.contract_id is not None:
            shares = {item.contract_id: item.amount}
        elif not account_contracts:
            continue
        elif len(account_contracts) == 1:
            # split_payment shares between contracts only; with one contract all of it goes there (the debts of
            # the named period first, then the oldest, then an advance — all on this contract), so the account's
            # ledger need not be read at all
            rows.append(
                (
                    item.account_id,
                    account_contracts[0].pk,
                    payment_kind,
                    -item.amount,
                    item.period,
                    item.paid_on,
                    DOCUMENT_TYPE,
                    str(item.payment_id),
                    item.note[:300],
                )
            )
            continue
        else:
            shares = split_payment(item.amount, account_contracts, ledger, item.period)
        document_id = str(item.payment_id)
        for contract_id, share in shares.items():
            rows.append(
                (
                    item.account_id,
                    contract_id,
                    payment_kind,
                    -share,
                    item.period,
                    item.paid_on,
                    DOCUMENT_TYPE,
                    document_id,
                    item.note[:300],
                )
            )
            ledger[contract_id].append(Entry(contract_id, payment_kind, -share, item.period, None, item.paid_on))
    return rows


def post_payment_entries(items: list[ToPost], *, locked: bool = False) -> int:
    """Post many payments to the ledger in a fixed number of queries; returns the number of entries written.
    Call inside a transaction; ``locked``: the caller already holds the accounts' locks."""
    if not items:
        return 0
    account_ids = sorted({item.account_id for item in items})
    if not locked:
        lock_accounts(account_ids)
    contracts = contracts_of(account_ids)
    rows = allocate(items, contracts, ledgers_of(shared_accounts(account_ids, contracts)))
    return Inserter(LedgerEntry, ENTRY_COLUMNS).write(rows)


def shared_accounts(account_ids: Iterable[int], contracts: dict[int, list[ContractRow]]) -> list[int]:
    """The accounts whose payments are shared between several contracts: only their ledgers are needed."""
    return sorted(pk for pk in account_ids if len(contracts.get(pk) or ()) > 1)
