"""The remote-sensing domain modules import no framework, database or queue."""

from __future__ import annotations

import ast
import importlib
import pkgutil

import pytest

import mobsrc.remote_sensing as package

FORBIDDEN = {"flask", "sqlalchemy", "geoalchemy2", "marshmallow", "redis", "rq", "psycopg", "psycopg2"}
FORBIDDEN_LAYERS = {"api", "service", "models", "schemas"}
# Plumbing beside the fixed layers: ingestion, the judgement job, the read side, partitions, COPY.
PLUMBING = {"ingest", "judging", "confirming", "queries", "partitions", "bulk"}
PURE_MODULES = [
    "calibration", "confirmation", "judgement", "limit_documents", "limits", "payloads", "readings",
    "statistics", "validity", "verdicts", "vsp",
]


def imported_names(module) -> set[str]:
    tree = ast.parse(open(module.__file__, encoding="utf-8").read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_every_module_of_the_package_is_checked():
    found = {info.name for info in pkgutil.iter_modules(package.__path__)}
    assert found - FORBIDDEN_LAYERS - PLUMBING == set(PURE_MODULES)


@pytest.mark.parametrize("name", PURE_MODULES)
def test_module_imports_no_framework_database_or_queue(name):
    module = importlib.import_module(f"mobsrc.remote_sensing.{name}")
    names = imported_names(module)
    assert not {n for n in names if n.split(".")[0] in FORBIDDEN}
    assert not {n for n in names if n.startswith("mobsrc.") and n.split(".")[-1] in FORBIDDEN_LAYERS | PLUMBING}
