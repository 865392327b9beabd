"""Alembic is the only way the schema is made: one head; upgrade on an empty database builds
everything (PostGIS included); the models and the migrations agree; down to base and up again."""
from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from mobsrc.cli import alembic_config
from mobsrc.core.schema_registry import metadata_with_all_models


@pytest.fixture
def empty_database(stack):
    url = stack.database("mobsrc_migrations")
    yield url
    stack.postgres.drop_database("mobsrc_migrations")


def _diff(url: str) -> list:
    import migrations.env_rules as rules
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": rules.include_object, "compare_type": True})
        diff = compare_metadata(context, metadata_with_all_models())
    engine.dispose()
    return diff


def test_there_is_one_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_upgrade_builds_everything_and_matches_the_models(empty_database):
    command.upgrade(alembic_config(empty_database), "head")
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT extname FROM pg_extension WHERE extname = 'postgis'")).scalar() == "postgis"
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert set(metadata_with_all_models().tables) <= tables
    assert _diff(empty_database) == []


def test_downgrade_to_base_then_upgrade_again(empty_database):
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = create_engine(empty_database)
    with engine.connect() as conn:
        left = set(inspect(conn).get_table_names()) - {"alembic_version", "spatial_ref_sys"}
    engine.dispose()
    assert left == set()
    command.upgrade(config, "head")
    assert _diff(empty_database) == []
