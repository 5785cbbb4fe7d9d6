"""value and churn scores, trained models, churn segments

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 17:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('rfm', 'cluster', 'filters')"
NEW_KINDS = "kind IN ('rfm', 'cluster', 'filters', 'churn')"
SCORES = ('purchases_12m', 'p_alive', 'revenue_at_risk')


def upgrade() -> None:
    op.create_table('value_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('data_version', sa.Integer(), nullable=False),
    sa.Column('trained_at', sa.DateTime(), nullable=False),
    sa.Column('trained_by', sa.String(length=64), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('model', sa.LargeBinary(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_value_models'))
    )
    op.create_index('ix_value_models_kind_trained_at', 'value_models', ['kind', 'trained_at'], unique=False)
    with op.batch_alter_table('customer_summary', schema=None) as batch_op:
        for name in SCORES:
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True))
    _replace_kinds(OLD_KINDS, NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM saved_segments WHERE kind = 'churn'")
    _replace_kinds(NEW_KINDS, OLD_KINDS)
    with op.batch_alter_table('customer_summary', schema=None) as batch_op:
        for name in reversed(SCORES):
            batch_op.drop_column(name)
    op.drop_index('ix_value_models_kind_trained_at', table_name='value_models')
    op.drop_table('value_models')


def _replace_kinds(old: str, new: str) -> None:
    # Recreated on SQLite, keeping AUTOINCREMENT: saved segment ids are never reused.
    with op.batch_alter_table('saved_segments', schema=None, recreate='auto',
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_saved_segments_kind'), type_='check')
        batch_op.create_check_constraint('kind', new)
