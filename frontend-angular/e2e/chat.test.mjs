// Asking, streaming, citations, sources, follow-ups, stop, errors, answer modes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DESKTOP, ask, assistant, env, expectCount, launch, openApp, screenshot, sseBody, stackMode, throttleChatStream, waitForAnswer,
} from './helpers.mjs';

let browser;
let mode;
before(async () => {
  browser = await launch();
  mode = await stackMode();
});
after(async () => browser?.close());

/** Records every distinct text of the last answer while it streams. */
async function recordAnswerStates(page) {
  await page.evaluate(() => {
    window.__states = [];
    const list = document.querySelector('[data-testid="message-list"]');
    new MutationObserver(() => {
      const answers = list.querySelectorAll('[data-testid="answer"]');
      const text = answers[answers.length - 1]?.textContent ?? '';
      if (text && text !== window.__states.at(-1)) window.__states.push(text);
    }).observe(list, { subtree: true, childList: true, characterData: true });
  });
}

describe('chat', { timeout: 180_000 }, () => {
  test('an answer streams in progressively, with citation links to the sources', async () => {
    const { context, page } = await openApp(browser, { viewport: DESKTOP });
    await recordAnswerStates(page);
    const requestSeen = page.waitForRequest((r) => r.url().endsWith('/api/chat') && r.method() === 'POST');
    await ask(page, env.question);
    const request = await requestSeen;
    assert.deepEqual(JSON.parse(request.postData()).messages, [{ role: 'user', content: env.question }]);

    assert.equal(await waitForAnswer(page), 'done');
    const states = await page.evaluate(() => window.__states);
    const final = (await page.getByTestId('answer').last().textContent()).trim();
    assert.ok(final.length > 0, 'the answer is not empty');
    // Each recorded state is a growing prefix of the final text (a trailing space may be pending).
    for (let i = 1; i < states.length; i++) assert.ok(states[i].length >= states[i - 1].trimEnd().length);
    if (mode === 'llm') {
      assert.ok(states.length >= 3, `expected several partial renders, got ${JSON.stringify(states)}`);
      assert.ok(states[0].length < final.length, 'the first render was partial');
    } else {
      assert.ok(states.length >= 1); // extractive answers arrive in a few big tokens
    }

    // Citations link to the URL of the numbered source, in a new tab.
    const citations = page.locator('[data-testid="answer"] a.citation');
    assert.ok((await citations.count()) >= 1, 'the answer has at least one citation link');
    const first = citations.first();
    const number = (await first.textContent()).replace(/\D/g, '');
    const href = await first.getAttribute('href');
    assert.equal(await first.getAttribute('target'), '_blank');
    assert.match(await first.getAttribute('rel'), /noopener/);
    const sourceHref = await page.locator(`#source-${number} [data-testid="source-link"]`).getAttribute('href');
    assert.equal(href, sourceHref, 'citation [n] points to source n');

    // Sources panel: title link, space, breadcrumb, snippet.
    const sources = page.getByTestId('source');
    assert.ok((await sources.count()) >= 1);
    assert.ok(await page.getByTestId('sources-panel').isVisible());
    const firstSource = sources.first();
    assert.ok((await firstSource.getByTestId('source-link').textContent()).trim().length > 0);
    assert.ok((await firstSource.locator('.badge').textContent()).trim().length > 0);
    assert.ok((await firstSource.getByTestId('source-snippet').textContent()).trim().length > 0);

    // Answer mode as announced by the stack.
    if (mode === 'extractive') {
      assert.match(await assistant(page).last().getByTestId('extractive-badge').textContent(), /Mode extractif : aucun LLM configuré/);
    } else {
      assert.equal(await page.getByTestId('extractive-badge').count(), 0);
    }
    await screenshot(page, `answer-${mode}`);

    // Clicking the citation opens the source URL in a new page.
    const absolute = new URL(href, env.baseUrl).href;
    if (new URL(absolute).origin !== new URL(env.baseUrl).origin) {
      // An outside wiki may not be reachable from the test machine: answer for it.
      const withoutFragment = absolute.split('#')[0];
      await context.route(
        (url) => url.href.split('#')[0] === withoutFragment,
        (route) => route.fulfill({ contentType: 'text/html', body: '<h1>source</h1>' }),
      );
    }
    const [popup] = await Promise.all([context.waitForEvent('page'), first.click()]);
    await popup.waitForURL(absolute, { timeout: 15_000 }); // a new tab starts on about:blank
    assert.equal(popup.url(), absolute);
    await popup.close();
    assert.deepEqual(page.errors, []);
    await context.close();
  });

  test('a follow-up question sends the whole history and stays in the same conversation', async () => {
    const { context, page } = await openApp(browser);
    await ask(page, env.question);
    assert.equal(await waitForAnswer(page), 'done');
    const firstAnswer = await page.evaluate(() => {
      const conversations = JSON.parse(localStorage.getItem('confluence-rag.conversations.v1'));
      return conversations[0].messages[1].content;
    });

    const requestSeen = page.waitForRequest((r) => r.url().endsWith('/api/chat'));
    await ask(page, env.followUp);
    const body = JSON.parse((await requestSeen).postData());
    assert.deepEqual(body.messages, [
      { role: 'user', content: env.question },
      { role: 'assistant', content: firstAnswer },
      { role: 'user', content: env.followUp },
    ]);
    assert.equal(await waitForAnswer(page), 'done');
    assert.equal(await page.getByTestId('message').count(), 4);
    assert.ok((await assistant(page).nth(1).getByTestId('answer').textContent()).trim().length > 0);
    assert.equal(await page.getByTestId('conversation-item').count(), 1);
    assert.match(await page.getByTestId('conversation-item').textContent(), /4 messages/);
    await screenshot(page, 'follow-up');
    await context.close();
  });

  test('Stop during streaming keeps the partial text and marks it stopped', async () => {
    const { context, page } = await openApp(browser);
    await throttleChatStream(page, 400); // real events, delivered one every 400 ms
    await ask(page, env.question);
    await page.getByTestId('answer').waitFor(); // first token rendered
    const partial = await page.getByTestId('answer').textContent();
    await page.getByTestId('stop-button').click();

    assert.equal(await waitForAnswer(page), 'stopped');
    await page.getByTestId('stopped-notice').waitFor();
    const kept = await page.getByTestId('answer').textContent();
    assert.ok(kept.startsWith(partial.trimEnd()), 'partial text kept');
    await page.waitForTimeout(1200);
    assert.equal(await page.getByTestId('answer').textContent(), kept, 'nothing arrives after Stop');
    assert.ok(await page.getByTestId('send-button').isVisible());
    assert.ok(await page.getByTestId('retry-button').isVisible());
    await screenshot(page, 'stopped');

    // The stopped answer can be regenerated.
    await page.getByTestId('retry-button').click();
    await page.getByTestId('stopped-notice').waitFor({ state: 'detached' }); // the retry replaced it
    assert.equal(await waitForAnswer(page), 'done');
    await expectCount(page.getByTestId('message'), 2);
    await context.close();
  });

  test('an unknown space filter shows the server message, never a blank', async () => {
    const { context, page } = await openApp(browser, { viewport: DESKTOP });
    // Offer a space the index does not hold, then pick it through the UI.
    await page.route('**/api/spaces', async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.spaces.push({ key: 'NOPE', pages: 1, chunks: 1 });
      await route.fulfill({ response, json: body });
    });
    await page.reload({ waitUntil: 'networkidle' });
    await page.getByTestId('space-filter').selectOption('NOPE');
    const requestSeen = page.waitForRequest((r) => r.url().endsWith('/api/chat'));
    await ask(page, env.question);
    assert.deepEqual(JSON.parse((await requestSeen).postData()).spaces, ['NOPE']);
    assert.equal(await waitForAnswer(page), 'error');
    const message = (await page.getByTestId('error-message').textContent()).trim();
    assert.ok(message.length > 0);
    assert.match(message, /NOPE/, `the server's detail is shown: ${message}`);
    await screenshot(page, 'error-unknown-space');

    // Back to all spaces: Retry now succeeds.
    await page.getByTestId('space-filter').selectOption('');
    await page.getByTestId('retry-button').click();
    await page.getByTestId('error-message').waitFor({ state: 'detached' }); // the retry replaced it
    assert.equal(await waitForAnswer(page), 'done');
    await context.close();
  });

  test('a 503 JSON answer and an SSE error event both show their message', async () => {
    const { context, page } = await openApp(browser);
    await page.route('**/api/chat', (route) =>
      route.fulfill({ status: 503, json: { detail: 'Index en maintenance, réessayez plus tard' } }),
    );
    await ask(page, env.question);
    assert.equal(await waitForAnswer(page), 'error');
    assert.equal(
      (await page.getByTestId('error-message').textContent()).trim(),
      'Index en maintenance, réessayez plus tard (HTTP 503)',
    );
    assert.equal(await page.getByRole('alert').count(), 1);
    await screenshot(page, 'error-503');

    await page.unroute('**/api/chat');
    await page.route('**/api/chat', (route) =>
      route.fulfill({
        contentType: 'text/event-stream',
        body: sseBody([
          ['sources', { sources: [], mode: 'llm', query: 'q' }],
          ['token', { text: 'Début ' }],
          ['error', { status: 502, message: 'Le fournisseur LLM ne répond pas' }],
        ]),
      }),
    );
    await page.getByTestId('retry-button').click();
    await page.getByText(/Le fournisseur LLM ne répond pas/).waitFor(); // the retried answer failed in turn
    assert.equal(await waitForAnswer(page), 'error');
    assert.match(await page.getByTestId('error-message').textContent(), /Le fournisseur LLM ne répond pas/);
    await expectCount(page.getByTestId('message'), 2); // retry replaced the failed answer
    await context.close();
  });

  test('an answer the documentation does not hold shows a notice', async () => {
    const { context, page } = await openApp(browser);
    await page.route('**/api/chat', (route) =>
      route.fulfill({
        contentType: 'text/event-stream',
        body: sseBody([
          ['sources', { sources: [], mode: 'extractive', query: 'q' }],
          ['token', { text: "*Mode extractif : aucun LLM n'est configuré.*\n\nAucun passage trouvé." }],
          ['done', { mode: 'extractive', answer_found: false, timings: { total_ms: 12 } }],
        ]),
      }),
    );
    await ask(page, 'Quelle est la couleur du ciel sur Mars ?');
    assert.equal(await waitForAnswer(page), 'done');
    assert.ok(await page.getByTestId('no-answer-notice').isVisible());
    assert.ok(await page.getByTestId('extractive-badge').isVisible());
    await screenshot(page, 'no-answer');
    await context.close();
  });

  test('copy puts the answer on the clipboard', async () => {
    const { context, page } = await openApp(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
    await ask(page, env.question);
    assert.equal(await waitForAnswer(page), 'done');
    await page.getByTestId('copy-button').click();
    await page.getByTestId('copy-button').filter({ hasText: 'Copié' }).waitFor();
    const clipboard = await page.evaluate(() => navigator.clipboard.readText());
    const stored = await page.evaluate(
      () => JSON.parse(localStorage.getItem('confluence-rag.conversations.v1'))[0].messages[1].content,
    );
    assert.equal(clipboard, stored);
    await context.close();
  });

  test('past conversations are kept in the browser; new, select and delete work', async () => {
    const { context, page } = await openApp(browser);
    await ask(page, env.question);
    await waitForAnswer(page);
    await page.getByTestId('new-conversation').click();
    await page.getByTestId('welcome').waitFor();
    assert.ok(await page.getByTestId('question-input').evaluate((el) => el === document.activeElement));
    await ask(page, env.followUp);
    await waitForAnswer(page);
    await expectCount(page.getByTestId('conversation-item'), 2);

    await page.reload({ waitUntil: 'networkidle' });
    await expectCount(page.getByTestId('conversation-item'), 2);
    await page.getByTestId('conversation-item').filter({ hasText: env.question }).click();
    await page.getByTestId('message').filter({ hasText: env.question }).waitFor();
    await expectCount(page.getByTestId('message'), 2);
    await screenshot(page, 'conversations');

    await page.getByRole('button', { name: `Supprimer « ${env.followUp} »` }).click();
    await expectCount(page.getByTestId('conversation-item'), 1);
    await context.close();
  });
});
