class SmsDeliveryError(Exception):
    """The gateway refused or could not be reached; the message stays for a retry."""


class SmsBackend:
    """Send one SMS; return the gateway's message id (or an empty string)."""

    def send(self, *, to: str, text: str, sender: str = "") -> str:  # pragma: no cover - interface
        raise NotImplementedError
