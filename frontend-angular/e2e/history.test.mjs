// Conversations kept on the server, feedback and the operators' view (issue 19), against a stack
// running AUTH_MODE=oidc with HISTORY=on and the provider named by E2E_OIDC_ISSUER. Skipped on
// other stacks. Users (tests/fakes/oidc.py): alice and bob (staff), olga (rag-admins: an operator).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, ask, assistant, env, expectCount, launch, screenshot, waitForAnswer } from './helpers.mjs';

const issuer = (process.env.E2E_OIDC_ISSUER ?? '').replace(/\/$/, '');
const question = process.env.E2E_HISTORY_QUESTION || env.question;
const comment = 'La procédure a changé : il faut passer par le nouveau portail.';

let browser;
before(async () => {
  if (issuer) browser = await launch();
});
after(async () => browser?.close());

/** A signed-in page of `user` in a fresh browser context, recording the requests it makes. */
async function signedIn(user) {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: env.baseUrl, locale: 'fr-FR' });
  const page = await context.newPage();
  page.requestsSeen = [];
  page.errors = [];
  page.on('request', (r) => page.requestsSeen.push(r));
  page.on('pageerror', (err) => page.errors.push(err));
  await page.goto('/', { waitUntil: 'networkidle' });
  await page.getByTestId('sign-in').click();
  await page.waitForURL((url) => url.href.startsWith(issuer + '/authorize'));
  await page.locator('#username').fill(user);
  await page.locator('#password').fill(`${user}-pw`);
  await page.locator('#kc-login').click();
  await page.waitForURL((url) => url.href.startsWith(env.baseUrl));
  await page.getByTestId('question-input').waitFor();
  return { context, page };
}

/** The bearer token the app sent on its last /api call (what the signed-in user's calls carry). */
async function bearer(page) {
  const calls = page.requestsSeen.filter((r) => new URL(r.url()).pathname.startsWith('/api/'));
  for (const call of calls.reverse()) {
    const authorization = (await call.allHeaders())['authorization'];
    if (authorization) return authorization;
  }
  throw new Error('the app sent no bearer token');
}

const conversationTitles = async (page) =>
  (await page.getByTestId('conversation-item').locator('.title').allTextContents()).map((t) => t.trim());

describe('history and feedback (AUTH_MODE=oidc, HISTORY=on)', { skip: issuer ? false : 'E2E_OIDC_ISSUER not set', timeout: 300_000 }, () => {
  test('alice thumbs an answer down, finds it again after a reload; bob cannot open it; olga sees it', async () => {
    // alice asks; the answer is stored (the done event carries its ids): she thumbs it down, with a comment.
    const alice = await signedIn('alice');
    await alice.page.getByTestId('sidebar').getByText('Enregistrées sur le serveur', { exact: false }).waitFor();
    await ask(alice.page, question);
    assert.equal(await waitForAnswer(alice.page, 150_000), 'done');
    const answer = assistant(alice.page).last();
    await answer.getByTestId('thumb-down').click();
    await answer.getByTestId('feedback-comment').fill(comment);
    const feedbackSent = alice.page.waitForResponse((r) => new URL(r.url()).pathname === '/api/feedback');
    await answer.getByTestId('feedback-send').click();
    assert.equal((await feedbackSent).status(), 204);
    assert.equal(await answer.getByTestId('feedback-status').textContent(), 'Merci, votre avis est enregistré.');
    assert.equal(await answer.getByTestId('thumb-down').getAttribute('aria-pressed'), 'true');
    await screenshot(alice.page, 'history-1-thumbed-down');

    // After a reload the conversation is in the side panel, from the server; reopening it shows the
    // question, the answer with its sources, and the thumb down.
    const relisted = alice.page.waitForResponse((r) => new URL(r.url()).pathname === '/api/conversations' && r.request().method() === 'GET');
    await alice.page.reload({ waitUntil: 'networkidle' });
    const { conversations } = await (await relisted).json();
    assert.equal(conversations.length, 1);
    const conversationId = conversations[0].id;
    await expectCount(alice.page.getByTestId('conversation-item'), 1);
    assert.deepEqual(await conversationTitles(alice.page), [conversations[0].title]);
    assert.match(await alice.page.getByTestId('sidebar').textContent(), /Enregistrées sur le serveur/);
    await alice.page.getByTestId('conversation-item').click();
    const reopened = assistant(alice.page).last();
    await reopened.getByTestId('answer').waitFor();
    assert.equal(await alice.page.locator('[data-testid="message"][data-role="user"]').first().locator('.question').textContent(), question);
    assert.equal(await reopened.getByTestId('thumb-down').getAttribute('aria-pressed'), 'true');
    assert.ok((await reopened.getByTestId('show-sources').count()) === 1, 'the reopened answer has its sources');
    await screenshot(alice.page, 'history-2-reopened');
    assert.deepEqual(alice.page.errors, []);
    await alice.context.close();

    // bob sees none of it: an empty side panel, and alice's conversation is a 404 with his own token.
    const bob = await signedIn('bob');
    await bob.page.getByTestId('sidebar').getByText('Aucune conversation enregistrée.').waitFor();
    const token = await bearer(bob.page);
    const foreign = await fetch(`${env.baseUrl}/api/conversations/${conversationId}`, { headers: { Authorization: token } });
    assert.equal(foreign.status, 404, 'bob cannot open alice’s conversation');
    const removal = await fetch(`${env.baseUrl}/api/conversations/${conversationId}`, { method: 'DELETE', headers: { Authorization: token } });
    assert.equal(removal.status, 404, 'nor delete it');
    await screenshot(bob.page, 'history-3-other-user');
    await bob.context.close();

    // olga, an operator, finds the thumbed-down question and its comment in the admin panel.
    const olga = await signedIn('olga');
    await olga.page.getByTestId('admin-toggle').click();
    const downRows = olga.page.getByTestId('usage-thumbed-down').locator('tbody tr');
    await downRows.first().waitFor();
    const row = (await downRows.allTextContents()).find((text) => text.includes(question));
    assert.ok(row, `the thumbed-down question is listed: ${await downRows.allTextContents()}`);
    assert.ok(row.includes(comment), 'with its comment');
    await olga.page.getByTestId('usage-thumbed-down').scrollIntoViewIfNeeded();
    await screenshot(olga.page, 'history-4-operator');
    assert.deepEqual(olga.page.errors, []);
    await olga.context.close();
  });
});
