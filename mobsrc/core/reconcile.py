"""The reconciler: accepted work whose job never ran to the end (Redis was down at enqueue, a
worker died mid-batch) is enqueued again. Safe to run any time, by cron or by hand: processing is
idempotent and a job that is still waiting is not queued twice (core/jobs.py)."""
from __future__ import annotations

import importlib
import logging

from redis import Redis

from mobsrc.core.db import Database
from mobsrc.core.jobs import RECONCILERS, PendingJob, enqueue

log = logging.getLogger(__name__)


def _finder(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def pending_work(database: Database) -> list[PendingJob]:
    with database.session_scope() as session:
        return [job for path in RECONCILERS for job in _finder(path)(session)]


def reconcile(database: Database, redis: Redis) -> int:
    """Enqueue every pending job; returns how many were (re)queued or found waiting."""
    queued = 0
    for job in pending_work(database):
        if enqueue(redis, job.name, *job.args, job_id=job.job_id, orphaned=job.orphaned):
            queued += 1
    if queued:
        log.info("reconciler: %d pending job(s) queued", queued)
    return queued
