"""Bulk CSV import through a real RQ worker and Redis: good rows register, bad rows are answered
with reasons, and uploading the same rows again registers nothing twice."""
from __future__ import annotations

from sqlalchemy import func, select

from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import Role
from mobsrc.registry.models import Machine
from tests.integration import factories

HEADER = "machine_type,brand,model,engine_manufacturer,engine_model,engine_serial,rated_power_kw,fuel,emission_stage,district_code\n"


def _csv(rows: list[str]) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


def _operator(session, enterprise) -> dict:
    user = accounts.create_user(session, "op", Role.FLEET_OPERATOR, enterprise.id)
    _, secret = accounts.issue_api_key(session, user.id)
    return {"X-API-Key": secret}


def test_import_registers_good_rows_and_explains_bad_ones(committed_app, committed_session, run_jobs):
    firm = factories.make_enterprise(committed_session)
    headers = _operator(committed_session, firm)
    committed_session.commit()
    client = committed_app.test_client()
    content = _csv([
        "excavator,三一,SY75C,洋马,4TNV98,EN-0001,42.5,diesel,china_3,520115",
        "挖掘机,三一,SY75C,洋马,4TNV98,EN-0002,42.5,柴油,国二,520115",       # Chinese values
        "spaceship,三一,SY75C,洋马,4TNV98,EN-0003,42.5,diesel,china_3,520115",  # bad type
        "loader,柳工,856H,玉柴,YC6J,EN-0004,-3,diesel,china_3,520115",         # bad power
        "loader,柳工,856H,玉柴,YC6J,EN-0001,160,diesel,china_3,520115",        # repeats row 1's engine? no: other maker
        "loader,柳工,856H,洋马,YC6J,EN-0001,160,diesel,china_3,520115",        # same engine as row 1
    ])
    accepted = client.post("/api/v1/machine-imports?filename=fleet.csv", data=content,
                           headers={**headers, "Content-Type": "text/csv"})
    assert accepted.status_code == 202, accepted.json
    assert accepted.json["status"] == "queued" and accepted.json["rows_total"] == 6
    assert run_jobs() >= 1
    done = client.get(accepted.headers["Location"], headers=headers).json
    assert (done["status"], done["registered"], done["already_registered"], done["rejected"]) == ("done", 3, 1, 2)
    assert done["progress"] == 1.0
    rows = client.get(f"{accepted.headers['Location']}/rows", headers=headers).json
    by_row = {r["row_number"]: r for r in rows}
    assert by_row[3]["outcome"] == "rejected" and by_row[3]["errors"][0]["field"] == "machine_type"
    assert by_row[4]["errors"][0]["field"] == "rated_power_kw"
    assert by_row[6]["outcome"] == "already_registered" and by_row[6]["code"] == by_row[1]["code"]
    assert by_row[2]["code"] and by_row[2]["code"][6:8] == "EX"

    # The same file again: the same import, nothing queued, nothing registered.
    again = client.post("/api/v1/machine-imports", data=content, headers={**headers, "Content-Type": "text/csv"})
    assert again.status_code == 200 and again.json["id"] == accepted.json["id"]
    # The same rows in another file (a re-saved spreadsheet): answered "already registered".
    resaved = client.post("/api/v1/machine-imports", data=content.replace(b"\n", b"\r\n"),
                          headers={**headers, "Content-Type": "text/csv"})
    assert resaved.status_code == 202
    run_jobs()
    second = client.get(resaved.headers["Location"], headers=headers).json
    assert (second["registered"], second["already_registered"], second["rejected"]) == (0, 4, 2)
    assert committed_session.scalar(select(func.count()).select_from(Machine)) == 3


def test_import_job_run_twice_changes_nothing(committed_app, committed_session, run_jobs):
    from mobsrc.registry import imports
    firm = factories.make_enterprise(committed_session)
    headers = _operator(committed_session, firm)
    committed_session.commit()
    client = committed_app.test_client()
    content = _csv([f"roller,徐工,XS263,上柴,SC8D,RR-{i:04d},140,diesel,china_3,520102" for i in range(600)])
    accepted = client.post("/api/v1/machine-imports", data=content, headers={**headers, "Content-Type": "text/csv"})
    run_jobs()
    database = committed_app.extensions["mobsrc"].db
    with database.session_scope() as session:   # a late duplicate delivery of the same job
        assert imports.import_next_chunk(session, accepted.json["id"], "520100") is False
    final = client.get(accepted.headers["Location"], headers=headers).json
    assert (final["rows_done"], final["registered"]) == (600, 600)


def test_unreadable_file_is_422_and_stores_nothing(client, as_operator):
    response = client.post("/api/v1/machine-imports", data=b"\xff\xfe\x00garbage\x81",
                           headers={**as_operator, "Content-Type": "text/csv"})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "file"


def test_operator_cannot_read_another_operators_import(client, session, as_other_operator, enterprise):
    from mobsrc.core.auth.principals import SYSTEM
    from mobsrc.registry import imports
    upload, _ = imports.start_import(session, SYSTEM, enterprise.id, "x.csv",
                                     _csv(["excavator,三一,SY75C,洋马,4TNV98,EN-9,42.5,diesel,china_3,520115"]))
    session.flush()
    assert client.get(f"/api/v1/machine-imports/{upload.id}", headers=as_other_operator).status_code == 404
