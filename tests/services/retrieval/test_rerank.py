"""The optional cross-encoder reranker, with a tiny cross-encoder built here (no model download):
the order must follow the cross-encoder's own scores, and only RERANK_DEPTH candidates are rescored."""

from __future__ import annotations

import pytest

from confluence_rag.components.embedding import resolve_model_path
from confluence_rag.container import Components
from confluence_rag.retrieval.search import SearchService
from confluence_rag.settings import DEFAULT_EMBEDDING_MODEL
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory):
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("cross-encoder")
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(DEFAULT_EMBEDDING_MODEL))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_reranker_reorders_by_cross_encoder_scores(fake_confluence, make_settings, tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    settings = make_settings(**confluence_settings(fake_confluence), reranker_model=tiny_cross_encoder, rerank_depth=3)
    components = Components(settings)
    ingest_space(components, "ENG")
    service = SearchService(components)
    query = "deployment rollback pager congés handbook"
    reranked = service.search(query, top_k=5)
    assert "rerank_ms" in service.last_timings

    plain = SearchService(Components(settings.model_copy(update={"reranker_model": ""}))).search(query, top_k=5)
    head_pages = {s.page_id for s in plain[:3]}
    scores = CrossEncoder(tiny_cross_encoder).predict([(query, s.text) for s in plain[:3]])
    expected = [s.page_id for _, s in sorted(zip(scores, plain[:3], strict=True), key=lambda p: -p[0])]
    assert [s.page_id for s in reranked[:3]] == expected
    assert {s.page_id for s in reranked[:3]} == head_pages  # only the first RERANK_DEPTH were rescored
