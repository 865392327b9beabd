"""The domain error family. Services raise these; the one handler in core/web.py turns them
into `application/problem+json` (RFC 9457). No Flask here, so jobs and the CLI share them."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field: `field` is a dotted path (`rows.3.vin`)."""

    field: str
    reason: str
    code: str = "invalid"

    def as_dict(self) -> dict:
        return {"field": self.field, "reason": self.reason, "code": self.code}


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: Iterable[FieldError] = (), **extra):
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.extra = extra  # further members of the problem document (e.g. allowed events)


class BadRequest(DomainError):
    status, title = 400, "Bad request"


class Unauthorized(DomainError):
    status, title = 401, "Authentication required"


class Forbidden(DomainError):
    status, title = 403, "Not allowed"


class NotFound(DomainError):
    status, title = 404, "Not found"


class Conflict(DomainError):
    status, title = 409, "Conflict"


class Unprocessable(DomainError):
    status, title = 422, "Invalid input"


class NotInScope(NotFound):
    """The object exists but belongs to someone else: answered as 404 so that it does not leak."""


class DuplicateEngine(Conflict):
    title = "Engine already registered"


class IllegalTransition(Conflict):
    title = "Not allowed in the current state"


def invalid(field: str, reason: str, code: str = "invalid") -> Unprocessable:
    """A 422 about one field, with a message a clerk can act on."""
    return Unprocessable(f"{field}: {reason}", [FieldError(field, reason, code)])


def field_errors(messages, path: tuple = ()) -> list[FieldError]:
    """marshmallow's nested messages ({"rows": {0: {"vin": ["..."]}}}) -> flat field errors."""
    if isinstance(messages, dict):
        return [e for key, value in messages.items() for e in field_errors(value, path + (str(key),))]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [FieldError(".".join(path) or "_schema", m) for m in messages]
    if isinstance(messages, list):
        return [e for i, value in enumerate(messages) for e in field_errors(value, path + (str(i),))]
    return [FieldError(".".join(path) or "_schema", str(messages))]
