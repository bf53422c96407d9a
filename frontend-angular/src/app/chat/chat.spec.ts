import { ComponentFixture, TestBed } from '@angular/core/testing';
import { FakeChatStream } from '../../testing/fake-api';
import { flush } from '../../testing/fixtures';
import { ApiService } from '../core/api.service';
import { ConversationStore } from '../core/conversation.store';
import { Chat } from './chat';

describe('Chat', () => {
  let fixture: ComponentFixture<Chat>;
  let el: HTMLElement;
  let stream: FakeChatStream;

  const q = <T extends Element = HTMLElement>(testId: string) =>
    el.querySelector<T>(`[data-testid="${testId}"]`);
  const textarea = () => q<HTMLTextAreaElement>('question-input')!;

  async function type(text: string) {
    textarea().value = text;
    textarea().dispatchEvent(new Event('input'));
    await fixture.whenStable();
  }

  async function press(key: string, init: KeyboardEventInit = {}) {
    textarea().dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init }));
    await flush();
    await fixture.whenStable();
  }

  beforeEach(async () => {
    localStorage.clear();
    stream = new FakeChatStream();
    stream.install(TestBed.inject(ApiService));
    fixture = TestBed.createComponent(Chat);
    el = fixture.nativeElement;
    await fixture.whenStable();
  });

  it('shows the welcome text and a labelled question box, Send disabled while empty', () => {
    expect(q('welcome')?.textContent).toContain('Posez une question');
    expect(el.querySelector('label[for="question"]')?.textContent).toContain('Votre question');
    expect(q<HTMLButtonElement>('send-button')!.disabled).toBe(true);
  });

  it('sends with Enter, clears the box and shows the streamed answer', async () => {
    await type('Comment poser un congé ?');
    await press('Enter');
    expect(textarea().value).toBe('');
    expect(stream.requests[0].messages[0].content).toBe('Comment poser un congé ?');

    stream.emit({ type: 'token', text: 'Dans le portail.' });
    await flush();
    await fixture.whenStable();
    const messages = el.querySelectorAll('[data-testid="message"]');
    expect(messages).toHaveLength(2);
    expect(messages[1].textContent).toContain('Dans le portail.');
    expect(q('stop-button')).not.toBeNull();
    expect(q('send-button')).toBeNull();
  });

  it('does not send on Shift+Enter (new line)', async () => {
    await type('ligne 1');
    await press('Enter', { shiftKey: true });
    expect(stream.requests).toHaveLength(0);
    expect(textarea().value).toBe('ligne 1');
  });

  it('Stop aborts the answer and keeps the partial text', async () => {
    await type('q');
    await press('Enter');
    stream.emit({ type: 'token', text: 'Partiel' });
    await flush();
    await fixture.whenStable();
    q<HTMLButtonElement>('stop-button')!.click();
    await flush();
    await fixture.whenStable();
    expect(q('stopped-notice')).not.toBeNull();
    expect(q('answer')?.textContent).toContain('Partiel');
    expect(q('send-button')).not.toBeNull();
    expect(TestBed.inject(ConversationStore).messages()[1].status).toBe('stopped');
  });

  it('sends with the Send button', async () => {
    await type('Par le bouton');
    q<HTMLButtonElement>('send-button')!.click();
    await flush();
    expect(stream.requests[0].messages).toEqual([{ role: 'user', content: 'Par le bouton' }]);
  });
});
