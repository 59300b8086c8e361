"""Alembic environment: migrations always run on a connection handed in by vumigo.db.migrate."""

from __future__ import annotations

from alembic import context

import vumigo.db.models  # noqa: F401  (registers every table on the metadata)
from vumigo.db.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `vumigo migrate`, which supplies the connection")

# Batch mode lets ALTER-style migrations work on SQLite by copying the table.
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
