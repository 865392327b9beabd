"""im: inspections, repairs, cases, outbox, webhooks, fraud flags, parameters

The I/M closed loop's tables. Parameter overrides start empty: the defaults live in
mobsrc/im/parameters.py (and the pure modules it reads), so no seed data is needed.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-29 04:33:13.677048
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('im_parameters',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('value', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_im_parameters'))
    )
    op.create_table('im_fraud_flags',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.Enum('curve_identical', 'curve_near_identical', 'short_test', 'values_at_limit', 'pass_rate_outlier', 'quick_retest_pass', name='im_fraud_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=True),
    sa.Column('station_code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('open', 'confirmed', 'dismissed', name='im_flag_status', native_enum=False, create_constraint=True, length=13), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('evidence_keys', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('window_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.BigInteger(), nullable=True),
    sa.Column('review_note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_im_fraud_flags_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_im_fraud_flags'))
    )
    op.create_index(op.f('ix_im_fraud_flags_kind'), 'im_fraud_flags', ['kind'], unique=False)
    op.create_index(op.f('ix_im_fraud_flags_station_id'), 'im_fraud_flags', ['station_id'], unique=False)
    op.create_index(op.f('ix_im_fraud_flags_status'), 'im_fraud_flags', ['status'], unique=False)
    op.create_index('uq_im_fraud_flags_open', 'im_fraud_flags', ['kind', 'station_code'], unique=True, postgresql_where=sa.text("status = 'open'"))
    op.create_table('im_webhooks',
    sa.Column('enterprise_id', sa.BigInteger(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_im_webhooks_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('enterprise_id', name=op.f('pk_im_webhooks'))
    )
    op.create_table('im_cases',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('state', sa.Enum('open', 'notified', 'in_repair', 'repaired', 'retest_failed', 'passed', 'closed', 'overdue', 'escalated', 'cancelled', name='im_case_state', native_enum=False, create_constraint=True, length=17), nullable=False),
    sa.Column('trigger', sa.Enum('failed_inspection', 'remote_sensing_high_emitter', 'obd_alarm', 'spot_check', 'black_smoke', name='im_trigger_kind', native_enum=False, create_constraint=True, length=31), nullable=False),
    sa.Column('subject_key', sa.String(length=40), nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=True),
    sa.Column('plate', sa.String(length=10), nullable=True),
    sa.Column('plate_colour', sa.String(length=16), nullable=True),
    sa.Column('vehicle_id', sa.BigInteger(), nullable=True),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('repair_round', sa.Integer(), nullable=False),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('referred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('review_reason', sa.String(length=300), nullable=True),
    sa.Column('violation_id', sa.BigInteger(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_im_cases_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_im_cases_vehicle_id_vehicles')),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_im_cases_violation_id_violations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_im_cases'))
    )
    op.create_index('ix_im_cases_deadline_due', 'im_cases', ['deadline'], unique=False, postgresql_where=sa.text('overdue_at IS NULL'))
    op.create_index(op.f('ix_im_cases_enterprise_id'), 'im_cases', ['enterprise_id'], unique=False)
    op.create_index('ix_im_cases_escalation_due', 'im_cases', ['overdue_at'], unique=False, postgresql_where=sa.text('escalated_at IS NULL AND overdue_at IS NOT NULL'))
    op.create_index('ix_im_cases_opened', 'im_cases', ['opened_at', 'id'], unique=False)
    op.create_index('ix_im_cases_plate', 'im_cases', ['plate'], unique=False)
    op.create_index(op.f('ix_im_cases_state'), 'im_cases', ['state'], unique=False)
    op.create_index(op.f('ix_im_cases_vehicle_id'), 'im_cases', ['vehicle_id'], unique=False)
    op.create_index('ix_im_cases_vin', 'im_cases', ['vin'], unique=False)
    op.create_index('uq_im_cases_active_subject', 'im_cases', ['subject_key'], unique=True, postgresql_where=sa.text("state NOT IN ('closed', 'cancelled')"))
    op.create_table('im_case_history',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.String(length=80), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('event', sa.String(length=30), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('reference', sa.String(length=500), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['im_cases.id'], name=op.f('fk_im_case_history_case_id_im_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_im_case_history'))
    )
    op.create_index(op.f('ix_im_case_history_case_id'), 'im_case_history', ['case_id'], unique=False)
    op.create_table('im_case_stations',
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['im_cases.id'], name=op.f('fk_im_case_stations_case_id_im_cases')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_im_case_stations_station_id_stations')),
    sa.PrimaryKeyConstraint('case_id', 'station_id', name=op.f('pk_im_case_stations'))
    )
    op.create_index(op.f('ix_im_case_stations_station_id'), 'im_case_stations', ['station_id'], unique=False)
    op.create_table('im_case_triggers',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Enum('failed_inspection', 'remote_sensing_high_emitter', 'obd_alarm', 'spot_check', 'black_smoke', name='im_trigger_kind', native_enum=False, create_constraint=True, length=31), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('source_ref', sa.String(length=120), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_by', sa.String(length=80), nullable=False),
    sa.Column('opened_case', sa.Boolean(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['im_cases.id'], name=op.f('fk_im_case_triggers_case_id_im_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_im_case_triggers')),
    sa.UniqueConstraint('source', 'source_ref', name='uq_im_case_triggers_source_ref')
    )
    op.create_index(op.f('ix_im_case_triggers_case_id'), 'im_case_triggers', ['case_id'], unique=False)
    op.create_table('im_inspections',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('report_number', sa.String(length=60), nullable=False),
    sa.Column('payload_sha256', sa.String(length=64), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger(), nullable=True),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('plate', sa.String(length=10), nullable=False),
    sa.Column('plate_colour', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.Enum('periodic', 'retest', 'case_triggered', name='im_inspection_kind', native_enum=False, create_constraint=True, length=18), nullable=False),
    sa.Column('method', sa.Enum('free_acceleration', 'lug_down', 'ringelmann', 'two_speed_idle', 'asm', 'simple_transient', 'transient', 'obd_check', name='im_inspection_method', native_enum=False, create_constraint=True, length=21), nullable=False),
    sa.Column('limit_tier', sa.Enum('a', 'b', name='im_limit_tier', native_enum=False, create_constraint=True, length=5), nullable=False),
    sa.Column('limits_version', sa.String(length=80), nullable=False),
    sa.Column('vehicle_class', sa.String(length=20), nullable=False),
    sa.Column('overall', sa.Enum('pass', 'fail', name='im_outcome', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('items', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('obd', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
    sa.Column('appearance_passed', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inspector', sa.String(length=60), nullable=False),
    sa.Column('test_line', sa.String(length=20), nullable=False),
    sa.Column('repair_order', sa.String(length=60), nullable=False),
    sa.Column('curve_summary', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
    sa.Column('case_id', sa.BigInteger(), nullable=True),
    sa.Column('case_action', sa.String(length=20), nullable=False),
    sa.Column('posted_by', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['im_cases.id'], name=op.f('fk_im_inspections_case_id_im_cases')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_im_inspections_station_id_stations')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_im_inspections_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_im_inspections')),
    sa.UniqueConstraint('station_id', 'report_number', name='uq_im_inspections_station_report')
    )
    op.create_index(op.f('ix_im_inspections_case_id'), 'im_inspections', ['case_id'], unique=False)
    op.create_index('ix_im_inspections_started', 'im_inspections', ['started_at', 'id'], unique=False)
    op.create_index('ix_im_inspections_station_time', 'im_inspections', ['station_id', 'started_at'], unique=False)
    op.create_index(op.f('ix_im_inspections_vehicle_id'), 'im_inspections', ['vehicle_id'], unique=False)
    op.create_index('ix_im_inspections_vin_time', 'im_inspections', ['vin', 'started_at'], unique=False)
    op.create_table('im_repairs',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('repair_order', sa.String(length=60), nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger(), nullable=True),
    sa.Column('vin', sa.String(length=17), nullable=True),
    sa.Column('plate', sa.String(length=10), nullable=True),
    sa.Column('plate_colour', sa.String(length=16), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('faults', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('work_done', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('parts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('cost_yuan', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('technician', sa.String(length=60), nullable=True),
    sa.Column('self_check', postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
    sa.Column('opened_sha256', sa.String(length=64), nullable=False),
    sa.Column('completed_sha256', sa.String(length=64), nullable=True),
    sa.Column('posted_by', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['im_cases.id'], name=op.f('fk_im_repairs_case_id_im_cases')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_im_repairs_station_id_stations')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_im_repairs_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_im_repairs')),
    sa.UniqueConstraint('station_id', 'repair_order', name='uq_im_repairs_station_order')
    )
    op.create_index(op.f('ix_im_repairs_case_id'), 'im_repairs', ['case_id'], unique=False)
    op.create_index(op.f('ix_im_repairs_station_id'), 'im_repairs', ['station_id'], unique=False)
    op.create_index(op.f('ix_im_repairs_vehicle_id'), 'im_repairs', ['vehicle_id'], unique=False)
    op.create_table('im_inspection_curves',
    sa.Column('inspection_id', sa.BigInteger(), nullable=False),
    sa.Column('period_s', sa.Float(), nullable=False),
    sa.Column('channels', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['inspection_id'], ['im_inspections.id'], name=op.f('fk_im_inspection_curves_inspection_id_im_inspections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('inspection_id', name=op.f('pk_im_inspection_curves'))
    )
    op.create_index(op.f('ix_im_inspection_curves_digest'), 'im_inspection_curves', ['digest'], unique=False)
    op.create_table('im_notifications',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('uuid', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('history_id', sa.BigInteger(), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=True),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['im_cases.id'], name=op.f('fk_im_notifications_case_id_im_cases')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_im_notifications_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['history_id'], ['im_case_history.id'], name=op.f('fk_im_notifications_history_id_im_case_history')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_im_notifications')),
    sa.UniqueConstraint('history_id', name=op.f('uq_im_notifications_history_id')),
    sa.UniqueConstraint('uuid', name=op.f('uq_im_notifications_uuid'))
    )
    op.create_index(op.f('ix_im_notifications_case_id'), 'im_notifications', ['case_id'], unique=False)
    op.create_index('ix_im_notifications_enterprise', 'im_notifications', ['enterprise_id', 'id'], unique=False)
    op.create_table('im_webhook_deliveries',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('notification_id', sa.BigInteger(), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'delivered', 'failed', name='im_delivery_status', native_enum=False, create_constraint=True, length=13), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_im_webhook_deliveries_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['notification_id'], ['im_notifications.id'], name=op.f('fk_im_webhook_deliveries_notification_id_im_notifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_im_webhook_deliveries')),
    sa.UniqueConstraint('notification_id', name=op.f('uq_im_webhook_deliveries_notification_id'))
    )
    op.create_index('ix_im_webhook_deliveries_due', 'im_webhook_deliveries', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index(op.f('ix_im_webhook_deliveries_enterprise_id'), 'im_webhook_deliveries', ['enterprise_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_im_webhook_deliveries_enterprise_id'), table_name='im_webhook_deliveries')
    op.drop_index('ix_im_webhook_deliveries_due', table_name='im_webhook_deliveries', postgresql_where=sa.text("status = 'pending'"))
    op.drop_table('im_webhook_deliveries')
    op.drop_index('ix_im_notifications_enterprise', table_name='im_notifications')
    op.drop_index(op.f('ix_im_notifications_case_id'), table_name='im_notifications')
    op.drop_table('im_notifications')
    op.drop_index(op.f('ix_im_inspection_curves_digest'), table_name='im_inspection_curves')
    op.drop_table('im_inspection_curves')
    op.drop_index(op.f('ix_im_repairs_vehicle_id'), table_name='im_repairs')
    op.drop_index(op.f('ix_im_repairs_station_id'), table_name='im_repairs')
    op.drop_index(op.f('ix_im_repairs_case_id'), table_name='im_repairs')
    op.drop_table('im_repairs')
    op.drop_index('ix_im_inspections_vin_time', table_name='im_inspections')
    op.drop_index(op.f('ix_im_inspections_vehicle_id'), table_name='im_inspections')
    op.drop_index('ix_im_inspections_station_time', table_name='im_inspections')
    op.drop_index('ix_im_inspections_started', table_name='im_inspections')
    op.drop_index(op.f('ix_im_inspections_case_id'), table_name='im_inspections')
    op.drop_table('im_inspections')
    op.drop_index(op.f('ix_im_case_triggers_case_id'), table_name='im_case_triggers')
    op.drop_table('im_case_triggers')
    op.drop_index(op.f('ix_im_case_stations_station_id'), table_name='im_case_stations')
    op.drop_table('im_case_stations')
    op.drop_index(op.f('ix_im_case_history_case_id'), table_name='im_case_history')
    op.drop_table('im_case_history')
    op.drop_index('uq_im_cases_active_subject', table_name='im_cases', postgresql_where=sa.text("state NOT IN ('closed', 'cancelled')"))
    op.drop_index('ix_im_cases_vin', table_name='im_cases')
    op.drop_index(op.f('ix_im_cases_vehicle_id'), table_name='im_cases')
    op.drop_index(op.f('ix_im_cases_state'), table_name='im_cases')
    op.drop_index('ix_im_cases_plate', table_name='im_cases')
    op.drop_index('ix_im_cases_opened', table_name='im_cases')
    op.drop_index('ix_im_cases_escalation_due', table_name='im_cases', postgresql_where=sa.text('escalated_at IS NULL AND overdue_at IS NOT NULL'))
    op.drop_index(op.f('ix_im_cases_enterprise_id'), table_name='im_cases')
    op.drop_index('ix_im_cases_deadline_due', table_name='im_cases', postgresql_where=sa.text('overdue_at IS NULL'))
    op.drop_table('im_cases')
    op.drop_table('im_webhooks')
    op.drop_index('uq_im_fraud_flags_open', table_name='im_fraud_flags', postgresql_where=sa.text("status = 'open'"))
    op.drop_index(op.f('ix_im_fraud_flags_status'), table_name='im_fraud_flags')
    op.drop_index(op.f('ix_im_fraud_flags_station_id'), table_name='im_fraud_flags')
    op.drop_index(op.f('ix_im_fraud_flags_kind'), table_name='im_fraud_flags')
    op.drop_table('im_fraud_flags')
    op.drop_table('im_parameters')
