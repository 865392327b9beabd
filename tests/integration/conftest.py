"""Integration fixtures: a migrated database, the app, an HTTP client and principals.

Each test runs inside one connection's transaction, rolled back at the end (SQLAlchemy 2's
recipe: sessions join it through savepoints), so tests neither see nor clean up each other.
Tests whose writes must be seen by another connection or process (jobs through a worker, COPY)
use `committed_app` instead, which truncates what they wrote.
"""
from __future__ import annotations

import pytest
from alembic import command
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import create_engine, text

from mobsrc import create_app
from mobsrc.cli import alembic_config
from mobsrc.config import Settings
from mobsrc.core.audit import act_as
from mobsrc.core.auth import service as accounts
from mobsrc.core.auth.principals import SYSTEM, Role
from mobsrc.core.db import Database
from mobsrc.core.jobs import QUEUES
from tests.integration import factories

KEEP_ON_TRUNCATE = {"districts", "alembic_version", "spatial_ref_sys",
                    "district_boundaries", "legal_bases"}  # --- enforcement: reference data seeded by migrations


@pytest.fixture(scope="session")
def database_url(stack):
    url = stack.database("mobsrc_test")
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    engine = create_engine(database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def settings(database_url, stack):
    return Settings(database_url=database_url, redis_url=stack.redis_url.replace("/0", "/1"),
                    public_base_url="http://testserver", testing=True)


@pytest.fixture(scope="session")
def app(settings):
    return create_app(settings)


@pytest.fixture
def redis(settings):
    client = Redis.from_url(settings.redis_url)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def connection(engine):
    with engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def db(app, connection, redis):
    """The app's database for this test: one connection, rolled back afterwards."""
    state = app.extensions["mobsrc"]
    original = state.db
    state.db = Database.over_connection(connection)
    yield state.db
    state.db = original


@pytest.fixture
def session(db):
    with db.sessionmaker() as s:
        act_as(s, SYSTEM)
        yield s


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def principal_headers(session):
    """`principal_headers(role, enterprise=None, station=None)` -> headers with a fresh API key."""
    def make(role: Role, enterprise=None, station=None, name=None) -> dict:
        user = accounts.create_user(session, name or f"{role.value} user", role,
                                    enterprise.id if enterprise else None, station.id if station else None)
        _, secret = accounts.issue_api_key(session, user.id)
        session.flush()
        return {"X-API-Key": secret}
    return make


@pytest.fixture
def as_admin(principal_headers):
    return principal_headers(Role.ADMIN)


@pytest.fixture
def as_police(principal_headers):
    return principal_headers(Role.POLICE)


@pytest.fixture
def enterprise(session):
    return factories.make_enterprise(session)


@pytest.fixture
def other_enterprise(session):
    return factories.make_enterprise(session)


@pytest.fixture
def as_operator(principal_headers, enterprise):
    return principal_headers(Role.FLEET_OPERATOR, enterprise)


@pytest.fixture
def as_other_operator(principal_headers, other_enterprise):
    return principal_headers(Role.FLEET_OPERATOR, other_enterprise)


# --- committed data, for work done by other connections or processes -----------------------------

def _truncate_all(engine) -> None:
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
        doomed = [t for t in tables if t not in KEEP_ON_TRUNCATE]
        if doomed:
            conn.execute(text(f"TRUNCATE {', '.join(doomed)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def committed_app(app, engine, redis):
    """The app on the real database: writes commit; every table is emptied afterwards."""
    yield app
    _truncate_all(engine)


@pytest.fixture
def committed_session(committed_app):
    with committed_app.extensions["mobsrc"].db.session_scope() as s:
        act_as(s, SYSTEM)
        yield s


@pytest.fixture
def run_jobs(committed_app, redis):
    """Run every queued job to completion in this process, as a worker would."""
    def run() -> int:
        """Returns how many jobs ran; fails the test if any job failed, with its traceback."""
        queues = [Queue(q, connection=redis) for q in QUEUES]
        waiting = sum(q.count for q in queues)
        with committed_app.app_context():
            SimpleWorker(queues, connection=redis).work(burst=True)
        failed = [Job.fetch(i, connection=redis) for q in queues for i in q.failed_job_registry.get_job_ids()]
        assert not failed, "\n".join(str(job.latest_result().exc_string) for job in failed)
        return waiting
    return run
