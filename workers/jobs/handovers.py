"""Hand-overs to the I/M loop that could not be made at the time (retried; idempotent)."""
from __future__ import annotations

from mobsrc.extensions import state
from mobsrc.obd import service as obd
from mobsrc.remote_sensing import service as remote_sensing


def retry_im_handovers() -> int:
    with state().db.session_scope() as session:
        return obd.retry_pending_handovers(session) + remote_sensing.retry_pending_handovers(session)
