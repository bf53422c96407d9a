"""The history database on SQLite and on a real PostgreSQL server: migrations, concurrent writers
(several query-API replicas), and transactions (nothing half-written)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, inspect, select, text

from confluence_rag.auth.identity import Identity
from confluence_rag.history.database import Database, build_engine, downgrade, migrate
from confluence_rag.history.models import Conversation, Message
from confluence_rag.history.service import Answer, HistoryService, HistoryUnavailable

ALICE = Identity("alice", frozenset(), False)
SOURCE = {"n": 1, "chunk_id": "p1#0", "page_id": "p1", "title": "Congés", "url": "u", "space_key": "RH", "text": "x"}


def history(make_settings, database_url: str, **overrides) -> HistoryService:
    settings = make_settings(database_url=database_url, auth_mode="proxy", **overrides)
    return HistoryService(settings, Database(settings))


def answer(question: str = "Combien de jours de congés ?") -> Answer:
    done = {"mode": "extractive", "answer_found": True, "timings": {"total_ms": 12.5}}
    return Answer(question, "25 jours [1].", [SOURCE], done)


def test_upgrade_from_empty_then_downgrade_to_empty(database_url):
    engine = build_engine(database_url, 5)
    migrate(engine)
    assert {"conversations", "messages", "feedback"} <= set(inspect(engine).get_table_names())
    migrate(engine)  # idempotent: a second replica starting finds nothing to do
    downgrade(engine, "0001")
    assert "feedback" not in inspect(engine).get_table_names()
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_upgrade_from_the_previous_revision_keeps_its_data(database_url):
    engine = build_engine(database_url, 5)
    migrate(engine, "0001")
    now = datetime.now(UTC)
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO conversations (id, owner, title, created_at, updated_at)"
                " VALUES ('c1', 'alice', 'T', :t, :t)"
            ),
            {"t": now},
        )
        db.execute(
            text(
                "INSERT INTO messages (id, conversation_id, owner, created_at, question, answer, sources, answer_found,"
                " mode, model, timings, total_ms) VALUES ('m1', 'c1', 'alice', :t, 'Q?', 'A.', '[]', true,"
                " 'llm', 'm', '{}', 3.0)"
            ),
            {"t": now},
        )
    migrate(engine)
    with engine.connect() as db:
        row = db.execute(text("SELECT question, answer, retrieval_mode FROM messages WHERE id = 'm1'")).one()
        assert tuple(row) == ("Q?", "A.", "unknown")
        assert db.execute(text("SELECT count(*) FROM feedback")).scalar() == 0
    engine.dispose()


def test_concurrent_writers_lose_and_duplicate_nothing(make_settings, postgres):
    """Four 'replicas' (each its own engine and pool) answer in the same PostgreSQL conversations at once."""
    database_url = postgres.create_database()
    replicas = [history(make_settings, database_url) for _ in range(4)]
    first = replicas[0]
    conversations = [first.record(ALICE, None, answer(f"Question {i}"))[0] for i in range(3)]

    def write(job: int) -> str:
        replica = replicas[job % len(replicas)]
        return replica.record(ALICE, conversations[job % 3], answer(f"Suite {job}"))[1]

    with ThreadPoolExecutor(16) as pool:
        written = list(pool.map(write, range(200)))
    assert len(set(written)) == 200
    with first.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 3
        per_conversation = dict(
            session.execute(select(Message.conversation_id, func.count()).group_by(Message.conversation_id)).all()
        )
        assert per_conversation == {
            c: 1 + sum(1 for j in range(200) if j % 3 == i) for i, c in enumerate(conversations)
        }
        assert set(session.scalars(select(Message.id))) >= set(written)
    for replica in replicas:
        replica.database.engine.dispose()


def test_a_failure_in_the_middle_of_a_write_leaves_nothing(make_settings, database_url):
    store = history(make_settings, database_url)
    store.database.ensure_schema()
    with pytest.raises(RuntimeError), store.database.session() as session:
        session.add(
            Conversation(
                id=str(uuid.uuid4()),
                owner="alice",
                title="t",
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )
        session.flush()  # the row is in the database's transaction...
        raise RuntimeError("the process dies here")  # ...and is rolled back
    with store.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0
    store.database.engine.dispose()


def test_a_database_that_is_down_is_reported_as_unavailable(make_settings):
    from benchmarks.processes import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    store = history(make_settings, url, database_timeout_s=1.0)
    with pytest.raises(HistoryUnavailable):
        store.conversations(ALICE)
