"""Settings: every field documented in .env.example, seed aliases accepted, secrets hidden."""

from __future__ import annotations

from confluence_rag.settings import Settings
from tests.conftest import REPO
from tests.deploy.helpers import COMPOSE_ONLY


def _example_names() -> set[str]:
    lines = (REPO / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def test_env_example_documents_every_setting_and_nothing_else():
    assert _example_names() - COMPOSE_ONLY == {name.upper() for name in Settings.model_fields}


def test_empty_frontend_dir_serves_nothing(monkeypatch):
    monkeypatch.setenv("FRONTEND_DIR", "")
    assert Settings(_env_file=None).frontend_dir is None


def test_seed_names_are_accepted(monkeypatch):
    seed = {
        "CONFLUENCE_SPACE": "A, B",
        "CONFLUENCE_PASSWORD": "pw",
        "CHROMA_DB_DIR": "/tmp/c",
        "LOCAL_EMB_MODEL": "/models/x",
        "LITELLM_API_BASE": "http://gw/v1",
        "LITELLM_MODEL": "openai/m",
        "LITELLM_API_KEY": "k",
        "CONFLUENCE_URL": "https://acme.atlassian.net/wiki/",
    }
    for name, value in seed.items():
        monkeypatch.setenv(name, value)
    s = Settings(_env_file=None)
    assert s.confluence_spaces == ["A", "B"]
    assert s.confluence_api_token.get_secret_value() == "pw"
    assert str(s.chroma_path) == "/tmp/c" and s.embedding_model == "/models/x"
    assert (s.llm_api_base, s.llm_model, s.llm_api_key.get_secret_value()) == ("http://gw/v1", "openai/m", "k")
    assert s.confluence_url == "https://acme.atlassian.net/wiki" and s.confluence_cloud is True


def test_secrets_do_not_print():
    s = Settings(_env_file=None, confluence_api_token="tok123", llm_api_key="key456", admin_token="adm789")
    text = repr(s) + str(s.model_dump())
    assert "tok123" not in text and "key456" not in text and "adm789" not in text
