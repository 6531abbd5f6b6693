"""Object access for clients: the one place that decides which accounts a login may see."""

from django.db.models import Case, IntegerField, Prefetch, Value, When

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
