"""Remote-sensing jobs: thin calls into mobsrc.remote_sensing."""
from __future__ import annotations

from mobsrc.core import clock
from mobsrc.extensions import state
from mobsrc.remote_sensing import judging, partitions


def judge_batch(batch_id: int) -> int:
    """Judge a posted batch (idempotent: a processed batch is left alone)."""
    with state().db.session_scope() as session:
        return judging.judge_batch(session, batch_id)


def rematch_readings() -> int:
    """Match and judge again the readings of vehicles registered since the last run."""
    with state().db.session_scope() as session:
        return judging.rematch_readings(session)


def rejudge_for_calibrations() -> int:
    """Judge again the readings whose calibration check changed with records entered late."""
    with state().db.session_scope() as session:
        return judging.rejudge_for_calibrations(session)


def maintain_partitions() -> int:
    """Day partitions of the readings and verdicts, a week ahead; one transaction each."""
    today = clock.as_local(clock.now()).date()
    created = 0
    for table in partitions.TABLES:
        with state().db.session_scope() as session:
            days = partitions.days_wanted(session, table, today)
        for day in days:
            with state().db.session_scope() as session:
                created += partitions.ensure_day_partition(session, table, day)
    return created
