"""Users, keys and authentication. Core imports no feature: stations and enterprises are read
through lightweight table constructs, by name."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import column, select, table, update
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.auth import keys
from mobsrc.core.auth.models import ApiKey, User
from mobsrc.core.auth.principals import STATION_KIND_OF_ROLE, STATION_ROLES, Principal, Role
from mobsrc.core.errors import NotFound, invalid

_stations = table("stations", column("id"), column("kind"), column("code"))
_enterprises = table("enterprises", column("id"))
LAST_USED_RESOLUTION = timedelta(minutes=10)


def authenticate(session: Session, presented: str) -> Principal | None:
    """The principal behind a presented key, or None (unknown, revoked, inactive user)."""
    lookup = keys.lookup_of(presented)
    if lookup is None:
        return None
    row = session.execute(
        select(ApiKey, User, _stations.c.code)
        .join(User, ApiKey.user_id == User.id)
        .outerjoin(_stations, _stations.c.id == User.station_id)
        .where(ApiKey.lookup == lookup)).first()
    if row is None:
        return None
    key, user, station_code = row
    if key.revoked_at is not None or not user.active or not keys.matches(presented, key.digest):
        return None
    _touch(session, key)
    return Principal(user_id=user.id, key_id=key.id, role=user.role, name=user.name,
                     enterprise_id=user.enterprise_id, station_id=user.station_id,
                     station_code=station_code)


def _touch(session: Session, key: ApiKey) -> None:
    """Record use at a coarse resolution: one write per key per 10 minutes, not per request."""
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
                        .execution_options(synchronize_session=False))


def _check_scope(session: Session, role: Role, enterprise_id: int | None, station_id: int | None) -> None:
    if role is Role.FLEET_OPERATOR and enterprise_id is None:
        raise invalid("enterprise_id", "a fleet operator must belong to an enterprise")
    if enterprise_id is not None:
        if role not in (Role.FLEET_OPERATOR, Role.TERMINAL):
            raise invalid("enterprise_id", f"role {role.value} is not scoped to an enterprise")
        if session.execute(select(_enterprises.c.id).where(_enterprises.c.id == enterprise_id)).first() is None:
            raise invalid("enterprise_id", "no such enterprise")
    if role in STATION_ROLES:
        kind = session.execute(select(_stations.c.kind).where(_stations.c.id == station_id)).scalar() \
            if station_id is not None else None
        if kind is None:
            raise invalid("station_id", f"a {role.value} user must be bound to an existing station")
        if kind != STATION_KIND_OF_ROLE[role]:
            raise invalid("station_id", f"station is of kind '{kind}', role {role.value} needs "
                                        f"'{STATION_KIND_OF_ROLE[role]}'")
    elif station_id is not None:
        raise invalid("station_id", f"role {role.value} is not scoped to a station")


def create_user(session: Session, name: str, role: Role, enterprise_id: int | None = None,
                station_id: int | None = None) -> User:
    _check_scope(session, role, enterprise_id, station_id)
    user = User(name=name, role=role, enterprise_id=enterprise_id, station_id=station_id)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def issue_api_key(session: Session, user_id: int, label: str = "") -> tuple[ApiKey, str]:
    """A new key for the user; the plain key is returned once and never stored."""
    get_user(session, user_id)
    issued = keys.issue_key()
    key = ApiKey(user_id=user_id, lookup=issued.lookup, digest=issued.digest, label=label)
    session.add(key)
    session.flush()
    return key, issued.key


def revoke_api_key(session: Session, key_id: int, principal: Principal) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or (principal.role is not Role.ADMIN and key.user_id != principal.user_id):
        raise NotFound("No such key.")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        session.flush()
    return key


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))
