"""The im pure modules import no framework, database or queue (style.md, import directions)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import mobsrc.im

FORBIDDEN = {"flask", "sqlalchemy", "geoalchemy2", "marshmallow", "redis", "rq", "psycopg",
             "psycopg2", "flask_smorest"}
PLUMBING = {"api", "schemas", "models", "service", "cli"}  # the service-layer files of any feature
PACKAGE_DIR = Path(mobsrc.im.__file__).parent
# Every module outside the plumbing is pure; `service` is a package of use-case modules.
PURE_MODULES = sorted(
    ".".join(("mobsrc", "im", *path.relative_to(PACKAGE_DIR).with_suffix("").parts))
    .removesuffix(".__init__")
    for path in PACKAGE_DIR.rglob("*.py")
    if not set(path.relative_to(PACKAGE_DIR).with_suffix("").parts) & PLUMBING)


def imported_names(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module_name}: use absolute imports"
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_every_expected_module_is_checked():
    assert {"mobsrc.im.cases", "mobsrc.im.deadlines", "mobsrc.im.inspection",
            "mobsrc.im.limits", "mobsrc.im.fraud", "mobsrc.im.fraud.curves",
            "mobsrc.im.parameters", "mobsrc.im.webhooks"} <= set(PURE_MODULES)
    assert not any(".service" in name for name in PURE_MODULES)


@pytest.mark.parametrize("module_name", PURE_MODULES)
def test_pure_module_imports_no_framework_database_or_queue(module_name):
    for name in imported_names(module_name):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{module_name} imports {name}"
        parts = set(name.split("."))
        assert not (top == "mobsrc" and parts & PLUMBING), f"{module_name} imports {name}"
