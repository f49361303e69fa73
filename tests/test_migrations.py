"""The migrations build exactly the schema the models describe, on both databases, and upgrade is idempotent."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.db import head_revision
from storage.models import Base


def test_migrated_schema_matches_the_models(database):
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrade_twice_changes_nothing(database):
    before, after = database.upgrade()
    assert before == after == head_revision()
