"""The history database: an engine from settings, migrations to the newest revision, sessions.

SQLite (a file in STATE_DIR) by default, PostgreSQL with DATABASE_URL. Migrations run when the query
API starts (and with `make db-upgrade`); on PostgreSQL an advisory lock makes replicas that start
together run them one after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from confluence_rag.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x7C0_19  # pg_advisory_lock key: one migrating replica at a time
# What a database that is down, stalled or unreachable raises: the history routes answer 503.
DATABASE_ERRORS: tuple[type[Exception], ...] = (OperationalError, DBAPIError)


class HistoryUnavailable(Exception):
    """The history database cannot be used right now (down, or its migrations could not run)."""


def build_engine(url: str, timeout_s: float) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": timeout_s, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE: deleting removes the text
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for a writer
            # WAL + NORMAL: a commit survives a crash of the process (not a power cut) without an fsync each.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    timeout_ms = int(timeout_s * 1000)
    # No pre-ping (a round trip per request): a connection broken by a restart fails once (503), which
    # makes SQLAlchemy drop the whole pool, and the next request connects afresh.
    return create_engine(
        url,
        pool_timeout=timeout_s,
        connect_args={
            "connect_timeout": max(1, round(timeout_s)),
            "options": f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
        },
    )


def alembic_config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (idempotent), one process at a time on PostgreSQL."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


class Database:
    """Sessions on a migrated schema. Migrations are retried on use until they succeed once, so a
    query API that started while the database was down recovers by itself."""

    def __init__(self, settings: Settings):
        self.engine = build_engine(settings.database, settings.database_timeout_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrated = False
        self._lock = threading.Lock()

    def ensure_schema(self) -> None:
        if self._migrated:
            return
        with self._lock:
            if not self._migrated:
                try:
                    migrate(self.engine)
                except DATABASE_ERRORS as exc:
                    raise HistoryUnavailable(type(exc).__name__) from exc
                self._migrated = True

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back (nothing half-written) on error."""
        self.ensure_schema()
        try:
            with self._sessions.begin() as session:
                yield session
        except DATABASE_ERRORS as exc:
            raise HistoryUnavailable(type(exc).__name__) from exc
