"""The CSV export: BOM, columns, Beijing times, Chinese labels, filters and scope as the list,
formula injection neutralised, streamed from a cursor, logged."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from mobsrc.core.audit import AuditEntry
from mobsrc.enforcement import export
from mobsrc.enforcement.export import HEADER
from mobsrc.enforcement.register import Evidence, ViolationKind
from tests.integration.enforcement.conftest import T0, machine_draft, point_in, vehicle_draft


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.data[:500]
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def violations(record, enterprise):
    lon, lat = point_in("520103")
    return [
        record(vehicle_draft(occurred_at=T0, plate="贵A12345", vin="LZZ1BLSB0RA000009", lon=lon, lat=lat,
                             enterprise_id=enterprise.id,
                             evidence=(Evidence("image", "https://evidence/1.jpg"), Evidence("rs_reading", "r:9")))),
        record(machine_draft(occurred_at=T0 + timedelta(hours=20), machine_code="520115EX000001C")),
        record(vehicle_draft(occurred_at=T0 + timedelta(hours=1), plate="贵B00001", kind=ViolationKind.RS_HIGH_EMITTER,
                             source="=HYPERLINK(\"http://evil\")", source_ref="+cmd|' /C calc'!A0")),
    ]


def test_bom_header_and_every_column(client, as_police, violations):
    response = client.get("/api/v1/violations/export.csv", headers=as_police)
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheet programs read Chinese
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="violations-')
    rows = rows_of(response)
    assert list(rows[0]) == list(HEADER)
    assert [r["id"] for r in rows] == [str(v.id) for v in (violations[1], violations[2], violations[0])]
    first = rows[2]
    assert first["kind"] == "black_smoke" and first["kind_label"] == "黑烟车" and first["status_label"] == "待处理"
    assert first["occurred_at"] == "2026-11-01T10:00:00+08:00"  # 02:00 UTC shown in Beijing time
    assert first["plate"] == "贵A12345" and first["district_code"] == "520103" and first["district_name"] == "云岩区"
    lon, lat = point_in("520103")
    assert (float(first["lon"]), float(first["lat"])) == pytest.approx((lon, lat), abs=1e-7)
    assert first["evidence"] == "image:https://evidence/1.jpg | rs_reading:r:9"
    assert rows[0]["machine_code"] == "520115EX000001C" and rows[0]["plate"] == ""


def test_cells_that_would_run_as_formulas_are_neutralised(client, as_police, violations):
    injected = next(r for r in rows_of(client.get("/api/v1/violations/export.csv", headers=as_police))
                    if r["plate"] == "贵B00001")
    assert injected["source"] == "'=HYPERLINK(\"http://evil\")"
    assert injected["source_ref"] == "'+cmd|' /C calc'!A0"


def test_the_export_applies_the_same_filters_as_the_list(client, as_police, violations):
    query = {"kind": "black_smoke", "occurred_to": (T0 + timedelta(hours=2)).isoformat()}
    exported = [int(r["id"]) for r in rows_of(client.get("/api/v1/violations/export.csv", query_string=query,
                                                         headers=as_police))]
    listed = [v["id"] for v in client.get("/api/v1/violations", query_string=query, headers=as_police).json["items"]]
    assert exported == listed == [violations[0].id]


def test_a_geojson_area_export_by_post(client, as_police, violations):
    lon, lat = point_in("520103")
    square = {"type": "Polygon", "coordinates": [[[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01],
                                                   [lon + 0.01, lat + 0.01], [lon - 0.01, lat + 0.01],
                                                   [lon - 0.01, lat - 0.01]]]}
    rows = rows_of(client.post("/api/v1/violations/export", json={"area": {"geojson": square}}, headers=as_police))
    assert [int(r["id"]) for r in rows] == [violations[0].id]


def test_an_empty_result_is_a_header_only_document(client, as_police):
    response = client.get("/api/v1/violations/export.csv", query_string={"plate": "贵Z99999"}, headers=as_police)
    assert response.get_data().decode("utf-8-sig").splitlines() == [",".join(HEADER)]


def test_the_export_is_streamed_in_batches(client, session, record, as_police, monkeypatch):
    monkeypatch.setattr(export, "BATCH_ROWS", 2)
    for i in range(5):
        record(vehicle_draft(occurred_at=T0 + timedelta(minutes=i), plate=f"贵C0000{i}"))
    response = client.get("/api/v1/violations/export.csv", headers=as_police, buffered=False)
    assert response.is_streamed
    chunks = list(response.response)
    assert len(chunks) == 1 + 3  # BOM + header, then batches of 2, 2 and 1 rows
    assert [chunk.count(b"\r\n") for chunk in chunks] == [1, 2, 2, 1]
    response.close()


def test_exports_are_logged_with_their_filters(client, session, as_police, violations):
    client.get("/api/v1/violations/export.csv", query_string={"plate": "贵A12345"}, headers=as_police)
    (entry,) = session.scalars(select(AuditEntry).where(AuditEntry.action == "violations.export")).all()
    assert entry.role == "police" and entry.entity_id == "贵A12345" and entry.after == {"plate": "贵A12345"}


def test_bad_filters_are_refused_before_anything_is_streamed(client, as_police):
    response = client.get("/api/v1/violations/export.csv", query_string={"kind": "nope"}, headers=as_police)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
