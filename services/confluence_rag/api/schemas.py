"""Request and response bodies of the query API: the typed contract (OpenAPI, generated TS types)."""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from confluence_rag.ingestion.jobs_api import JobBody, JobList, JobOut
from confluence_rag.settings import get_settings
from confluence_rag.web.errors import ErrorBody

__all__ = ["ErrorBody", "JobBody", "JobList", "JobOut"]

MAX_FILTER_ITEMS = 50


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if all(unicodedata.category(c).startswith("C") or c.isspace() for c in value):
        # A malformed request (400), not an invalid value: nothing a person could have typed.
        raise PydanticCustomError("control_characters", "holds only control characters, no visible text")
    if len(value) > get_settings().max_query_chars:
        raise ValueError(f"is longer than {get_settings().max_query_chars} characters")
    return value.strip()


class Filters(BaseModel):
    spaces: list[str] | None = Field(None, max_length=MAX_FILTER_ITEMS)
    labels: list[str] | None = Field(None, max_length=MAX_FILTER_ITEMS)


class SearchBody(Filters):
    query: str = Field(min_length=1, description="The question or keywords")
    top_k: int | None = Field(None, ge=1, le=50)

    _check_query = field_validator("query")(_non_blank)


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)

    _check_content = field_validator("content")(_non_blank)


class ChatBody(Filters):
    messages: list[Message] = Field(min_length=1)
    top_k: int | None = Field(None, ge=1, le=20)

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
    chunks: int


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


class ChatOut(BaseModel):
    """The whole answer at once (`Accept: application/json`)."""

    answer: str
    sources: list[SourceOut]
    mode: Literal["llm", "extractive"]
    answer_found: bool
    query: str
    timings: Timings
