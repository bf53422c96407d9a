"""Request and response bodies of the query API: the typed contract (OpenAPI, generated TS types)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from confluence_rag.settings import get_settings
from confluence_rag.web.errors import ErrorBody
from confluence_rag.worker.jobs_api import JobBody, JobList, JobOut

__all__ = ["ErrorBody", "JobBody", "JobList", "JobOut"]

MAX_FILTER_ITEMS = 50
MAX_COMMENT_CHARS = 2000
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


# At least one visible character: anything but ASCII/C1 controls, Unicode white space and the usual
# invisible format characters (soft hyphen, zero-width and direction marks, BOM). Written with
# escapes only, so that Python, the OpenAPI `pattern` (ECMA 262) and schemathesis read it the same.
VISIBLE = (
    r"[^\x00-\x20\x7f-\xa0\xad\u061c\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000"
    r"\ufeff\ufff9-\ufffb]"
)


def _text_schema(schema: dict) -> None:
    schema.update(pattern=VISIBLE, maxLength=get_settings().max_query_chars)


def _messages_schema(schema: dict) -> None:
    schema["maxItems"] = get_settings().max_messages


def _visible_text(value: str) -> str:
    if not re.search(VISIBLE, value):
        if not value.strip():
            raise ValueError("must not be blank")
        # A malformed request (400), not an invalid value: nothing a person could have typed.
        raise PydanticCustomError("control_characters", "holds only control characters, no visible text")
    if len(value) > get_settings().max_query_chars:
        raise ValueError(f"is longer than {get_settings().max_query_chars} characters")
    return value.strip()


class Filters(BaseModel):
    # Strict: `"top_k": "5"` or `"full": 0` are errors, not silently converted.
    model_config = ConfigDict(strict=True)

    spaces: list[str] | None = Field(None, max_length=MAX_FILTER_ITEMS)
    labels: list[str] | None = Field(None, max_length=MAX_FILTER_ITEMS)


class SearchBody(Filters):
    query: str = Field(min_length=1, description="The question or keywords", json_schema_extra=_text_schema)
    top_k: int | None = Field(None, ge=1, le=50)

    _check_query = field_validator("query")(_visible_text)


class Message(BaseModel):
    model_config = ConfigDict(strict=True)

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, json_schema_extra=_text_schema)

    _check_content = field_validator("content")(_visible_text)


class ChatBody(Filters):
    messages: list[Message] = Field(
        min_length=1,
        description="The conversation, oldest first; the last message must come from the user (else 422)",
        json_schema_extra=_messages_schema,
    )
    top_k: int | None = Field(None, ge=1, le=20)
    conversation_id: str | None = Field(
        None,
        pattern=UUID_PATTERN,
        description="Continue this conversation of yours (404 if it is not yours); none: the answer starts one",
    )

    @field_validator("messages")
    @classmethod
    def _last_is_user(cls, messages: list[Message]) -> list[Message]:
        if len(messages) > get_settings().max_messages:
            raise ValueError(f"at most {get_settings().max_messages} messages")
        if messages[-1].role != "user":
            raise ValueError("the last message must come from the user")
        return messages


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    ready: bool
    vector_store: str = Field(description='"ok", or why the index cannot be used')
    embedding_model: str
    llm_configured: bool
    mode: Literal["llm", "extractive"]
    chunks: int | None = Field(
        description="Chunks in the index, restricted ones included: operators only (ADMIN_TOKEN or ADMIN_GROUPS), "
        "null for everyone else"
    )


class SpaceInfo(BaseModel):
    key: str
    pages: int
    chunks: int


class SpacesOut(BaseModel):
    spaces: list[SpaceInfo]


class SourceOut(BaseModel):
    """A retrieved passage: a search result or a chat source. `n` is the citation number."""

    n: int
    chunk_id: str
    page_id: str
    title: str
    url: str
    space_key: str
    breadcrumb: list[str]
    heading: str
    labels: list[str]
    last_modified: str
    score: float
    snippet: str
    text: str


class SearchOut(BaseModel):
    results: list[SourceOut]


class Timings(BaseModel):
    condense_ms: float | None = None
    retrieve_ms: float | None = None
    first_token_ms: float | None = None
    generate_ms: float | None = None
    total_ms: float | None = None


_CONVERSATION_ID = (
    "The conversation the answer was stored in; null: not stored (no sign-in, HISTORY=off, database down)"
)
_MESSAGE_ID = "The stored answer, for POST /api/feedback; null: the history database was unavailable"


class ChatOut(BaseModel):
    """The whole answer at once (`Accept: application/json`)."""

    answer: str
    sources: list[SourceOut]
    mode: Literal["llm", "extractive"]
    answer_found: bool
    query: str
    timings: Timings
    conversation_id: str | None = Field(description=_CONVERSATION_ID)
    message_id: str | None = Field(description=_MESSAGE_ID)


class SourcesEvent(BaseModel):
    """First event of the chat stream: the passages the answer will cite."""

    sources: list[SourceOut]
    mode: Literal["llm", "extractive"]
    query: str = Field(description="The standalone query that was searched (follow-ups are condensed)")


class TokenEvent(BaseModel):
    text: str


class DoneEvent(BaseModel):
    mode: Literal["llm", "extractive"]
    answer_found: bool
    timings: Timings
    conversation_id: str | None = Field(description=_CONVERSATION_ID)
    message_id: str | None = Field(description=_MESSAGE_ID)


class ErrorEvent(BaseModel):
    status: int = Field(description="The HTTP status this error would have had (502, 503, 504)")
    message: str


class ConversationSummary(BaseModel):
    id: str
    title: str = Field(description="The first question (shortened) unless renamed")
    updated_at: datetime


class ConversationList(BaseModel):
    conversations: list[ConversationSummary] = Field(description="The caller's conversations, newest first")


class StoredAnswer(BaseModel):
    """One question of a reopened conversation and its answer, re-checked against current permissions."""

    message_id: str
    created_at: datetime
    question: str
    answer: str | None = Field(description="null when a cited passage is withheld (see withheld_sources)")
    sources: list[SourceOut] = Field(description="The cited passages the caller may still read")
    withheld_sources: int = Field(description="Cited passages the caller can no longer read: withheld, with the answer")
    answer_found: bool
    mode: str
    rating: Literal["up", "down"] | None
    comment: str | None = Field(description="The caller's comment on this answer (null without one, or HISTORY=off)")
    wrong_chunk_ids: list[str] = Field(description="Cited passages the caller marked as wrong")


class ConversationOut(ConversationSummary):
    created_at: datetime
    messages: list[StoredAnswer] = Field(description="Oldest first")


class RenameBody(BaseModel):
    model_config = ConfigDict(strict=True)

    title: str = Field(min_length=1, max_length=200, pattern=VISIBLE)


class DeletedOut(BaseModel):
    deleted: int = Field(description="How many conversations were deleted")


class FeedbackBody(BaseModel):
    model_config = ConfigDict(strict=True)

    message_id: str = Field(pattern=UUID_PATTERN, description="From the chat's `done` event / JSON answer")
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)
    wrong_chunk_ids: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list,
        max_length=MAX_FILTER_ITEMS,
        description="Cited passages (chunk_id) the user says are wrong",
    )


class QuestionStat(BaseModel):
    message_id: str
    created_at: datetime
    question: str | None = Field(description="null where HISTORY=off kept no text")
    answer_found: bool
    sources: int
    rating: Literal["up", "down"] | None
    comment: str | None
    wrong_chunk_ids: list[str]


class PageStat(BaseModel):
    page_id: str
    title: str
    space_key: str
    url: str
    citations: int = 0


class SpaceStat(BaseModel):
    space_key: str
    questions: int = Field(description="Answers citing this space")
    thumbs_down: int


class Percentiles(BaseModel):
    p50: float | None
    p90: float | None
    p99: float | None


class LatencyStats(BaseModel):
    total: Percentiles
    first_token: Percentiles
    retrieve: Percentiles


class AnalyticsOut(BaseModel):
    """Usage over [start, end): operators only."""

    start: datetime
    end: datetime
    questions: int
    thumbs_up: int
    thumbs_down: int
    unanswered: list[QuestionStat] = Field(
        description="Answered with no source, or 'not found' (newest first, 200 at most)"
    )
    thumbed_down: list[QuestionStat]
    most_cited: list[PageStat]
    never_cited: list[PageStat] = Field(description="Indexed pages no answer of the period cited (200 at most)")
    never_cited_total: int
    spaces: list[SpaceStat]
    latency_ms: LatencyStats


SSE_EVENTS: dict[str, type[BaseModel]] = {
    "sources": SourcesEvent,
    "token": TokenEvent,
    "done": DoneEvent,
    "error": ErrorEvent,
}


def sse_event_schema() -> dict:
    """One server-sent event of POST /api/chat: its name, and its JSON data typed by the name."""
    return {
        "oneOf": [
            {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"const": name},
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": {"$ref": f"#/components/schemas/{model.__name__}"},
                    },
                },
            }
            for name, model in SSE_EVENTS.items()
        ]
    }


# --- operators: why can (or can't) a user read a page (GET /api/access/explain) -------------------
class _FromService(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SpaceGrantCheckOut(_FromService):
    space_key: str
    known: bool = Field(description="False: no permission pass stored the space's grant; nobody may read it")
    anonymous: bool = Field(description="Anonymous users may view the space")
    principals: list[str] = Field(description="Who may view the space: u:<user> and g:<group>")
    matched: list[str] = Field(description="The user's principals among them")
    grants: bool = Field(description="The user may view the space")
    read_at: datetime | None = Field(description="When the permission pass last read it from Confluence")


class LayerCheckOut(_FromService):
    content_id: str | None = Field(description="The page or ancestor holding the restriction; null: not recorded")
    title: str | None
    restricted: bool = Field(description="False: this content has no read restriction")
    unreadable: bool = Field(description="The restriction could not be read: it denies everyone")
    principals: list[str]
    matched: list[str]
    passes: bool


class GroupCheckOut(_FromService):
    group: str
    read_at: datetime | None = Field(description="When a permission pass last read the group's members")


class AccessExplanationOut(_FromService):
    user: str | None = Field(description="The Confluence principal asked about; null: anonymous")
    page_id: str
    title: str
    space_key: str
    enforced: bool = Field(description="False: PERMISSIONS=off, every indexed page is readable")
    groups_source: Literal["confluence", "token"]
    principals: list[str] = Field(description="The user's principals as the product knows them")
    groups: list[GroupCheckOut]
    space: SpaceGrantCheckOut
    layers: list[LayerCheckOut] = Field(description="Every read restriction on the page and its ancestors, root first")
    layers_read_at: datetime | None = Field(description="When the permission pass last read the restrictions")
    can_read: bool = Field(description="The decision the query API enforces")
    reasons: list[str]
