"""Users and keys: scope rules, keys shown once and stored hashed, revocation."""
from __future__ import annotations

from sqlalchemy import select

from mobsrc.core.auth.models import ApiKey
from tests.integration import factories


def test_key_is_shown_once_stored_hashed_and_revocable(client, session, as_admin, enterprise):
    user = client.post("/api/v1/users", headers=as_admin,
                       json={"name": "调度员", "role": "fleet_operator", "enterprise_id": enterprise.id}).json
    issued = client.post(f"/api/v1/users/{user['id']}/keys", headers=as_admin, json={"label": "phone"}).json
    secret = issued["key"]
    stored = session.scalar(select(ApiKey).where(ApiKey.id == issued["id"]))
    assert secret not in (stored.digest, stored.lookup) and len(stored.digest) == 64
    assert "key" not in client.get(f"/api/v1/users/{user['id']}", headers=as_admin).json["keys"][0]
    me = client.get("/api/v1/me", headers={"X-API-Key": secret}).json
    assert (me["role"], me["enterprise_id"]) == ("fleet_operator", enterprise.id)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert client.delete(f"/api/v1/keys/{issued['id']}", headers={"X-API-Key": secret}).status_code == 200
    assert client.get("/api/v1/me", headers={"X-API-Key": secret}).status_code == 401


def test_a_user_cannot_revoke_someone_elses_key(client, as_operator, as_admin):
    admin_key_id = client.get("/api/v1/me", headers=as_admin).json["user_id"]
    keys = client.get(f"/api/v1/users/{admin_key_id}", headers=as_admin).json["keys"]
    response = client.delete(f"/api/v1/keys/{keys[0]['id']}", headers=as_operator)
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=as_admin).status_code == 200


def test_scope_rules_for_new_users(client, session, as_admin, enterprise):
    station = factories.make_station(session, "m")
    cases = [
        ({"role": "fleet_operator"}, "enterprise_id"),
        ({"role": "i_station", "station_id": station.id}, "station_id"),   # an M station, not an I
        ({"role": "police", "enterprise_id": enterprise.id}, "enterprise_id"),
        ({"role": "rs_station"}, "station_id"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/users", headers=as_admin, json={"name": "x", **body})
        assert response.status_code == 422, body
        assert response.json["errors"][0]["field"] == field
    ok = client.post("/api/v1/users", headers=as_admin, json={"name": "M站", "role": "m_station", "station_id": station.id})
    assert ok.status_code == 201


def test_only_admin_manages_users(client, as_police, as_operator):
    for headers in (as_police, as_operator):
        assert client.get("/api/v1/users", headers=headers).status_code == 403
        assert client.post("/api/v1/users", headers=headers, json={"name": "x", "role": "admin"}).status_code == 403
