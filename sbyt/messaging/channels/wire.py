"""What every inbound channel adapter shares: the error for a payload it cannot use, and reading a JSON body."""

import json

from django.utils.translation import gettext as _

from sbyt.core.errors import DomainError


class Malformed(DomainError):
    """The payload is not what the channel sends: answered 400, nothing stored."""

    code = "malformed"


def load_json(body: bytes, *, limit: int) -> dict:
    """A JSON object of at most ``limit`` bytes, or ``Malformed`` with a Russian message."""
    if len(body) > limit:
        raise Malformed(_("The request is too large."))
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Malformed(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise Malformed(_("The request body must be a JSON object."))
    return data
