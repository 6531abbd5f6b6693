"""Domain errors: raised by services, carrying a message a user can read."""


class DomainError(Exception):
    """A guard of a service refused the operation; ``message`` is shown to the user as is."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code

    def __str__(self) -> str:
        return self.message


class PermissionDenied(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"
