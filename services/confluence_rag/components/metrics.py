"""Prometheus metrics (prometheus-client), one set per process; docs/deployment.md lists them all.

Every label takes a bounded set of values named in code: route templates (never the requested
path), HTTP methods and statuses, retrieval stage names, job kinds, outcome and error kinds. No
user text, page id, space key or user name is ever a label value. The query API and the ingest
worker serve them on `GET /metrics` (web/metrics.py), behind METRICS_TOKEN.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds; HTTP requests range from a health check (ms) to a streamed answer (a minute or more).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
JOB_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0)

HTTP_REQUESTS = Counter(
    "rag_http_requests_total",
    "HTTP requests answered, by route template and status",
    ["app", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "rag_http_request_duration_seconds",
    "Time from the request to the end of the answer (a streamed chat answer included)",
    ["app", "method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
RETRIEVAL_STAGE_SECONDS = Histogram(
    "rag_retrieval_stage_seconds",
    "Time of each retrieval stage: access, keyword, embed, vector, rescore, rerank, fetch",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
LLM_FIRST_TOKEN_SECONDS = Histogram(
    "rag_llm_time_to_first_token_seconds",
    "From the generation call to the language model's first token",
    buckets=LATENCY_BUCKETS,
)
LLM_ERRORS = Counter(
    "rag_llm_errors_total",
    "Failed language-model calls (condense or answer), by kind",
    ["kind"],
)
PAGES_INDEXED = Counter(
    "rag_pages_indexed_total", "Pages handled by ingestion runs, by outcome", ["outcome"]
)  # added | updated | unchanged | deleted | failed
CHUNKS_INDEXED = Counter("rag_chunks_indexed_total", "Chunks embedded and written by ingestion runs")
SYNC_SECONDS = Histogram(
    "rag_sync_duration_seconds",
    "Duration of ingestion jobs, by kind (sync, permissions)",
    ["kind"],
    buckets=JOB_BUCKETS,
)
SYNC_FAILURES = Counter("rag_sync_failures_total", "Ingestion jobs that failed, by kind (sync, permissions)", ["kind"])
PERMISSION_PASS_SECONDS = Histogram(
    "rag_permission_pass_duration_seconds",
    "Permission pass of one space, by phase: read (from Confluence) and apply (to the index)",
    ["phase"],
    buckets=JOB_BUCKETS,
)
PERMISSION_PROBLEMS = Counter(
    "rag_permission_problems_total", "Permission data a pass could not read (what it needed is denied)"
)
CONFLUENCE_RATE_LIMITED = Counter("rag_confluence_rate_limited_total", "Confluence answers with HTTP 429")


def observe_retrieval(timings: dict[str, float]) -> None:
    """Record a search's stage timings (`<stage>_ms`, as SearchService.last_timings holds them)."""
    for name, ms in timings.items():
        RETRIEVAL_STAGE_SECONDS.labels(name.removesuffix("_ms")).observe(ms / 1000)
