"""Machines over HTTP: registration and its code, duplicates, validation, scope, lifecycle."""
from __future__ import annotations

from mobsrc.registry.coding import ParsedCode, parse_code
from tests.integration import factories


def _register(client, headers, **overrides):
    return client.post("/api/v1/machines", json=factories.machine_draft(**overrides), headers=headers)


def test_operator_registers_machine_and_gets_a_verifiable_code(client, as_operator, enterprise):
    response = _register(client, as_operator, district_code="520115")
    assert response.status_code == 201, response.json
    body = response.json
    parsed = parse_code(body["code"])
    assert isinstance(parsed, ParsedCode)
    assert (parsed.district_code, parsed.machine_type.value) == ("520115", "excavator")
    assert body["display_code"] == f"{body['code'][:6]}-EX-{body['code'][8:14]}-{body['code'][14]}"
    assert body["enterprise"]["id"] == enterprise.id
    assert body["status"] == "registered"
    assert body["registered_at"].endswith("+08:00")


def test_codes_are_unique_and_serials_increase(client, as_operator):
    codes = [_register(client, as_operator, district_code="520115").json["code"] for _ in range(3)]
    serials = [parse_code(c).serial for c in codes]
    assert len(set(codes)) == 3
    assert serials == sorted(serials) and serials[2] - serials[0] == 2


def test_same_engine_twice_is_409(client, as_operator, as_other_operator):
    first = _register(client, as_operator, engine_manufacturer="玉柴", engine_serial="YC6J-000777")
    assert first.status_code == 201
    again = _register(client, as_other_operator, engine_manufacturer=" 玉柴 ", engine_serial="yc6j 000777")
    assert again.status_code == 409
    assert again.content_type == "application/problem+json"
    assert again.json["title"] == "Engine already registered"
    assert first.json["code"] not in again.json["detail"]  # another owner's code is not revealed


def test_missing_and_invalid_fields_are_422_naming_each_field(client, as_operator):
    response = client.post("/api/v1/machines", headers=as_operator, json={
        "machine_type": "spaceship", "brand": "x", "model": "y", "engine_manufacturer": "z",
        "engine_model": "m", "engine_serial": "E-1", "rated_power_kw": -5, "fuel": "diesel"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert {"machine_type", "rated_power_kw", "emission_stage"} <= fields


def test_china_iv_between_37_and_560_kw_needs_a_terminal(client, as_operator):
    response = _register(client, as_operator, emission_stage="china_4", rated_power_kw="100")
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "terminal_id"
    assert _register(client, as_operator, emission_stage="china_4", rated_power_kw="100",
                     terminal_id="T-0001").status_code == 201


def test_unknown_district_is_422(client, as_operator):
    response = _register(client, as_operator, district_code="110101")
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "district_code"


def test_operator_cannot_read_or_change_another_operators_machine(client, session, as_operator, other_enterprise):
    theirs = factories.make_machine(session, other_enterprise)
    assert client.get(f"/api/v1/machines/{theirs.id}", headers=as_operator).status_code == 404
    assert client.patch(f"/api/v1/machines/{theirs.id}", json={"brand": "mine"}, headers=as_operator).status_code == 404
    assert client.post(f"/api/v1/machines/{theirs.id}/deregister", json={"reason": "scrapped"},
                       headers=as_operator).status_code == 404
    listed = client.get("/api/v1/machines", headers=as_operator).json["items"]
    assert theirs.id not in [m["id"] for m in listed]


def test_operator_cannot_register_for_another_enterprise(client, as_operator, other_enterprise):
    response = _register(client, as_operator, enterprise_id=other_enterprise.id)
    assert response.status_code == 403


def test_police_reads_any_machine_but_cannot_register(client, session, as_police, enterprise):
    machine = factories.make_machine(session, enterprise)
    assert client.get(f"/api/v1/machines/{machine.id}", headers=as_police).status_code == 200
    assert _register(client, as_police).status_code == 403


def test_no_key_is_401_and_unknown_key_is_401(client):
    assert client.get("/api/v1/machines").status_code == 401
    response = client.get("/api/v1/machines", headers={"X-API-Key": "mob_000000000000_nope"})
    assert response.status_code == 401
    assert response.json["title"] == "Authentication failed"


def test_transfer_keeps_code_and_history_then_deregister_is_final(client, session, as_admin, enterprise, other_enterprise):
    machine = factories.make_machine(session, enterprise)
    moved = client.post(f"/api/v1/machines/{machine.id}/transfer", headers=as_admin,
                        json={"to_uscc": other_enterprise.uscc, "note": "sold"})
    assert moved.status_code == 200, moved.json
    assert (moved.json["status"], moved.json["code"], moved.json["enterprise"]["id"]) == \
        ("transferred", machine.code, other_enterprise.id)
    gone = client.post(f"/api/v1/machines/{machine.id}/deregister", headers=as_admin, json={"reason": "scrapped"})
    assert gone.json["status"] == "deregistered"
    again = client.post(f"/api/v1/machines/{machine.id}/transfer", headers=as_admin,
                        json={"to_enterprise_id": enterprise.id})
    assert again.status_code == 409
    assert again.json["allowed_events"] == []
    twice = client.post(f"/api/v1/machines/{machine.id}/deregister", headers=as_admin, json={"reason": "scrapped"})
    assert twice.status_code == 409
    history = client.get(f"/api/v1/machines/{machine.id}/history", headers=as_admin).json
    assert [h["event"] for h in history] == ["registered", "transferred", "deregistered"]
    assert (history[1]["from_enterprise_id"], history[1]["to_enterprise_id"]) == (enterprise.id, other_enterprise.id)


def test_transfer_to_the_same_owner_is_409(client, session, as_operator, enterprise):
    machine = factories.make_machine(session, enterprise)
    response = client.post(f"/api/v1/machines/{machine.id}/transfer", headers=as_operator,
                           json={"to_enterprise_id": enterprise.id})
    assert response.status_code == 409


def test_label_and_public_verification(client, session, as_operator, enterprise):
    machine = factories.make_machine(session, enterprise)
    label = client.get(f"/api/v1/machines/{machine.id}/label", headers=as_operator).json
    assert label["verify_url"] == f"http://testserver/api/v1/verify/{machine.code}"
    svg = client.get(f"/api/v1/machines/{machine.id}/label.svg", headers=as_operator)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    checked = client.get(f"/api/v1/verify/{label['display_code']}").json
    assert checked["registered"] is True and checked["well_formed"] is True
    assert "owner" not in checked and "enterprise" not in checked
    typo = machine.code[:-2] + ("1" if machine.code[-2] != "1" else "2") + machine.code[-1]
    assert client.get(f"/api/v1/verify/{typo}").json["well_formed"] is False


def test_list_filters_and_cursor_pages(client, session, as_admin, enterprise):
    made = [factories.make_machine(session, enterprise, machine_type="loader") for _ in range(5)]
    factories.make_machine(session, enterprise, machine_type="crane")
    first = client.get("/api/v1/machines?machine_type=loader&limit=2", headers=as_admin).json
    second = client.get(f"/api/v1/machines?machine_type=loader&limit=2&cursor={first['next_cursor']}",
                        headers=as_admin).json
    third = client.get(f"/api/v1/machines?machine_type=loader&limit=2&cursor={second['next_cursor']}",
                       headers=as_admin).json
    seen = [m["id"] for m in first["items"] + second["items"] + third["items"]]
    assert seen == sorted((m.id for m in made), reverse=True)
    assert third["next_cursor"] is None
    by_code = client.get(f"/api/v1/machines?q={made[0].code}", headers=as_admin).json["items"]
    assert [m["id"] for m in by_code] == [made[0].id]


def test_every_write_is_audited(client, session, as_operator, as_admin, enterprise):
    created = _register(client, as_operator).json
    client.patch(f"/api/v1/machines/{created['id']}", json={"brand": "徐工"}, headers=as_operator)
    log = client.get(f"/api/v1/audit?entity=machines&entity_id={created['id']}", headers=as_admin).json["items"]
    actions = [(e["action"], e["role"]) for e in reversed(log)]
    assert actions == [("machines.insert", "fleet_operator"), ("machines.update", "fleet_operator")]
    assert log[0]["before"] == {"brand": "三一"} and log[0]["after"] == {"brand": "徐工"}
