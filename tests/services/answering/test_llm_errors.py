"""LLM failures against the LLM fake over real HTTP: one retry layer, and each failure told apart by type."""

from __future__ import annotations

import asyncio
import time

import pytest
from llama_index.core.llms import ChatMessage

from confluence_rag.answering.chat import llm_failure
from confluence_rag.components.llm import build_llm
from tests.conftest import free_port


def _ask(make_settings, api_base: str, *, key: str = "test-key", retries: int = 0, timeout_s: float = 1.0):
    llm = build_llm(
        make_settings(
            llm_model="openai/fake-model",
            llm_api_base=api_base,
            llm_api_key=key,
            llm_timeout_s=timeout_s,
            llm_max_retries=retries,
        )
    )

    async def run() -> None:
        stream = await llm.astream_chat([ChatMessage(role="user", content="Bonjour ?")])
        async for _ in stream:
            pass

    started = time.perf_counter()
    with pytest.raises(Exception) as caught:
        asyncio.run(run())
    return caught.value, time.perf_counter() - started


def test_a_hung_llm_is_a_504_after_one_attempt_when_no_retry(make_settings, fake_llm):
    fake_llm.mode, fake_llm.hang_s = "hang", 10.0
    exc, elapsed = _ask(make_settings, fake_llm.api_base, timeout_s=1.0)
    assert llm_failure(exc) == (504, "The language model did not answer in time. Try again in a moment.", "timeout")
    # One attempt: the OpenAI SDK's own retries (2 by default) are off.
    assert len(fake_llm.requests) == 1 and elapsed < 5


def test_llm_max_retries_is_the_number_of_retries(make_settings, fake_llm):
    fake_llm.mode, fake_llm.hang_s = "hang", 10.0
    exc, _ = _ask(make_settings, fake_llm.api_base, retries=1, timeout_s=0.5)
    assert len(fake_llm.requests) == 2  # the call and one retry (LlamaIndex's), nothing more
    assert llm_failure(exc)[0] == 504


def test_a_failing_llm_is_a_502(make_settings, fake_llm):
    fake_llm.mode = "error"  # HTTP 500
    exc, _ = _ask(make_settings, fake_llm.api_base)
    assert llm_failure(exc) == (502, "The language model service failed. Try again in a moment.", "server_error")


def test_a_refused_connection_is_unreachable_503(make_settings):
    exc, _ = _ask(make_settings, f"http://127.0.0.1:{free_port()}/v1")
    assert llm_failure(exc) == (503, "The language model service is unreachable. Try again in a moment.", "unreachable")


def test_bad_credentials_get_a_clear_message(make_settings, fake_llm):
    fake_llm.mode = "unauthorized"
    exc, _ = _ask(make_settings, fake_llm.api_base, key="wrong-key")
    status, message, kind = llm_failure(exc)
    assert kind == "auth" and status == 502 and "credentials" in message and "LLM_API_KEY" in message
    assert "wrong-key" not in message
