"""The tables. Their shape changes only through a migration in `migrations/versions/`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    """A signed-in user's conversation (only with HISTORY=on)."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.created_at", passive_deletes=True
    )


class Message(Base):
    """One answered question: what was asked and answered (text only with HISTORY=on), what was cited,
    how (model, mode, timings). Also the usage record operators' analytics read."""

    __tablename__ = "messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True, nullable=True
    )
    owner: Mapped[str | None] = mapped_column(String(255), index=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    sources: Mapped[list[dict]] = mapped_column(JSON)
    answer_found: Mapped[bool] = mapped_column(Boolean)
    mode: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(200))
    retrieval_mode: Mapped[str] = mapped_column(String(20))
    timings: Mapped[dict] = mapped_column(JSON)
    total_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    conversation: Mapped[Conversation | None] = relationship(back_populates="messages")
    feedback: Mapped[Feedback | None] = relationship(back_populates="message", passive_deletes=True)


class Feedback(Base):
    """A thumb on one answer (one per answer: a new one replaces it), a comment, and the cited chunks
    the user marked as wrong."""

    __tablename__ = "feedback"

    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    rating: Mapped[str] = mapped_column(String(4))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    wrong_chunk_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    message: Mapped[Message] = relationship(back_populates="feedback")
