// Shared helpers for the end-to-end tests: browser launch (Debian chromium through playwright-core),
// environment, screenshots, and a few page actions. See ../README.md for the variables.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

export const env = {
  baseUrl: (process.env.E2E_BASE_URL ?? '').replace(/\/$/, ''),
  adminToken: process.env.E2E_ADMIN_TOKEN ?? '',
  space: process.env.E2E_SPACE ?? '',
  expectMode: process.env.E2E_EXPECT_MODE ?? '',
  artifacts: process.env.E2E_ARTIFACTS || path.join(here, 'artifacts'),
  question: process.env.E2E_QUESTION || 'Comment poser un congé ?',
  followUp: process.env.E2E_FOLLOW_UP || 'Et pour les notes de frais ?',
  chromium: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
};

if (!env.baseUrl) throw new Error('E2E_BASE_URL must be set to the URL of the running product');
mkdirSync(env.artifacts, { recursive: true });

export const DESKTOP = { width: 1366, height: 850 };
export const PHONE = { width: 375, height: 740 };

export async function launch() {
  return chromium.launch({
    executablePath: env.chromium,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** A fresh context (empty storage) and page on the app, waiting for the space list to load. */
export async function openApp(browser, { viewport = DESKTOP, permissions = [] } = {}) {
  const context = await browser.newContext({ viewport, baseURL: env.baseUrl, locale: 'fr-FR' });
  if (permissions.length) await context.grantPermissions(permissions, { origin: env.baseUrl });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err));
  page.errors = errors;
  await page.goto('/', { waitUntil: 'networkidle' });
  await page.getByTestId('question-input').waitFor();
  return { context, page };
}

/** The answer mode of the stack: E2E_EXPECT_MODE, checked against GET /api/ready. */
export async function stackMode() {
  const response = await fetch(`${env.baseUrl}/api/ready`);
  const ready = await response.json();
  if (env.expectMode) {
    assert.equal(ready.mode, env.expectMode, `E2E_EXPECT_MODE=${env.expectMode} but /api/ready says ${ready.mode}`);
  }
  return ready.mode;
}

export async function screenshot(page, name) {
  const file = path.join(env.artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export const assistant = (page) => page.locator('[data-testid="message"][data-role="assistant"]');

/** Types a question and sends it with Enter. */
export async function ask(page, question) {
  const selector = '[data-testid="message"][data-role="assistant"]';
  const before = await page.locator(selector).count();
  const input = page.getByTestId('question-input');
  await input.fill(question);
  await input.press('Enter');
  // Wait for the new answer's bubble, so that waitForAnswer() cannot see the previous one.
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length > n, [selector, before]);
}

/** Waits until the last answer is no longer streaming; returns its status. */
export async function waitForAnswer(page, timeout = 60_000) {
  const last = assistant(page).last();
  await last.waitFor();
  // Return the status seen by the same check that ended the wait: reading it again afterwards
  // could see a newer answer (e.g. a retry that replaced this one) already streaming.
  const handle = await page.waitForFunction(
    () => {
      const answers = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      const status = answers[answers.length - 1]?.getAttribute('data-status');
      return status && status !== 'streaming' ? status : false;
    },
    null,
    { timeout },
  );
  return handle.jsonValue();
}

/**
 * Makes the app's fetch deliver the /api/chat stream one SSE event at a time, `delayMs` apart
 * (the events still come from the real backend). Lets a test act "during" a fast stream.
 */
export async function throttleChatStream(page, delayMs) {
  await page.evaluate((delay) => {
    const original = window.fetch.bind(window);
    window.fetch = async (input, init) => {
      const response = await original(input, init);
      if (!String(input).includes('/api/chat') || !response.body) return response;
      const decoder = new TextDecoder();
      const encoder = new TextEncoder();
      let pending = '';
      const split = new TransformStream({
        async transform(chunk, controller) {
          pending += decoder.decode(chunk, { stream: true });
          const blocks = pending.split('\n\n');
          pending = blocks.pop();
          for (const block of blocks) {
            await new Promise((r) => setTimeout(r, delay));
            // A real aborted fetch errors its body at once; do the same for the held-back events.
            if (init?.signal?.aborted) return controller.error(new DOMException('aborted', 'AbortError'));
            controller.enqueue(encoder.encode(block + '\n\n'));
          }
        },
        flush(controller) {
          if (pending) controller.enqueue(encoder.encode(pending));
        },
      });
      return new Response(response.body.pipeThrough(split, { signal: init?.signal }), {
        status: response.status,
        headers: response.headers,
      });
    };
  }, delayMs);
}

/** A text/event-stream body for page.route fulfilments. */
export function sseBody(events) {
  return events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join('');
}

/** Waits until `locator` matches exactly `n` elements (count() itself does not wait). */
export async function expectCount(locator, n, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let count = await locator.count();
  while (count !== n && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    count = await locator.count();
  }
  assert.equal(count, n, `expected ${n} elements for ${locator}, found ${count}`);
}
