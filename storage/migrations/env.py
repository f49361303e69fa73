"""Alembic environment: always run with a connection handed over by storage.db (see Database.upgrade)."""

from alembic import context

from storage.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite can not ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=True,
    transactional_ddl=True,
)
context.run_migrations()
