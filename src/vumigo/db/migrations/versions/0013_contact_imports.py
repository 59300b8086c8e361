"""contact imports started from the UI: the upload, its mapping, progress and result

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 06:10:00.000000
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import vumigo.db.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "contact_imports",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("preview", _json(), nullable=False),
        sa.Column("columns", _json(), nullable=False),
        sa.Column("has_header", sa.Boolean(), nullable=True),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=True),
        sa.Column("group_key", sa.String(length=32), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("saved", sa.Boolean(), nullable=False),
        sa.Column("errors", _json(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", vumigo.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_key"],
            ["accounts.key"],
            name=op.f("fk_contact_imports_account_key_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_key"],
            ["contact_groups.key"],
            name=op.f("fk_contact_imports_group_key_contact_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_contact_imports")),
    )
    with op.batch_alter_table("contact_imports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_imports_account_created", ["account_key", "created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("contact_imports")
