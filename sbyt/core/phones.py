"""Russian mobile numbers: stored as +7XXXXXXXXXX."""

import re

_DIGITS = re.compile(r"\D+")


def normalize_phone(text: str) -> str | None:
    """+7 (912) 967-15-20, 8 912 967 15 20, 79129671520 → +79129671520; anything else → None."""
    digits = _DIGITS.sub("", text or "")
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10 and digits[0] == "9":
        return "+7" + digits
    return None


def mask_phone(phone: str) -> str:
    """+79129671520 → +7 912 ***-**-20."""
    if not phone or len(phone) < 12:
        return "***"
    return f"{phone[:2]} {phone[2:5]} ***-**-{phone[-2:]}"
