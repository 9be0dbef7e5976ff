"""Errors raised to the caller.

Only `vigil.init` and the explicit API calls raise; logging never does (a
problem with logged data is reported once on stderr and the rest of the batch
goes through). Every error is a `ValueError` so that a caller that validates
its arguments can catch one type.

    >>> try:
    ...     vigil.init(project="bad name!")
    ... except vigil.VigilError as e:
    ...     print(e)
"""

from __future__ import annotations


class VigilError(ValueError):
    """A call to the SDK could not do what was asked."""


class ApiError(VigilError):
    """The server answered a request with an error.

    `status` is the HTTP status, `code` and `message` come from the server's
    `{"error": {"code", "message"}}` body (None / the raw body when absent).
    """

    def __init__(self, status: int, code: str | None, message: str, what: str = "request"):
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{what}: server answered {status} {code or ''}: {message}".replace("  ", " "))
