"""Background work by name. `mobsrc` never imports `workers`: services enqueue a job *name*,
JOBS maps it to the dotted path of a thin function in `workers/jobs/` and to its queue.

Durability rule (architecture.md): the work's own row in PostgreSQL says whether it is done.
Enqueueing happens only after the commit, and a failure to reach Redis is logged, not raised:
the reconciler (`RECONCILERS`, run by cron) finds accepted-but-unprocessed work and enqueues it
again. Job ids are deterministic, so a job that is still waiting is never queued twice.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Queues named by purpose; one worker may serve all, or each may get its own workers.
QUEUES = ("ingest", "geofence", "rules", "im", "reports", "maintenance")


@dataclass(frozen=True)
class JobSpec:
    path: str   # "workers.jobs.registry.import_machines_csv"
    queue: str


JOBS: dict[str, JobSpec] = {
    "registry.import_machines_csv": JobSpec("workers.jobs.registry.import_machines_csv", "ingest"),
    "core.reconcile_unprocessed_work": JobSpec("workers.jobs.core.reconcile_unprocessed_work", "maintenance"),
    # --- im
    "im.sweep_case_deadlines": JobSpec("workers.jobs.im.sweep_case_deadlines", "im"),
    "im.deliver_webhooks": JobSpec("workers.jobs.im.deliver_webhooks", "im"),
    "im.detect_fraud_signs": JobSpec("workers.jobs.im.detect_fraud_signs", "im"),
    # --- zones
    "zones.evaluate_positions": JobSpec("workers.jobs.zones.evaluate_positions", "geofence"),
    "zones.close_silent_visits": JobSpec("workers.jobs.zones.close_silent_visits", "geofence"),
    "zones.maintain_position_partitions": JobSpec("workers.jobs.zones.maintain_position_partitions", "maintenance"),
    # --- obd
    "obd.evaluate_pending_batches": JobSpec("workers.jobs.obd.evaluate_pending_batches", "rules"),
    "obd.detect_offline_terminals": JobSpec("workers.jobs.obd.detect_offline_terminals", "rules"),
    "obd.escalate_open_alarms": JobSpec("workers.jobs.obd.escalate_open_alarms", "rules"),
    "obd.compute_online_rates": JobSpec("workers.jobs.obd.compute_online_rates", "reports"),
    "obd.maintain_partitions": JobSpec("workers.jobs.obd.maintain_partitions", "maintenance"),
    # --- remote_sensing
    "remote_sensing.judge_batch": JobSpec("workers.jobs.remote_sensing.judge_batch", "rules"),
    "remote_sensing.rematch_readings": JobSpec("workers.jobs.remote_sensing.rematch_readings", "rules"),
    "remote_sensing.rejudge_for_calibrations": JobSpec("workers.jobs.remote_sensing.rejudge_for_calibrations",
                                                       "rules"),
    "remote_sensing.maintain_partitions": JobSpec("workers.jobs.remote_sensing.maintain_partitions", "maintenance"),
    # --- enforcement
    "enforcement.fold_day_count_changes": JobSpec("workers.jobs.enforcement.fold_day_count_changes", "maintenance"),
    # --- hand-overs to the I/M loop that failed at the time (obd alarms, remote-sensing confirmations)
    "im.retry_handovers": JobSpec("workers.jobs.handovers.retry_im_handovers", "im"),
}

# Functions `(session) -> list[PendingJob]` that find accepted work whose job never finished.
RECONCILERS: list[str] = [
    "mobsrc.registry.imports:pending_imports",
    # --- zones
    "mobsrc.zones.positions:pending_batches",
    # --- obd
    "mobsrc.obd.service:pending_batches",
    # --- remote_sensing
    "mobsrc.remote_sensing.judging:pending_batches",
]


@dataclass(frozen=True)
class PendingJob:
    name: str
    args: tuple
    job_id: str
    # --- zones: the finder has proved in PostgreSQL that no live worker holds this work (its
    # row was free under FOR UPDATE SKIP LOCKED), so a job RQ still counts as started was a
    # dead worker's (SIGKILL, OOM, power loss) and the work is queued again at once, instead of
    # after RQ's abandoned-job timeout (job timeout + 60 s for SimpleWorker).
    orphaned: bool = False


def job_id_for(name: str, *args) -> str:
    """Deterministic id from the work (RQ allows letters, digits, '-' and '_')."""
    return "-".join([name.replace(".", "-").replace("_", "-"), *map(str, args)])


def _queue(redis: Redis, spec: JobSpec) -> Queue:
    return Queue(spec.queue, connection=redis)


def enqueue(redis: Redis, name: str, *args, job_id: str | None = None, timeout: int = 600,
            orphaned: bool = False) -> bool:
    """Enqueue now. True if queued (or already waiting); False if Redis could not be reached."""
    spec = JOBS[name]
    job_id = job_id or job_id_for(name, *args)
    try:
        job_id = _free_job_id(redis, job_id, orphaned)  # --- zones
        if job_id is None:
            return True
        _queue(redis, spec).enqueue(spec.path, *args, job_id=job_id, unique=True,
                                    job_timeout=timeout, result_ttl=3600, failure_ttl=7 * 86400)
        return True
    except DuplicateJobError:
        return True
    except RedisError as exc:
        log.warning("could not enqueue %s (%s); the reconciler will retry: %s", name, job_id, exc)
        return False


def _is_waiting(redis: Redis, job_id: str) -> bool:
    """A job with this id is queued or running; a finished or failed one is replaced."""
    return _waiting_status(redis, job_id) is not None


def _waiting_status(redis: Redis, job_id: str) -> JobStatus | None:
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        return None
    status = job.get_status(refresh=False)
    if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return status
    job.delete()
    return None


REDO_IDS = 20  # --- zones: ids tried for work whose earlier jobs died (job_id, job_id-redo1, ...)


def _free_job_id(redis: Redis, job_id: str, orphaned: bool) -> str | None:
    """The id to enqueue under, or None when a job for this work is already waiting. For
    orphaned work a started job is a dead one: the next redo id is used instead."""
    candidates = [job_id, *(f"{job_id}-redo{n}" for n in range(1, REDO_IDS))] if orphaned else [job_id]
    for candidate in candidates:
        status = _waiting_status(redis, candidate)
        if status is None:
            return candidate
        if status != JobStatus.STARTED or not orphaned:
            return None
    return f"{job_id}-redo{time.time_ns()}"


def enqueue_after_commit(session: Session, name: str, *args, job_id: str | None = None) -> None:
    """Queue the job once the session's transaction has committed (never for rolled-back work)."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; add it to core.jobs.JOBS")
    session.info.setdefault("jobs_after_commit", []).append((name, args, job_id))


def bind_redis(session: Session, redis: Redis) -> Session:
    session.info["redis"] = redis
    return session


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    jobs = session.info.pop("jobs_after_commit", [])
    redis = session.info.get("redis")
    if not jobs:
        return
    if redis is None:
        log.warning("session has no Redis bound; %d job(s) left to the reconciler", len(jobs))
        return
    for name, args, job_id in jobs:
        enqueue(redis, name, *args, job_id=job_id)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop("jobs_after_commit", None)
