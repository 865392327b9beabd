"""mobsrc: mobile-source emission supervision.

`create_app(settings=None, database=None)` reads the settings, binds the extensions, registers
every feature's blueprint and CLI group and installs the error handler. Nothing else.
"""
from __future__ import annotations

import logging

import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask_smorest import Api
from redis import Redis

from mobsrc.config import Settings
from mobsrc.core import web
from mobsrc.core.db import Database
from mobsrc.core.schemas import ProblemSchema
from mobsrc.extensions import AppState

API_PREFIX = "/api/v1"
DOCS_STATIC = f"{API_PREFIX}/docs/static/"


def _feature_blueprints():
    # Imported here so that importing `mobsrc` stays cheap for pure modules and tools.
    from mobsrc.core.auth import api as accounts_api
    from mobsrc.core.health import blp as health_blp
    from mobsrc.enforcement import api as enforcement_api
    from mobsrc.registry import api as registry_api

    blueprints = [health_blp, accounts_api.blp, *registry_api.BLUEPRINTS, *enforcement_api.BLUEPRINTS]
    # --- im
    from mobsrc.im import api as im_api
    blueprints += im_api.BLUEPRINTS
    # --- zones
    from mobsrc.zones import api as zones_api
    blueprints += zones_api.BLUEPRINTS
    # --- obd
    from mobsrc.obd import api as obd_api
    blueprints += obd_api.BLUEPRINTS
    # --- remote_sensing
    from mobsrc.remote_sensing import api as remote_sensing_api
    blueprints += remote_sensing_api.BLUEPRINTS
    return blueprints


def _configure(app: Flask, settings: Settings) -> None:
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_content_length,
        TESTING=settings.testing,
        API_TITLE="mobsrc — mobile-source emission supervision",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_STATIC,  # served from the installed bundle: works offline
        API_SPEC_OPTIONS={"info": {"description": (
            "REST API of the mobile-source emission supervision platform. Authenticate with an "
            "API key in the `X-API-Key` header. Each operation lists the roles allowed to call it "
            "under `x-roles`. Times are ISO 8601 (shown in Asia/Shanghai, +08:00); coordinates are "
            "WGS-84 [lon, lat]. Errors are application/problem+json.")}},
    )


def _document_security(api: Api) -> None:
    api.spec.components.security_scheme("ApiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    api.spec.components.security_scheme("Bearer", {"type": "http", "scheme": "bearer"})
    api.spec.components.schema("Problem", schema=ProblemSchema)
    for name, text in (("Unauthorized", "No API key, or an unknown or revoked one"),
                       ("Forbidden", "Your role may not do this")):
        api.spec.components.response(name, {"description": text, "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})


def _serve_docs_assets(app: Flask) -> None:
    folder = swagger_ui_bundle.swagger_ui_path

    def docs_asset(filename: str):
        return send_from_directory(folder, filename, max_age=86400)

    app.add_url_rule(f"{DOCS_STATIC}<path:filename>", "docs_asset", docs_asset)


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask("mobsrc")
    app.json.sort_keys = False
    app.json.ensure_ascii = False  # Chinese names readable on the wire
    _configure(app, settings)
    database = database or Database.from_url(settings.database_url, echo=settings.sql_echo)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=5)
    app.extensions["mobsrc"] = AppState(settings=settings, db=database, redis=redis)
    api = Api(app)
    _document_security(api)
    for blueprint in _feature_blueprints():
        api.register_blueprint(blueprint)
    _serve_docs_assets(app)
    web.install(app)
    from mobsrc import cli
    cli.register(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app
