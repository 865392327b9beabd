"""Position ingestion over HTTP: every item answered (accepted with flags, duplicate, rejected
with a reason code and kept), stored in WGS-84 in the day-partitioned table, last known
positions kept current, tracks as GeoJSON, senders limited to their own machines."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from mobsrc.core.geo.crs import bd09_to_wgs84, gcj02_to_wgs84
from mobsrc.core.partitions import ensure_day_partitions, existing_partitions, local_day, partition_name
from mobsrc.zones import config, positions
from mobsrc.zones.models import MachinePosition, PositionBatch
from tests.integration.zones.helpers import T0, YUNYAN, MovableClock, inside_point, item

NOW = T0 + timedelta(hours=1)
HERE = inside_point(YUNYAN)


@pytest.fixture
def clock(monkeypatch):
    return MovableClock(monkeypatch, NOW)


def post(client, headers, items):
    return client.post("/api/v1/positions", json={"positions": items}, headers=headers)


def stored(session, machine):
    return session.execute(select(MachinePosition).where(MachinePosition.machine_id == machine.id)
                           .order_by(MachinePosition.fix_time)).scalars().all()


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def test_every_item_gets_an_answer_and_rejected_ones_are_kept(client, session, world, clock):
    old = world.old
    items = [
        item(old, at(1), *HERE),                                          # 0 accepted
        item(old, at(1), *HERE),                                          # 1 same fix again in the batch
        item(old, at(1), HERE[0] + 0.01, HERE[1]),                        # 2 same time, other place
        {"machine_code": old.code, "lon": 106.7, "lat": 26.5},             # 3 no fix_time
        item(world.new, at(2), 0.0, 0.0),                                 # 4 (0, 0)
        item(world.new, at(3), 2.35, 48.85),                              # 5 Paris
        item(world.new, NOW + timedelta(minutes=10), *HERE),              # 6 future
        item(world.new, NOW - timedelta(days=8), *HERE),                  # 7 beyond the re-send window
        {**item(old, at(4), *HERE), "machine_code": "520115EX999999X"},    # 8 unknown machine
        {k: v for k, v in item(old, at(5), *HERE).items() if k != "machine_code"},  # 9 no identifier
        item(old, at(2), HERE[0] + 0.5, HERE[1]),                         # 10 50 km in a minute
        item(old, at(6), *HERE, hdop=12.0),                               # 11 poor accuracy
        item(old, at(7), *HERE, position_valid=False),                    # 12 terminal repeats its last fix
        {**item(old, at(8), *HERE), "terminal_id": "T-OLD-0001"},          # 13 code and terminal agree
        {**item(old, at(9), *HERE), "terminal_id": "T-NOBODY"},            # 14 terminal unknown
        {**item(world.new, at(9), *HERE), "terminal_id": "T-OLD-0001"},    # 15 code and terminal disagree
    ]
    answer = post(client, world.platform, items)
    assert answer.status_code == 202, answer.json
    results = answer.json["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    summary = [(r["status"], r["reason"]) for r in results]
    assert summary == [
        ("accepted", None), ("duplicate", None), ("rejected", "conflicting_duplicate"), ("rejected", "malformed"),
        ("rejected", "zero_position"), ("rejected", "out_of_china"), ("rejected", "future_fix"),
        ("rejected", "too_old"), ("rejected", "unknown_machine"), ("rejected", "no_machine_identifier"),
        ("accepted", None), ("accepted", None), ("accepted", None), ("accepted", None),
        ("rejected", "unknown_machine"), ("rejected", "machine_mismatch")]
    assert results[3]["detail"] == "_item: Object missing required field `fix_time`"
    assert results[10]["flags"] == ["implausible_jump", "late"]
    assert results[11]["flags"] == ["late", "poor_accuracy"] and results[12]["flags"] == ["late", "position_not_current"]
    batch = answer.json
    assert (batch["items"], batch["accepted"], batch["duplicates"], batch["rejected"]) == (16, 5, 1, 10)
    assert batch["processed"] is False
    rejects = client.get(f"/api/v1/positions/batches/{batch['id']}/rejects", headers=world.platform).json
    assert [r["item_index"] for r in rejects] == [2, 3, 4, 5, 6, 7, 8, 9, 14, 15]
    assert rejects[1]["raw"] == items[3] and rejects[0]["raw"]["lon"] == items[2]["lon"]
    assert len(stored(session, old)) == 5 and stored(session, world.new) == []


def test_a_redelivered_batch_stores_nothing_new(client, session, world, clock):
    items = [item(world.old, at(k), *HERE) for k in range(5)]
    first = post(client, world.terminal, items).json
    again = post(client, world.terminal, items).json
    assert first["accepted"] == 5 and (again["accepted"], again["duplicates"]) == (0, 5)
    assert {r["status"] for r in again["results"]} == {"duplicate"}
    assert again["processed"] is True  # nothing new to geofence
    assert len(stored(session, world.old)) == 5


@pytest.mark.parametrize(("crs", "inverse"), [("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)])
def test_positions_in_chinese_map_datums_are_stored_in_wgs84(client, session, world, clock, crs, inverse):
    lon, lat = 106.717250, 26.574821  # a GCJ-02 / BD-09 position in central Guiyang
    answer = post(client, world.terminal, [item(world.old, at(1), lon, lat, crs=crs)])
    assert answer.json["accepted"] == 1
    row = stored(session, world.old)[0]
    assert (row.lon, row.lat) == pytest.approx(inverse(lon, lat), abs=1e-9)
    assert row.source_crs == crs


def test_senders_report_only_their_own_machines(client, world, clock):
    mine, theirs = item(world.old, at(1), *HERE), item(world.others, at(1), *HERE)
    for headers in (world.terminal, world.operator):
        answers = post(client, headers, [mine, theirs]).json["results"]
        assert [(a["status"], a["reason"]) for a in answers][1] == ("rejected", "unknown_machine")
    assert post(client, world.other_operator, [theirs]).json["results"][0]["status"] in ("accepted", "duplicate")
    assert post(client, world.platform, [item(world.others, at(2), *HERE)]).json["accepted"] == 1


def test_only_terminals_and_operators_post_positions(client, world, clock):
    for headers in (world.admin, world.police):
        assert post(client, headers, [item(world.old, at(1), *HERE)]).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    (b"not json", "_body"), (b'{"positions": {}}', "positions"), (b'{"positions": []}', "positions")])
def test_a_body_that_is_no_batch_is_refused_whole_and_stores_nothing(client, session, world, body, field):
    before = session.scalar(select(func.count()).select_from(PositionBatch))
    answer = client.post("/api/v1/positions", data=body, headers={**world.terminal, "Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == field
    assert session.scalar(select(func.count()).select_from(PositionBatch)) == before


def test_a_batch_over_the_limit_is_refused(client, world, clock, monkeypatch):
    monkeypatch.setattr(config, "from_settings", lambda settings: config.ZoneConfig(max_batch=3))
    answer = post(client, world.terminal, [item(world.old, at(k), *HERE) for k in range(4)])
    assert answer.status_code == 422 and "at most 3" in answer.json["errors"][0]["reason"]


def test_the_last_known_position_is_the_latest_usable_fix(client, world, clock):
    east = (HERE[0] + 0.001, HERE[1])
    post(client, world.terminal, [item(world.old, at(10), *HERE), item(world.old, at(11), *east)])
    post(client, world.terminal, [item(world.old, at(5), HERE[0] - 0.001, HERE[1])])  # late: older
    post(client, world.terminal, [item(world.old, at(12), HERE[0] + 0.4, HERE[1])])  # a jump: not usable
    last = client.get(f"/api/v1/machines/{world.old.id}/position", headers=world.operator).json
    assert last["location"] == [round(east[0], 7), round(east[1], 7)]
    assert last["fix_time"] == "2026-03-02T09:11:00+08:00" and last["engine_on"] is True
    assert client.get(f"/api/v1/machines/{world.old.id}/position", headers=world.other_operator).status_code == 404
    assert client.get(f"/api/v1/machines/{world.new.id}/position", headers=world.operator).status_code == 404


def test_last_positions_are_listed_by_area_and_scope(client, world, clock):
    post(client, world.platform, [item(world.old, at(1), *HERE), item(world.others, at(1), 106.98, 27.07)])
    everyone = client.get("/api/v1/positions/latest", headers=world.admin).json["items"]
    assert {p["machine_id"] for p in everyone} >= {world.old.id, world.others.id}
    mine = client.get("/api/v1/positions/latest", headers=world.operator).json["items"]
    assert {p["machine_id"] for p in mine} == {world.old.id}
    box = f"{HERE[0] - 0.01},{HERE[1] - 0.01},{HERE[0] + 0.01},{HERE[1] + 0.01}"
    boxed = client.get(f"/api/v1/positions/latest?bbox={box}", headers=world.admin).json["items"]
    assert world.old.id in {p["machine_id"] for p in boxed} and world.others.id not in {p["machine_id"] for p in boxed}
    assert client.get("/api/v1/positions/latest?bbox=1,2,3", headers=world.admin).status_code == 422


def test_a_track_is_geojson_in_the_datum_asked_for(client, world, clock):
    fixes = [item(world.old, at(k), HERE[0] + k * 0.0005, HERE[1]) for k in range(6)]
    fixes.append(item(world.old, at(6), HERE[0] + 0.5, HERE[1]))  # implausible jump: left out by default
    post(client, world.terminal, fixes)
    url = f"/api/v1/machines/{world.old.id}/track?from=2026-03-02T09:00:00%2B08:00&to=2026-03-02T10:00:00%2B08:00"
    track = client.get(url, headers=world.operator).json
    assert track["type"] == "FeatureCollection" and track["features"][0]["geometry"]["type"] == "LineString"
    assert len(track["features"][0]["geometry"]["coordinates"]) == 6 and len(track["features"]) == 7
    assert track["features"][1]["properties"]["fix_time"] == "2026-03-02T09:00:00+08:00"
    gcj = client.get(url + "&crs=gcj02", headers=world.operator).json
    shifted = gcj["features"][1]["geometry"]["coordinates"]
    assert gcj02_to_wgs84(*shifted) == pytest.approx(track["features"][1]["geometry"]["coordinates"], abs=2e-7)
    everything = client.get(url + "&include_excluded=true", headers=world.operator).json
    assert everything["features"][-1]["properties"]["flags"] == ["implausible_jump", "late"]
    assert client.get(url, headers=world.other_operator).status_code == 404
    assert client.get(url.replace("10:00", "08:00"), headers=world.operator).status_code == 422


def test_a_batch_is_visible_to_its_sender_only(client, world, clock):
    batch = post(client, world.terminal, [item(world.old, at(1), *HERE)]).json
    url = f"/api/v1/positions/batches/{batch['id']}"
    assert client.get(url, headers=world.terminal).json["accepted"] == 1
    assert client.get(url, headers=world.admin).status_code == 200
    assert client.get(url, headers=world.platform).status_code == 404
    assert client.get(url, headers=world.operator).status_code == 404


def test_partitions_are_made_ahead_and_expired_ones_dropped(session, clock):
    connection = session.connection()
    old_day = local_day(NOW) - timedelta(days=200)
    ensure_day_partitions(connection, "machine_positions", [old_day])
    assert old_day in existing_partitions(connection, "machine_positions")
    done = positions.maintain_partitions(session, config.ZoneConfig(partitions_ahead=3, retention_days=180))
    days = existing_partitions(connection, "machine_positions")
    today = local_day(NOW)
    assert all(today + timedelta(days=n) in days for n in range(4))
    assert old_day not in days and partition_name("machine_positions", old_day) in done.dropped
    assert positions.maintain_partitions(session, config.ZoneConfig(partitions_ahead=3)).created == ()


def test_a_fix_lands_in_its_local_day_partition(client, session, world, clock):
    # 23:30 Beijing time on 2 March is 15:30 UTC: it belongs to the partition of 2 March.
    late_evening = T0.replace(hour=15, minute=30)
    clock.set(late_evening + timedelta(minutes=1))
    post(client, world.terminal, [item(world.old, late_evening, *HERE)])
    name = session.execute(text("SELECT tableoid::regclass::text FROM machine_positions WHERE machine_id = :m"),
                           {"m": world.old.id}).scalar()
    assert name == "machine_positions_p20260302"


# --- with committed data: other connections see it -----------------------------------------------

def test_accepted_positions_are_committed_before_the_answer(committed_app, committed_world, monkeypatch):
    MovableClock(monkeypatch, NOW)
    client = committed_app.test_client()
    answer = post(client, committed_world.terminal, [item(committed_world.old, at(k), *HERE) for k in range(3)])
    assert answer.status_code == 202
    engine = committed_app.extensions["mobsrc"].db.engine
    with engine.connect() as other:
        count = other.execute(text("SELECT count(*) FROM machine_positions WHERE batch_id = :b"),
                              {"b": answer.json["id"]}).scalar()
        processed = other.execute(text("SELECT processed FROM position_batches WHERE id = :b"),
                                  {"b": answer.json["id"]}).scalar()
    assert (count, processed) == (3, False)


def test_a_concurrent_batch_storing_the_same_fix_first_makes_it_a_duplicate(committed_app, committed_world,
                                                                           monkeypatch):
    """The duplicate check cannot see a fix another transaction has not committed yet: the COPY
    then meets it, fails, and the batch falls back to INSERT ... ON CONFLICT DO NOTHING."""
    MovableClock(monkeypatch, NOW)
    engine = committed_app.extensions["mobsrc"].db.engine
    machine = committed_world.old
    inserted, release = threading.Event(), threading.Event()

    def other_batch():
        with engine.begin() as conn:
            ensure_day_partitions(conn, "machine_positions", [local_day(at(1))])
            conn.execute(text("INSERT INTO machine_positions (machine_id, fix_time, batch_id, lon, lat, source_crs, "
                              "flags) VALUES (:m, :t, 0, :lon, :lat, 'wgs84', 0)"),
                         {"m": machine.id, "t": at(1), "lon": HERE[0], "lat": HERE[1]})
            inserted.set()
            release.wait(10)

    thread = threading.Thread(target=other_batch)
    thread.start()
    assert inserted.wait(10)
    threading.Timer(0.5, release.set).start()  # commits while our COPY waits on its row
    answer = post(committed_app.test_client(), committed_world.terminal,
                  [item(machine, at(1), *HERE), item(machine, at(2), *HERE)])
    thread.join(10)
    assert answer.status_code == 202, answer.json
    assert [r["status"] for r in answer.json["results"]] == ["duplicate", "accepted"]
    with engine.connect() as conn:
        batch = conn.execute(text("SELECT accepted, duplicates FROM position_batches WHERE id = :b"),
                             {"b": answer.json["id"]}).one()
        rows = conn.execute(text("SELECT count(*) FROM machine_positions WHERE machine_id = :m"),
                            {"m": machine.id}).scalar()
    assert tuple(batch) == (1, 1) and rows == 2


def test_the_reconciler_finds_unprocessed_batches_no_worker_holds(committed_app, committed_world, monkeypatch):
    clock = MovableClock(monkeypatch, NOW)
    client = committed_app.test_client()
    first = post(client, committed_world.terminal, [item(committed_world.old, at(1), *HERE)]).json["id"]
    second = post(client, committed_world.terminal, [item(committed_world.old, at(2), *HERE)]).json["id"]
    database = committed_app.extensions["mobsrc"].db
    with database.session_scope() as session:
        assert positions.pending_batches(session) == []  # too young: their own enqueue is on its way
    clock.set(NOW + timedelta(minutes=1))
    with database.engine.begin() as holder:
        holder.execute(text("SELECT id FROM position_batches WHERE id = :b FOR UPDATE"), {"b": first})
        with database.session_scope() as session:
            pending = positions.pending_batches(session)
    assert [(p.args, p.orphaned) for p in pending] == [((second,), True)]
