"""The demo's roadside data: once judged, a confirmed high emitter, a black-smoke violation, an
unmatched plate and an invalid pass in the rain."""
from __future__ import annotations

from sqlalchemy import select

from mobsrc.devstack import demo
from mobsrc.enforcement.models import Violation
from mobsrc.remote_sensing import judging
from mobsrc.remote_sensing.models import RsBatch, RsConfirmation, RsVerdict


def test_the_demo_readings_judge_into_each_case(session, tmp_path):
    assert demo.load(session, lambda line: None, tmp_path / "keys.txt")
    (batch,) = session.scalars(select(RsBatch)).all()
    assert judging.judge_batch(session, batch.id) == 6
    outcomes = sorted(v.outcome.value for v in session.scalars(select(RsVerdict)))
    assert outcomes == ["exceed", "exceed", "exceed", "invalid", "not_judged", "pass"]
    (confirmation,) = session.scalars(select(RsConfirmation)).all()
    assert (confirmation.plate, confirmation.pollutant) == ("贵A6T521", "opacity")
    kinds = sorted(v.kind.value for v in session.scalars(select(Violation).where(
        Violation.source == "remote_sensing", ~Violation.source_ref.startswith("demo:"))))
    assert kinds == ["black_smoke", "rs_high_emitter"]
