"""Conversations, feedback and the operators' view in the browser (issue 19): AUTH_MODE=oidc with
HISTORY=on on the local topology (nginx + query API + worker + Chroma, the history database in
STATE_DIR) and the OpenID Connect provider fake. alice asks, thumbs the answer down with a comment,
reloads and finds the conversation in the side panel; bob cannot open it (404 with his own token);
olga (ADMIN_GROUPS) sees the thumbed-down question in the admin panel.
The scenario is frontend-angular/e2e/history.test.mjs; screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO, subprocess_env
from tests.deploy.helpers import ingest_via_api
from tests.e2e.test_browser import require_browser_and_build, run_browser_scenarios, signed_in_stack
from tests.fakes.confluence import FakeConfluence, demo_space
from tests.fakes.llm import FakeLLM
from tests.fakes.oidc import FakeOIDCProvider

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ADMIN = "e2e-history-admin-token"
ARTIFACTS = REPO / "test-artifacts" / "e2e"
QUESTION = "Comment poser un congé ?"
SCREENSHOTS = ("history-1-thumbed-down", "history-2-reopened", "history-3-other-user", "history-4-operator")


@pytest.fixture
def services():
    confluence = FakeConfluence(cloud=False, page_cap=5)
    demo_space(confluence, "DEMO")
    confluence.add_group("staff", ["alice", "bob", "olga"])
    confluence.set_space_permissions("DEMO", groups=["staff"], anonymous=False)
    confluence.start()
    llm = FakeLLM()
    llm.start()
    provider = FakeOIDCProvider(client_id="chat")
    provider.start()
    yield confluence, llm, provider
    provider.stop()
    confluence.stop()
    llm.stop()


def test_history_feedback_and_operator_view_in_chromium(local_stack, services):
    require_browser_and_build()
    confluence, llm, provider = services
    stack = signed_in_stack(local_stack, confluence, llm, provider, ADMIN, HISTORY="on")
    job = ingest_via_api(stack.nginx_url, "DEMO", ADMIN)
    assert job["status"] == "succeeded", job

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in SCREENSHOTS:
        (ARTIFACTS / f"{name}.png").unlink(missing_ok=True)
    env = subprocess_env(
        {
            "E2E_BASE_URL": stack.nginx_url,
            "E2E_OIDC_ISSUER": provider.issuer,
            "E2E_ARTIFACTS": str(ARTIFACTS),
            "E2E_HISTORY_QUESTION": QUESTION,
        }
    )
    run = run_browser_scenarios("e2e/history.test.mjs", env)
    assert "# pass 1" in run.stdout and "# fail 0" in run.stdout
    for name in SCREENSHOTS:
        assert (ARTIFACTS / f"{name}.png").exists(), name
