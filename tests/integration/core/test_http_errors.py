"""Every failure is application/problem+json: routing errors, size limits, crashes, health."""
from __future__ import annotations

from mobsrc import create_app


def _is_problem(response, status):
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_unknown_route_is_404_problem(client):
    _is_problem(client.get("/api/v1/no-such-thing"), 404)


def test_wrong_method_is_405_with_allow(client):
    response = client.put("/api/v1/health")
    _is_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_too_large_body_is_413(settings, db, as_operator):
    app = create_app(settings.with_overrides(max_content_length=1024))
    app.extensions["mobsrc"].db = db
    response = app.test_client().post("/api/v1/machine-imports", data=b"x" * 4096,
                                      headers={**as_operator, "Content-Type": "text/csv"})
    _is_problem(response, 413)


def test_malformed_json_is_400(client, as_admin):
    response = client.post("/api/v1/enterprises", data="{not json", headers={**as_admin, "Content-Type": "application/json"})
    _is_problem(response, 400)


def test_unexpected_error_is_500_without_a_traceback(settings, db):
    app = create_app(settings)
    app.extensions["mobsrc"].db = db

    @app.get("/api/v1/explode")
    def explode():
        raise RuntimeError("secret internal detail")

    body = _is_problem(app.test_client().get("/api/v1/explode"), 500)
    assert "secret internal detail" not in str(body) and "Traceback" not in str(body)
    assert "incident id" in body["detail"]


def test_health_is_ok_when_both_answer(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json["database"]["ok"] and response.json["redis"]["ok"]


def test_health_is_503_when_redis_is_down(settings, db):
    app = create_app(settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.json["redis"]["ok"] is False and response.json["database"]["ok"] is True


def test_health_is_503_when_the_database_is_down(settings):
    app = create_app(settings.with_overrides(database_url="postgresql://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.json["database"]["ok"] is False and response.json["redis"]["ok"] is True
