"""remote_sensing: stations, calibrations, limit tables, readings, verdicts, confirmations

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-29 04:41:39.460481
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


PARTITIONED = ("rs_readings", "rs_verdicts")


def upgrade() -> None:
    for table in PARTITIONED:  # ids of partitioned tables come from explicit sequences
        op.execute(f"CREATE SEQUENCE {table}_id_seq")
    op.create_table('rs_job_marks',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_rs_job_marks'))
    )
    op.create_table('rs_limit_tables',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('version', sa.String(length=60), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('document', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('note', sa.String(length=500), server_default='', nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rs_limit_tables')),
    sa.UniqueConstraint('version', name=op.f('uq_rs_limit_tables_version'))
    )
    op.create_table('rs_readings',
    sa.Column('id', sa.BigInteger(), server_default=sa.text("nextval('rs_readings_id_seq')"), nullable=False),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('lane', sa.SmallInteger(), nullable=False),
    sa.Column('plate', sa.String(length=10), nullable=True),
    sa.Column('plate_colour', sa.Enum('blue', 'yellow', 'green', 'yellow_green', 'black', 'white', 'other', name='rs_plate_colour', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('record_id', sa.String(length=64), nullable=True),
    sa.Column('speed_kmh', sa.Float(), nullable=False),
    sa.Column('accel_ms2', sa.Float(), nullable=False),
    sa.Column('vsp_kw_t', sa.Float(), nullable=True),
    sa.Column('opacity_pct', sa.Float(), nullable=True),
    sa.Column('k_m1', sa.Float(), nullable=True),
    sa.Column('ringelmann_grade', sa.Float(), nullable=True),
    sa.Column('no_ppm', sa.Float(), nullable=True),
    sa.Column('co_pct', sa.Float(), nullable=True),
    sa.Column('hc_ppm', sa.Float(), nullable=True),
    sa.Column('co2_pct', sa.Float(), nullable=True),
    sa.Column('wind_ms', sa.Float(), nullable=True),
    sa.Column('wind_dir_deg', sa.Float(), nullable=True),
    sa.Column('temp_c', sa.Float(), nullable=True),
    sa.Column('rh_pct', sa.Float(), nullable=True),
    sa.Column('pressure_kpa', sa.Float(), nullable=True),
    sa.Column('rain', sa.Boolean(), nullable=True),
    sa.Column('slope_deg', sa.Float(), nullable=True),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', 'measured_at', name='pk_rs_readings'),
    postgresql_partition_by='RANGE (measured_at)'
    )
    op.create_index('ix_rs_readings_plate_time', 'rs_readings', ['plate', 'plate_colour', 'measured_at'], unique=False)
    op.create_index('uq_rs_readings_pass', 'rs_readings', ['station_id', 'measured_at', 'lane', 'plate'], unique=True, postgresql_nulls_not_distinct=True)
    op.create_table('rs_verdicts',
    sa.Column('id', sa.BigInteger(), server_default=sa.text("nextval('rs_verdicts_id_seq')"), nullable=False),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reading_id', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('plate', sa.String(length=10), nullable=True),
    sa.Column('plate_colour', sa.Enum('blue', 'yellow', 'green', 'yellow_green', 'black', 'white', 'other', name='rs_plate_colour', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('vehicle_id', sa.BigInteger(), nullable=True),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('fuel', sa.String(length=10), nullable=True),
    sa.Column('calibration_id', sa.BigInteger(), nullable=True),
    sa.Column('outcome', sa.Enum('pass', 'exceed', 'invalid', 'not_judged', name='rs_outcome', native_enum=False, create_constraint=True, length=14), nullable=False),
    sa.Column('limit_version', sa.String(length=60), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('pollutants', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('exceeded', sa.ARRAY(sa.String(length=12)), nullable=False),
    sa.Column('passed', sa.ARRAY(sa.String(length=12)), nullable=False),
    sa.Column('black_smoke', sa.Boolean(), nullable=False),
    sa.Column('vsp_kw_t', sa.Float(), nullable=False),
    sa.Column('vsp_source', sa.String(length=16), nullable=False),
    sa.Column('judged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', 'measured_at', name='pk_rs_verdicts'),
    postgresql_partition_by='RANGE (measured_at)'
    )
    op.create_index('ix_rs_verdicts_enterprise_time', 'rs_verdicts', ['enterprise_id', 'measured_at'], unique=False, postgresql_where=sa.text('enterprise_id IS NOT NULL'))
    op.create_index('ix_rs_verdicts_plate_time', 'rs_verdicts', ['plate', 'plate_colour', 'measured_at'], unique=False)
    op.create_index('ix_rs_verdicts_station_time', 'rs_verdicts', ['station_id', 'measured_at'], unique=False)
    op.create_index('ix_rs_verdicts_vehicle_time', 'rs_verdicts', ['vehicle_id', 'measured_at'], unique=False, postgresql_where=sa.text('vehicle_id IS NOT NULL'))
    op.create_index('uq_rs_verdicts_current', 'rs_verdicts', ['reading_id', 'measured_at'], unique=True, postgresql_where=sa.text('superseded_at IS NULL'))
    op.create_table('rs_batches',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('submitted_by', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('first_measured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_measured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcomes', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_rs_batches_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rs_batches'))
    )
    op.create_index('ix_rs_batches_station_received', 'rs_batches', ['station_id', 'received_at'], unique=False)
    op.create_index('ix_rs_batches_unprocessed', 'rs_batches', ['id'], unique=False, postgresql_where=sa.text('processed_at IS NULL'))
    op.create_table('rs_calibrations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Enum('calibration', 'audit', name='rs_check_kind', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('performed_on', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('certificate_no', sa.String(length=100), server_default='', nullable=False),
    sa.Column('performed_by', sa.String(length=200), server_default='', nullable=False),
    sa.Column('device_serial', sa.String(length=100), server_default='', nullable=False),
    sa.Column('notes', sa.String(length=500), server_default='', nullable=False),
    sa.Column('recorded_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('valid_to >= valid_from', name=op.f('ck_rs_calibrations_valid_range')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_rs_calibrations_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rs_calibrations'))
    )
    op.create_index('ix_rs_calibrations_station_validity', 'rs_calibrations', ['station_id', 'valid_from', 'valid_to'], unique=False)
    op.create_table('rs_station_details',
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('road', sa.String(length=200), nullable=False),
    sa.Column('direction', sa.String(length=60), nullable=False),
    sa.Column('lanes', sa.SmallInteger(), nullable=False),
    sa.Column('mounting', sa.String(length=20), nullable=False),
    sa.Column('device_make', sa.String(length=100), nullable=False),
    sa.Column('device_model', sa.String(length=100), nullable=False),
    sa.Column('device_serial', sa.String(length=100), nullable=False),
    sa.Column('slope_deg', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('lanes BETWEEN 1 AND 20', name=op.f('ck_rs_station_details_lanes_range')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_rs_station_details_station_id_stations')),
    sa.PrimaryKeyConstraint('station_id', name=op.f('pk_rs_station_details'))
    )
    op.create_table('rs_confirmations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('plate', sa.String(length=10), nullable=False),
    sa.Column('plate_colour', sa.Enum('blue', 'yellow', 'green', 'yellow_green', 'black', 'white', 'other', name='rs_plate_colour', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger(), nullable=True),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('pollutant', sa.String(length=12), nullable=False),
    sa.Column('reading_ids', sa.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('first_measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('limit_version', sa.String(length=60), nullable=False),
    sa.Column('rule', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('violation_id', sa.BigInteger(), nullable=True),
    sa.Column('handover_status', sa.Enum('pending', 'handed_over', name='rs_handover_status', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handover_ref', sa.String(length=60), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_rs_confirmations_vehicle_id_vehicles')),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_rs_confirmations_violation_id_violations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rs_confirmations')),
    sa.UniqueConstraint('plate', 'plate_colour', 'pollutant', 'reading_ids', name='uq_rs_confirmations_evidence')
    )
    op.create_index('ix_rs_confirmations_handover', 'rs_confirmations', ['id'], unique=False, postgresql_where=sa.text("handover_status = 'pending'"))
    op.create_index('ix_rs_confirmations_vehicle', 'rs_confirmations', ['vehicle_id', 'confirmed_at'], unique=False)
    for table in PARTITIONED:  # catches rows whose day has no partition yet (remote_sensing/partitions.py)
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    _seed_default_limits()


def _seed_default_limits() -> None:
    """The limit table of standards-enforcement.md as data: HJ 845-2017 diesel limits, petrol
    unset (not judged until an admin signs values off), placeholder validity gate."""
    from mobsrc.remote_sensing.limit_documents import limit_table_to_dict
    from mobsrc.remote_sensing.limits import DEFAULT_LIMITS
    tables = sa.table("rs_limit_tables", sa.column("version"), sa.column("effective_from", sa.Date),
                      sa.column("document", postgresql.JSONB), sa.column("note"))
    op.bulk_insert(tables, [dict(version=DEFAULT_LIMITS.version, effective_from=DEFAULT_LIMITS.effective_from,
                                 document=limit_table_to_dict(DEFAULT_LIMITS),
                                 note="seeded: standards-enforcement.md sections 1.3-1.6 and 7")])


def downgrade() -> None:
    op.drop_index('ix_rs_confirmations_vehicle', table_name='rs_confirmations')
    op.drop_index('ix_rs_confirmations_handover', table_name='rs_confirmations', postgresql_where=sa.text("handover_status = 'pending'"))
    op.drop_table('rs_confirmations')
    op.drop_table('rs_station_details')
    op.drop_index('ix_rs_calibrations_station_validity', table_name='rs_calibrations')
    op.drop_table('rs_calibrations')
    op.drop_index('ix_rs_batches_unprocessed', table_name='rs_batches', postgresql_where=sa.text('processed_at IS NULL'))
    op.drop_index('ix_rs_batches_station_received', table_name='rs_batches')
    op.drop_table('rs_batches')
    op.drop_index('uq_rs_verdicts_current', table_name='rs_verdicts', postgresql_where=sa.text('superseded_at IS NULL'))
    op.drop_index('ix_rs_verdicts_vehicle_time', table_name='rs_verdicts', postgresql_where=sa.text('vehicle_id IS NOT NULL'))
    op.drop_index('ix_rs_verdicts_station_time', table_name='rs_verdicts')
    op.drop_index('ix_rs_verdicts_plate_time', table_name='rs_verdicts')
    op.drop_index('ix_rs_verdicts_enterprise_time', table_name='rs_verdicts', postgresql_where=sa.text('enterprise_id IS NOT NULL'))
    op.drop_table('rs_verdicts')
    op.drop_index('uq_rs_readings_pass', table_name='rs_readings', postgresql_nulls_not_distinct=True)
    op.drop_index('ix_rs_readings_plate_time', table_name='rs_readings')
    op.drop_table('rs_readings')
    op.drop_table('rs_limit_tables')
    op.drop_table('rs_job_marks')
    for table in PARTITIONED:
        op.execute(f"DROP SEQUENCE IF EXISTS {table}_id_seq")
