"""obd: terminal removal (0x06) reports and the terminal_removed alarm kind

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_KINDS = ('nox_exceedance', 'low_scr_efficiency', 'mil_on', 'reagent_low', 'dpf_pressure_abnormal',
          'nox_sensor_stuck', 'vin_mismatch', 'calibration_changed', 'terminal_offline')


def _kind_check(kinds: tuple[str, ...]) -> None:
    """The alarm kind is a VARCHAR with a CHECK (core.db.enum_type): swap the CHECK."""
    op.drop_constraint(op.f('ck_obd_alarms_obd_alarm_kind'), 'obd_alarms', type_='check')
    listed = ", ".join(f"'{k}'" for k in kinds)
    op.create_check_constraint(op.f('ck_obd_alarms_obd_alarm_kind'), 'obd_alarms', f"kind IN ({listed})")


def upgrade() -> None:
    op.create_table('obd_removal_reports',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger(), nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('time_valid', sa.Boolean(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('position_valid', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Enum('json', 'frames', 'gateway', name='obd_batch_source', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_obd_removal_reports_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_obd_removal_reports')),
    sa.UniqueConstraint('vehicle_id', 'reported_at', 'serial', name='uq_obd_removal_reports_report')
    )
    op.create_index('ix_obd_removal_reports_vehicle_received', 'obd_removal_reports', ['vehicle_id', 'received_at'], unique=False)
    _kind_check(_KINDS + ('terminal_removed',))
    # version 1 of the new rule, as 0004 made for the others (mobsrc.obd.alarms / escalation)
    settings = sa.table("obd_rule_settings", sa.column("rule_id"), sa.column("version"),
                        sa.column("thresholds", postgresql.JSONB), sa.column("enabled"),
                        sa.column("violation_after_h"), sa.column("note"))
    op.bulk_insert(settings, [dict(rule_id="terminal_removed", version=1, thresholds={"clear_after_s": 180.0},
                                   enabled=True, violation_after_h=72.0, note="defaults of the first release")])


def downgrade() -> None:
    op.execute("DELETE FROM obd_rule_settings WHERE rule_id = 'terminal_removed'")
    op.execute("DELETE FROM obd_alarms WHERE kind = 'terminal_removed'")
    _kind_check(_KINDS)
    op.drop_index('ix_obd_removal_reports_vehicle_received', table_name='obd_removal_reports')
    op.drop_table('obd_removal_reports')
