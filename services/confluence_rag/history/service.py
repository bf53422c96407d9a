"""Conversations and feedback per signed-in user, and the usage record of every answer.

Every answered question is stored as one `Message` row (its id is the `message_id` of the chat's
`done` event). Its text (question, answer, passages) is kept only with HISTORY=on, and a conversation
exists only for a signed-in user with HISTORY=on: anonymous callers keep theirs in the browser.
Only the owner reads a conversation: any other id is a 404, whether it exists or not.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from confluence_rag.answering.chat import Event
from confluence_rag.auth.identity import Identity
from confluence_rag.history.database import Database, HistoryUnavailable
from confluence_rag.history.models import Conversation, Feedback, Message
from confluence_rag.settings import Settings

log = logging.getLogger(__name__)
TITLE_CHARS = 80
PURGE_EVERY_S = 3600.0
# What is kept of a cited passage when HISTORY=off: where it is, not what it says.
SOURCE_REFERENCE = ("n", "chunk_id", "page_id", "title", "url", "space_key")


class HistoryError(Exception):
    """A request the history cannot serve; `status` is its HTTP status."""

    status = 400


class NotFound(HistoryError):
    status = 404


class SignInRequired(HistoryError):
    status = 403


class InvalidFeedback(HistoryError):
    status = 422


@dataclass
class Answer:
    """What the chat produced for one question, as the stream carried it."""

    question: str
    answer: str
    sources: list[dict]
    done: dict


def _now() -> datetime:
    return datetime.now(UTC)


def _title(question: str) -> str:
    text = re.sub(r"\s+", " ", question).strip()
    return text[:TITLE_CHARS].rstrip() + ("…" if len(text) > TITLE_CHARS else "")


class HistoryService:
    def __init__(self, settings: Settings, database: Database):
        self.settings = settings
        self.database = database

    @property
    def keeps_conversations(self) -> bool:
        return self.settings.keeps_text and self.settings.auth_mode != "none"

    def _owner(self, identity: Identity) -> str:
        if identity.user is None or not self.keeps_conversations:
            raise SignInRequired(
                "Conversations are kept for signed-in users with HISTORY=on; "
                "otherwise the page keeps them in the browser."
            )
        return identity.user

    # --- the chat path ---------------------------------------------------------------------

    def check_conversation(self, identity: Identity, conversation_id: str) -> None:
        """404 unless `conversation_id` is one of the caller's conversations."""
        owner = self._owner(identity)
        with self.database.session() as session:
            if session.scalar(select(Conversation.id).filter_by(id=conversation_id, owner=owner)) is None:
                raise NotFound("No such conversation.")

    def record(self, identity: Identity, conversation_id: str | None, answer: Answer) -> tuple[str | None, str]:
        """Store one answered question in one transaction; returns (conversation id or None, message id)."""
        now = _now()
        keep = self.settings.keeps_text
        owner = identity.user
        sources = answer.sources if keep else [{k: s.get(k) for k in SOURCE_REFERENCE} for s in answer.sources]
        timings = answer.done.get("timings") or {}
        message = Message(
            id=str(uuid.uuid4()),
            owner=owner,
            created_at=now,
            question=answer.question if keep else None,
            answer=answer.answer if keep else None,
            sources=sources,
            answer_found=bool(answer.done.get("answer_found")),
            mode=str(answer.done.get("mode") or ""),
            model=self.settings.llm_model or "extractive",
            retrieval_mode=self.settings.retrieval_mode,
            timings=timings,
            total_ms=timings.get("total_ms"),
        )
        with self.database.session() as session:
            if owner is not None and self.keeps_conversations:
                if conversation_id is not None:
                    moved = session.execute(
                        update(Conversation).filter_by(id=conversation_id, owner=owner).values(updated_at=now)
                    )
                    if moved.rowcount == 0:  # deleted meanwhile: the answer starts a new one
                        conversation_id = None
                if conversation_id is None:
                    conversation_id = str(uuid.uuid4())
                    session.add(
                        Conversation(
                            id=conversation_id,
                            owner=owner,
                            title=_title(answer.question),
                            created_at=now,
                            updated_at=now,
                        )
                    )
                message.conversation_id = conversation_id
            else:
                conversation_id = None
            session.add(message)
        return conversation_id, message.id

    async def recorded(
        self, events: AsyncIterator[Event], identity: Identity, conversation_id: str | None, question: str
    ) -> AsyncIterator[Event]:
        """The chat's events, with the answer stored before `done`, which then carries its ids.

        A database that is down costs the ids (null), never the answer."""
        sources: list[dict] = []
        tokens: list[str] = []
        async for event, data in events:
            if event == "sources":
                sources = data["sources"]
            elif event == "token":
                tokens.append(data["text"])
            elif event == "done":
                ids: tuple[str | None, str | None] = (None, None)
                try:
                    ids = await asyncio.to_thread(
                        self.record, identity, conversation_id, Answer(question, "".join(tokens), sources, data)
                    )
                except HistoryUnavailable as exc:
                    log.warning("answer not recorded, history database unavailable: %s", exc)
                data = {**data, "conversation_id": ids[0], "message_id": ids[1]}
            yield event, data

    # --- the conversation routes -----------------------------------------------------------

    def conversations(self, identity: Identity) -> list[Conversation]:
        owner = self._owner(identity)
        with self.database.session() as session:
            query = select(Conversation).filter_by(owner=owner).order_by(Conversation.updated_at.desc())
            return list(session.scalars(query))

    def conversation(
        self, identity: Identity, conversation_id: str, readable: Callable[[Sequence[str]], set[str]]
    ) -> tuple[Conversation, list[dict]]:
        """The conversation and its answers, re-checked against what the caller may read NOW: an
        answer that cited a passage they can no longer read loses that passage and its text."""
        owner = self._owner(identity)
        with self.database.session() as session:
            found = session.scalar(select(Conversation).filter_by(id=conversation_id, owner=owner))
            if found is None:
                raise NotFound("No such conversation.")
            messages = list(found.messages)
            feedback = {
                m.id: {
                    "rating": m.feedback.rating,
                    "comment": m.feedback.comment,
                    "wrong_chunk_ids": m.feedback.wrong_chunk_ids,
                }
                for m in messages
                if m.feedback is not None
            }
        allowed = readable([s["chunk_id"] for m in messages for s in m.sources])
        shown = []
        for m in messages:
            sources = [s for s in m.sources if s["chunk_id"] in allowed]
            withheld = len(m.sources) - len(sources)
            shown.append(
                {
                    "message_id": m.id,
                    "created_at": m.created_at,
                    "question": m.question or "",
                    "answer": None if withheld else m.answer,
                    "sources": sources,
                    "withheld_sources": withheld,
                    "answer_found": m.answer_found,
                    "mode": m.mode,
                    **feedback.get(m.id, {"rating": None, "comment": None, "wrong_chunk_ids": []}),
                }
            )
        return found, shown

    def rename(self, identity: Identity, conversation_id: str, title: str) -> Conversation:
        owner = self._owner(identity)
        with self.database.session() as session:
            found = session.scalar(select(Conversation).filter_by(id=conversation_id, owner=owner))
            if found is None:
                raise NotFound("No such conversation.")
            found.title = _title(title)
            return found

    def delete(self, identity: Identity, conversation_id: str) -> None:
        """Deletes the rows (the messages and their feedback go with it: ON DELETE CASCADE)."""
        owner = self._owner(identity)
        with self.database.session() as session:
            if session.execute(delete(Conversation).filter_by(id=conversation_id, owner=owner)).rowcount == 0:
                raise NotFound("No such conversation.")

    def delete_all(self, identity: Identity) -> int:
        owner = self._owner(identity)
        with self.database.session() as session:
            session.execute(delete(Message).filter_by(owner=owner))
            return session.execute(delete(Conversation).filter_by(owner=owner)).rowcount

    # --- feedback and retention -------------------------------------------------------------

    def feedback(
        self, identity: Identity, message_id: str, rating: str, comment: str | None, wrong_chunk_ids: list[str]
    ) -> None:
        """Record (or replace) the caller's thumb on one of their answers."""
        with self.database.session() as session:
            message = session.get(Message, message_id)
            if message is None or message.owner != identity.user:
                raise NotFound("No such answer.")
            cited = {s["chunk_id"] for s in message.sources}
            unknown = sorted(set(wrong_chunk_ids) - cited)
            if unknown:
                raise InvalidFeedback(f"wrong_chunk_ids: not cited by this answer: {', '.join(unknown[:5])}")
            session.merge(
                Feedback(
                    message_id=message_id,
                    rating=rating,
                    comment=comment if self.settings.keeps_text else None,
                    wrong_chunk_ids=sorted(set(wrong_chunk_ids)),
                    created_at=_now(),
                )
            )

    def purge(self, now: datetime | None = None) -> int:
        """Delete what is older than HISTORY_RETENTION_DAYS (conversations by their last answer)."""
        cutoff = (now or _now()) - timedelta(days=self.settings.history_retention_days)
        with self.database.session() as session:
            gone = session.execute(delete(Conversation).where(Conversation.updated_at < cutoff)).rowcount
            return gone + session.execute(delete(Message).where(Message.created_at < cutoff)).rowcount


def retention_loop(history: HistoryService, stop: threading.Event, every_s: float = PURGE_EVERY_S) -> None:
    """Purge now and then every `every_s` until `stop` is set (a daemon thread of the query API).
    Replicas purging at once only delete the same rows."""
    while True:
        try:
            removed = history.purge()
            if removed:
                log.info(
                    "history retention: %d rows older than %d days deleted",
                    removed,
                    history.settings.history_retention_days,
                )
        except HistoryUnavailable as exc:
            log.warning("history retention skipped, database unavailable: %s", exc)
        if stop.wait(every_s):
            return
