// Ingestion panel: token, space key, Synchroniser, progress polled every second, final counts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { env, launch, openApp, screenshot } from './helpers.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const skip = !env.adminToken || !env.space ? 'E2E_ADMIN_TOKEN and E2E_SPACE are needed' : false;

describe('ingestion panel', { timeout: 240_000 }, () => {
  test('a wrong token is refused with the server message', async () => {
    const { context, page } = await openApp(browser);
    await page.getByTestId('admin-toggle').click();
    await page.getByTestId('admin-token').fill('not-the-token');
    await page.getByTestId('space-key').fill(env.space || 'DEMO');
    await page.getByTestId('sync-button').click();
    const error = page.getByTestId('ingest-error');
    await error.waitFor();
    const text = (await error.textContent()).trim();
    assert.match(text, /HTTP 40[13]/, text);
    await context.close();
  });

  test('synchronising a space shows progress until the final counts', { skip }, async () => {
    const { context, page } = await openApp(browser);
    await page.getByTestId('admin-toggle').click();
    await page.getByTestId('ingest-panel').waitFor();
    await page.getByTestId('admin-token').fill(env.adminToken);
    await page.getByTestId('space-key').fill(env.space);

    const polls = [];
    page.on('request', (r) => {
      if (/\/api\/ingest\/jobs\/[^/]+$/.test(new URL(r.url()).pathname)) polls.push(Date.now());
    });
    const started = page.waitForResponse((r) => r.url().endsWith('/api/ingest/jobs') && r.request().method() === 'POST');
    await page.getByTestId('sync-button').click();
    assert.equal((await started).status(), 202);
    await page.getByTestId('current-job').waitFor();
    await page.evaluate(() => {
      window.__progress = [];
      const job = document.querySelector('[data-testid="current-job"]');
      const record = () => {
        const text = job.querySelector('[data-testid="job-pages"]')?.textContent.trim();
        if (text && text !== window.__progress.at(-1)) window.__progress.push(text);
      };
      record();
      new MutationObserver(record).observe(job, { subtree: true, childList: true, characterData: true });
    });
    await screenshot(page, 'ingest-running');

    await page.waitForFunction(
      () => ['succeeded', 'failed'].includes(document.querySelector('[data-testid="current-job"]')?.getAttribute('data-status')),
      null,
      { timeout: 180_000 },
    );
    assert.equal(await page.getByTestId('current-job').getAttribute('data-status'), 'succeeded');
    const pages = (await page.getByTestId('job-pages').textContent()).trim();
    const match = pages.match(/(\d+) \/ (\d+) pages/);
    assert.ok(match, pages);
    assert.equal(match[1], match[2], 'all pages done');
    assert.ok(Number(match[2]) > 0);
    assert.ok(await page.getByTestId('job-counts').isVisible());
    const progress = await page.evaluate(() => window.__progress);
    console.log('progress seen:', progress, 'polls:', polls.length);
    assert.ok(polls.length >= 1, 'the job was polled');
    for (let i = 1; i < polls.length; i++) assert.ok(polls[i] - polls[i - 1] >= 800, 'about one poll per second');

    // Recent jobs list the space; the token stays in sessionStorage only.
    await page.getByTestId('job-row').filter({ hasText: env.space }).first().waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('confluence-rag.adminToken')), env.adminToken);
    assert.equal(await page.evaluate(() => localStorage.getItem('confluence-rag.adminToken')), null);
    await screenshot(page, 'ingest-done');
    await context.close();
  });
});
