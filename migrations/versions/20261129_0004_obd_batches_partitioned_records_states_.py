"""obd: batches, partitioned records, states, profiles, alarms, rule settings, online days

The two record tables are partitioned by day (Asia/Shanghai); their partitions are made and
dropped at run time (obd/storage.py, job obd.maintain_partitions), never here.  Version 1 of
every alarm rule's settings is seeded with the defaults of this release (a snapshot, so that a
later change of the code's defaults cannot silently change what this migration wrote).

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-29 04:41:30.212791
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# (rule id, thresholds, violation_after_h): mobsrc.obd.alarms.RULES and obd.escalation defaults
RULE_SETTINGS_V1 = [
    ('nox_exceedance', {'nox_ppm': 500.0, 'min_rpm': 500.0, 'min_scr_temp_c': 250.0, 'idle_speed_kmh': 3.0, 'idle_torque_pct': 15.0, 'sustain_s': 300.0, 'max_gap_s': 30.0}, 168.0),
    ('low_scr_efficiency', {'min_efficiency': 0.5, 'min_upstream_ppm': 100.0, 'min_rpm': 500.0, 'min_scr_temp_c': 250.0, 'idle_speed_kmh': 3.0, 'idle_torque_pct': 15.0, 'sustain_s': 300.0, 'max_gap_s': 30.0}, 168.0),
    ('mil_on', {'require_dtc': 0.0}, 168.0),
    ('reagent_low', {'low_pct': 10.0, 'empty_pct': 0.0, 'min_rpm': 500.0, 'sustain_s': 60.0, 'max_gap_s': 300.0}, 72.0),
    ('dpf_pressure_abnormal', {'max_kpa': 20.0, 'min_kpa': 0.3, 'low_check_min_flow_kg_h': 500.0, 'min_rpm': 500.0, 'sustain_s': 300.0, 'max_gap_s': 30.0}, 168.0),
    ('nox_sensor_stuck', {'tolerance_ppm': 0.0, 'min_rpm_span': 300.0, 'min_rpm': 500.0, 'sustain_s': 600.0, 'max_gap_s': 30.0}, 72.0),
    ('vin_mismatch', {'ignore_blank_obd_vin': 1.0}, 72.0),
    ('calibration_changed', {'ignore_blank': 1.0}, None),
    ('terminal_offline', {'offline_after_s': 86400.0}, None),
]


def upgrade() -> None:
    op.create_table('obd_batches',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source', sa.Enum('json', 'frames', 'gateway', name='obd_batch_source', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('key_id', sa.BigInteger(), nullable=True),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('vehicle_ids', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('first_collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_obd_batches'))
    )
    op.create_index(op.f('ix_obd_batches_received_at'), 'obd_batches', ['received_at'], unique=False)
    op.create_index('ix_obd_batches_unprocessed', 'obd_batches', ['id'], unique=False, postgresql_where=sa.text('processed_at IS NULL'))
    op.create_table('obd_info_records',
    sa.Column('vehicle_id', sa.BigInteger(), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('protocol', sa.SmallInteger(), nullable=True),
    sa.Column('mil_on', sa.Boolean(), nullable=True),
    sa.Column('dtc_count', sa.SmallInteger(), nullable=True),
    sa.Column('dtcs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('cal_id', sa.String(length=18), nullable=False),
    sa.Column('cvn', sa.String(length=36), nullable=False),
    sa.Column('cvn_hex', sa.String(length=36), nullable=False),
    sa.Column('obd_vin', sa.String(length=17), nullable=False),
    sa.Column('obd_vin_check_ok', sa.Boolean(), nullable=False),
    sa.Column('support_map', sa.Integer(), nullable=False),
    sa.Column('readiness_map', sa.Integer(), nullable=False),
    sa.Column('iupr', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('vehicle_id', 'collected_at', name='pk_obd_info_records'),
    postgresql_partition_by='RANGE (collected_at)'
    )
    op.create_table('obd_rule_settings',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('thresholds', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('violation_after_h', sa.Float(), nullable=True),
    sa.Column('note', sa.String(length=300), server_default='', nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_obd_rule_settings')),
    sa.UniqueConstraint('rule_id', 'version', name='uq_obd_rule_settings_version')
    )
    settings = sa.table("obd_rule_settings", sa.column("rule_id"), sa.column("version"),
                        sa.column("thresholds", postgresql.JSONB), sa.column("enabled"),
                        sa.column("violation_after_h"), sa.column("note"))
    op.bulk_insert(settings, [dict(rule_id=rule, version=1, thresholds=thresholds, enabled=True,
                                   violation_after_h=hours, note="defaults of the first release")
                              for rule, thresholds, hours in RULE_SETTINGS_V1])
    op.create_table('obd_stream_records',
    sa.Column('vehicle_id', sa.BigInteger(), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('info_type', sa.SmallInteger(), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('vehicle_speed', sa.REAL(), nullable=True),
    sa.Column('atmospheric_pressure', sa.REAL(), nullable=True),
    sa.Column('engine_net_torque', sa.REAL(), nullable=True),
    sa.Column('friction_torque', sa.REAL(), nullable=True),
    sa.Column('engine_speed', sa.REAL(), nullable=True),
    sa.Column('fuel_flow', sa.REAL(), nullable=True),
    sa.Column('nox_upstream', sa.REAL(), nullable=True),
    sa.Column('nox_downstream', sa.REAL(), nullable=True),
    sa.Column('reagent_level', sa.REAL(), nullable=True),
    sa.Column('intake_air_flow', sa.REAL(), nullable=True),
    sa.Column('scr_inlet_temperature', sa.REAL(), nullable=True),
    sa.Column('scr_outlet_temperature', sa.REAL(), nullable=True),
    sa.Column('dpf_pressure_drop', sa.REAL(), nullable=True),
    sa.Column('coolant_temperature', sa.REAL(), nullable=True),
    sa.Column('fuel_level', sa.REAL(), nullable=True),
    sa.Column('total_mileage', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('position_valid', sa.Boolean(), nullable=True),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('vehicle_id', 'collected_at', 'info_type', name='pk_obd_stream_records'),
    postgresql_partition_by='RANGE (collected_at)'
    )
    op.create_table('obd_online_days',
    sa.Column('vehicle_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('slot_s', sa.Integer(), nullable=False),
    sa.Column('slots_with_data', sa.Integer(), nullable=False),
    sa.Column('span_slots', sa.Integer(), nullable=False),
    sa.Column('slots_in_day', sa.Integer(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('coverage', sa.Float(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_obd_online_days_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('vehicle_id', 'day', name='pk_obd_online_days')
    )
    op.create_index('ix_obd_online_days_day', 'obd_online_days', ['day'], unique=False)
    op.create_table('obd_terminal_profiles',
    sa.Column('vehicle_id', sa.BigInteger(), nullable=False),
    sa.Column('layout', sa.String(length=10), nullable=True),
    sa.Column('software_version', sa.SmallInteger(), nullable=True),
    sa.Column('iccid', sa.String(length=20), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_serial', sa.Integer(), nullable=True),
    sa.Column('last_logout_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('logins', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_obd_terminal_profiles_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('vehicle_id', name=op.f('pk_obd_terminal_profiles'))
    )
    op.create_table('obd_vehicle_states',
    sa.Column('vehicle_id', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_record', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('last_obd_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_obd', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_obd_vehicle_states_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('vehicle_id', name=op.f('pk_obd_vehicle_states')),
    postgresql_with={'fillfactor': 70}
    )
    op.create_table('obd_alarms',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger(), nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.Enum('nox_exceedance', 'low_scr_efficiency', 'mil_on', 'reagent_low', 'dpf_pressure_abnormal', 'nox_sensor_stuck', 'vin_mismatch', 'calibration_changed', 'terminal_offline', name='obd_alarm_kind', native_enum=False, create_constraint=True, length=25), nullable=False),
    sa.Column('rule_id', sa.String(length=40), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='obd_alarm_status', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('window', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('handover_status', sa.Enum('none', 'pending', 'handed_over', name='obd_handover_status', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('handover_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('violation_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_obd_alarms_vehicle_id_vehicles')),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_obd_alarms_violation_id_violations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_obd_alarms'))
    )
    op.create_index('ix_obd_alarms_enterprise_opened', 'obd_alarms', ['enterprise_id', 'opened_at'], unique=False)
    op.create_index('ix_obd_alarms_status_kind', 'obd_alarms', ['status', 'kind'], unique=False)
    op.create_index('ix_obd_alarms_vehicle_opened', 'obd_alarms', ['vehicle_id', 'opened_at'], unique=False)
    op.create_index('uq_obd_alarms_open', 'obd_alarms', ['vehicle_id', 'kind'], unique=True, postgresql_where=sa.text("status = 'open'"))


def downgrade() -> None:
    op.drop_index('uq_obd_alarms_open', table_name='obd_alarms', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_obd_alarms_vehicle_opened', table_name='obd_alarms')
    op.drop_index('ix_obd_alarms_status_kind', table_name='obd_alarms')
    op.drop_index('ix_obd_alarms_enterprise_opened', table_name='obd_alarms')
    op.drop_table('obd_alarms')
    op.drop_table('obd_vehicle_states')
    op.drop_table('obd_terminal_profiles')
    op.drop_index('ix_obd_online_days_day', table_name='obd_online_days')
    op.drop_table('obd_online_days')
    op.drop_table('obd_stream_records')
    op.drop_table('obd_rule_settings')
    op.drop_table('obd_info_records')
    op.drop_index('ix_obd_batches_unprocessed', table_name='obd_batches', postgresql_where=sa.text('processed_at IS NULL'))
    op.drop_index(op.f('ix_obd_batches_received_at'), table_name='obd_batches')
    op.drop_table('obd_batches')
