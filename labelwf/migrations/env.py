"""Alembic environment: runs migrations on the connection labelwf hands over."""

from alembic import context

from labelwf.store import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - labelwf always passes its connection
    raise RuntimeError("labelwf migrations run through `labelwf init`, which provides the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
