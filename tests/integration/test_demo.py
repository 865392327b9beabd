"""The demo data loads (all of it valid through the same schemas as the API), once."""
from __future__ import annotations

from sqlalchemy import func, select

from mobsrc.devstack import demo
from mobsrc.registry.models import Machine, Vehicle


def test_demo_loads_once_and_its_keys_work(client, session, tmp_path):
    printed: list[str] = []
    assert demo.load(session, printed.append, tmp_path / "keys.txt") is True
    session.flush()
    assert session.scalar(select(func.count()).select_from(Machine)) == len(demo.MACHINES)
    assert session.scalar(select(func.count()).select_from(Vehicle)) == len(demo.VEHICLES)
    lines = [line for line in (tmp_path / "keys.txt").read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 9 and oct((tmp_path / "keys.txt").stat().st_mode)[-3:] == "600"
    admin_key = next(line.split()[-1] for line in lines if line.startswith("admin"))
    assert client.get("/api/v1/me", headers={"X-API-Key": admin_key}).json["role"] == "admin"
    assert demo.load(session, printed.append, tmp_path / "keys.txt") is False
    # --- zones: the demo's no-use zones come from the real district boundaries
    zones = client.get("/api/v1/zones", headers={"X-API-Key": admin_key}).json["items"]
    assert sorted(z["district_code"] for z in zones) == ["520100", "520102", "520103", "520115"]
    assert [z["alert_days_only"] for z in zones if z["district_code"] == "520100"] == [True]


# --- im
def test_demo_opens_one_im_case_from_a_failed_inspection(session, tmp_path):
    from mobsrc.im.models import Case, Inspection
    demo.load(session, lambda line: None, tmp_path / "keys.txt")
    session.flush()
    (case,) = session.scalars(select(Case)).all()
    assert case.state.value == "notified" and case.plate == demo.VEHICLES[1][2]
    assert session.scalar(select(func.count()).select_from(Inspection)) == 1


def test_police_status_lookup_shows_the_im_state_of_a_demo_truck(client, session, tmp_path, as_police):
    """The I/M feature's real provider answers the enforcement lookup (STATUS_PROVIDERS)."""
    demo.load(session, lambda line: None, tmp_path / "keys.txt")
    session.flush()
    plate = demo.VEHICLES[1][2]
    answer = client.get("/api/v1/subject-status", query_string={"plate": plate, "plate_colour": "yellow"},
                        headers=as_police).json
    im = answer["providers"]["im"]
    assert im["available"] is True
    assert im["status"]["active_case"]["state"] == "notified"
    assert im["status"]["last_inspection"]["overall"] == "fail"
