"""Pure domain modules import no framework, database or queue (common brief)."""
import ast
import importlib
from pathlib import Path

import pytest

FORBIDDEN = {"flask", "sqlalchemy", "geoalchemy2", "marshmallow", "redis", "rq", "psycopg",
             "psycopg2", "flask_smorest"}
FORBIDDEN_LAYERS = ("api", "service", "models", "schemas")
PURE_MODULES = [
    "mobsrc.obd.hj1239.tables", "mobsrc.obd.hj1239.framing", "mobsrc.obd.hj1239.times",
    "mobsrc.obd.hj1239.messages", "mobsrc.obd.hj1239.bodies", "mobsrc.obd.hj1239.info_blocks", "mobsrc.obd.hj1239.layouts",
    "mobsrc.obd.hj1239.codec", "mobsrc.obd.hj1239.stream", "mobsrc.obd.hj1239.records",
    "mobsrc.obd.hj1239.simulate", "mobsrc.obd.alarm_model", "mobsrc.obd.emission_checks",
    "mobsrc.obd.integrity_checks", "mobsrc.obd.online_rate", "mobsrc.obd.alarms",
    "mobsrc.obd.rows", "mobsrc.obd.intake", "mobsrc.obd.record_specs", "mobsrc.obd.escalation",
    "mobsrc.obd.partition_plan", "mobsrc.obd.settings",
]
#: the plumbing: persistence, use cases, network adapters and commands (they may use I/O)
PLUMBING = ("api", "service", "models", "schemas", "gateway", "ingest", "storage", "alarming", "online",
            "terminal", "cli", "demo")


def _imported_names(module_name: str) -> set[str]:
    path = Path(importlib.import_module(module_name).__file__)
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module_name", PURE_MODULES)
def test_pure_module_imports_no_framework_database_or_queue(module_name):
    imported = _imported_names(module_name)
    assert not {name.split(".")[0] for name in imported} & FORBIDDEN
    assert not [n for n in imported if n.startswith("mobsrc.") and n.split(".")[-1] in FORBIDDEN_LAYERS]


def test_every_obd_module_is_listed():
    root = Path(importlib.import_module("mobsrc.obd").__file__).parent
    found = {"mobsrc." + ".".join(p.relative_to(root.parent).with_suffix("").parts)
             for p in root.rglob("*.py") if p.name != "__init__.py"}
    assert found - {"mobsrc.obd." + m for m in PLUMBING} == set(PURE_MODULES)
