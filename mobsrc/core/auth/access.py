"""Route guards. Every view method carries exactly one of `@requires(...)` or `@public`; the
access-matrix test fails for a route that has neither."""
from __future__ import annotations

import functools
from copy import deepcopy

from flask import g

from mobsrc.core.auth.principals import Principal, Role
from mobsrc.core.errors import Forbidden, Unauthorized

ROLES_ATTR = "_mobsrc_roles"
PUBLIC = frozenset({"public"})
ALL_ROLES_LIST = tuple(Role)


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized("Give your API key in the X-API-Key header (or as 'Authorization: Bearer <key>').")
    return principal


def _document(wrapper, func, roles: frozenset) -> None:
    doc = deepcopy(getattr(func, "_apidoc", {}))
    manual = doc.setdefault("manual_doc", {})
    if roles == PUBLIC:
        manual["security"] = []
    else:
        manual["security"] = [{"ApiKey": []}, {"Bearer": []}]
        manual.setdefault("responses", {}).update({
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
        })
    manual["x-roles"] = sorted(r if isinstance(r, str) else r.value for r in roles)
    wrapper._apidoc = doc


def requires(*roles: Role):
    """Allow the view to principals with one of `roles` (401 without a key, 403 otherwise)."""
    allowed = frozenset(roles)

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal.role not in allowed:
                raise Forbidden(f"Your role ({principal.role.value}) may not do this; "
                                f"allowed: {', '.join(sorted(r.value for r in allowed))}.")
            return func(*args, **kwargs)

        setattr(wrapper, ROLES_ATTR, allowed)
        _document(wrapper, func, allowed)
        return wrapper

    return decorate


def public(func):
    """Explicitly open to anyone (health, label verification, the docs)."""
    setattr(func, ROLES_ATTR, PUBLIC)
    _document(func, func, PUBLIC)
    return func
