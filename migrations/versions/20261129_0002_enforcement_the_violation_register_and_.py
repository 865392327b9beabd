"""enforcement: the violation register and legal bases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 04:13:44.951591
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('legal_bases',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('instrument', sa.String(length=200), nullable=False),
    sa.Column('article', sa.String(length=10), nullable=False),
    sa.Column('paragraph', sa.String(length=10), nullable=True),
    sa.Column('authority', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('fine_min', sa.Integer(), nullable=True),
    sa.Column('fine_max', sa.Integer(), nullable=True),
    sa.Column('fine_unit', sa.String(length=20), nullable=True),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.Column('confidence', sa.String(length=12), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=True),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_legal_bases'))
    )
    from mobsrc.enforcement.legal_bases import COLUMNS, SEED
    legal_bases = sa.table("legal_bases", *(sa.column(c) for c in COLUMNS))
    op.bulk_insert(legal_bases, [dict(zip(COLUMNS, row)) for row in SEED])
    op.create_geospatial_table('violations',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.Enum('nrmm_in_no_use_zone', 'black_smoke', 'rs_high_emitter', 'obd_alarm_unresolved', 'im_case_overdue', 'failed_inspection_driving', 'spot_check_failure', name='violation_kind', native_enum=False, create_constraint=True, length=29), nullable=False),
    sa.Column('status', sa.Enum('open', 'under_review', 'penalised', 'dismissed', name='violation_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('subject_type', sa.Enum('vehicle', 'machine', name='subject_type', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger(), nullable=True),
    sa.Column('machine_id', sa.BigInteger(), nullable=True),
    sa.Column('plate', sa.String(length=10), nullable=True),
    sa.Column('plate_colour', sa.String(length=16), nullable=True),
    sa.Column('vin', sa.String(length=17), nullable=True),
    sa.Column('machine_code', sa.String(length=15), nullable=True),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('source_ref', sa.String(length=120), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('legal_basis_code', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['legal_basis_code'], ['legal_bases.code'], name=op.f('fk_violations_legal_basis_code_legal_bases')),
    sa.ForeignKeyConstraint(['machine_id'], ['machines.id'], name=op.f('fk_violations_machine_id_machines')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_violations_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violations')),
    sa.UniqueConstraint('source', 'source_ref', name='uq_violations_source_ref')
    )
    op.create_geospatial_index('idx_violations_location', 'violations', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_violations_district_code'), 'violations', ['district_code'], unique=False)
    op.create_index('ix_violations_enterprise_time', 'violations', ['enterprise_id', 'occurred_at'], unique=False)
    op.create_index('ix_violations_kind_time', 'violations', ['kind', 'occurred_at', 'id'], unique=False)
    op.create_index('ix_violations_machine_code_time', 'violations', ['machine_code', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_violations_occurred_at'), 'violations', ['occurred_at'], unique=False)
    op.create_index('ix_violations_plate_time', 'violations', ['plate', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_violations_status'), 'violations', ['status'], unique=False)
    op.create_index('ix_violations_vin_time', 'violations', ['vin', 'occurred_at'], unique=False)
    op.create_table('violation_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('violation_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('decision_number', sa.String(length=60), nullable=True),
    sa.Column('penalty_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('officer', sa.String(length=60), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_violation_events_violation_id_violations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_events'))
    )
    op.create_index(op.f('ix_violation_events_violation_id'), 'violation_events', ['violation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_violation_events_violation_id'), table_name='violation_events')
    op.drop_table('violation_events')
    op.drop_index('ix_violations_vin_time', table_name='violations')
    op.drop_index(op.f('ix_violations_status'), table_name='violations')
    op.drop_index('ix_violations_plate_time', table_name='violations')
    op.drop_index(op.f('ix_violations_occurred_at'), table_name='violations')
    op.drop_index('ix_violations_machine_code_time', table_name='violations')
    op.drop_index('ix_violations_kind_time', table_name='violations')
    op.drop_index('ix_violations_enterprise_time', table_name='violations')
    op.drop_index(op.f('ix_violations_district_code'), table_name='violations')
    op.drop_geospatial_index('idx_violations_location', table_name='violations', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('violations')
    op.drop_table('legal_bases')
