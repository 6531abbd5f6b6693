import datetime as dt

import factory
from django.utils import timezone

from sbyt.customers.models import Account, AccountAccess, Branch, Contract, Customer, Premises
from sbyt.metering.models import Meter, Reading, ReadingWindow
from sbyt.users.models import User


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch
        django_get_or_create = ("code",)

    code = "11"
    name = "Сыктывкарский филиал"
    time_zone = "Europe/Moscow"
    contact_phones = "8-800-200-83-81, 8-8212-28-99-99"


class WindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReadingWindow

    branch = factory.SubFactory(BranchFactory)
    first_day = 18
    last_day = 25


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    last_name = "Иванова"
    first_name = "Мария"
    middle_name = "Петровна"
    birth_date = dt.date(1970, 5, 17)
    phone = factory.Sequence(lambda n: f"+7912{n:07d}")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    number = factory.Sequence(lambda n: f"{110000000 + n}")
    customer = factory.SubFactory(CustomerFactory)
    branch = factory.SubFactory(BranchFactory)


class PremisesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Premises

    account = factory.SubFactory(AccountFactory)
    address = "г. Сыктывкар, ул. Коммунистическая, д. 1, кв. 5"
    residents = 2
    rooms = 2


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    number = factory.Sequence(lambda n: f"{200000 + n}")
    premises = factory.SubFactory(PremisesFactory)
    account = factory.SelfAttribute("premises.account")
    start_date = dt.date(2020, 1, 1)


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter

    contract = factory.SubFactory(ContractFactory)
    serial = factory.Sequence(lambda n: f"0{7000000 + n}")
    model_name = "Меркурий 201"
    zones = 1
    digits = 5
    installed_on = dt.date(2020, 1, 1)
    verification_due = dt.date(2036, 1, 1)


class ReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reading

    meter = factory.SubFactory(MeterFactory)
    period = dt.date(2026, 10, 1)
    t1 = 1000
    received_at = factory.LazyFunction(timezone.now)
    channel = "cabinet"
    status = Reading.Status.ACCEPTED
    reason = "accepted"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "Secret-pass-42")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


def client_login(account: Account, **kwargs) -> User:
    """A client login with access to ``account``."""
    user = UserFactory(username=account.number, **kwargs)
    AccountAccess.objects.create(user=user, account=account, proof=AccountAccess.Proof.SMS_CODE)
    return user


def staff_login(*roles: str, **kwargs) -> User:
    from django.contrib.auth.models import Group

    user = UserFactory(is_staff=True, **kwargs)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


def aware(year, month, day, hour=12, tz="Europe/Moscow") -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(year, month, day, hour, tzinfo=ZoneInfo(tz))


class VoiceMessageFactory(factory.django.DjangoModelFactory):
    """A message on the answering machine; the recording file itself is the test's business (``write_wav``)."""

    class Meta:
        model = "messaging.VoiceMessage"

    call_id = factory.Sequence(lambda n: f"1763456789.{1000 + n}")
    caller = "79121234567"
    recording = factory.LazyAttribute(lambda o: f"2026/11/{o.call_id.replace('.', '_')}.wav")
    duration = 12
    received_at = factory.LazyFunction(lambda: aware(2026, 11, 19, 10))
