"""The HTTP boundary shared by every feature: the per-request session (committed once, before
the response leaves), authentication, and the one problem+json error handler."""
from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, current_app, g, json, request
from marshmallow import ValidationError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from mobsrc.core import audit, jobs
from mobsrc.core.auth import service as auth
from mobsrc.core.errors import DomainError, FieldError, field_errors

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_BEARER = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)
_LOCATIONS = {"json": "body", "query": "query", "form": "form", "files": "files", "headers": "header",
              "view_args": "path"}


def request_session() -> Session:
    """The session of this request, opened on first use."""
    if "db_session" not in g:
        state = current_app.extensions["mobsrc"]
        session = state.db.sessionmaker()
        jobs.bind_redis(session, state.redis)
        if g.get("principal") is not None:
            audit.act_as(session, g.principal)
        g.db_session = session
    return g.db_session


def _presented_key() -> str | None:
    key = request.headers.get("X-API-Key")
    if key:
        return key.strip()
    match = _BEARER.match(request.headers.get("Authorization", ""))
    return match.group(1) if match else None


def _commit(response: Response) -> Response:
    session = g.pop("db_session", None)
    if session is None:
        return response
    try:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
    return response


def _close(exc) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def problem(status: int, title: str, detail: str, errors=(), type_: str = "about:blank",
            headers=None, **extra) -> Response:
    body = {"type": type_, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = [e.as_dict() if isinstance(e, FieldError) else e for e in errors]
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _slug(cls: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", cls.__name__).lower()


def _webargs_errors(messages: dict) -> list[FieldError]:
    """webargs nests messages under the location ({"json": {...}, "query": {...}})."""
    if not all(key in _LOCATIONS for key in messages):
        return field_errors(messages)
    return [e for location in messages.values() for e in field_errors(location)]


def _handle_domain(exc: DomainError) -> Response:
    return problem(exc.status, exc.title, exc.detail, exc.errors, f"urn:mobsrc:problem:{_slug(type(exc))}",
                   **exc.extra)


def _handle_http(exc: HTTPException) -> Response:
    errors = ()
    data = getattr(exc, "data", None) or {}
    if "messages" in data:
        errors = _webargs_errors(data["messages"])
    detail = exc.description or exc.name
    if exc.code == 422:
        detail = "Some values are not valid; see errors for each field."
    elif exc.code == 413:
        detail = f"The request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes."
    headers = {}
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return problem(exc.code or 500, exc.name, detail, errors, headers=headers)


def _handle_validation(exc: ValidationError) -> Response:
    return problem(422, "Invalid input", "Some values are not valid; see errors for each field.",
                   field_errors(exc.messages))


def _handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _handle_http(exc)
    incident = uuid.uuid4().hex[:12]
    log.exception("unhandled error, incident %s", incident)
    return problem(500, "Internal error", f"Something went wrong on our side. The incident id is "
                                          f"{incident}; quote it when you report the problem.")


class InvalidKey(DomainError):
    status, title = 401, "Authentication failed"


def _authenticate_request() -> None:
    g.principal = None
    key = _presented_key()
    if key is None:
        return
    principal = auth.authenticate(request_session(), key)
    if principal is None:
        raise InvalidKey("The API key is unknown, revoked or belongs to a deactivated user.")
    g.principal = principal
    audit.act_as(request_session(), principal)


def install(app: Flask) -> None:
    app.before_request(_authenticate_request)
    app.after_request(_commit)
    app.teardown_request(_close)
    app.register_error_handler(DomainError, _handle_domain)
    app.register_error_handler(ValidationError, _handle_validation)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
