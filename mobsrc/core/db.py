"""SQLAlchemy 2 plumbing: the declarative base, the engine and session factory, scopes.

Sessions are opened per request (core/web.py), per job and per gateway batch. Services never
commit: the boundary that opened the session commits once.
"""
from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Enum, Identity, MetaData, create_engine, func
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def id_column() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(), primary_key=True)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def enum_type(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Enums stored as their value in a VARCHAR with a CHECK (no native type to migrate)."""
    return Enum(enum_cls, name=name, native_enum=False, create_constraint=True,
                length=max(len(e.value) for e in enum_cls) + 4,
                values_callable=lambda members: [m.value for m in members], validate_strings=True)


class Database:
    """An engine and its session factory. Tests build one over a single connection."""

    def __init__(self, engine: Engine | Connection, **session_options):
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False, **session_options)

    @classmethod
    def from_url(cls, url: str, echo: bool = False, pool_size: int = 5) -> Database:
        engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=10,
                               pool_pre_ping=True, future=True)
        return cls(engine)

    @classmethod
    def over_connection(cls, connection: Connection) -> Database:
        """SQLAlchemy 2's test recipe: sessions join the test's transaction via savepoints."""
        return cls(connection, join_transaction_mode="create_savepoint")

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def raw_connection_engine(self) -> Engine:
        """The engine for work outside the ORM (COPY). A test connection gives its engine."""
        return self.engine if isinstance(self.engine, Engine) else self.engine.engine
