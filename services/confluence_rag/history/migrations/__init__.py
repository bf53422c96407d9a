"""Alembic migrations of the history database (a new revision: copy the newest one in versions/)."""
