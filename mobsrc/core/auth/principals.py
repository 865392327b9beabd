"""Who is asking: roles and their scopes. Pure (no Flask, no database)."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(str, enum.Enum):
    ADMIN = "admin"                    # ecology bureau: sees and administers everything
    POLICE = "police"                  # traffic police: queries and enforcement
    I_STATION = "i_station"            # inspection station, scoped to its station
    M_STATION = "m_station"            # repair (maintenance) station, scoped to its station
    RS_STATION = "rs_station"          # roadside remote-sensing station, scoped to its station
    FLEET_OPERATOR = "fleet_operator"  # an enterprise owning machinery and trucks, scoped to it
    TERMINAL = "terminal"              # terminals / telematics platforms posting telemetry


STATION_ROLES = frozenset({Role.I_STATION, Role.M_STATION, Role.RS_STATION})
# The station kind each station role must be bound to.
STATION_KIND_OF_ROLE = {Role.I_STATION: "i", Role.M_STATION: "m", Role.RS_STATION: "rs"}
ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Principal:
    user_id: int
    role: Role
    name: str
    key_id: int | None = None
    enterprise_id: int | None = None  # fleet operators (and enterprise terminal platforms)
    station_id: int | None = None     # station roles
    station_code: str | None = None

    @property
    def sees_everything(self) -> bool:
        return self.role in (Role.ADMIN, Role.POLICE)

    def describe(self) -> str:
        scope = self.station_code or (f"enterprise {self.enterprise_id}" if self.enterprise_id else "")
        return f"{self.name} ({self.role.value}{', ' + scope if scope else ''})"


# The actor of work done by the system itself (jobs, scheduled escalations, the CLI).
SYSTEM = Principal(user_id=0, role=Role.ADMIN, name="system")
