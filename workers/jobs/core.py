"""Jobs of the core: the reconciler."""
from __future__ import annotations

from mobsrc.core import reconcile
from mobsrc.extensions import state


def reconcile_unprocessed_work() -> int:
    return reconcile.reconcile(state().db, state().redis)
