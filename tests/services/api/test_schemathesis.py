"""Schemathesis over the served OpenAPI document: every check, a bounded number of examples per operation.

The API runs for real (uvicorn on loopback, the bundled model, embedded Chroma with the demo wiki, the
LLM fake, a built-looking front end so the SPA catch-all is in the way, sign-in required: AUTH_MODE=oidc
against the OpenID Connect fake, the caller an operator); schemathesis is its CLI in a subprocess, as a
developer would run it. Its `ignored_auth` check then proves that every route declared as needing a
token refuses a request without one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from confluence_rag.api.app import create_app
from tests.conftest import ServerThread, llm_settings
from tests.fakes.oidc import FakeOIDCProvider

ADMIN = "schemathesis-admin-token"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))


def test_the_served_api_keeps_its_contract(make_settings, fake_llm, tmp_path):
    frontend = tmp_path / "frontend"
    frontend.mkdir()
    (frontend / "index.html").write_text("<!doctype html><title>chat</title>", encoding="utf-8")
    provider = FakeOIDCProvider(client_id="chat", audience="confluence-rag", redirect_uris=["http://127.0.0.1/"])
    provider.start()
    settings = make_settings(
        **llm_settings(fake_llm),
        demo_content=True,
        admin_token=ADMIN,
        frontend_dir=frontend,
        auth_mode="oidc",
        oidc_issuer=provider.issuer,
        oidc_client_id="chat",
        oidc_audience="confluence-rag",
        admin_groups=["rag-admins"],
    )
    token = provider.mint(groups=["rag-admins"], exp=int(time.time()) + 900)
    with ServerThread(create_app(settings)) as server:
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "--config-file",
                str(CONFIG),
                "run",
                f"{server.url}/api/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--workers",
                "1",
                "--header",
                f"Authorization: Bearer {token}",
                # Generous: a shared CI machine under load; speed is measured by benchmarks, not here.
                "--max-response-time",
                "60",
                "--request-timeout",
                "90",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,  # schemathesis keeps a cache (.schemathesis/) in its working directory
        )
    provider.stop()
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout, run.stdout[-3000:]
