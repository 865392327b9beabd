"""Registry jobs: thin calls into mobsrc.registry."""
from __future__ import annotations

from mobsrc.extensions import state
from mobsrc.registry import imports


def import_machines_csv(import_id: int) -> None:
    """Register an uploaded CSV's rows, one committed chunk at a time (progress is visible,
    and a crash loses at most the chunk in hand, which the next run redoes)."""
    app = state()
    more = True
    while more:
        with app.db.session_scope() as session:
            more = imports.import_next_chunk(session, import_id, app.settings.default_district_code)
