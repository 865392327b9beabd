"""Which way the imports go (style.md): pure domain modules import no web framework, database or
queue; `mobsrc` never imports `workers`."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"flask", "flask_smorest", "sqlalchemy", "geoalchemy2", "marshmallow", "redis", "rq", "psycopg",
             "webargs"}
FEATURE_LAYERS = {"api", "schemas", "models", "service", "imports"}
PURE_MODULES = [
    "mobsrc/registry/coding.py", "mobsrc/registry/identifiers.py", "mobsrc/registry/importing.py",
    "mobsrc/registry/lifecycle.py", "mobsrc/registry/emissions.py", "mobsrc/core/errors.py",
    "mobsrc/core/clock.py", "mobsrc/core/auth/keys.py", "mobsrc/core/auth/principals.py",
    "mobsrc/core/geo/crs.py", "mobsrc/enforcement/register.py", "mobsrc/enforcement/legal_bases.py",
    # --- im
    "mobsrc/im/cases.py", "mobsrc/im/deadlines.py", "mobsrc/im/inspection.py", "mobsrc/im/limits.py",
    "mobsrc/im/parameters.py", "mobsrc/im/webhooks.py", "mobsrc/im/fraud/__init__.py",
    "mobsrc/im/fraud/curves.py", "mobsrc/im/fraud/rates.py", "mobsrc/im/fraud/signs.py",
    "mobsrc/im/fraud/timing.py",
    # --- zones
    "mobsrc/zones/engine.py", "mobsrc/zones/grid.py", "mobsrc/zones/schedule.py", "mobsrc/zones/visits.py",
    "mobsrc/zones/rules.py", "mobsrc/zones/fixes.py", "mobsrc/zones/presence.py", "mobsrc/zones/batches.py",
    "mobsrc/core/geo/geojson.py", "mobsrc/core/geo/distance.py",
    # --- obd
    "mobsrc/obd/rows.py", "mobsrc/obd/intake.py", "mobsrc/obd/record_specs.py", "mobsrc/obd/escalation.py",
    "mobsrc/obd/partition_plan.py", "mobsrc/obd/settings.py",
    # --- remote_sensing
    *(f"mobsrc/remote_sensing/{name}.py" for name in (
        "calibration", "confirmation", "judgement", "limit_documents", "limits", "payloads", "readings",
        "statistics", "validity", "verdicts", "vsp")),
    # --- enforcement
    "mobsrc/enforcement/actions.py", "mobsrc/core/csv.py", "mobsrc/core/geo/districts.py",
]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_framework(module):
    imported = imported_modules(ROOT / module)
    assert not {name.split(".")[0] for name in imported} & FORBIDDEN, imported
    layers = {name.rsplit(".", 1)[-1] for name in imported if name.startswith("mobsrc.")}
    assert not layers & FEATURE_LAYERS, f"{module} imports a plumbing layer: {layers & FEATURE_LAYERS}"


def test_mobsrc_never_imports_workers():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "mobsrc").rglob("*.py")
                 if any(n == "workers" or n.startswith("workers.") for n in imported_modules(p))]
    assert offenders == []


def test_every_job_name_resolves_to_a_function():
    import importlib

    from mobsrc.core.jobs import JOBS, QUEUES
    for name, spec in JOBS.items():
        module, function = spec.path.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), function)), name
        assert spec.queue in QUEUES, name
    listed = {spec.path for spec in JOBS.values()}
    for path in (ROOT / "workers" / "jobs").glob("*.py"):
        module = importlib.import_module(f"workers.jobs.{path.stem}")
        for name, value in vars(module).items():
            if callable(value) and getattr(value, "__module__", "") == module.__name__ and not name.startswith("_"):
                assert f"{module.__name__}.{name}" in listed, f"{module.__name__}.{name} is not in core.jobs.JOBS"
