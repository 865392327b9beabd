"""`python -m workers.cron`: RQ's cron scheduler with mobsrc's periodic jobs (RQ >= 2.4 cron,
not a hand-made loop). Several schedulers may run: every periodic job is idempotent."""
from __future__ import annotations

from rq.cron import CronScheduler

from mobsrc import create_app
from mobsrc.core.jobs import JOBS
from mobsrc.extensions import state

# (job name, interval in seconds). Features append their periodic work here.
PERIODIC = [
    ("im.retry_handovers", 900),
    ("core.reconcile_unprocessed_work", 60),
    # --- im
    ("im.sweep_case_deadlines", 300),
    ("im.deliver_webhooks", 30),
    ("im.detect_fraud_signs", 3600),
    # --- zones
    ("zones.close_silent_visits", 300),
    ("zones.maintain_position_partitions", 3600),
    # --- obd
    ("obd.maintain_partitions", 3600),
    ("obd.detect_offline_terminals", 300),
    ("obd.escalate_open_alarms", 900),
    ("obd.compute_online_rates", 3600),
    # --- remote_sensing
    ("remote_sensing.rematch_readings", 300),
    ("remote_sensing.rejudge_for_calibrations", 300),
    ("remote_sensing.maintain_partitions", 3600),
    # --- enforcement
    ("enforcement.fold_day_count_changes", 60),
]


def build_scheduler(redis) -> CronScheduler:
    scheduler = CronScheduler(connection=redis, name="mobsrc-cron")
    for name, interval in PERIODIC:
        spec = JOBS[name]
        scheduler.register(_function(spec.path), spec.queue, interval=interval)
    return scheduler


def _function(path: str):
    import importlib
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def main() -> None:
    app = create_app()
    app.app_context().push()
    build_scheduler(state().redis).start()


if __name__ == "__main__":
    main()
