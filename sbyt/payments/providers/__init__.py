"""Online acquiring behind one interface. ``get_provider()`` gives the configured one (``SBYT_PAYMENT_PROVIDER``):
``sandbox`` (a local page that plays the bank: the demo, development and the browser tests) or ``yookassa``
(ЮKassa through its official SDK). The services never talk to a provider any other way.

A provider's word is trusted only from its API: a notification names a payment, and the services then fetch that
payment (``fetch_payment``) and credit what the API says. ``parse_notification`` refuses what cannot have come from
the provider (a wrong signature or sender) with ``ForgedNotification``.

Refunds: ``create_refund`` asks the provider to return (part of) a payment to the card or account it came from, under
our idempotence key (the same key again gives the same refund, never a second one); ``get_refund`` reads a refund
back. A refund is ``succeeded`` (the money has gone back), ``pending`` (the provider is still working on it) or
``canceled`` (it will not happen)."""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

SUCCEEDED = "succeeded"
CANCELED = "canceled"
PENDING = "pending"
WAITING_FOR_CAPTURE = "waiting_for_capture"


class ProviderError(Exception):
    """The provider could not be reached or refused the request; nothing is known about the payment's fate."""


class ProviderRefused(ProviderError):
    """The provider answered and did not carry the request out (a bad request, a refusal): nothing was done there."""


class ForgedNotification(Exception):
    """A notification that cannot have come from the provider."""


@dataclass(frozen=True)
class RemotePayment:
    """A payment as the provider's API reports it."""

    id: str
    status: str  # pending | waiting_for_capture | succeeded | canceled
    amount: Decimal
    currency: str = "RUB"
    paid: bool = False
    confirmation_url: str = ""
    payment_method_id: str = ""
    payment_method_saved: bool = False
    payment_method_title: str = ""
    cancel_reason: str = ""
    metadata: Mapping = field(default_factory=dict)
    captured_at: dt.datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED and self.paid is not False

    @property
    def canceled(self) -> bool:
        return self.status == CANCELED


@dataclass(frozen=True)
class RemoteRefund:
    """A refund as the provider's API reports it."""

    id: str
    payment_id: str
    status: str  # pending | succeeded | canceled
    amount: Decimal
    currency: str = "RUB"
    cancel_reason: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def canceled(self) -> bool:
        return self.status == CANCELED


@dataclass(frozen=True)
class Notification:
    event: str
    object_id: str


class Provider:
    """What every provider does. ``order`` is our order's id (idempotence key and metadata)."""

    name = ""

    def create_payment(
        self,
        *,
        order: str,
        amount: Decimal,
        description: str,
        return_url: str,
        method: str = "card",
        save_method: bool = False,
        payment_method_id: str = "",
        email: str = "",
        phone: str = "",
    ) -> RemotePayment:
        raise NotImplementedError

    def fetch_payment(self, payment_id: str) -> RemotePayment:
        raise NotImplementedError

    def create_refund(
        self,
        payment_id: str,
        amount: Decimal,
        *,
        idempotence_key: str,
        description: str,
        email: str = "",
        phone: str = "",
    ) -> RemoteRefund:
        """Return ``amount`` of the provider's payment ``payment_id`` to the payer (``email`` / ``phone``: where the
        refund receipt goes, when the provider sends receipts). ``ProviderRefused`` when the provider says no to the
        request itself; ``ProviderError`` when its fate is unknown (ask again with the same key)."""
        raise NotImplementedError

    def get_refund(self, refund_id: str) -> RemoteRefund:
        raise NotImplementedError

    def parse_notification(self, *, body: bytes, headers: Mapping[str, str], remote_ip: str) -> Notification:
        raise NotImplementedError


def get_provider(name: str | None = None) -> Provider:
    name = name or settings.SBYT_PAYMENT_PROVIDER
    if name == "sandbox":
        from .sandbox import SandboxProvider

        return SandboxProvider()
    if name == "yookassa":
        from .yookassa import YooKassaProvider

        return YooKassaProvider()
    raise ValueError(f"unknown payment provider {name!r}")


PROVIDERS = ("sandbox", "yookassa")
