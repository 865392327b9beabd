"""Background work by name. `mobsrc` never imports `workers`: services enqueue a job *name*,
JOBS maps it to the dotted path of a thin function in `workers/jobs/` and to its queue.

Durability rule (architecture.md): the work's own row in PostgreSQL says whether it is done.
Enqueueing happens only after the commit, and a failure to reach Redis is logged, not raised:
the reconciler (`RECONCILERS`, run by cron) finds accepted-but-unprocessed work and enqueues it
again. Job ids are deterministic, so a job that is still waiting is never queued twice.
"""
from __future__ import annotations

import logging
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
    # --- enforcement
    "enforcement.fold_day_count_changes": JobSpec("workers.jobs.enforcement.fold_day_count_changes", "maintenance"),
}

# Functions `(session) -> list[PendingJob]` that find accepted work whose job never finished.
RECONCILERS: list[str] = [
    "mobsrc.registry.imports:pending_imports",
]


@dataclass(frozen=True)
class PendingJob:
    name: str
    args: tuple
    job_id: str


def job_id_for(name: str, *args) -> str:
    """Deterministic id from the work (RQ allows letters, digits, '-' and '_')."""
    return "-".join([name.replace(".", "-").replace("_", "-"), *map(str, args)])


def _queue(redis: Redis, spec: JobSpec) -> Queue:
    return Queue(spec.queue, connection=redis)


def enqueue(redis: Redis, name: str, *args, job_id: str | None = None, timeout: int = 600) -> bool:
    """Enqueue now. True if queued (or already waiting); False if Redis could not be reached."""
    spec = JOBS[name]
    job_id = job_id or job_id_for(name, *args)
    try:
        if _is_waiting(redis, job_id):
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
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return True
    job.delete()
    return False


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
