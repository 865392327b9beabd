"""The zones feature's pure modules (and the shared geo modules) import no framework, database
or queue library."""

import ast
import importlib.util
from pathlib import Path

import pytest

PURE_MODULES = [
    "mobsrc.core.geo.crs",
    "mobsrc.core.geo.distance",
    "mobsrc.core.geo.geojson",
    "mobsrc.zones.grid",
    "mobsrc.zones.schedule",
    "mobsrc.zones.engine",
    "mobsrc.zones.fixes",
    "mobsrc.zones.visits",
    "mobsrc.zones.rules",
    "mobsrc.zones.presence",
    "mobsrc.zones.batches",
]
FORBIDDEN = {"flask", "sqlalchemy", "geoalchemy2", "marshmallow", "redis", "rq", "psycopg", "psycopg2"}
FORBIDDEN_MOBSRC_LAYERS = {"api", "service", "models", "schemas"}


def imported_names(module_name):
    yield from imported_names_in(Path(importlib.util.find_spec(module_name).origin))


def imported_names_in(path: Path):
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("module_name", PURE_MODULES)
def test_pure_module_imports_no_framework_database_or_queue(module_name):
    names = list(imported_names(module_name))
    assert names  # the walk found the imports
    assert not {n.split(".")[0] for n in names} & FORBIDDEN


@pytest.mark.parametrize("module_name", PURE_MODULES)
def test_pure_module_imports_no_service_layer_of_mobsrc(module_name):
    mobsrc_parts = {part for n in imported_names(module_name) if n.startswith("mobsrc.") for part in n.split(".")}
    assert not mobsrc_parts & FORBIDDEN_MOBSRC_LAYERS


def test_the_import_walk_would_catch_a_forbidden_import(tmp_path):
    probe = tmp_path / "impure_probe.py"
    probe.write_text("import numpy\n\ndef f():\n    from sqlalchemy.orm import Session\n")
    assert {n.split(".")[0] for n in imported_names_in(probe)} & FORBIDDEN == {"sqlalchemy"}
