"""Users (one per person, station or terminal platform) and their API keys."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mobsrc.core.auth.principals import Role
from mobsrc.core.db import Base, created_at_column, enum_type, id_column

ROLE_TYPE = enum_type(Role, "role")


class User(Base):
    __tablename__ = "users"
    __audited__ = True

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(ROLE_TYPE)
    # Scope: fleet operators (and an enterprise's terminal platform) to their enterprise,
    # station roles to their station. Table names, not classes: core imports no feature.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()

    keys: Mapped[list[ApiKey]] = relationship(back_populates="user", order_by="ApiKey.id")


class ApiKey(Base):
    __tablename__ = "api_keys"
    __audited__ = True

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    lookup: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="keys")

    @property
    def active(self) -> bool:
        return self.revoked_at is None
