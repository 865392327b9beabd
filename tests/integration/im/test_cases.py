"""Cases over HTTP and through `open_case`: opening (by hand, by other features), idempotency,
one active case per vehicle, transitions by the roles the table allows, 409 naming the allowed
events, compare-and-set, history, and what each role sees."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mobsrc.core import clock
from mobsrc.core.auth.principals import Role
from mobsrc.im import cases as machine
from mobsrc.im.cases import CaseEventKind, CaseState, TriggerKind
from mobsrc.im.models import Case, CaseHistory, Notification
from mobsrc.im.service import Subject, open_case
from mobsrc.im.service import cases as service
from tests.integration import factories
from tests.integration.im import payloads

URL = "/api/v1/im/cases"


def spot_check(vehicle, reference="JC-2026-0001", **overrides) -> dict:
    body = dict(trigger="spot_check", reference=reference, vin=vehicle.vin,
                occurred_at=(clock.now() - timedelta(hours=1)).isoformat(), evidence=["photo:JC-0001-1.jpg"],
                location={"lon": 106.70, "lat": 26.58, "crs": "gcj02"}, note="路检",
                findings={"method": "free_acceleration", "officer": "张警官",
                          "items": [{"quantity": "k_m1", "measured": 2.1, "limit": 1.2}]})
    body.update(overrides)
    return body


def rs_case(session, vehicle, ref="confirmation:1", **subject):
    return open_case(session, TriggerKind.REMOTE_SENSING_HIGH_EMITTER,
                     Subject(**(subject or {"plate": vehicle.plate, "plate_colour": vehicle.plate_colour.value})),
                     ["rs_reading:101", "rs_reading:187"], clock.now(), "remote_sensing", ref)


# --- opening --------------------------------------------------------------------------------------

def test_police_open_a_spot_check_case_once_per_document(client, session, as_police, vehicle):
    first = client.post(URL, json=spot_check(vehicle), headers=as_police)
    assert first.status_code == 201, first.json
    case = first.json
    assert (case["state"], case["trigger"], case["enterprise_id"]) == ("notified", "spot_check", vehicle.enterprise_id)
    (trigger,) = case["triggers"]
    assert trigger["evidence"] == ["document:JC-2026-0001", "photo:JC-0001-1.jpg"]
    assert trigger["details"]["findings"]["officer"] == "张警官"
    assert trigger["details"]["location"] != {"lon": 106.70, "lat": 26.58}  # GCJ-02 converted to WGS-84
    again = client.post(URL, json=spot_check(vehicle), headers=as_police)
    assert (again.status_code, again.json["id"]) == (200, case["id"])


def test_a_document_reference_cannot_be_reused_for_another_vehicle(client, as_police, vehicle, other_vehicle):
    client.post(URL, json=spot_check(vehicle), headers=as_police)
    response = client.post(URL, json=spot_check(other_vehicle), headers=as_police)
    assert response.status_code == 409


def test_the_table_decides_who_may_open_which_kind(client, as_police, as_admin, vehicle):
    response = client.post(URL, json=spot_check(vehicle, trigger="black_smoke"), headers=as_police)
    assert response.status_code == 403 and set(response.json["allowed_roles"]) == {"admin", "system"}
    response = client.post(URL, json=spot_check(vehicle, trigger="black_smoke"), headers=as_admin)
    assert response.status_code == 201
    # black smoke opens OPEN; the registered owner is served at once by the system
    assert response.json["state"] == "notified"


def test_open_case_is_idempotent_on_source_and_ref(session, vehicle):
    case, created = rs_case(session, vehicle)
    again, created_again = rs_case(session, vehicle)
    assert created and not created_again and again.id == case.id
    assert case.vin == vehicle.vin and case.referred_at is not None  # resolved from the plate; RS refers at once
    assert case.deadline - case.opened_at < timedelta(days=16)


def test_a_second_trigger_joins_the_vehicles_active_case(client, session, as_i_station, as_admin, vehicle):
    opened = client.post("/api/v1/im/inspections", json=payloads.failing(vehicle), headers=as_i_station).json
    case, created = rs_case(session, vehicle)
    assert not created and case.id == opened["case"]["case_id"]
    history = client.get(f"{URL}/{case.id}/history", headers=as_admin).json
    assert [h["event"] for h in history] == ["opened", "trigger_added"]
    assert history[-1]["reference"] == "rs_reading:101,rs_reading:187"
    detail = client.get(f"{URL}/{case.id}", headers=as_admin).json
    assert [t["opened_case"] for t in detail["triggers"]] == [True, False]
    assert detail["referred_at"] is not None  # the RS trigger refers the case to the police


def test_a_vehicle_unknown_to_the_registry_waits_for_a_notice(client, session, as_police):
    case, created = open_case(session, TriggerKind.OBD_ALARM, Subject(plate="贵A9Z999", plate_colour="yellow"),
                              ["obd_alarm:77"], clock.now(), "obd", "alarm:77")
    assert created and case.state is CaseState.OPEN and case.enterprise_id is None
    assert case.subject_key == "plate:贵A9Z999/yellow"


def test_open_case_refuses_bad_input(session):
    from mobsrc.core.errors import Forbidden, Unprocessable
    with pytest.raises(Unprocessable):
        open_case(session, TriggerKind.OBD_ALARM, Subject(), ["x:1"], clock.now(), "obd", "a:1")
    with pytest.raises(Unprocessable):
        open_case(session, TriggerKind.OBD_ALARM, Subject(plate="贵A12345", plate_colour="yellow"), [],
                  clock.now(), "obd", "a:2")
    with pytest.raises(Unprocessable):
        open_case(session, "no_such_kind", Subject(plate="贵A12345"), ["x:1"], clock.now(), "obd", "a:3")
    with pytest.raises(Forbidden):  # only the police or the bureau open spot checks
        open_case(session, TriggerKind.SPOT_CHECK, Subject(plate="贵A12345"), ["x:1"], clock.now(), "obd", "a:4")


# --- transitions -----------------------------------------------------------------------------------

EVENT_BODIES = {
    CaseEventKind.NOTIFY: {"reason": "短信通知"},
    CaseEventKind.CLOSE: {"reason": "reviewed"},
    CaseEventKind.ESCALATE: {"reason": "bureau decision"},
    CaseEventKind.CANCEL: {"reason": "wrong plate read"},
    CaseEventKind.EXTEND_DEADLINE: {"reason": "parts on order"},
}
LATE = {CaseState.OVERDUE, CaseState.ESCALATED}


def case_in(session, enterprise, state: CaseState, overdue: bool) -> Case:
    """A case of a fresh vehicle, put in `state` (and marked overdue) directly."""
    vehicle = factories.make_vehicle(session, enterprise)
    case, _ = open_case(session, TriggerKind.BLACK_SMOKE, Subject(vin=vehicle.vin), ["capture:1"],
                        clock.now() - timedelta(days=1), "blacksmoke", f"capture:{vehicle.vin}")
    case.state = state
    if overdue or state in LATE:
        case.overdue_at = case.deadline
    if state is CaseState.ESCALATED:
        case.escalated_at = clock.now()
    session.flush()
    return case


@pytest.mark.parametrize("overdue", [False, True])
@pytest.mark.parametrize("state", list(CaseState))
def test_every_api_event_in_every_state_follows_the_table(client, session, as_admin, enterprise, state, overdue):
    for kind in sorted(service.API_EVENTS):
        case = case_in(session, enterprise, state, overdue)
        snapshot = service.snapshot_of(case)
        body = {"event": kind.value, **EVENT_BODIES[kind]}
        if kind is CaseEventKind.EXTEND_DEADLINE:
            body["new_deadline"] = (case.deadline + timedelta(days=7)).isoformat()
        response = client.post(f"{URL}/{case.id}/events", json=body, headers=as_admin)
        rule = machine.find_rule(snapshot, kind)
        if rule is None:
            assert response.status_code == 409, (state, kind, response.json)
            assert response.json["allowed_events"] == list(machine.allowed_events(snapshot))
            assert kind.value in response.json["detail"]
        elif machine.Role.ADMIN in rule.roles:
            assert response.status_code == 200, (state, kind, response.json)
            assert response.json["state"] == rule.target.value
        else:
            assert response.status_code == 403, (state, kind, response.json)


def test_roles_outside_the_rule_are_refused_naming_the_allowed_ones(client, session, as_police, as_admin, vehicle):
    case, _ = rs_case(session, vehicle)  # referred: the police see it
    response = client.post(f"{URL}/{case.id}/events", json={"event": "cancel", "reason": "x"}, headers=as_police)
    assert response.status_code == 403 and response.json["allowed_roles"] == ["admin"]
    assert client.post(f"{URL}/{case.id}/events", json={"event": "notify"}, headers=as_police).status_code == 409


def test_event_fields_are_required_where_the_table_needs_them(client, session, as_admin, vehicle):
    case, _ = rs_case(session, vehicle)
    response = client.post(f"{URL}/{case.id}/events", json={"event": "cancel"}, headers=as_admin)
    assert (response.status_code, response.json["errors"][0]["field"]) == (422, "reason")
    earlier = (case.deadline - timedelta(days=1)).isoformat()
    response = client.post(f"{URL}/{case.id}/events", json={"event": "extend_deadline", "reason": "r",
                                                            "new_deadline": earlier}, headers=as_admin)
    assert (response.status_code, response.json["errors"][0]["field"]) == (422, "new_deadline")


def test_station_and_job_events_are_not_sent_through_the_events_endpoint(client, session, as_admin, vehicle):
    case, _ = rs_case(session, vehicle)
    for event in ("record_repair", "reinspect_pass", "deadline_passed", "start_repair"):
        response = client.post(f"{URL}/{case.id}/events", json={"event": event, "reference": "x"}, headers=as_admin)
        assert (response.status_code, response.json["errors"][0]["field"]) == (422, "event"), event


def test_a_stale_version_is_refused(client, session, as_admin, vehicle):
    case, _ = rs_case(session, vehicle)
    read = client.get(f"{URL}/{case.id}", headers=as_admin).json
    body = {"event": "extend_deadline", "reason": "parts", "version": read["version"],
            "new_deadline": (case.deadline + timedelta(days=5)).isoformat()}
    assert client.post(f"{URL}/{case.id}/events", json=body, headers=as_admin).status_code == 200
    response = client.post(f"{URL}/{case.id}/events", json=body, headers=as_admin)
    assert response.status_code == 409 and response.json["current_version"] == read["version"] + 1


def test_compare_and_set_refuses_a_write_based_on_an_old_read(session, vehicle):
    from mobsrc.core.errors import Conflict
    case, _ = rs_case(session, vehicle)
    version = case.version
    session.execute(Case.__table__.update().where(Case.id == case.id).values(version=version + 1))
    with pytest.raises(Conflict):
        service.advance_case(session, case, machine.CaseEvent(CaseEventKind.CANCEL, reason="r"),
                             service.Who(machine.Actor(machine.Role.ADMIN, "user:1"), 1), at=clock.now())


def test_extension_moves_the_deadline_and_tells_the_owner(client, session, as_admin, vehicle):
    case, _ = rs_case(session, vehicle)
    new = case.deadline + timedelta(days=10)
    body = client.post(f"{URL}/{case.id}/events", json={"event": "extend_deadline", "reason": "parts on order",
                                                         "new_deadline": new.isoformat()}, headers=as_admin).json
    assert body["deadline"] == clock.as_local(new).isoformat()
    events = session.scalars(select(Notification.event).where(Notification.case_id == case.id)
                             .order_by(Notification.id)).all()
    assert events == ["case.notified", "case.deadline_extended"]


def test_history_names_actor_and_time_of_every_change(client, session, as_admin, vehicle, frozen_clock):
    case, _ = rs_case(session, vehicle)
    frozen_clock.advance(hours=2)
    client.post(f"{URL}/{case.id}/events", json={"event": "cancel", "reason": "wrong plate"}, headers=as_admin)
    history = client.get(f"{URL}/{case.id}/history", headers=as_admin).json
    assert [(h["event"], h["from_state"], h["to_state"], h["actor_role"]) for h in history] == [
        ("opened", None, "open", "system"), ("notify", "open", "notified", "system"),
        ("cancel", "notified", "cancelled", "admin")]
    assert history[0]["actor_id"] == "remote_sensing" and history[1]["actor_id"] == "im.notice"
    assert history[2]["actor_user_id"] is not None and history[2]["reason"] == "wrong plate"
    assert history[2]["at"] == "2026-11-10T12:00:00+08:00"
    assert session.scalar(select(CaseHistory.id).where(CaseHistory.case_id == case.id,
                                                      CaseHistory.event == "cancel")) is not None


# --- scope -------------------------------------------------------------------------------------------

def test_each_role_sees_its_part(client, session, principal_headers, as_admin, as_police, as_operator,
                                 as_other_operator, as_i_station, as_other_i_station, vehicle, other_vehicle):
    mine = client.post("/api/v1/im/inspections", json=payloads.failing(vehicle), headers=as_i_station).json
    theirs = client.post("/api/v1/im/inspections", json=payloads.failing(other_vehicle),
                         headers=as_other_i_station).json
    mine_id, theirs_id = mine["case"]["case_id"], theirs["case"]["case_id"]

    def listed(headers):
        return sorted(c["id"] for c in client.get(URL, headers=headers).json["items"])

    assert listed(as_admin) == sorted([mine_id, theirs_id])
    assert listed(as_operator) == [mine_id] and listed(as_other_operator) == [theirs_id]
    assert listed(as_i_station) == [mine_id] and listed(as_other_i_station) == [theirs_id]
    assert listed(as_police) == []  # nothing escalated or referred yet
    assert client.get(f"{URL}/{theirs_id}", headers=as_i_station).status_code == 404
    assert client.get(f"{URL}/{theirs_id}/history", headers=as_i_station).status_code == 404
    assert client.get(f"{URL}/{theirs_id}", headers=as_operator).status_code == 404
    assert client.get(f"{URL}/{mine_id}", headers=as_police).status_code == 404
    session.get(Case, mine_id).escalated_at = clock.now()
    session.flush()
    assert listed(as_police) == [mine_id]
    assert client.get(f"{URL}/{mine_id}", headers=as_police).status_code == 200


def test_a_station_finds_the_open_case_of_the_vehicle_in_front_of_it(client, session, as_i_station, as_m_station,
                                                                    vehicle, other_vehicle):
    posted = client.post("/api/v1/im/inspections", json=payloads.failing(vehicle), headers=as_i_station).json
    found = client.get(f"{URL}/active", query_string={"vin": vehicle.vin}, headers=as_m_station)
    assert found.status_code == 200 and found.json["id"] == posted["case"]["case_id"]
    (failure,) = found.json["failures"]
    assert failure["report_number"] == posted["inspection"]["report_number"]
    assert failure["failed_items"][0]["quantity"] == "k_m1"
    # the lookup does not put the case in the M station's scope
    assert client.get(URL, headers=as_m_station).json["items"] == []
    missing = client.get(f"{URL}/active", query_string={"vin": other_vehicle.vin}, headers=as_m_station)
    assert missing.status_code == 404
    assert client.get(f"{URL}/active", headers=as_m_station).status_code == 422


def test_roles_outside_the_loop_are_refused_by_the_service(session):
    from mobsrc.core.auth.principals import Principal
    from mobsrc.core.errors import Forbidden
    with pytest.raises(Forbidden):
        service.who(Principal(user_id=5, role=Role.TERMINAL, name="t"))
