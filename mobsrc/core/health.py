"""GET /api/v1/health: can we reach PostgreSQL and Redis? 200 when both answer, else 503."""
from __future__ import annotations

import time

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mobsrc.core.auth.access import public
from mobsrc.extensions import state

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


class DependencySchema(Schema):
    ok = fields.Boolean()
    latency_ms = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok or unavailable"})
    database = fields.Nested(DependencySchema)
    redis = fields.Nested(DependencySchema)


def _probe(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except (SQLAlchemyError, RedisError, OSError) as exc:
        return {"ok": False, "latency_ms": None, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2), "error": None}


def _database_answers() -> None:
    with state().db.raw_connection_engine().connect() as conn:
        conn.execute(text("SELECT 1"))


@blp.route("/health")
class Health(MethodView):
    @public
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="PostgreSQL or Redis is unreachable")
    def get(self):
        """Reachability of PostgreSQL and Redis (no authentication)."""
        report = {"database": _probe(_database_answers), "redis": _probe(state().redis.ping)}
        healthy = report["database"]["ok"] and report["redis"]["ok"]
        report["status"] = "ok" if healthy else "unavailable"
        return report, (200 if healthy else 503)
