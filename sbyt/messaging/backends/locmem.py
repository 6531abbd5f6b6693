from .base import SmsBackend

outbox: list[dict] = []


class LocmemSmsBackend(SmsBackend):
    """Tests: keep sent SMS in ``outbox``, the way Django's locmem mail backend does."""

    def send(self, *, to: str, text: str, sender: str = "") -> str:
        outbox.append({"to": to, "text": text, "sender": sender})
        return f"locmem-{len(outbox)}"
