"""Alembic environment: the metadata of every feature's models, PostGIS-aware autogenerate."""
from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from migrations.env_rules import include_object
from mobsrc.config import Settings
from mobsrc.core.schema_registry import metadata_with_all_models

config = context.config
target_metadata = metadata_with_all_models()


def _url() -> str:
    return config.attributes.get("database_url") or Settings.from_env().database_url


def _configure(**kwargs) -> None:
    context.configure(target_metadata=target_metadata, include_object=include_object,
                      process_revision_directives=alembic_helpers.writer,
                      render_item=alembic_helpers.render_item, compare_type=True, **kwargs)


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
