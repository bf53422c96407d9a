"""Schemathesis over the served OpenAPI document: every check, a bounded number of examples per operation.

The API runs for real (uvicorn on loopback, the bundled model, embedded Chroma with the demo wiki, the
LLM fake, a built-looking front end so the SPA catch-all is in the way); schemathesis is its CLI in a
subprocess, as a developer would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from confluence_rag.api.app import create_app
from tests.conftest import ServerThread, llm_settings

ADMIN = "schemathesis-admin-token"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))


def test_the_served_api_keeps_its_contract(make_settings, fake_llm, tmp_path):
    frontend = tmp_path / "frontend"
    frontend.mkdir()
    (frontend / "index.html").write_text("<!doctype html><title>chat</title>", encoding="utf-8")
    settings = make_settings(**llm_settings(fake_llm), demo_content=True, admin_token=ADMIN, frontend_dir=frontend)
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
                f"Authorization: Bearer {ADMIN}",
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
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert "8 passed" in run.stdout or "Tested: 8" in run.stdout, run.stdout[-3000:]
