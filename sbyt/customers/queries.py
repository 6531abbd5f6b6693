"""Object access for clients: the one place that decides which accounts a login may see."""

from django.db import connection
from django.db.models import Case, IntegerField, Prefetch, Q, Value, When

from sbyt.core.errors import NotFound

from .models import Account, AccountAccess, Contract


def accounts_for(user):
    """The accounts a client login may see (staff see clients through the back office, not here)."""
    if not getattr(user, "is_authenticated", False):
        return Account.objects.none()
    return Account.objects.filter(logins__user=user).select_related("customer", "branch").order_by("number")


def account_for(user, number: str) -> Account:
    """One of the login's own accounts, or NotFound (the same answer for someone else's and a missing one)."""
    number = (number or "").strip()
    account = accounts_for(user).filter(number=number).first() if number.isdigit() else None
    if account is None:
        raise NotFound("Лицевой счёт не найден.")
    return account


def has_access(user, account: Account) -> bool:
    return AccountAccess.objects.filter(user=user, account=account).exists()


def contracts_with_meters(account: Account):
    from sbyt.metering.models import Meter

    return (
        Contract.objects.filter(account=account)
        .select_related("premises")
        .prefetch_related(Prefetch("meters", queryset=Meter.objects.order_by("id")))
        .annotate(
            resource_order=Case(
                When(resource=Contract.Resource.ELECTRICITY, then=Value(0)),
                When(resource=Contract.Resource.HOT_WATER, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("resource_order", "number")
    )


def find_account(number: str) -> Account | None:
    number = (number or "").strip()
    if not number.isdigit():
        return None
    return Account.objects.select_related("customer", "branch").filter(number=number).first()


# --- staff search (CC-3: finding the client well under the 45 s the standard allows) ---------------------------

SEARCH_PART_LIMIT = 200  # per kind of match: a query matching more is too vague to browse anyway


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _starts_with(field: str, text: str) -> Q:
    """Case-insensitive prefix match. On PostgreSQL one ``UPPER(col::text) LIKE`` — the expression the trigram
    indexes of migration 0003 cover; SQLite's LIKE folds ASCII only, so Cyrillic needs the case variants there."""
    condition = Q(**{f"{field}__istartswith": text})
    if not _postgres():
        for variant in {text.lower(), text.upper(), text.capitalize(), text.title()}:
            condition |= Q(**{f"{field}__startswith": variant})
    return condition


def _contains(field: str, text: str) -> Q:
    """Case-insensitive containment (see ``_starts_with``)."""
    condition = Q(**{f"{field}__icontains": text})
    if not _postgres():
        for variant in {text.lower(), text.upper(), text.capitalize()}:
            condition |= Q(**{f"{field}__contains": variant})
    return condition


def _ids(queryset, field: str = "pk") -> list[int]:
    return list(queryset.values_list(field, flat=True)[:SEARCH_PART_LIMIT])


def search_account_ids(query: str) -> list[int]:
    """The accounts a staff query names: by client number or contract number (digits), by mobile phone written any
    way (normalised to the stored +7XXXXXXXXXX), by surname [and first name] or organisation name (prefix, any
    case), by address (every word, e.g. «Ленина 5 12»). Each kind is its own indexed query (no OR across joins,
    which no index serves); at most ``SEARCH_PART_LIMIT`` matches of each."""
    from sbyt.core.phones import normalize_phone

    from .models import Customer, Premises

    query = " ".join((query or "").split())
    if not query:
        return []
    ids: list[int] = []
    phone = normalize_phone(query)
    if query.isdigit():
        ids += _ids(Account.objects.filter(number=query))
        ids += _ids(Contract.objects.filter(number=query), "account_id")
    elif not phone:
        surname, *rest = query.split(" ")
        people = _starts_with("last_name", surname)
        if rest:
            people &= _starts_with("first_name", rest[0])
        organisations = Customer.objects.exclude(org_name="")  # the org_name index is partial: organisations
        customers = _ids(Customer.objects.filter(people)) + _ids(organisations.filter(_starts_with("org_name", query)))
        if any(ch.isdigit() for ch in query):  # an address: every word in the same premises' address
            address = Q()
            for word in query.replace(",", " ").split():
                # a number as house and flat numbers are written, after a space («д. 12», «кв. 34»): « 12» has
                # trigrams the index can use, a bare «12» has none (every row would be read)
                address &= _contains("address", f" {word}" if word.isdigit() else word)
            ids += _ids(Premises.objects.filter(address), "account_id")
        if customers:
            ids += _ids(Account.objects.filter(customer_id__in=customers))
    if phone:
        customers = _ids(Customer.objects.filter(phone=phone))
        if customers:
            ids += _ids(Account.objects.filter(customer_id__in=customers))
    return list(dict.fromkeys(ids))


def search_accounts(query: str):
    """``search_account_ids`` as accounts ordered by number, with what the result list shows."""
    return (
        Account.objects.filter(pk__in=search_account_ids(query))
        .select_related("customer", "branch")
        .prefetch_related("premises")
        .order_by("number")
    )
