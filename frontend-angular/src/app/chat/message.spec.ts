import { ComponentFixture, TestBed } from '@angular/core/testing';
import { FakeHistoryServer } from '../../testing/fake-history';
import { flush, source } from '../../testing/fixtures';
import { ApiService } from '../core/api.service';
import { ConversationStore } from '../core/conversation.store';
import { ChatMessage } from '../core/models';
import { Message } from './message';

function answer(overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id: 'a1',
    role: 'assistant',
    content: 'Posez le congé dans **le portail** [1].',
    status: 'done',
    createdAt: '2026-11-24T07:00:00Z',
    sources: [source(1)],
    mode: 'llm',
    answerFound: true,
    ...overrides,
  };
}

describe('Message', () => {
  let fixture: ComponentFixture<Message>;
  let el: HTMLElement;

  async function render(message: ChatMessage, inputs: { last?: boolean; busy?: boolean } = {}) {
    fixture.componentRef.setInput('message', message);
    fixture.componentRef.setInput('last', inputs.last ?? true);
    fixture.componentRef.setInput('busy', inputs.busy ?? false);
    await fixture.whenStable();
  }

  const q = (testId: string) => el.querySelector(`[data-testid="${testId}"]`);

  beforeEach(() => {
    localStorage.clear();
    fixture = TestBed.createComponent(Message);
    el = fixture.nativeElement;
  });

  it('renders the answer as Markdown with citation links to the sources', async () => {
    await render(answer());
    expect(q('answer')?.querySelector('strong')?.textContent).toBe('le portail');
    const link = q('answer')?.querySelector<HTMLAnchorElement>('a.citation');
    expect(link?.getAttribute('href')).toBe(source(1).url);
    expect(link?.getAttribute('target')).toBe('_blank');
    expect(el.getAttribute('data-role')).toBe('assistant');
  });

  it('keeps dangerous markup out of the DOM', async () => {
    await render(answer({ content: 'Texte <script>alert(1)</script><img src=x onerror=alert(1)>' }));
    expect(q('answer')?.querySelector('script, img, [onerror]')).toBeNull();
    expect(q('answer')?.textContent).toContain('Texte');
  });

  it('shows a user question as plain text', async () => {
    await render(answer({ role: 'user', content: '**pas du markdown**', sources: undefined }));
    expect(el.querySelector('.question')?.textContent).toBe('**pas du markdown**');
    expect(q('answer')).toBeNull();
  });

  it('shows the extractive-mode badge', async () => {
    await render(answer({ mode: 'extractive' }));
    expect(q('extractive-badge')?.textContent).toContain('Mode extractif : aucun LLM configuré');
  });

  it('shows the no-answer notice only when answer_found is false', async () => {
    await render(answer());
    expect(q('no-answer-notice')).toBeNull();
    await render(answer({ answerFound: false }));
    expect(q('no-answer-notice')?.textContent).toContain('ne contient pas de réponse');
  });

  it('shows a searching indicator and no actions while waiting for the first token', async () => {
    await render(answer({ status: 'streaming', content: '', sources: [] }), { busy: true });
    expect(q('searching')).not.toBeNull();
    expect(q('copy-button')).toBeNull();
  });

  it('shows the error text and a Retry button that emits', async () => {
    const retried = vi.fn();
    fixture.componentInstance.retry.subscribe(retried);
    await render(answer({ status: 'error', content: '', error: 'Index indisponible (HTTP 503)' }));
    expect(q('error-message')?.textContent).toBe('Index indisponible (HTTP 503)');
    (q('retry-button') as HTMLButtonElement).click();
    expect(retried).toHaveBeenCalledTimes(1);
  });

  it('offers Retry only on the last message and not while another answer streams', async () => {
    await render(answer({ status: 'stopped' }), { last: false });
    expect(q('stopped-notice')).not.toBeNull();
    expect(q('retry-button')).toBeNull();
    await render(answer({ status: 'stopped' }), { last: true, busy: true });
    expect(q('retry-button')).toBeNull();
    await render(answer({ status: 'stopped' }), { last: true, busy: false });
    expect(q('retry-button')).not.toBeNull();
  });

  it('copies the Markdown of the answer to the clipboard and says so', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await render(answer());
    (q('copy-button') as HTMLButtonElement).click();
    await new Promise((r) => setTimeout(r, 0));
    await fixture.whenStable();
    expect(writeText).toHaveBeenCalledWith('Posez le congé dans **le portail** [1].');
    expect(q('copy-button')?.textContent?.trim()).toBe('Copié');
  });

  it('emits showSources from the sources button, which shows the count', async () => {
    const shown = vi.fn();
    fixture.componentInstance.showSources.subscribe(shown);
    await render(answer({ sources: [source(1), source(2)] }));
    const button = q('show-sources') as HTMLButtonElement;
    expect(button.textContent).toContain('Sources (2)');
    button.click();
    expect(shown).toHaveBeenCalled();
  });

  it('shows the total duration from the timings', async () => {
    await render(answer({ timings: { total_ms: 1500 } }));
    expect(el.querySelector('.duration')?.textContent).toContain('1,5 s');
    await render(answer({ timings: { total_ms: 12.4 } }));
    expect(el.querySelector('.duration')?.textContent).toContain('12 ms');
  });

  describe('feedback', () => {
    let server: FakeHistoryServer;
    let store: ConversationStore;

    /** Renders the stored answer as the chat does (from the store, after each change). */
    async function renderStored(): Promise<void> {
      await flush();
      await render(store.messages()[0]);
    }

    beforeEach(() => {
      server = new FakeHistoryServer();
      server.install(TestBed.inject(ApiService));
      store = TestBed.inject(ConversationStore);
      store.addMessage(store.ensureActive('Congés ?'), answer({ serverId: 'm1' }));
      fixture.componentRef.setInput('message', store.messages()[0]);
    });

    it('offers labelled thumbs only on an answer the server stored', async () => {
      await render(answer());
      expect(q('thumb-up')).toBeNull();
      await renderStored();
      expect(q('thumb-up')?.textContent?.trim()).toBe('Utile');
      expect(q('thumb-down')?.textContent?.trim()).toBe('Pas utile');
      expect(el.querySelector('[role="group"]')?.getAttribute('aria-label')).toBe('Votre avis sur cette réponse');
      expect(q('thumb-down')?.getAttribute('aria-pressed')).toBe('false');
      expect(q('thumb-up')?.tagName).toBe('BUTTON');
    });

    it('records a thumb down, then an optional comment, and says thank you to screen readers', async () => {
      await renderStored();
      (q('thumb-down') as HTMLButtonElement).click();
      await renderStored();
      expect(q('thumb-down')?.getAttribute('aria-pressed')).toBe('true');
      expect(q('feedback-status')?.textContent).toBe('Merci, votre avis est enregistré.');
      const box = q('feedback-comment') as HTMLTextAreaElement;
      expect(el.querySelector(`label[for="${box.id}"]`)?.textContent).toContain('Commentaire (facultatif)');

      box.value = 'La procédure a changé en 2026';
      (q('feedback-send') as HTMLButtonElement).click();
      await renderStored();
      expect(server.feedback.at(-1)).toEqual({
        message_id: 'm1',
        rating: 'down',
        comment: 'La procédure a changé en 2026',
        wrong_chunk_ids: [],
      });
      expect(q('feedback-form')).toBeNull();
    });

    it('shows why feedback could not be saved', async () => {
      server.failWith(503);
      await renderStored();
      (q('thumb-up') as HTMLButtonElement).click();
      await renderStored();
      expect(q('feedback-error')?.textContent).toContain('HTTP 503');
      expect(q('feedback-error')?.getAttribute('role')).toBe('alert');
      expect(q('feedback-form')).toBeNull();
    });

    it('shows the note for an answer withheld because its sources can no longer be read', async () => {
      await render(answer({ content: '', sources: [], withheld: 2 }));
      expect(q('withheld-notice')?.textContent).toContain('elle citait 2 passage(s) que vous ne pouvez plus lire');
      expect(q('withheld-notice')?.getAttribute('role')).toBe('note');
      await render(answer());
      expect(q('withheld-notice')).toBeNull();
    });
  });
});
