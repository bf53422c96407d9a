"""Sign-in in the browser: AUTH_MODE=oidc on the local topology (nginx + query API + worker + Chroma)
with the OpenID Connect provider fake (tests/fakes/oidc.py) over HTTP. Debian's chromium signs in
with authorization code + PKCE, asks a question with its bearer token, survives the access token's
expiry (refresh token), signs out; an operator (ADMIN_GROUPS) uses the ingestion panel. Confluence
permissions hold in the browser: the space is Server/DC style (principals are usernames, as the
provider's preferred_username), its view is granted to `staff`, and the payroll page is restricted to
`finance`: alice (finance) gets it cited, bob (staff only) asking the same question does not.
The scenario is frontend-angular/e2e/signin.test.mjs; screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import REPO, subprocess_env
from tests.deploy.helpers import ingest_via_api
from tests.e2e.test_browser import require_browser_and_build, run_browser_scenarios, signed_in_stack
from tests.fakes.confluence import FakeConfluence, demo_space
from tests.fakes.llm import FakeLLM
from tests.fakes.oidc import FakeOIDCProvider

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ADMIN = "e2e-signin-admin-token"
ARTIFACTS = REPO / "test-artifacts" / "e2e"
TOKEN_TTL_S = 40  # the app renews 30 s before expiry: a refresh within the test
PAYROLL_QUESTION = "Quand la paie est-elle versée ?"
PAYROLL_FACT = "La paie est versée le 25 de chaque mois par virement bancaire."


@pytest.fixture
def services():
    confluence = FakeConfluence(cloud=False, page_cap=5)
    demo_space(confluence, "DEMO")
    confluence.add_group("finance", ["alice"])
    confluence.add_group("staff", ["alice", "bob", "olga"])
    confluence.set_space_permissions("DEMO", groups=["staff"], anonymous=False)
    payroll = confluence.add_page("DEMO", "Paie", f"<p>{PAYROLL_FACT}</p>")
    confluence.set_read_restriction(payroll.id, groups=["finance"])
    confluence.start()
    llm = FakeLLM()
    llm.start()
    provider = FakeOIDCProvider(client_id="chat", access_token_ttl_s=TOKEN_TTL_S)
    provider.start()
    yield confluence, llm, provider
    provider.stop()
    confluence.stop()
    llm.stop()


def test_sign_in_ask_and_sign_out_in_chromium(local_stack, services):
    require_browser_and_build()
    confluence, llm, provider = services
    stack = signed_in_stack(local_stack, confluence, llm, provider, ADMIN)

    # Without a token the API refuses; the admin token still drives ingestion (scripts, CLI).
    assert httpx.post(stack.nginx_url + "/api/search", json={"query": "congés"}).status_code == 401
    job = ingest_via_api(stack.nginx_url, "DEMO", ADMIN)
    assert job["status"] == "succeeded", job

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = subprocess_env(
        {
            "E2E_BASE_URL": stack.nginx_url,
            "E2E_OIDC_ISSUER": provider.issuer,
            "E2E_ARTIFACTS": str(ARTIFACTS),
            "E2E_RENEW_WAIT_MS": str((TOKEN_TTL_S - 30 + 6) * 1000),
            "E2E_PAYROLL_QUESTION": PAYROLL_QUESTION,
        }
    )
    run = run_browser_scenarios("e2e/signin.test.mjs", env)
    assert "# pass 3" in run.stdout and "# fail 0" in run.stdout
    assert (ARTIFACTS / "signin-4-payroll-alice.png").exists() and (ARTIFACTS / "signin-5-payroll-bob.png").exists()
    # What the LLM was sent for bob's question held nothing of the restricted page.
    payroll_prompts = [r["messages"][0]["content"] for r in llm.answer_requests if "paie" in str(r).lower()]
    assert any("25 de chaque mois" in p for p in payroll_prompts), "alice's question was not grounded on Paie"
    assert "25 de chaque mois" not in llm.answer_requests[-1]["messages"][0]["content"], "bob's prompt leaked Paie"
    assert (ARTIFACTS / "signin-2-answer.png").exists()
    # The provider saw a code exchange and, once the access token neared expiry, a refresh.
    grants = [r for r in provider.requests if r.startswith("POST /token")]
    assert "POST /token authorization_code" in grants and "POST /token refresh_token" in grants, grants
    # The question reached the LLM only after sign-in: grounded on the demo space.
    assert llm.answer_requests
