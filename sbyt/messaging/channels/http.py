"""Outbound JSON-over-HTTP for the messenger adapters (Telegram Bot API, VK API, …): urllib, a timeout, one error.

Every failure — unreachable host, timeout, an HTTP error status, a body that is not JSON — raises
``OutboundHttpError``; ``messaging.services.deliver`` records it on the ``OutboundMessage`` and the message is retried.
Error texts never contain the URL (a bot token travels in Telegram's URL path).
"""

import json
import urllib.error
import urllib.parse
import urllib.request

DEFAULT_TIMEOUT = 10.0  # seconds
MAX_RESPONSE_BYTES = 1024 * 1024
USER_AGENT = "sbyt-messaging/1"


class OutboundHttpError(Exception):
    """The messenger's API did not take the request (it may on a later attempt). ``status`` is the HTTP status
    when there was one; ``body`` the decoded JSON answer when there was one."""

    def __init__(self, message: str, *, status: int | None = None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body


def _read_json(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _request(url: str, data: bytes, content_type: str, *, timeout: float, headers: dict | None):
    request = urllib.request.Request(  # noqa: S310 - the URL comes from settings (https), not from a client
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": content_type,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - see above
            status, raw = response.status, response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        body = _read_json(exc.read(MAX_RESPONSE_BYTES) or b"")
        raise OutboundHttpError(f"HTTP {exc.code}: {_describe(body)}", status=exc.code, body=body) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OutboundHttpError(f"unreachable: {type(reason).__name__}: {reason}") from None
    body = _read_json(raw)
    if body is None:
        raise OutboundHttpError(f"HTTP {status}: the answer is not JSON", status=status)
    return body


def _describe(body) -> str:
    if isinstance(body, dict):
        for key in ("description", "error", "message"):
            if key in body:
                return str(body[key])[:300]
    return "no JSON answer" if body is None else str(body)[:300]


def post_json(url: str, payload: dict, *, timeout: float = DEFAULT_TIMEOUT, headers: dict | None = None):
    """POST ``payload`` as UTF-8 JSON; the decoded JSON answer of a 2xx response, else ``OutboundHttpError``."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return _request(url, data, "application/json; charset=utf-8", timeout=timeout, headers=headers)


def post_form(url: str, fields: dict, *, timeout: float = DEFAULT_TIMEOUT, headers: dict | None = None):
    """POST ``fields`` as ``application/x-www-form-urlencoded`` (UTF-8); the decoded JSON answer, as ``post_json``."""
    data = urllib.parse.urlencode({k: str(v) for k, v in fields.items()}).encode("ascii")
    return _request(url, data, "application/x-www-form-urlencoded; charset=utf-8", timeout=timeout, headers=headers)
