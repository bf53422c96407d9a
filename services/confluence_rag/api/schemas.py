"""Request bodies of the query API, validated with clear limits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from confluence_rag.settings import get_settings

MAX_FILTER_ITEMS = 50


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
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


class JobBody(BaseModel):
    space_key: str = Field(min_length=1, max_length=255)
    full: bool = False
