"""The bureau's parameters: overrides stored in `im_parameters`, merged onto the pure defaults
(im/parameters.py) into the one `ImConfig` every I/M use case reads."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mobsrc.core import clock
from mobsrc.core.audit import name_action
from mobsrc.core.auth.principals import Principal
from mobsrc.core.errors import FieldError, Unprocessable
from mobsrc.im.models import ParameterOverride
from mobsrc.im.parameters import PARAMETERS, ImConfig, InvalidParameter, build_config, check_overrides

log = logging.getLogger(__name__)


def stored_overrides(session: Session) -> dict[str, Any]:
    """The valid stored overrides; a stored value a newer release no longer accepts is skipped
    (and logged) so that the loop keeps running on the default."""
    overrides = {}
    for row in session.scalars(select(ParameterOverride)):
        try:
            overrides |= check_overrides({row.key: row.value})
        except InvalidParameter as exc:
            log.warning("ignoring stored I/M parameter override: %s", exc)
    return overrides


def load_config(session: Session) -> ImConfig:
    return build_config(stored_overrides(session))


def list_parameters(session: Session) -> list[dict]:
    overrides = stored_overrides(session)
    return [dict(key=key, value=overrides.get(key, p.default), default=p.default,
                 overridden=key in overrides, kind=p.kind, description=p.description, tag=p.tag,
                 source=p.source, minimum=p.minimum, maximum=p.maximum, choices=list(p.choices))
            for key, p in PARAMETERS.items()]


def update_parameters(session: Session, principal: Principal, changes: dict[str, Any]) -> list[dict]:
    """Set overrides; a null value returns the parameter to its default. All or nothing."""
    to_set = {k: v for k, v in changes.items() if v is not None}
    try:
        clean = check_overrides(to_set)
    except InvalidParameter as exc:
        raise Unprocessable(f"values.{exc.key}: {exc.reason}",
                            [FieldError(f"values.{exc.key}", exc.reason)]) from exc
    unknown = [k for k in changes if k not in PARAMETERS]
    if unknown:
        raise Unprocessable(f"values.{unknown[0]}: no such parameter",
                            [FieldError(f"values.{k}", "no such parameter") for k in unknown])
    name_action(session, "im.parameters.update")
    resets = [k for k, v in changes.items() if v is None]
    if resets:
        for row in session.scalars(select(ParameterOverride).where(ParameterOverride.key.in_(resets))):
            session.delete(row)
    for key, value in clean.items():
        row = session.get(ParameterOverride, key) or ParameterOverride(key=key)
        row.value, row.updated_at, row.updated_by = value, clock.now(), principal.user_id
        session.add(row)
    session.flush()
    return list_parameters(session)

