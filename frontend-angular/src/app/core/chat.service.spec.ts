import { TestBed } from '@angular/core/testing';
import { FakeChatStream } from '../../testing/fake-api';
import { flush, source } from '../../testing/fixtures';
import { ApiError } from './api-error';
import { ApiService } from './api.service';
import { ChatService, toRequestMessages } from './chat.service';
import { ConversationStore } from './conversation.store';
import { I18nService } from './i18n.service';
import { SpacesStore } from './spaces.store';

describe('ChatService', () => {
  let chat: ChatService;
  let store: ConversationStore;
  let stream: FakeChatStream;

  beforeEach(() => {
    localStorage.clear();
    stream = new FakeChatStream();
    stream.install(TestBed.inject(ApiService));
    chat = TestBed.inject(ChatService);
    store = TestBed.inject(ConversationStore);
  });

  it('streams an answer into a new conversation, token by token', async () => {
    const done = chat.send('Comment poser un congé ?');
    await flush();
    expect(chat.streaming()).toBe(true);
    expect(store.messages().map((m) => m.role)).toEqual(['user', 'assistant']);

    stream.emit({ type: 'sources', sources: [source(1)], mode: 'llm', query: 'congé' });
    stream.emit({ type: 'token', text: 'Dans le ' });
    await flush();
    expect(store.messages()[1].content).toBe('Dans le ');
    expect(store.messages()[1].status).toBe('streaming');

    stream.emit({ type: 'token', text: 'portail [1].' });
    stream.emit({ type: 'done', mode: 'llm', answer_found: true, timings: { total_ms: 900 }, conversation_id: null, message_id: null });
    await done;

    const answer = store.messages()[1];
    expect(answer).toMatchObject({ content: 'Dans le portail [1].', status: 'done', mode: 'llm', answerFound: true });
    expect(answer.sources?.[0].n).toBe(1);
    expect(chat.streaming()).toBe(false);
    expect(stream.requests[0].messages).toEqual([{ role: 'user', content: 'Comment poser un congé ?' }]);
  });

  it('sends the whole history with a follow-up question', async () => {
    const first = chat.send('Première question');
    stream.emit({ type: 'token', text: 'Première réponse' }, { type: 'done', mode: 'llm', answer_found: true, timings: {}, conversation_id: null, message_id: null });
    await first;
    stream.reset();

    const second = chat.send('Et ensuite ?');
    stream.emit({ type: 'token', text: 'Deuxième réponse' }, { type: 'done', mode: 'llm', answer_found: true, timings: {}, conversation_id: null, message_id: null });
    await second;

    expect(stream.requests[1].messages).toEqual([
      { role: 'user', content: 'Première question' },
      { role: 'assistant', content: 'Première réponse' },
      { role: 'user', content: 'Et ensuite ?' },
    ]);
    expect(store.conversations()).toHaveLength(1);
    expect(store.messages()).toHaveLength(4);
  });

  it('continues a stored conversation: keeps the ids the server gave and sends conversation_id next', async () => {
    const first = chat.send('Première question');
    stream.emit({ type: 'done', mode: 'llm', answer_found: true, timings: {}, conversation_id: 'c9', message_id: 'm1' });
    await first;
    expect(stream.requests[0].conversation_id).toBeUndefined();
    expect(store.active()?.serverId).toBe('c9');
    expect(store.messages()[1].serverId).toBe('m1');
    stream.reset();

    const second = chat.send('Et ensuite ?');
    stream.emit({ type: 'done', mode: 'llm', answer_found: true, timings: {}, conversation_id: 'c9', message_id: 'm2' });
    await second;
    expect(stream.requests[1].conversation_id).toBe('c9');
    expect(store.messages()[3].serverId).toBe('m2');
  });

  it('adds the selected space as the spaces filter', async () => {
    TestBed.inject(SpacesStore).selected.set('RH');
    const pending = chat.send('q');
    stream.emit({ type: 'done', mode: 'llm', answer_found: false, timings: {}, conversation_id: null, message_id: null });
    await pending;
    expect(stream.requests[0].spaces).toEqual(['RH']);
  });

  it('stop() aborts the stream and keeps the partial text, marked stopped', async () => {
    const pending = chat.send('q');
    stream.emit({ type: 'token', text: 'Début de réponse' });
    await flush();
    chat.stop();
    await pending;
    expect(store.messages()[1]).toMatchObject({ content: 'Début de réponse', status: 'stopped' });
    expect(chat.streaming()).toBe(false);
  });

  it('shows the message of an error event with its status', async () => {
    const pending = chat.send('q');
    stream.emit({ type: 'error', status: 502, message: 'Le LLM ne répond pas' });
    await pending;
    expect(store.messages()[1].status).toBe('error');
    expect(store.messages()[1].error).toBe('Le LLM ne répond pas (HTTP 502)');
  });

  it('retry() replaces the failed answer and resends the same question', async () => {
    const pending = chat.send('q');
    stream.fail(new ApiError(503, 'Index indisponible'));
    await pending;
    expect(store.messages()[1].error).toContain('Index indisponible');
    stream.reset();

    const again = chat.retry();
    stream.emit({ type: 'token', text: 'OK' }, { type: 'done', mode: 'llm', answer_found: true, timings: {}, conversation_id: null, message_id: null });
    await again;
    expect(store.messages().map((m) => [m.role, m.status, m.content])).toEqual([
      ['user', 'done', 'q'],
      ['assistant', 'done', 'OK'],
    ]);
    expect(stream.requests[1].messages).toEqual([{ role: 'user', content: 'q' }]);
  });

  it('ignores blank questions and a second question while streaming', async () => {
    await chat.send('   ');
    expect(store.conversations()).toHaveLength(0);
    const pending = chat.send('q1');
    await chat.send('q2');
    stream.emit({ type: 'done', mode: 'llm', answer_found: true, timings: {}, conversation_id: null, message_id: null });
    await pending;
    expect(store.messages().filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['q1']);
  });

  describe('describe()', () => {
    it('never gives a blank message', () => {
      const i18n = TestBed.inject(I18nService);
      expect(chat.describe(new ApiError(500, null))).toBe(i18n.t('error.http', { status: 500 }));
      expect(chat.describe(new ApiError(0, null))).toBe(i18n.t('error.stream'));
      expect(chat.describe(new ApiError(0, null, 'network'))).toBe(i18n.t('error.network'));
      expect(chat.describe(new ApiError(200, null, 'stream'))).toBe(i18n.t('error.stream'));
      expect(chat.describe(new ApiError(0, 'message seul'))).toBe('message seul');
      expect(chat.describe(new ApiError(404, 'Not Found'))).toBe('Not Found (HTTP 404)');
      expect(chat.describe('???')).toBe(i18n.t('error.stream'));
    });
  });

  it('toRequestMessages leaves out failed and empty answers', () => {
    const base = { createdAt: '', id: 'x' };
    expect(
      toRequestMessages([
        { ...base, role: 'user', content: 'a', status: 'done' },
        { ...base, role: 'assistant', content: '', status: 'error', error: 'e' },
        { ...base, role: 'user', content: 'b', status: 'done' },
        { ...base, role: 'assistant', content: 'partiel', status: 'stopped' },
        { ...base, role: 'user', content: 'c', status: 'done' },
      ]),
    ).toEqual([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: 'partiel' },
      { role: 'user', content: 'c' },
    ]);
  });
});
