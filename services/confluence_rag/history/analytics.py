"""Operators' view of usage over a period: what the wiki fails to answer, what gets cited, latency.

Computed from the `messages` and `feedback` rows of the period (question text only where HISTORY=on
kept it). Percentiles are computed here, the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from confluence_rag.history.database import Database
from confluence_rag.history.models import Message

LIST_LIMIT = 200  # questions and pages listed per category
PERCENTILES = (50, 90, 99)
CSV_COLUMNS = (
    "created_at",
    "message_id",
    "question",
    "answer_found",
    "sources",
    "cited_pages",
    "spaces",
    "rating",
    "comment",
    "wrong_chunk_ids",
    "mode",
    "model",
    "retrieval_mode",
    "total_ms",
    "first_token_ms",
)


def _messages(database: Database, start: datetime, end: datetime) -> list[Message]:
    with database.session() as session:
        query = (
            select(Message)
            .where(Message.created_at >= start, Message.created_at < end)
            .options(selectinload(Message.feedback))
            .order_by(Message.created_at.desc())
        )
        return list(session.scalars(query))


def _percentiles(values: Iterable[float | None]) -> dict[str, float | None]:
    known = np.array([v for v in values if v is not None], dtype=float)
    return {f"p{p}": (round(float(np.percentile(known, p)), 1) if len(known) else None) for p in PERCENTILES}


def _question(m: Message) -> dict:
    feedback = m.feedback
    return {
        "message_id": m.id,
        "created_at": m.created_at,
        "question": m.question,
        "answer_found": m.answer_found,
        "sources": len(m.sources),
        "rating": feedback.rating if feedback else None,
        "comment": feedback.comment if feedback else None,
        "wrong_chunk_ids": feedback.wrong_chunk_ids if feedback else [],
    }


def report(database: Database, start: datetime, end: datetime, indexed_pages: list[dict]) -> dict:
    """The analytics of [start, end); `indexed_pages` (page_id, title, space_key, url) gives the never-cited ones."""
    messages = _messages(database, start, end)
    cited: Counter[str] = Counter()
    page_info: dict[str, dict] = {}
    space_questions: Counter[str] = Counter()
    space_down: Counter[str] = Counter()
    for m in messages:
        spaces = {s.get("space_key", "") for s in m.sources}
        for s in m.sources:
            cited[s["page_id"]] += 1
            page_info.setdefault(s["page_id"], s)
        for space in spaces:
            space_questions[space] += 1
            if m.feedback is not None and m.feedback.rating == "down":
                space_down[space] += 1
    never = [p for p in indexed_pages if p["page_id"] not in cited]
    return {
        "start": start,
        "end": end,
        "questions": len(messages),
        "thumbs_up": sum(1 for m in messages if m.feedback is not None and m.feedback.rating == "up"),
        "thumbs_down": sum(1 for m in messages if m.feedback is not None and m.feedback.rating == "down"),
        "unanswered": [_question(m) for m in messages if not m.sources or not m.answer_found][:LIST_LIMIT],
        "thumbed_down": [_question(m) for m in messages if m.feedback is not None and m.feedback.rating == "down"][
            :LIST_LIMIT
        ],
        "most_cited": [
            {**{k: page_info[page].get(k, "") for k in ("page_id", "title", "space_key", "url")}, "citations": n}
            for page, n in cited.most_common(LIST_LIMIT)
        ],
        "never_cited": never[:LIST_LIMIT],
        "never_cited_total": len(never),
        "spaces": [
            {"space_key": space, "questions": n, "thumbs_down": space_down[space]}
            for space, n in space_questions.most_common()
        ],
        "latency_ms": {
            "total": _percentiles(m.total_ms for m in messages),
            "first_token": _percentiles(m.timings.get("first_token_ms") for m in messages),
            "retrieve": _percentiles(m.timings.get("retrieve_ms") for m in messages),
        },
    }


def csv_export(database: Database, start: datetime, end: datetime) -> str:
    """One row per answered question of the period (spreadsheet-friendly: UTF-8 with BOM)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for m in _messages(database, start, end):
        feedback = m.feedback
        writer.writerow(
            [
                m.created_at.isoformat(),
                m.id,
                _cell(m.question or ""),
                m.answer_found,
                len(m.sources),
                " ".join(sorted({s["page_id"] for s in m.sources})),
                " ".join(sorted({s.get("space_key", "") for s in m.sources})),
                feedback.rating if feedback else "",
                _cell(feedback.comment or "") if feedback else "",
                " ".join(feedback.wrong_chunk_ids) if feedback else "",
                m.mode,
                m.model,
                m.retrieval_mode,
                m.total_ms if m.total_ms is not None else "",
                m.timings.get("first_token_ms", ""),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """No formula injection: a spreadsheet would run a cell starting with = + - @."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
