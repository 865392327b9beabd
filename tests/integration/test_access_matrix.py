"""Every route x every role -> the expected answer. A route missing from ACCESS fails, so no
route can ship without an explicit decision about who may call it."""
from __future__ import annotations

import re

import pytest

from mobsrc.core.auth.access import PUBLIC, ROLES_ATTR
from mobsrc.core.auth.principals import Role
from tests.integration import factories

A, P, IS, MS, RS, OP, T = (Role.ADMIN, Role.POLICE, Role.I_STATION, Role.M_STATION, Role.RS_STATION,
                         Role.FLEET_OPERATOR, Role.TERMINAL)
EVERYONE = frozenset(Role)
STATIONS = {IS, MS, RS}

ACCESS: dict[tuple[str, str], frozenset | str] = {
    ("GET", "/api/v1/health"): "public",
    ("GET", "/api/v1/verify/<string:code>"): "public",
    ("GET", "/api/v1/users"): {A},
    ("POST", "/api/v1/users"): {A},
    ("GET", "/api/v1/users/<int:user_id>"): {A},
    ("POST", "/api/v1/users/<int:user_id>/keys"): {A},
    ("DELETE", "/api/v1/keys/<int:key_id>"): EVERYONE,
    ("GET", "/api/v1/me"): EVERYONE,
    ("GET", "/api/v1/audit"): {A},
    ("GET", "/api/v1/enterprises"): {A, P, OP},
    ("POST", "/api/v1/enterprises"): {A},
    ("GET", "/api/v1/enterprises/<int:enterprise_id>"): {A, P, OP},
    ("PATCH", "/api/v1/enterprises/<int:enterprise_id>"): {A, OP},
    ("GET", "/api/v1/stations"): {A, P} | STATIONS,
    ("POST", "/api/v1/stations"): {A},
    ("GET", "/api/v1/stations/<int:station_id>"): {A, P} | STATIONS,
    ("PATCH", "/api/v1/stations/<int:station_id>"): {A},
    ("GET", "/api/v1/machines"): {A, P, OP},
    ("POST", "/api/v1/machines"): {A, OP},
    ("GET", "/api/v1/machines/<int:machine_id>"): {A, P, OP},
    ("PATCH", "/api/v1/machines/<int:machine_id>"): {A, OP},
    ("POST", "/api/v1/machines/<int:machine_id>/transfer"): {A, OP},
    ("POST", "/api/v1/machines/<int:machine_id>/deregister"): {A, OP},
    ("GET", "/api/v1/machines/<int:machine_id>/history"): {A, P, OP},
    ("GET", "/api/v1/machines/<int:machine_id>/label"): {A, P, OP},
    ("GET", "/api/v1/machines/<int:machine_id>/label.svg"): {A, P, OP},
    ("GET", "/api/v1/machine-imports"): {A, OP},
    ("POST", "/api/v1/machine-imports"): {A, OP},
    ("GET", "/api/v1/machine-imports/<int:import_id>"): {A, OP},
    ("GET", "/api/v1/machine-imports/<int:import_id>/rows"): {A, OP},
    ("GET", "/api/v1/vehicles"): {A, P, OP},
    ("POST", "/api/v1/vehicles"): {A, OP},
    ("GET", "/api/v1/vehicles/<int:vehicle_id>"): {A, P, OP},
    ("PATCH", "/api/v1/vehicles/<int:vehicle_id>"): {A, OP},
    ("GET", "/api/v1/violations"): {A, P, OP},
    ("GET", "/api/v1/violations/<int:violation_id>"): {A, P, OP},
    ("GET", "/api/v1/violations/<int:violation_id>/history"): {A, P, OP},
    ("GET", "/api/v1/legal-bases"): {A, P},
    # --- im
    ("POST", "/api/v1/im/inspections"): {IS},
    ("GET", "/api/v1/im/inspections"): {A, P, IS, OP},
    ("GET", "/api/v1/im/inspections/<int:inspection_id>"): {A, P, IS, OP},
    ("GET", "/api/v1/im/inspections/<int:inspection_id>/curve"): {A, IS},
    ("POST", "/api/v1/im/repairs"): {MS},
    ("GET", "/api/v1/im/repairs"): {A, MS, OP},
    ("GET", "/api/v1/im/repairs/<int:repair_id>"): {A, MS, OP},
    ("POST", "/api/v1/im/repairs/<int:repair_id>/completion"): {MS},
    ("GET", "/api/v1/im/cases"): {A, P, IS, MS, OP},
    ("POST", "/api/v1/im/cases"): {A, P},
    ("GET", "/api/v1/im/cases/active"): {A, P, IS, MS},
    ("GET", "/api/v1/im/cases/<int:case_id>"): {A, P, IS, MS, OP},
    ("GET", "/api/v1/im/cases/<int:case_id>/history"): {A, P, IS, MS, OP},
    ("POST", "/api/v1/im/cases/<int:case_id>/events"): {A, P},
    ("GET", "/api/v1/im/webhooks/<int:enterprise_id>"): {A, OP},
    ("PUT", "/api/v1/im/webhooks/<int:enterprise_id>"): {A, OP},
    ("DELETE", "/api/v1/im/webhooks/<int:enterprise_id>"): {A, OP},
    ("GET", "/api/v1/im/notifications"): {A, OP},
    ("POST", "/api/v1/im/notifications/<int:notification_id>/redeliver"): {A, OP},
    ("GET", "/api/v1/im/fraud-flags"): {A},
    ("GET", "/api/v1/im/fraud-flags/<int:flag_id>"): {A},
    ("POST", "/api/v1/im/fraud-flags/<int:flag_id>/review"): {A},
    ("GET", "/api/v1/im/parameters"): {A, P},
    ("PATCH", "/api/v1/im/parameters"): {A},
    # --- zones
    ("GET", "/api/v1/zones"): {A, P, OP},
    ("POST", "/api/v1/zones"): {A},
    ("POST", "/api/v1/zones/import"): {A},
    ("GET", "/api/v1/zones/geojson"): {A, P, OP},
    ("GET", "/api/v1/zones/<int:zone_id>"): {A, P, OP},
    ("PATCH", "/api/v1/zones/<int:zone_id>"): {A},
    ("POST", "/api/v1/zones/<int:zone_id>/retire"): {A},
    ("GET", "/api/v1/zones/<int:zone_id>/versions"): {A, P, OP},
    ("GET", "/api/v1/zones/<int:zone_id>/versions/<int:version>"): {A, P, OP},
    ("GET", "/api/v1/zones/inside"): {A, P, OP},
    ("GET", "/api/v1/zones/check"): {A, P, OP},
    ("GET", "/api/v1/zone-visits"): {A, P, OP},
    ("GET", "/api/v1/alert-days"): {A, P, OP},
    ("PUT", "/api/v1/alert-days/<string:day>"): {A},
    ("DELETE", "/api/v1/alert-days/<string:day>"): {A},
    ("POST", "/api/v1/positions"): {T, OP},
    ("GET", "/api/v1/positions/batches/<int:batch_id>"): {A, T, OP},
    ("GET", "/api/v1/positions/batches/<int:batch_id>/rejects"): {A, T, OP},
    ("GET", "/api/v1/positions/latest"): {A, P, OP},
    ("GET", "/api/v1/machines/<int:machine_id>/position"): {A, P, OP},
    ("GET", "/api/v1/machines/<int:machine_id>/track"): {A, P, OP},
    # --- obd
    ("POST", "/api/v1/obd/records"): {T},
    ("POST", "/api/v1/obd/frames"): {T},
    ("GET", "/api/v1/obd/vehicles/<int:vehicle_id>/records"): {A, P, OP},
    ("GET", "/api/v1/obd/vehicles/<int:vehicle_id>/obd-info"): {A, P, OP},
    ("GET", "/api/v1/obd/vehicles/<int:vehicle_id>/state"): {A, P, OP},
    ("GET", "/api/v1/obd/alarms"): {A, P, OP},
    ("GET", "/api/v1/obd/alarms/<int:alarm_id>"): {A, P, OP},
    ("GET", "/api/v1/obd/rules"): {A, P},
    ("GET", "/api/v1/obd/rules/<string:rule_id>"): {A, P},
    ("PUT", "/api/v1/obd/rules/<string:rule_id>"): {A},
    ("GET", "/api/v1/obd/rules/<string:rule_id>/versions"): {A, P},
    ("GET", "/api/v1/obd/online-rates"): {A, P, OP},
    ("GET", "/api/v1/obd/online-rates/fleet"): {A, P, OP},
    # --- remote_sensing
    ("POST", "/api/v1/remote-sensing/readings"): {RS},
    ("GET", "/api/v1/remote-sensing/readings"): {A, P, RS, OP},
    ("GET", "/api/v1/remote-sensing/readings/<int:reading_id>"): {A, P, RS, OP},
    ("GET", "/api/v1/remote-sensing/batches/<int:batch_id>"): {A, RS},
    ("GET", "/api/v1/remote-sensing/vehicles/<int:vehicle_id>/readings"): {A, P, OP},
    ("GET", "/api/v1/remote-sensing/confirmations"): {A, P, OP},
    ("GET", "/api/v1/remote-sensing/statistics/station-days"): {A, P, RS},
    ("GET", "/api/v1/remote-sensing/stations"): {A, P, RS},
    ("GET", "/api/v1/remote-sensing/stations/<int:station_id>"): {A, P, RS},
    ("PUT", "/api/v1/remote-sensing/stations/<int:station_id>"): {A},
    ("GET", "/api/v1/remote-sensing/stations/<int:station_id>/calibrations"): {A, P, RS},
    ("POST", "/api/v1/remote-sensing/stations/<int:station_id>/calibrations"): {A},
    ("GET", "/api/v1/remote-sensing/limit-tables"): {A, P},
    ("POST", "/api/v1/remote-sensing/limit-tables"): {A},
    ("GET", "/api/v1/remote-sensing/limit-tables/<string:version>"): {A, P},
    # --- enforcement
    ("POST", "/api/v1/violations/search"): {A, P, OP},
    ("GET", "/api/v1/violations/export.csv"): {A, P},
    ("POST", "/api/v1/violations/export"): {A, P},
    ("GET", "/api/v1/violations/statistics"): {A, P},
    ("GET", "/api/v1/violations/repeat-offenders"): {A, P},
    ("GET", "/api/v1/subject-status"): {A, P},
    ("POST", "/api/v1/violations/<int:violation_id>/review"): {A, P},
    ("POST", "/api/v1/violations/<int:violation_id>/reopen"): {A, P},
    ("POST", "/api/v1/violations/<int:violation_id>/penalty"): {A, P},
    ("POST", "/api/v1/violations/<int:violation_id>/dismissal"): {A, P},
    ("POST", "/api/v1/violations/<int:violation_id>/appeals"): {A, P},
    ("POST", "/api/v1/violations/<int:violation_id>/appeal-decision"): {A, P},
    ("POST", "/api/v1/violations/<int:violation_id>/notes"): {A, P},
}
# The generated spec, its docs page and the docs' static files are documentation, open to all.
DOCUMENTATION_ENDPOINTS = {"api-docs.openapi_json", "api-docs.openapi_swagger_ui", "docs_asset", "static"}


def api_routes(app) -> list[tuple[str, str, object]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in DOCUMENTATION_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            handler = getattr(getattr(view, "view_class", None), method.lower(), view)
            routes.append((method, rule.rule, handler))
    return routes


def test_every_route_has_an_explicit_entry_matching_its_guard(app):
    seen = set()
    for method, rule, handler in api_routes(app):
        key = (method, rule)
        assert key in ACCESS, f"{method} {rule} is not in the access matrix: decide who may call it"
        declared = getattr(handler, ROLES_ATTR, None)
        assert declared is not None, f"{method} {rule} has neither @requires nor @public"
        expected = PUBLIC if ACCESS[key] == "public" else frozenset(ACCESS[key])
        assert declared == expected, f"{method} {rule}: guard allows {sorted(map(str, declared))}"
        seen.add(key)
    assert seen == set(ACCESS), f"entries for routes that no longer exist: {set(ACCESS) - seen}"


@pytest.fixture
def keys_by_role(session, principal_headers):
    firm = factories.make_enterprise(session)
    stations = {IS: factories.make_station(session, "i"), MS: factories.make_station(session, "m"),
                RS: factories.make_station(session, "rs")}
    return {role: principal_headers(role, enterprise=firm if role is OP else None, station=stations.get(role))
            for role in Role}


def _concrete(rule: str) -> str:
    """A URL for the rule: ids that exist for nobody, a well-formed registration code."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "520115EX000001C" if m.group(1) == "code" else "999999", rule)


@pytest.mark.parametrize("method, rule", sorted(k for k, v in ACCESS.items() if v != "public"))
def test_roles_outside_the_matrix_are_denied_and_inside_pass_the_guard(client, keys_by_role, method, rule):
    url = _concrete(rule)
    assert client.open(url, method=method, json={}).status_code == 401
    for role, headers in keys_by_role.items():
        status = client.open(url, method=method, json={}, headers=headers).status_code
        if role in ACCESS[(method, rule)]:
            assert status not in (401, 403), f"{role.value} should pass the guard of {method} {rule}"
        else:
            assert status == 403, f"{role.value} got {status} on {method} {rule}, expected 403"


@pytest.mark.parametrize("method, rule", sorted(k for k, v in ACCESS.items() if v == "public"))
def test_public_routes_need_no_key(client, method, rule):
    assert client.open(_concrete(rule), method=method).status_code not in (401, 403)
