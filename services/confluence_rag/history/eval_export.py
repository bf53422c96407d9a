"""`make eval-from-feedback`: thumbed-up answers become labelled questions for `make eval`.

Each answer rated up (with its question kept, HISTORY=on) gives one question whose gold pages are the
pages it cited, less the passages the user marked wrong. Written as the labelled sets `make eval`
reads (benchmarks/datasets.py): `questions.jsonl` (qid, question, gold_page_ids, reference_answers,
answerable, lang) and `pages.jsonl` (page_id, title, text, lang), the text of every indexed page
taken from the index, so the set can be evaluated offline:
`SHARED_DATA_DIR=data/eval make eval EVAL_ARGS="--sets feedback --distractors 0"`.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from confluence_rag import index_schema as keys
from confluence_rag.answering.language import detect_language
from confluence_rag.history.database import Database
from confluence_rag.history.models import Feedback, Message
from confluence_rag.retrieval.search import SearchService


def labelled_questions(database: Database, since: datetime) -> list[dict]:
    with database.session() as session:
        query = (
            select(Message, Feedback)
            .join(Feedback, Feedback.message_id == Message.id)
            .where(Feedback.rating == "up", Message.question.is_not(None), Message.created_at >= since)
            .order_by(Message.created_at)
        )
        rated = list(session.execute(query).tuples())
    questions = []
    for message, feedback in rated:
        wrong = set(feedback.wrong_chunk_ids)
        gold = list(dict.fromkeys(s["page_id"] for s in message.sources if s["chunk_id"] not in wrong))
        if gold:
            questions.append(
                {
                    "qid": message.id,
                    "question": message.question,
                    "gold_page_ids": gold,
                    "reference_answers": [message.answer] if message.answer else [],
                    "answerable": True,
                    "lang": detect_language(message.question),
                }
            )
    return questions


def indexed_page_texts(search: SearchService) -> list[dict]:
    """Every indexed page's text, its chunks in order (the keyword index holds them all)."""
    search.keyword.sync(search.components.store())
    snap = search.keyword.snapshot
    chunks: dict[str, list[tuple[int, str]]] = {}
    titles: dict[str, str] = {}
    for text, meta in zip(snap.texts, snap.metadatas, strict=True) if snap else ():
        page_id = str(meta.get(keys.PAGE_ID, ""))
        chunks.setdefault(page_id, []).append((int(meta.get(keys.CHUNK_INDEX, 0)), text))
        titles[page_id] = meta.get(keys.TITLE, "")
    pages = []
    for page_id, parts in chunks.items():
        text = "\n\n".join(t for _, t in sorted(parts))
        pages.append({"page_id": page_id, "title": titles[page_id], "text": text, "lang": detect_language(text)})
    return pages


def export(database: Database, search: SearchService, out: Path, since: datetime) -> tuple[int, int]:
    """Write questions.jsonl and pages.jsonl into `out`; returns (questions, pages) written."""
    questions = labelled_questions(database, since)
    pages = indexed_page_texts(search)
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("questions.jsonl", questions), ("pages.jsonl", pages)):
        with (out / name).open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return len(questions), len(pages)
