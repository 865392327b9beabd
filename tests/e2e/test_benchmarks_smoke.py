"""Every benchmark still runs, at a tiny size (figures are not judged here: benchmarks are
measured by hand and reported in the notes).  A benchmark is code the tests never called, so
it broke silently before (a refactor moved a name it used; a small seed chose an ambiguous SQL
function overload); this runs each one as `python -m benchmarks.<name>` with its own private
PostgreSQL and Redis, and fails on a non-zero exit.

`idle_memory` is left out: it starts `mobsrc up` on the fixed ports of a developer's stack.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e

SMOKE = {
    "im_pure": ["--cases", "500", "--tests-per-station", "20"],
    "remote_sensing_judgement": ["--readings", "500"],
    "obd_codec": ["--hours", "0.05", "--repeat", "1"],
    "geofence_engine": ["--points", "5000", "--zones", "20", "--naive-sample", "200", "--repeat", "1"],
    "registry_import": ["--rows", "50"],
    "remote_sensing": ["--batches", "2", "--batch-size", "50", "--clients", "1"],
    "im_loop": ["--inspections", "10", "--cases", "5", "--deliveries", "10"],
    "violations": ["--rows", "20000", "--requests", "10", "--warmup", "2", "--concurrency", "1", "--workers", "1"],
    "geofence_e2e": ["--machines", "50", "--warmup", "1", "--rounds", "2", "--batch", "50", "--clients", "1",
                     "--workers", "1", "--api-workers", "1"],
    "obd": ["--records", "400", "--vehicles", "4", "--clients", "1", "--idle", "20", "--reporting", "10",
            "--seconds", "3"],
}


def test_every_benchmark_but_idle_memory_has_a_smoke_run():
    modules = {p.stem for p in (PROJECT_ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_")}
    assert modules - {"idle_memory"} == set(SMOKE)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", sorted(SMOKE))
def test_benchmark_runs_at_a_tiny_size(name, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *SMOKE[name]], cwd=PROJECT_ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=220)
    output = done.stdout.decode(errors="replace")
    assert done.returncode == 0, output[-4000:]
    assert output.strip(), "the benchmark printed no figures"
