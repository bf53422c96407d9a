"""Chat: condense the follow-up, retrieve, then stream a grounded, cited answer (or extracts).

The service yields `(event, data)` pairs — `sources`, many `token`, then `done` or `error` — that
the API turns into server-sent events or one JSON body.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from llama_index.core.llms import ChatMessage, MessageRole

from confluence_rag.answering.language import detect_language
from confluence_rag.answering.prompts import (
    CONDENSE_PROMPT,
    NOT_FOUND,
    extractive_answer,
    says_not_found,
    system_prompt,
)
from confluence_rag.auth.identity import ANONYMOUS, Identity
from confluence_rag.components.metrics import LLM_ERRORS, LLM_FIRST_TOKEN_SECONDS
from confluence_rag.components.vector_store import STORE_ERRORS
from confluence_rag.container import Components
from confluence_rag.retrieval.filters import SearchFilters
from confluence_rag.retrieval.search import SearchService

log = logging.getLogger(__name__)
HISTORY_MESSAGES = 8
CHARS_PER_TOKEN = 3  # conservative for French text


@dataclass
class Turn:
    role: str
    content: str


@dataclass
class ChatRequest:
    messages: list[Turn]
    top_k: int | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)


Event = tuple[str, dict]


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (LiteLLM wraps the OpenAI SDK's error, which wraps httpx's)."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain and len(chain) < 10:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def llm_failure(exc: Exception) -> tuple[int, str, str]:
    """Map a LiteLLM exception to an HTTP-like status, a message without secrets and a kind (its
    name in rag_llm_errors_total), by type.

    LiteLLM reports a refused connection as an InternalServerError (like a real 500): the OpenAI
    SDK's APIConnectionError / httpx's ConnectError it wraps tell the two apart.
    """
    import httpx
    from litellm import exceptions as llm

    chain = _causes(exc)

    def caused_by(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    if caused_by(llm.Timeout, httpx.TimeoutException, TimeoutError):
        return 504, "The language model did not answer in time. Try again in a moment.", "timeout"
    if caused_by(llm.AuthenticationError, llm.PermissionDeniedError):
        return 502, "The language model service rejected our credentials (check LLM_API_KEY).", "auth"
    if caused_by(httpx.ConnectError, ConnectionError) or isinstance(exc, llm.APIConnectionError):
        return 503, "The language model service is unreachable. Try again in a moment.", "unreachable"
    if caused_by(llm.RateLimitError):
        return 503, "The language model service is rate limiting requests. Try again in a moment.", "rate_limited"
    if caused_by(llm.ServiceUnavailableError):
        return 503, "The language model service is unavailable. Try again in a moment.", "unavailable"
    if caused_by(llm.InternalServerError):
        return 502, "The language model service failed. Try again in a moment.", "server_error"
    return 502, f"The language model service failed ({type(exc).__name__}).", "other"


def _failed(stage: str, exc: Exception) -> Event:
    """The error event of a failed LLM call, counted by kind."""
    status, message, kind = llm_failure(exc)
    LLM_ERRORS.labels(kind).inc()
    log.warning("%s failed: %s", stage, type(exc).__name__)
    return "error", {"status": status, "message": message}


class ChatService:
    def __init__(self, components: Components, search: SearchService):
        self.components = components
        self.search = search
        self.settings = components.settings

    @property
    def mode(self) -> str:
        return "llm" if self.settings.llm_configured else "extractive"

    async def condense(self, turns: list[Turn]) -> str:
        question = turns[-1].content
        earlier = turns[:-1][-HISTORY_MESSAGES:]
        if not earlier:
            return question
        llm = self.components.llm
        if llm is None:
            # No LLM to rewrite: retrieve with the previous question as context for the follow-up.
            previous = [t.content for t in earlier if t.role == "user"][-1:]
            return " ".join([*previous, question])
        history = "\n".join(f"{t.role}: {t.content}" for t in earlier)
        response = await llm.acomplete(CONDENSE_PROMPT.format(history=history, question=question))
        return response.text.strip() or question

    async def stream(self, request: ChatRequest, identity: Identity = ANONYMOUS) -> AsyncIterator[Event]:
        """Answer for `identity`: retrieval, and so the context, sources, citations and extracts,
        hold only what it may read. Condensing sees only the conversation the client sent."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        question = request.messages[-1].content
        lang = detect_language(question)
        try:
            t0 = time.perf_counter()
            query = await self.condense(request.messages)
            timings["condense_ms"] = _ms(t0)
        except Exception as exc:
            yield _failed("condense", exc)
            return
        try:
            t0 = time.perf_counter()
            sources = await asyncio.to_thread(
                self.search.search, query, request.top_k, request.filters, identity=identity
            )
            timings["retrieve_ms"] = _ms(t0)
        except STORE_ERRORS as exc:
            log.warning("retrieval failed: %s", type(exc).__name__)
            self.components.forget_store()
            yield "error", {"status": 503, "message": "The document index (vector store) is unreachable."}
            return
        yield "sources", {"sources": [s.public() for s in sources], "mode": self.mode, "query": query}

        t0 = time.perf_counter()
        answer_found = bool(sources)
        if not sources:
            yield "token", {"text": NOT_FOUND[lang]}
        elif self.components.llm is None:
            for piece in extractive_answer(sources, lang):
                yield "token", {"text": piece}
        else:
            chunks: list[str] = []
            try:
                async for text in self._generate(request.messages, sources):
                    if not chunks:
                        timings["first_token_ms"] = _ms(started)
                        LLM_FIRST_TOKEN_SECONDS.observe(time.perf_counter() - t0)
                    chunks.append(text)
                    yield "token", {"text": text}
            except Exception as exc:
                yield _failed("generation", exc)
                return
            answer_found = not says_not_found("".join(chunks))
        timings["generate_ms"] = _ms(t0)
        timings["total_ms"] = _ms(started)
        yield "done", {"mode": self.mode, "answer_found": answer_found, "timings": timings}

    async def _generate(self, turns: list[Turn], sources) -> AsyncIterator[str]:
        budget_tokens = self.settings.llm_context_window - self.settings.llm_max_tokens - 500
        messages = [
            ChatMessage(
                role=MessageRole.SYSTEM, content=system_prompt(sources, max(2000, budget_tokens * CHARS_PER_TOKEN))
            )
        ]
        for turn in turns[-HISTORY_MESSAGES - 1 :]:
            role = MessageRole.USER if turn.role == "user" else MessageRole.ASSISTANT
            messages.append(ChatMessage(role=role, content=turn.content))
        stream = await self.components.llm.astream_chat(messages)
        async for chunk in stream:
            if chunk.delta:
                yield chunk.delta


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)
