"""I/M jobs: thin calls into mobsrc.im.service. Each is idempotent and safe to run in parallel
with itself (the services lock what they work on with SKIP LOCKED)."""
from __future__ import annotations

from mobsrc.extensions import state
from mobsrc.im.service import outbox, supervision, sweeps


def sweep_case_deadlines() -> int:
    """Mark overdue cases and escalate them, one committed batch at a time."""
    return sweeps.run_sweep(state().db, state().redis)


def deliver_webhooks() -> int:
    """Send due webhook deliveries until none is left."""
    return outbox.deliver_all(state().db, allow_private=outbox.allows_private_addresses(state().settings))


def detect_fraud_signs() -> int:
    """Run the station detectors over the configured window; returns the flags opened."""
    return supervision.run_detection(state().db).opened
