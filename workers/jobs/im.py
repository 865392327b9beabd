"""I/M jobs: thin calls into mobsrc.im.service. Each is idempotent and safe to run in parallel
with itself (the services lock what they work on with SKIP LOCKED)."""
from __future__ import annotations

from mobsrc.core import audit, jobs
from mobsrc.core.auth.principals import SYSTEM
from mobsrc.extensions import state
from mobsrc.im.service import outbox, supervision, sweeps


def sweep_case_deadlines() -> int:
    """Mark overdue cases and escalate them, one committed batch at a time."""
    made_total = 0
    while True:
        with state().db.session_scope() as session:
            jobs.bind_redis(session, state().redis)
            audit.act_as(session, SYSTEM, "im.deadline_sweep")
            seen, made = sweeps.sweep_case_deadlines(session)
        made_total += made
        if not (seen and made):
            return made_total


def deliver_webhooks() -> int:
    """Send due webhook deliveries until none is left."""
    app = state()
    allow_private = outbox.allows_private_addresses(app.settings)
    sent = 0
    while (batch := outbox.deliver_due(app.db, allow_private=allow_private)):
        sent += batch
    return sent


def detect_fraud_signs() -> int:
    """Run the station detectors over the configured window; returns the flags opened."""
    with state().db.session_scope() as session:
        audit.act_as(session, SYSTEM, "im.fraud_flags")
        return supervision.detect_and_flag(session).opened
