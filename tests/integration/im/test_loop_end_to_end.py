"""The closed loop end to end, over HTTP with committed data, jobs through Redis and a real
SimpleWorker, and the owner's webhook on a real local HTTP server:

- a failed inspection -> repair at an M station -> re-test pass at another I station closes it;
- an ignored case becomes overdue, then a violation the police see.
"""
from __future__ import annotations

import json

import pytest

from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import Role
from mobsrc.core.jobs import enqueue
from tests.integration import factories
from tests.integration.im import payloads


class City:
    """Committed actors: an owner with a truck, two I stations, an M station, police, bureau."""

    def __init__(self, session):
        self.firm = factories.make_enterprise(session)
        self.truck = factories.make_vehicle(session, self.firm)
        self.stations = {name: factories.make_station(session, kind)
                         for name, kind in (("i1", "i"), ("i2", "i"), ("m1", "m"))}
        users = {"owner": accounts.create_user(session, "fleet", Role.FLEET_OPERATOR, self.firm.id),
                 "police": accounts.create_user(session, "交警", Role.POLICE),
                 "admin": accounts.create_user(session, "bureau", Role.ADMIN)}
        for name, station in self.stations.items():
            role = Role.M_STATION if station.kind.value == "m" else Role.I_STATION
            users[name] = accounts.create_user(session, station.code, role, station_id=station.id)
        self.keys = {name: {"X-API-Key": accounts.issue_api_key(session, user.id)[1]} for name, user in users.items()}
        session.commit()


@pytest.fixture
def city(committed_session, frozen_clock, private_webhooks, receiver):
    return City(committed_session)


@pytest.fixture
def web(committed_app):
    return committed_app.test_client()


def events(receiver) -> list[str]:
    return [json.loads(body)["event"] for _, body, _ in receiver.requests]


def test_failed_inspection_repair_and_retest_pass_close_the_case(web, city, run_jobs, receiver, frozen_clock):
    assert web.put(f"/api/v1/im/webhooks/{city.firm.id}", json={"url": receiver.url},
                   headers=city.keys["owner"]).status_code == 201
    failed = web.post("/api/v1/im/inspections", json=payloads.failing(city.truck), headers=city.keys["i1"]).json
    case_id = failed["case"]["case_id"]
    assert failed["case"]["case_state"] == "notified"
    run_jobs()
    assert events(receiver) == ["case.opened"]

    frozen_clock.advance(days=3)
    found = web.get("/api/v1/im/cases/active", query_string={"vin": city.truck.vin}, headers=city.keys["m1"]).json
    assert found["id"] == case_id and found["failures"][0]["failed_items"][0]["measured"] == 1.9
    order = web.post("/api/v1/im/repairs", json=payloads.repair_order(city.truck, order="WX-E2E-1"),
                     headers=city.keys["m1"]).json
    frozen_clock.advance(hours=4)
    done = web.post(f"/api/v1/im/repairs/{order['id']}/completion", json=payloads.completion(),
                    headers=city.keys["m1"])
    assert done.status_code == 200, done.json

    frozen_clock.advance(days=1)
    retest = web.post("/api/v1/im/inspections", json=payloads.passing(city.truck, kind="retest",
                                                                      repair_order="WX-E2E-1"),
                      headers=city.keys["i2"]).json
    assert (retest["case"]["action"], retest["case"]["case_state"]) == ("closed", "closed")
    run_jobs()
    assert events(receiver) == ["case.opened", "case.closed"]

    history = web.get(f"/api/v1/im/cases/{case_id}/history", headers=city.keys["owner"]).json
    codes = {name: s.code for name, s in city.stations.items()}
    assert [(h["event"], h["actor_id"]) for h in history] == [
        ("opened", codes["i1"]), ("start_repair", codes["m1"]), ("record_repair", codes["m1"]),
        ("reinspect_pass", codes["i2"]), ("close", "im.auto_close")]
    for station in ("i1", "i2", "m1"):  # every station that worked on it sees it
        assert web.get(f"/api/v1/im/cases/{case_id}", headers=city.keys[station]).status_code == 200
    assert web.get(f"/api/v1/im/cases/{case_id}", headers=city.keys["police"]).status_code == 404
    assert web.get("/api/v1/violations", headers=city.keys["police"]).json["items"] == []
    assert web.get("/api/v1/im/cases/active", query_string={"vin": city.truck.vin},
                   headers=city.keys["m1"]).status_code == 404


def test_an_ignored_case_becomes_a_police_visible_violation(web, committed_app, city, run_jobs, receiver,
                                                            frozen_clock):
    web.put(f"/api/v1/im/webhooks/{city.firm.id}", json={"url": receiver.url}, headers=city.keys["owner"])
    failed = web.post("/api/v1/im/inspections", json=payloads.failing(city.truck), headers=city.keys["i1"]).json
    case_id = failed["case"]["case_id"]
    assert web.get("/api/v1/im/cases", headers=city.keys["police"]).json["items"] == []

    frozen_clock.advance(days=31)  # past the 30-day deadline; nobody repaired anything
    assert enqueue(committed_app.extensions["mobsrc"].redis, "im.sweep_case_deadlines")
    run_jobs()  # the sweep, then the deliveries it queued
    run_jobs()

    listed = web.get("/api/v1/im/cases", query_string={"escalated": "true"}, headers=city.keys["police"]).json
    assert [(c["id"], c["state"]) for c in listed["items"]] == [(case_id, "escalated")]
    violations = web.get("/api/v1/violations", query_string={"plate": city.truck.plate},
                         headers=city.keys["police"]).json["items"]
    assert [(v["kind"], v["source_ref"], v["legal_basis_code"]) for v in violations] == [
        ("im_case_overdue", f"case:{case_id}", "APPCL-113")]
    refs = {e["ref"] for e in violations[0]["evidence"]}
    assert f"inspection:{city.stations['i1'].code}/{failed['inspection']['report_number']}" in refs
    assert web.get("/api/v1/violations", headers=city.keys["owner"]).json["items"][0]["id"] == violations[0]["id"]
    assert events(receiver) == ["case.opened", "case.overdue", "case.escalated"]
    assert len({h["X-Mobsrc-Delivery"] for h, _, _ in receiver.requests}) == 3
