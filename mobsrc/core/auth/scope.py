"""Object-level scope, applied in services so the API, the CLI and jobs share the rules
(GeoNature's filter_by_scope / has_instance_permission)."""
from __future__ import annotations

from sqlalchemy import Select, false

from mobsrc.core.auth.principals import Principal, Role
from mobsrc.core.errors import NotInScope


def scoped(stmt: Select, principal: Principal, *, enterprise_col=None, station_col=None) -> Select:
    """Limit a list query to what `principal` may see.

    Admin and police see everything; an operator its enterprise's rows; a station its own rows.
    A role with no column to scope by sees nothing.
    """
    if principal.sees_everything:
        return stmt
    if principal.role is Role.FLEET_OPERATOR and enterprise_col is not None:
        return stmt.where(enterprise_col == principal.enterprise_id)
    if principal.station_id is not None and station_col is not None:
        return stmt.where(station_col == principal.station_id)
    return stmt.where(false())


def is_visible(principal: Principal, *, enterprise_id: int | None = None,
               station_id: int | None = None) -> bool:
    if principal.sees_everything:
        return True
    if principal.role is Role.FLEET_OPERATOR:
        return enterprise_id is not None and enterprise_id == principal.enterprise_id
    return station_id is not None and station_id == principal.station_id


def ensure_visible(principal: Principal, obj, what: str, *, enterprise_id: int | None = None,
                   station_id: int | None = None):
    """Return `obj` if the principal may see it; otherwise the same 404 as for a missing one."""
    if obj is None or not is_visible(principal, enterprise_id=enterprise_id, station_id=station_id):
        raise NotInScope(f"No such {what}.")
    return obj
