"""Fixtures of the zones integration tests: machines of two owners and the keys that report them."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import Role
from tests.integration import factories


def _key(session, role: Role, enterprise=None) -> dict:
    user = accounts.create_user(session, f"{role.value} {enterprise.id if enterprise else 'platform'}", role,
                                enterprise.id if enterprise else None)
    _, secret = accounts.issue_api_key(session, user.id)
    return {"X-API-Key": secret}


def make_world(session) -> SimpleNamespace:
    """Two enterprises; an old (China II) excavator with a terminal, a China IV loader, another
    owner's China II crane; keys for the bureau, both operators, a platform terminal and a
    terminal user bound to the first enterprise."""
    firm, other = factories.make_enterprise(session), factories.make_enterprise(session)
    world = SimpleNamespace(
        firm=firm, other=other,
        old=factories.make_machine(session, firm, emission_stage="china_2", terminal_id="T-OLD-0001"),
        new=factories.make_machine(session, firm, machine_type="loader", emission_stage="china_4",
                                   terminal_id="T-NEW-0001"),
        others=factories.make_machine(session, other, machine_type="crane", emission_stage="china_2"),
        admin=_key(session, Role.ADMIN), police=_key(session, Role.POLICE),
        operator=_key(session, Role.FLEET_OPERATOR, firm), other_operator=_key(session, Role.FLEET_OPERATOR, other),
        platform=_key(session, Role.TERMINAL), terminal=_key(session, Role.TERMINAL, firm))
    session.flush()
    return world


@pytest.fixture
def world(session):
    return make_world(session)


@pytest.fixture
def committed_world(committed_session):
    world = make_world(committed_session)
    committed_session.commit()
    return world
