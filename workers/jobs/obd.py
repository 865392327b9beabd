"""OBD jobs: thin calls into mobsrc.obd (alarms, offline terminals, escalation, online rates,
day partitions)."""
from __future__ import annotations

from mobsrc.extensions import state
from mobsrc.obd import alarming, online, service
from mobsrc.obd.settings import ObdSettings


def _settings() -> ObdSettings:
    return ObdSettings.from_extra(state().settings.extra)


def evaluate_pending_batches() -> int:
    """Judge every accepted batch not yet processed, one committed chunk at a time (a crash
    loses at most the chunk in hand, which the next run redoes)."""
    chunk, total = _settings().alarm_chunk_batches, 0
    while True:
        with state().db.session_scope() as session:
            taken = alarming.evaluate_next_batches(session, chunk)
        if not taken:
            return total
        total += taken


def detect_offline_terminals() -> tuple[int, int]:
    with state().db.session_scope() as session:
        return alarming.detect_offline_terminals(session)


def escalate_open_alarms() -> int:
    with state().db.session_scope() as session:
        return alarming.escalate_open_alarms(session)


def compute_online_rates() -> dict:
    with state().db.session_scope() as session:
        return online.compute_recent_online_days(session)


def maintain_partitions() -> dict:
    with state().db.session_scope() as session:
        return service.maintain_partitions(session, _settings())
