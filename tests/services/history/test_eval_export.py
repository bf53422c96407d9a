"""`make eval-from-feedback`: a thumbed-up answer becomes a labelled question that `make eval`'s loader reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from benchmarks.datasets import eval_set
from confluence_rag.auth.identity import Identity
from confluence_rag.container import Components
from confluence_rag.history.database import Database
from confluence_rag.history.eval_export import export
from confluence_rag.history.service import Answer, HistoryService
from confluence_rag.retrieval.search import SearchService
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings

CAROL = Identity("carol", frozenset(), False)


def test_thumbed_up_answers_become_labelled_questions(fake_confluence, make_settings, tmp_path, monkeypatch):
    settings = make_settings(**confluence_settings(fake_confluence), permissions="off", auth_mode="proxy")
    components = Components(settings)
    ingest_space(components, "ENG")
    search = SearchService(components)
    history = HistoryService(settings, Database(settings))
    done = {"mode": "extractive", "answer_found": True, "timings": {}}

    def answered(question: str, rating: str | None, wrong: bool = False) -> list[str]:
        sources = [s.public() for s in search.search(question, top_k=2)]
        _, message_id = history.record(CAROL, None, Answer(question, "Voilà.", sources, done))
        if rating:
            wrong_ids = [sources[0]["chunk_id"]] if wrong else []
            history.feedback(CAROL, message_id, rating, None, wrong_ids)
        return [s["page_id"] for s in sources]

    good = answered("How do I deploy a release?", "up")
    answered("Where is the onboarding guide?", "down")
    answered("Who is on call?", None)
    partly = answered("How do I deploy to production?", "up", wrong=True)

    out = tmp_path / "eval" / "feedback"
    assert export(history.database, search, out, datetime.now(UTC) - timedelta(days=1)) == (
        2,
        len(search.indexed_pages()),
    )
    monkeypatch.setenv("SHARED_DATA_DIR", str(out.parent))
    loaded = eval_set("feedback", "FEEDBACK", distractors=0)
    assert [(q.question, q.gold) for q in loaded.questions] == [
        ("How do I deploy a release?", good),
        ("How do I deploy to production?", partly[1:]),  # the passage marked wrong is no gold
    ]
    assert {g for q in loaded.questions for g in q.gold} <= {p.page_id for p in loaded.pages}
    assert all(p.text and p.title for p in loaded.pages)
