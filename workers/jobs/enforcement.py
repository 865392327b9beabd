"""Jobs of the violation register."""
from __future__ import annotations

from mobsrc.enforcement import statistics
from mobsrc.extensions import state


def fold_day_count_changes() -> int:
    with state().db.session_scope() as session:
        return statistics.fold_day_count_changes(session)
