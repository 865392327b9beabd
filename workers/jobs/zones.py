"""Zones jobs: thin calls into mobsrc.zones."""
from __future__ import annotations

from mobsrc.extensions import state
from mobsrc.zones import config, geofence, positions


def evaluate_positions(batch_id: int) -> bool:
    """Geofence one batch of positions (idempotent: a processed batch is skipped)."""
    app = state()
    with app.db.session_scope() as session:
        return geofence.evaluate_batch(session, batch_id, config.from_settings(app.settings))


def close_silent_visits() -> int:
    """End the visits of machines that stopped reporting inside a zone."""
    app = state()
    with app.db.session_scope() as session:
        return geofence.close_silent_visits(session, config.from_settings(app.settings))


def maintain_position_partitions() -> dict:
    """Create the coming days' position partitions, drop the expired ones."""
    app = state()
    with app.db.session_scope() as session:
        done = positions.maintain_partitions(session, config.from_settings(app.settings))
    return {"created": list(done.created), "dropped": list(done.dropped)}
