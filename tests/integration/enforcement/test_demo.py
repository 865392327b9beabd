"""The demo shows the register working: violations of several kinds, located in districts, one
under review and one penalised."""
from __future__ import annotations

from mobsrc.devstack import demo


def test_demo_violations_are_queryable(client, session, as_police, tmp_path):
    demo.load(session, lambda line: None, tmp_path / "keys.txt")
    session.flush()
    items = client.get("/api/v1/violations", headers=as_police).json["items"]
    assert len(items) == 6
    assert {i["kind"] for i in items} == {"black_smoke", "rs_high_emitter", "failed_inspection_driving",
                                          "nrmm_in_no_use_zone"}
    assert sorted(i["status"] for i in items) == ["open", "open", "open", "open", "penalised", "under_review"]
    assert {i["district_code"] for i in items} == {"520111", "520103", "520102", "520115"}
    status = client.get("/api/v1/subject-status", query_string={"plate": "贵A12345"}, headers=as_police).json
    assert status["counts"]["penalised"] == 1 and len(status["open_violations"]) == 1
