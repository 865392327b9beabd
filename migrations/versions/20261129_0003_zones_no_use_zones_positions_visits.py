"""zones: no-use zones, positions, visits

No-use zones and their immutable versions, alert days, position batches with their rejected
items, machine positions (range-partitioned by local day: partitions <table>_pYYYYMMDD are made
by the ingestion and the cron job, core/partitions.py; dropping the parent drops them), last
known positions, visit states and visits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 04:36:23.287067
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('declared_by', sa.BigInteger(), nullable=True),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_alert_days'))
    )
    op.create_table('machine_positions',
    sa.Column('machine_id', sa.BigInteger(), nullable=False),
    sa.Column('fix_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('source_crs', sa.String(length=8), nullable=False),
    sa.Column('hdop', sa.REAL(), nullable=True),
    sa.Column('accuracy_m', sa.REAL(), nullable=True),
    sa.Column('satellites', sa.SmallInteger(), nullable=True),
    sa.Column('speed_kmh', sa.REAL(), nullable=True),
    sa.Column('heading', sa.REAL(), nullable=True),
    sa.Column('engine_on', sa.Boolean(), nullable=True),
    sa.Column('engine_rpm', sa.REAL(), nullable=True),
    sa.Column('position_valid', sa.Boolean(), nullable=True),
    sa.Column('flags', sa.SmallInteger(), nullable=False),
    sa.PrimaryKeyConstraint('machine_id', 'fix_time', name='pk_machine_positions'),
    postgresql_partition_by='RANGE (fix_time)'
    )
    op.create_index('ix_machine_positions_batch_id', 'machine_positions', ['batch_id'], unique=False, postgresql_using='brin')
    op.create_table('position_batches',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('key_id', sa.BigInteger(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('first_fix_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_fix_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed', sa.Boolean(), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_batches'))
    )
    op.create_index(op.f('ix_position_batches_received_at'), 'position_batches', ['received_at'], unique=False)
    op.create_index('ix_position_batches_unprocessed', 'position_batches', ['id'], unique=False, postgresql_where=sa.text('NOT processed'))
    op.create_table('no_use_zones',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('status', sa.Enum('active', 'retired', name='zone_status', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_code'], ['districts.code'], name=op.f('fk_no_use_zones_district_code_districts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_no_use_zones'))
    )
    op.create_index(op.f('ix_no_use_zones_district_code'), 'no_use_zones', ['district_code'], unique=False)
    op.create_index(op.f('ix_no_use_zones_status'), 'no_use_zones', ['status'], unique=False)
    op.create_table('position_rejects',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('item_index', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('machine_id', sa.BigInteger(), nullable=True),
    sa.Column('fix_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['position_batches.id'], name=op.f('fk_position_rejects_batch_id_position_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_rejects'))
    )
    op.create_index(op.f('ix_position_rejects_batch_id'), 'position_rejects', ['batch_id'], unique=False)
    op.create_geospatial_table('zone_versions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('zone_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'retired', name='zone_status', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('geometry', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('source_crs', sa.String(length=8), nullable=False),
    sa.Column('source_geojson', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('prohibited_stages', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('exempt_machine_types', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('prohibit_unknown_stage', sa.Boolean(), nullable=False),
    sa.Column('prohibit_unregistered', sa.Boolean(), nullable=False),
    sa.Column('unknown_engine_state_is_working', sa.Boolean(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('effective_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('daily_windows', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('alert_days_only', sa.Boolean(), nullable=False),
    sa.Column('changed', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.BigInteger(), nullable=True),
    sa.Column('token', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['zone_id'], ['no_use_zones.id'], name=op.f('fk_zone_versions_zone_id_no_use_zones')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zone_versions')),
    sa.UniqueConstraint('zone_id', 'version', name='uq_zone_versions_zone_version')
    )
    op.create_geospatial_index('idx_zone_versions_geometry', 'zone_versions', ['geometry'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_zone_versions_zone_id'), 'zone_versions', ['zone_id'], unique=False)
    op.create_geospatial_table('machine_last_positions',
    sa.Column('machine_id', sa.BigInteger(), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=False),
    sa.Column('machine_code', sa.String(length=15), nullable=False),
    sa.Column('fix_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('hdop', sa.REAL(), nullable=True),
    sa.Column('accuracy_m', sa.REAL(), nullable=True),
    sa.Column('speed_kmh', sa.REAL(), nullable=True),
    sa.Column('heading', sa.REAL(), nullable=True),
    sa.Column('engine_on', sa.Boolean(), nullable=True),
    sa.Column('engine_rpm', sa.REAL(), nullable=True),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_machine_last_positions_machine_id_machines')),
    sa.PrimaryKeyConstraint('machine_id', name=op.f('pk_machine_last_positions'))
    )
    op.create_geospatial_index('idx_machine_last_positions_location', 'machine_last_positions', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_machine_last_positions_enterprise_id'), 'machine_last_positions', ['enterprise_id'], unique=False)
    op.create_index(op.f('ix_machine_last_positions_fix_time'), 'machine_last_positions', ['fix_time'], unique=False)
    op.create_table('zone_visit_states',
    sa.Column('machine_id', sa.BigInteger(), nullable=False),
    sa.Column('zone_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('last_fix_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('run_length', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.BigInteger(), nullable=True),
    sa.Column('violating', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_zone_visit_states_machine_id_machines')),
    sa.ForeignKeyConstraint(['zone_id'], ['no_use_zones.id'], name=op.f('fk_zone_visit_states_zone_id_no_use_zones')),
    sa.PrimaryKeyConstraint('machine_id', 'zone_id', name='pk_zone_visit_states')
    )
    op.create_index(op.f('ix_zone_visit_states_zone_id'), 'zone_visit_states', ['zone_id'], unique=False)
    op.create_table('zone_visits',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('machine_id', sa.BigInteger(), nullable=False),
    sa.Column('machine_code', sa.String(length=15), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=False),
    sa.Column('zone_id', sa.BigInteger(), nullable=False),
    sa.Column('zone_version_id', sa.BigInteger(), nullable=False),
    sa.Column('entry_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('exit_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dwell_seconds', sa.Integer(), nullable=True),
    sa.Column('ended_by', sa.String(length=16), nullable=True),
    sa.Column('machine_barred', sa.Boolean(), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('entry_evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('exit_evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('violation_id', sa.BigInteger(), nullable=True),
    sa.Column('violation_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_zone_visits_machine_id_machines')),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_zone_visits_violation_id_violations')),
    sa.ForeignKeyConstraint(['zone_id'], ['no_use_zones.id'], name=op.f('fk_zone_visits_zone_id_no_use_zones')),
    sa.ForeignKeyConstraint(['zone_version_id'], ['zone_versions.id'], name=op.f('fk_zone_visits_zone_version_id_zone_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zone_visits'))
    )
    op.create_index('ix_zone_visits_enterprise_time', 'zone_visits', ['enterprise_id', 'entry_time'], unique=False)
    op.create_index('ix_zone_visits_machine_time', 'zone_visits', ['machine_id', 'entry_time'], unique=False)
    op.create_index('ix_zone_visits_open', 'zone_visits', ['zone_id', 'entry_time'], unique=False, postgresql_where=sa.text('exit_time IS NULL'))
    op.create_index('ix_zone_visits_zone_time', 'zone_visits', ['zone_id', 'entry_time'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_zone_visits_zone_time', table_name='zone_visits')
    op.drop_index('ix_zone_visits_open', table_name='zone_visits', postgresql_where=sa.text('exit_time IS NULL'))
    op.drop_index('ix_zone_visits_machine_time', table_name='zone_visits')
    op.drop_index('ix_zone_visits_enterprise_time', table_name='zone_visits')
    op.drop_table('zone_visits')
    op.drop_index(op.f('ix_zone_visit_states_zone_id'), table_name='zone_visit_states')
    op.drop_table('zone_visit_states')
    op.drop_index(op.f('ix_machine_last_positions_fix_time'), table_name='machine_last_positions')
    op.drop_index(op.f('ix_machine_last_positions_enterprise_id'), table_name='machine_last_positions')
    op.drop_geospatial_index('idx_machine_last_positions_location', table_name='machine_last_positions', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('machine_last_positions')
    op.drop_index(op.f('ix_zone_versions_zone_id'), table_name='zone_versions')
    op.drop_geospatial_index('idx_zone_versions_geometry', table_name='zone_versions', postgresql_using='gist', column_name='geometry')
    op.drop_geospatial_table('zone_versions')
    op.drop_index(op.f('ix_position_rejects_batch_id'), table_name='position_rejects')
    op.drop_table('position_rejects')
    op.drop_index(op.f('ix_no_use_zones_status'), table_name='no_use_zones')
    op.drop_index(op.f('ix_no_use_zones_district_code'), table_name='no_use_zones')
    op.drop_table('no_use_zones')
    op.drop_index('ix_position_batches_unprocessed', table_name='position_batches', postgresql_where=sa.text('NOT processed'))
    op.drop_index(op.f('ix_position_batches_received_at'), table_name='position_batches')
    op.drop_table('position_batches')
    op.drop_index('ix_machine_positions_batch_id', table_name='machine_positions', postgresql_using='brin')
    op.drop_table('machine_positions')
    op.drop_table('alert_days')
