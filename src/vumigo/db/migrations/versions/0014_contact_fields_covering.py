"""contact field look-ups carry the contact's key, so a search by a field never reads the table

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 07:50:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD = ["account_key", "kind", "name", "value"]


def upgrade() -> None:
    op.drop_index("ix_contact_fields_lookup", table_name="contact_fields")
    op.create_index("ix_contact_fields_lookup", "contact_fields", [*OLD, "contact_key"])


def downgrade() -> None:
    op.drop_index("ix_contact_fields_lookup", table_name="contact_fields")
    op.create_index("ix_contact_fields_lookup", "contact_fields", OLD)
