"""metrics: per-minute and per-hour rollups of metric points, the rollup job's watermarks, and
an index on metric_points by time (the rollup job walks every series by time)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 05:13:16.518182
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vumigo.db.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_rollup_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_metric_rollup_state")),
    )
    op.create_table(
        "metric_rollups",
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("aggregator", sa.String(length=8), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(precision=53), nullable=False),
        sa.Column("minimum", sa.Float(precision=53), nullable=False),
        sa.Column("maximum", sa.Float(precision=53), nullable=False),
        sa.Column("last", sa.Float(precision=53), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_metric_rollups_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_key",
            "store",
            "name",
            "aggregator",
            "resolution",
            "bucket",
            name=op.f("pk_metric_rollups"),
        ),
    )
    op.create_index("ix_metric_rollups_time", "metric_rollups", ["resolution", "bucket"])
    op.create_index("ix_metric_points_timestamp", "metric_points", ["timestamp"])


def downgrade() -> None:
    op.drop_index("ix_metric_points_timestamp", table_name="metric_points")
    op.drop_index("ix_metric_rollups_time", table_name="metric_rollups")
    op.drop_table("metric_rollups")
    op.drop_table("metric_rollup_state")
