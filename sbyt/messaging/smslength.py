"""How many SMS a text takes: GSM 03.38 7-bit (160 a message, 153 a part) or UCS-2 (70, 67 a part).

A text is sent in GSM-7 only if every character is in the default alphabet or its extension table (the
extension characters ``^{}\\[~]|€`` and form feed take two septets: escape + character). Anything else —
Cyrillic included — switches the whole message to UCS-2, counted in UTF-16 code units (a character outside
the Basic Multilingual Plane, e.g. an emoji, takes two). A part never splits an escape pair or a surrogate pair.
"""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\x0c")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _units(text: str) -> tuple[list[int], int, int]:
    """Per-character sizes and the (single, part) limits of the encoding the text needs."""
    if is_gsm7(text):
        return [2 if c in GSM7_EXTENSION else 1 for c in text], GSM7_SINGLE, GSM7_PART
    return [2 if ord(c) > 0xFFFF else 1 for c in text], UCS2_SINGLE, UCS2_PART


def sms_length(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes."""
    return sum(_units(text)[0])


def sms_parts(text: str) -> int:
    """The number of SMS the text is sent in (an empty text is still one message)."""
    sizes, single, part = _units(text)
    if sum(sizes) <= single:
        return 1
    parts, used = 1, 0
    for size in sizes:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts


def fits_one_sms(text: str) -> bool:
    sizes, single, _part = _units(text)
    return sum(sizes) <= single


def shorten_for_sms(text: str) -> str:
    """The text itself if it fits one SMS, else cut at a word boundary where possible, with an ellipsis."""
    if fits_one_sms(text):
        return text
    gsm = is_gsm7(text)
    ellipsis = "..." if gsm else "…"
    limit = (GSM7_SINGLE if gsm else UCS2_SINGLE) - len(ellipsis)
    sizes = _units(text)[0]
    used = cut = 0
    for size in sizes:
        if used + size > limit:
            break
        used += size
        cut += 1
    head = text[:cut]
    space = head.rfind(" ")
    if space > cut // 2:
        head = head[:space]
    return head.rstrip(" ,;:.-") + ellipsis
