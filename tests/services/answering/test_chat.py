"""ChatService against the OpenAI-compatible LLM fake (real HTTP through LiteLLM)."""

from __future__ import annotations

import asyncio

import pytest

from confluence_rag.answering.chat import ChatRequest, ChatService, Turn
from confluence_rag.answering.prompts import NOT_FOUND
from confluence_rag.container import Components
from confluence_rag.retrieval.search import SearchService
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings, llm_settings


def _run(service: ChatService, *questions: str) -> list[tuple[str, dict]]:
    turns = [Turn("user" if i % 2 == 0 else "assistant", q) for i, q in enumerate(questions)]

    async def collect():
        return [event async for event in service.stream(ChatRequest(turns))]

    return asyncio.run(collect())


@pytest.fixture
def chat(fake_confluence, fake_llm, make_settings):
    components = Components(make_settings(**confluence_settings(fake_confluence), **llm_settings(fake_llm)))
    ingest_space(components, "ENG")
    return ChatService(components, SearchService(components))


def test_streams_sources_tokens_then_done_with_a_grounded_prompt(chat, fake_llm, fake_confluence):
    events = _run(chat, "How long is the on-call rotation?")
    names = [e for e, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and names.count("token") >= 3
    sources = events[0][1]["sources"]
    assert sources[0]["title"] == "On-call rotation"
    assert sources[0]["url"].startswith(fake_confluence.base_url)
    answer = "".join(d["text"] for e, d in events if e == "token")
    assert "[1]" in answer and "pager" in answer
    done = events[-1][1]
    assert done["answer_found"] is True and done["mode"] == "llm"
    assert {"retrieve_ms", "generate_ms", "total_ms"} <= set(done["timings"])

    prompt = fake_llm.answer_requests[-1]
    system = prompt["messages"][0]["content"]
    assert prompt["stream"] is True and prompt["model"] == "fake-model"
    assert "[1] Engineering handbook › On-call rotation" in system
    assert "square brackets" in system and "language of the question" in system and NOT_FOUND["fr"] in system
    assert prompt["messages"][-1] == {"role": "user", "content": "How long is the on-call rotation?"}


def test_follow_up_is_condensed_before_retrieval(chat, fake_llm):
    fake_llm.condense_reply = "What is the rollback procedure after a failed deployment?"
    events = _run(chat, "How do we deploy?", "Production uses Zephyr [1].", "and if it fails?")
    assert events[0][1]["query"] == fake_llm.condense_reply
    assert events[0][1]["sources"][0]["title"] == "Rollback procedure"
    condense = [r for r in fake_llm.requests if r not in fake_llm.answer_requests][-1]
    assert "How do we deploy?" in condense["messages"][-1]["content"]
    answer_prompt = fake_llm.answer_requests[-1]["messages"]
    assert [m["role"] for m in answer_prompt] == ["system", "user", "assistant", "user"]


def test_not_found_is_reported(chat, fake_llm):
    fake_llm.mode = "not_found"
    events = _run(chat, "Quelle est la couleur du logo ?")
    assert events[-1] == ("done", events[-1][1]) and events[-1][1]["answer_found"] is False


@pytest.mark.parametrize(("mode", "status"), [("error", 502), ("hang", 504), ("unauthorized", 502)])
def test_llm_failures_become_error_events(chat, fake_llm, mode, status):
    fake_llm.mode = mode
    fake_llm.hang_s = 8  # longer than LLM_TIMEOUT_S=5 in tests
    events = _run(chat, "How long is the on-call rotation?")
    assert events[0][0] == "sources"
    assert events[-1][0] == "error" and events[-1][1]["status"] == status
    assert fake_llm.api_key not in events[-1][1]["message"]


def test_without_llm_the_answer_is_extractive_and_labelled(fake_confluence, make_settings):
    components = Components(make_settings(**confluence_settings(fake_confluence)))
    ingest_space(components, "ENG")
    events = _run(ChatService(components, SearchService(components)), "Quand poser ses congés ?")
    answer = "".join(d["text"] for e, d in events if e == "token")
    assert events[0][1]["mode"] == "extractive" and events[-1][1]["mode"] == "extractive"
    assert answer.startswith("*Mode extractif")
    assert "Chronos" in answer and "[1]" in answer
