"""The OpenAPI spec is generated from the schemas, documents every route, and the docs page
works offline (its assets are served by the app, not a CDN)."""
from __future__ import annotations

import re

from tests.integration.test_access_matrix import api_routes


def _spec_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_registered_route_is_in_the_spec(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for method, rule, _ in api_routes(app):
        path = _spec_path(rule)
        assert path in spec["paths"], f"{path} missing from the spec"
        assert method.lower() in spec["paths"][path], f"{method} {path} missing from the spec"


def test_operations_state_roles_and_security(client):
    spec = client.get("/api/v1/openapi.json").json
    machines_post = spec["paths"]["/api/v1/machines"]["post"]
    assert machines_post["x-roles"] == ["admin", "fleet_operator"]
    assert {"ApiKey": []} in machines_post["security"]
    assert "403" in machines_post["responses"] and "422" in machines_post["responses"]
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    schema = spec["components"]["schemas"]["MachineCreate"]
    assert {"machine_type", "engine_serial", "emission_stage"} <= set(schema["required"])


def test_docs_page_loads_its_assets_from_this_server(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))
    assert sources and all(s.startswith("/api/v1/docs/static/") for s in sources)
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.data) > 1000


def test_schema_names_are_unique_across_features(settings):
    """Two features' schemas with the same name would be silently renamed in the spec."""
    import warnings

    from mobsrc import create_app
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        create_app(settings).test_client().get("/api/v1/openapi.json")
    assert not [w for w in caught if "Multiple schemas resolved" in str(w.message)]
