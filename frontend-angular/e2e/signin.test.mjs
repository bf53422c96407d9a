// Sign-in with OpenID Connect (authorization code + PKCE) through the provider named by
// E2E_OIDC_ISSUER, against a stack running AUTH_MODE=oidc. Skipped on other stacks.
// Users (tests/fakes/oidc.py): alice (finance, staff), bob (staff), olga (rag-admins: an operator).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, ask, assistant, env, launch, screenshot, waitForAnswer } from './helpers.mjs';

const issuer = (process.env.E2E_OIDC_ISSUER ?? '').replace(/\/$/, '');
const renewWaitMs = Number(process.env.E2E_RENEW_WAIT_MS ?? '0');
const payrollQuestion = process.env.E2E_PAYROLL_QUESTION ?? 'Quand la paie est-elle versée ?';

let browser;
before(async () => {
  if (issuer) browser = await launch();
});
after(async () => browser?.close());

/** A fresh browser context on the app, recording every request the page makes. */
async function open() {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: env.baseUrl, locale: 'fr-FR' });
  const page = await context.newPage();
  page.requestsSeen = [];
  page.errors = [];
  page.on('request', (r) => page.requestsSeen.push(r));
  page.on('pageerror', (err) => page.errors.push(err));
  page.consoleLines = [];
  page.on('console', (msg) => page.consoleLines.push(`console.${msg.type()}: ${msg.text()}`));
  await page.goto('/', { waitUntil: 'networkidle' });
  return { context, page };
}

async function signIn(page, username, password) {
  await page.getByTestId('sign-in').click();
  await page.waitForURL((url) => url.href.startsWith(issuer + '/authorize'));
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('#kc-login').click();
  await page.waitForURL((url) => url.href.startsWith(env.baseUrl));
  await page.getByTestId('question-input').waitFor();
}

describe('sign-in (AUTH_MODE=oidc)', { skip: issuer ? false : 'E2E_OIDC_ISSUER not set', timeout: 180_000 }, () => {
  test('a visitor signs in through the identity provider, asks, and signs out', async () => {
    const { context, page } = await open();
    // Nothing of the app is usable, and no /api call but the public config is made, before signing in.
    await page.getByTestId('sign-in').waitFor();
    assert.equal(await page.getByTestId('question-input').count(), 0);
    const early = page.requestsSeen.map((r) => new URL(r.url()).pathname).filter((p) => p.startsWith('/api/'));
    assert.deepEqual(early, ['/api/auth/config']);
    await screenshot(page, 'signin-1-signed-out');

    await signIn(page, 'alice', 'alice-pw');
    // The code went through the token endpoint with a PKCE verifier, and the authorize request had an S256 challenge.
    const authorize = page.requestsSeen.find((r) => r.url().startsWith(issuer + '/authorize'));
    const params = new URL(authorize.url()).searchParams;
    assert.equal(params.get('response_type'), 'code');
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.ok(params.get('code_challenge')?.length >= 43);
    const tokenCall = page.requestsSeen.find((r) => r.url() === issuer + '/token');
    assert.match(tokenCall.postData(), /code_verifier=/);
    assert.match(await page.getByTestId('user-name').textContent(), /Alice Martin/);
    assert.equal(await page.getByTestId('admin-toggle').count(), 0, 'alice is not an operator');

    const chatRequest = page.waitForRequest((r) => r.url().endsWith('/api/chat') && r.method() === 'POST');
    await ask(page, env.question);
    const sent = await chatRequest;
    assert.match((await sent.allHeaders())['authorization'] ?? '', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(await waitForAnswer(page, 150_000), 'done');
    assert.ok((await assistant(page).last().getByTestId('answer').textContent()).trim().length > 0);
    await page.getByTestId('source-link').first().waitFor();
    await screenshot(page, 'signin-2-answer');

    if (renewWaitMs > 0) {
      // The access token is short-lived on this stack: wait past its lifetime; the app renews it
      // with the refresh token and the next question still gets an answer (no error, no re-login).
      await page.waitForTimeout(renewWaitMs);
      const status = await ask(page, env.followUp)
        .then(() => waitForAnswer(page, 150_000))
        .catch(async (err) => {
          await screenshot(page, 'signin-renew-failure');
          console.log('requests:', page.requestsSeen.map((r) => `${r.method()} ${r.url()}`).join('\n'));
          console.log('errors:', [...page.errors.map(String), ...page.consoleLines].join('\n'));
          throw err;
        });
      assert.equal(status, 'done');
      assert.equal(await page.getByTestId('sign-in').count(), 0);
      const refreshes = page.requestsSeen.filter((r) => r.url() === issuer + '/token' && /grant_type=refresh_token/.test(r.postData() ?? ''));
      assert.ok(refreshes.length >= 1, 'the token was renewed with the refresh token');
    }

    // Everything the page loaded came from the app itself or the identity provider: no CDN, no other host.
    const origins = new Set(page.requestsSeen.map((r) => new URL(r.url()).origin));
    for (const origin of origins) assert.ok([env.baseUrl, issuer].includes(origin), `unexpected origin ${origin}`);

    await page.getByTestId('sign-out').click();
    await page.waitForURL((url) => url.href.startsWith(env.baseUrl));
    await page.getByTestId('sign-in').waitFor();
    assert.equal(await page.getByTestId('question-input').count(), 0);
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('an operator sees the ingestion panel and lists jobs without an admin token', async () => {
    const { context, page } = await open();
    await signIn(page, 'olga', 'olga-pw');
    const toggle = page.getByTestId('admin-toggle');
    assert.equal(await toggle.isVisible(), true);
    await toggle.click();
    await page.getByTestId('ingest-panel').waitFor();
    assert.equal(await page.getByTestId('admin-token').count(), 0);
    await page.getByTestId("jobs-table").waitFor();
    assert.match(await page.getByTestId('ingest-panel').textContent(), /DEMO/);
    await screenshot(page, 'signin-3-operator');
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('Confluence permissions: the payroll page is cited for a finance member only', async () => {
    const titles = async (page) =>
      (await page.getByTestId('source-link').allTextContents()).map((t) => t.trim()).join(' | ');
    const asks = async (user) => {
      const { context, page } = await open();
      await signIn(page, user, `${user}-pw`);
      await ask(page, payrollQuestion);
      assert.equal(await waitForAnswer(page, 150_000), 'done');
      await page.getByTestId('source-link').first().waitFor();
      await screenshot(page, `signin-${user === 'alice' ? '4' : '5'}-payroll-${user}`);
      const seen = { titles: await titles(page), answer: await assistant(page).last().getByTestId('answer').textContent() };
      await context.close();
      return seen;
    };
    const alice = await asks('alice');
    assert.match(alice.titles, /Paie/, `alice (finance) should see the payroll page: ${alice.titles}`);
    const bob = await asks('bob');
    assert.doesNotMatch(bob.titles, /Paie/, `bob (not in finance) must not see the payroll page: ${bob.titles}`);
    assert.doesNotMatch(bob.answer, /25 de chaque mois/);
  });
});
