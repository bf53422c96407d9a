"""The chat page in Debian's chromium (playwright-core), against the local topology: nginx serving
the Angular build and proxying /api/ to the real query API, the ingest worker, a Chroma server,
and the Confluence and LLM fakes. The browser scenarios live in frontend-angular/e2e/*.test.mjs;
this test starts everything, indexes the French demo space through the worker, runs them, and
keeps their screenshots in test-artifacts/e2e/.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import REPO, subprocess_env
from tests.deploy.helpers import ingest_via_api
from tests.fakes.confluence import FakeConfluence, demo_space, sample_space
from tests.fakes.llm import FakeLLM

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ADMIN = "e2e-admin-token"
FRONTEND_DIST = REPO / "frontend-angular" / "dist" / "chat" / "browser"
ARTIFACTS = REPO / "test-artifacts" / "e2e"


def run_browser_scenarios(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The playwright-core scenarios under frontend-angular/`target`, one at a time; they must pass."""
    run = subprocess.run(
        ["node", "--test", "--test-concurrency=1", target],
        cwd=REPO / "frontend-angular",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(run.stdout[-6000:], run.stderr[-3000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    return run


def require_browser_and_build() -> None:
    if not (FRONTEND_DIST / "index.html").exists():
        pytest.fail("frontend not built: run `make frontend-build` (make test does)")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.fail("Debian chromium missing: `make chromium-install` (make test does)")


def signed_in_stack(local_stack, confluence, llm, provider, admin_token: str, **extra_env: str):
    """The local topology in AUTH_MODE=oidc with the provider fake (client `chat`), the Confluence and
    LLM fakes, operators in `rag-admins`; the provider accepts the stack's page as redirect URI."""
    stack = local_stack(
        frontend_dist=FRONTEND_DIST,
        extra_env={
            "CONFLUENCE_URL": confluence.base_url,
            "CONFLUENCE_USERNAME": confluence.username,
            "CONFLUENCE_API_TOKEN": confluence.api_token,
            "LLM_MODEL": "openai/fake-model",
            "LLM_API_BASE": llm.api_base,
            "LLM_API_KEY": llm.api_key,
            "ADMIN_TOKEN": admin_token,
            "AUTH_MODE": "oidc",
            "OIDC_ISSUER": provider.issuer,
            "OIDC_CLIENT_ID": "chat",
            "ADMIN_GROUPS": "rag-admins",
            **extra_env,
        },
    )
    assert stack.up.returncode == 0, stack.up.stdout + stack.up.stderr
    provider.client.redirect_uris.append(stack.nginx_url + "/")
    return stack


@pytest.fixture
def fakes():
    confluence = FakeConfluence(cloud=True, page_cap=5)
    demo_space(confluence, "DEMO")
    sample_space(confluence, "ENG")
    confluence.start()
    llm = FakeLLM(token_delay_s=0.08)  # slow enough for the browser to see tokens arrive one by one
    llm.start()
    yield confluence, llm
    confluence.stop()
    llm.stop()


def test_chat_page_in_chromium(local_stack, fakes):
    require_browser_and_build()
    confluence, llm = fakes
    stack = local_stack(
        frontend_dist=FRONTEND_DIST,
        extra_env={
            "CONFLUENCE_URL": confluence.base_url,
            "CONFLUENCE_CLOUD": "true",  # a loopback URL is guessed Server/DC: space permissions differ
            "CONFLUENCE_USERNAME": confluence.username,
            "CONFLUENCE_API_TOKEN": confluence.api_token,
            "CONFLUENCE_SPACES": "DEMO",
            "LLM_MODEL": "openai/fake-model",
            "LLM_API_BASE": llm.api_base,
            "LLM_API_KEY": llm.api_key,
            "ADMIN_TOKEN": ADMIN,
        },
    )
    assert stack.up.returncode == 0, stack.up.stdout + stack.up.stderr
    job = ingest_via_api(stack.nginx_url, "DEMO", ADMIN)
    assert job["status"] == "succeeded" and job["pages_added"] == 9, job

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    env = subprocess_env(
        {
            "E2E_BASE_URL": stack.nginx_url,
            "E2E_ADMIN_TOKEN": ADMIN,
            "E2E_SPACE": "ENG",
            "E2E_EXPECT_MODE": "llm",
            "E2E_ARTIFACTS": str(ARTIFACTS),
            "E2E_CONFLUENCE_URL": confluence.base_url,
        }
    )
    run = run_browser_scenarios("e2e/", env)
    assert "# fail 0" in run.stdout
    assert list(ARTIFACTS.glob("*.png")), "the browser tests saved no screenshot"
    # The LLM fake saw grounded prompts from the browser's questions.
    assert any("Congés et absences" in r["messages"][0]["content"] for r in llm.answer_requests)
