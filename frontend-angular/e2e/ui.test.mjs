// Language switch, keyboard use and the phone-width layout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PHONE, ask, env, expectCount, launch, openApp, screenshot, waitForAnswer } from './helpers.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

describe('ui', { timeout: 120_000 }, () => {
  test('French by default; EN/FR switch translates the page and is remembered', async () => {
    const { context, page } = await openApp(browser);
    assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
    assert.equal((await page.locator('h1').textContent()).trim(), 'Assistant documentation');
    assert.equal(await page.getByTestId('lang-fr').getAttribute('aria-pressed'), 'true');

    await page.getByTestId('lang-en').click();
    await page.locator('h1', { hasText: 'Documentation assistant' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(await page.getByTestId('question-input').getAttribute('placeholder'), 'Ask your question…');
    assert.match(await page.getByTestId('send-button').textContent(), /Send/);
    assert.match(await page.getByTestId('new-conversation').textContent(), /New conversation/);
    await screenshot(page, 'english');

    await page.reload({ waitUntil: 'networkidle' });
    await page.locator('h1', { hasText: 'Documentation assistant' }).waitFor();
    await page.getByTestId('lang-fr').click();
    await page.locator('h1', { hasText: 'Assistant documentation' }).waitFor();
    await context.close();
  });

  test('keyboard: labelled controls, visible focus, Enter sends, Shift+Enter adds a line', async () => {
    const { context, page } = await openApp(browser);
    // Every button and form control has an accessible name.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('button, select, textarea, input')]
        .filter((el) => {
          const labelled = el.id && document.querySelector(`label[for="${el.id}"]`);
          return !labelled && !el.getAttribute('aria-label') && !el.textContent.trim();
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unnamed, []);

    // Tab from the top of the page reaches the question box; the focused control shows an outline.
    await page.keyboard.press('Tab');
    let reached = false;
    for (let i = 0; i < 30 && !reached; i++) {
      const focused = await page.evaluate(() => ({
        id: document.activeElement?.id,
        outline: getComputedStyle(document.activeElement).outlineStyle,
      }));
      if (focused.id !== 'question') assert.notEqual(focused.outline, 'none', `focus visible on #${focused.id}`);
      reached = focused.id === 'question';
      if (!reached) await page.keyboard.press('Tab');
    }
    assert.ok(reached, 'the question box is reachable with Tab');

    await page.keyboard.type('Première ligne');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type(env.question);
    assert.equal(await page.getByTestId('question-input').inputValue(), `Première ligne\n${env.question}`);
    await page.keyboard.press('Enter');
    assert.equal(await waitForAnswer(page), 'done');
    assert.equal(await page.getByTestId('question-input').inputValue(), '');
    await expectCount(page.getByTestId('message'), 2);
    await context.close();
  });

  test('phone width (375 px): the sidebar collapses into a drawer, nothing overflows', async () => {
    const { context, page } = await openApp(browser, { viewport: PHONE });
    const noOverflow = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

    assert.equal(await page.getByTestId('sidebar').isVisible(), false, 'sidebar hidden');
    assert.ok(await page.getByTestId('sidebar-toggle').isVisible());
    assert.ok(await page.getByTestId('question-input').isVisible());
    assert.ok(await noOverflow());
    await ask(page, env.question);
    assert.equal(await waitForAnswer(page), 'done');
    const box = await page.getByTestId('message').last().boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, 'answer fits the width');
    assert.ok(await noOverflow());
    await screenshot(page, 'phone-answer');

    await page.getByTestId('sidebar-toggle').click();
    await page.getByTestId('sidebar').waitFor({ state: 'visible' });
    assert.equal(await page.getByTestId('sidebar-toggle').getAttribute('aria-expanded'), 'true');
    await page.waitForTimeout(300); // slide-in transition
    await screenshot(page, 'phone-sidebar');
    await page.getByTestId('conversation-item').first().click();
    await page.getByTestId('sidebar').waitFor({ state: 'hidden' });

    await page.getByTestId('sources-toggle').click();
    await page.getByTestId('sources-panel').waitFor({ state: 'visible' });
    assert.ok((await page.getByTestId('source').count()) >= 1);
    await page.waitForTimeout(300);
    await screenshot(page, 'phone-sources');
    await page.keyboard.press('Escape');
    await page.getByTestId('sources-panel').waitFor({ state: 'hidden' });
    await context.close();
  });
});
